// `npm run backup -- FILE`: an online, consistent backup of the embedded PostgreSQL in
// LBPLANE_DATA_DIR (default .lbplane) into FILE, while lbplane runs or not. With DATABASE_URL the
// operator's own PostgreSQL backups apply (see the README's "Operations").

import { resolve, join } from "node:path";
import { statSync } from "node:fs";
import { backupEmbedded } from "../src/store/embedded-backup.js";

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error("usage: npm run backup -- FILE");
  if (process.env.DATABASE_URL) throw new Error("DATABASE_URL is set: back up that PostgreSQL with its own tools (pg_dump, pg_basebackup, your provider's snapshots)");
  const postgresDir = join(resolve(process.env.LBPLANE_DATA_DIR ?? ".lbplane"), "postgres");
  const t0 = Date.now();
  await backupEmbedded(postgresDir, resolve(file));
  process.stdout.write(`backup of ${postgresDir} written to ${resolve(file)} (${statSync(resolve(file)).size} bytes, ${Date.now() - t0} ms)\n`);
}

main().catch((err) => {
  process.stderr.write(`backup failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
