// `npm run backup -- FILE` under write load, then `npm run restore -- FILE` into another folder:
// the restored lbplane serves every write acknowledged before the backup began, each complete, with
// claims matching its load balancers (a consistent snapshot, not a torn copy of files).

import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../agents/processes.js";
import { until } from "../kit/wait.js";
import { freshDataDir, sql, startEmbeddedLbplane } from "./kit.js";
import { type Acked, claimMismatches, createResourceGroup, missingOrIncomplete, writeUntil } from "./workload.js";

const run = promisify(execFile);
const npmScript = (script: string, file: string, dataDir: string) =>
  run(process.execPath, ["--import", "tsx", `scripts/${script}.ts`, file], { env: { ...process.env, LBPLANE_DATA_DIR: dataDir, DATABASE_URL: "" } });

describe("backup under write load, restore elsewhere", () => {
  const servers: ServerProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill("SIGTERM");
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it("restores a consistent state holding every write acknowledged before the backup", async () => {
    const source = await freshDataDir();
    const target = mkdtempSync(join(tmpdir(), "lbplane-faults-restored-"));
    const scratch = mkdtempSync(join(tmpdir(), "lbplane-faults-backup-"));
    dirs.push(source, target, scratch);
    const first = await startEmbeddedLbplane(source);
    servers.push(first);
    await createResourceGroup(first.url);

    let done = false;
    const acked: Acked[] = [];
    const load = writeUntil(first.url, 4, () => done, acked);
    await until("writes under way", () => acked.length >= 8, 60_000, 20);
    const before = acked.slice();
    const file = join(scratch, "lbplane.backup");
    const t0 = performance.now();
    const out = await npmScript("backup", file, source);
    const backupMs = performance.now() - t0;
    done = true;
    await load;
    expect(out.stdout).toMatch(/backup of .* written to/);
    console.log(`faults: backup under load ${Math.round(backupMs)} ms; ${before.length} writes before it, ${acked.length} in all`);
    await first.kill("SIGTERM");

    const restored = await npmScript("restore", file, target);
    expect(restored.stdout).toMatch(/restored .* into/);
    const second = await startEmbeddedLbplane(target);
    servers.push(second);
    expect(await missingOrIncomplete(second.url, before)).toEqual([]);
    const db = await sql(target);
    try {
      expect(await claimMismatches(db)).toEqual([]);
      const { rows } = await db.query("SELECT count(*)::int AS n FROM load_balancers");
      // Consistent as of one moment during the backup: at least what preceded it, at most everything.
      expect(rows[0].n).toBeGreaterThanOrEqual(before.length);
      expect(rows[0].n).toBeLessThanOrEqual(acked.length + 6);
    } finally {
      await db.end();
    }
  }, 300_000);
});
