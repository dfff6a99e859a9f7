// The database a benchmark measures against: DATABASE_URL when set, else a throwaway embedded
// PostgreSQL in a temporary folder; migrated either way, and removed again by stop().

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmbeddedPostgres } from "../src/store/embedded-postgres.js";
import { migrate } from "../src/store/migrator.js";

export async function benchDatabase(): Promise<{ url: string; stop: () => Promise<void> }> {
  if (process.env.DATABASE_URL) {
    await migrate(process.env.DATABASE_URL);
    return { url: process.env.DATABASE_URL, stop: async () => {} };
  }
  const dir = mkdtempSync(join(tmpdir(), "lbplane-bench-pg-"));
  const server = await startEmbeddedPostgres(dir);
  const name = `bench_${Date.now()}`;
  await server.createDatabase(name);
  const url = server.url(name);
  await migrate(url);
  return {
    url,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
