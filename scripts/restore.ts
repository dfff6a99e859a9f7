// `npm run restore -- FILE`: replaces the embedded PostgreSQL in LBPLANE_DATA_DIR (default .lbplane)
// with the backup FILE made by `npm run backup`. lbplane must be stopped; the folder it replaces is
// kept aside, never deleted. Start lbplane afterwards: agents converge to the restored state.

import { resolve, join } from "node:path";
import { restoreEmbedded } from "../src/store/embedded-backup.js";

async function main(): Promise<void> {
  const file = process.argv[2];
  if (!file) throw new Error("usage: npm run restore -- FILE");
  if (process.env.DATABASE_URL) throw new Error("DATABASE_URL is set: restore that PostgreSQL with its own tools");
  const postgresDir = join(resolve(process.env.LBPLANE_DATA_DIR ?? ".lbplane"), "postgres");
  const keptAside = await restoreEmbedded(postgresDir, resolve(file));
  process.stdout.write(`restored ${resolve(file)} into ${postgresDir}${keptAside ? ` (the previous folder is kept in ${keptAside})` : ""}\n`);
}

main().catch((err) => {
  process.stderr.write(`restore failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
