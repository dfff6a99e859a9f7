// lbplane killed with SIGKILL (the OOM killer, `kill -9`, a container runtime) in the middle of a
// burst of PUTs, then started again on the same data folder: the embedded PostgreSQL it left running
// is found and stopped, the restart needs no manual step, every write that got a 2xx is there and
// complete, nothing is half-written, the claims match the load balancers and no operation stays
// InProgress.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../agents/processes.js";
import { until } from "../kit/wait.js";
import { alive, freshDataDir, postmasterPid, sql, startEmbeddedLbplane } from "./kit.js";
import { type Acked, claimMismatches, createResourceGroup, missingOrIncomplete, writeUntil } from "./workload.js";

describe("SIGKILL of lbplane during a burst of PUTs", () => {
  const servers: ServerProcess[] = [];
  let dataDir = "";
  afterAll(async () => {
    for (const s of servers) await s.kill("SIGTERM");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("restarts on the same folder by itself, with every acknowledged write complete and nothing half-written", async () => {
    dataDir = await freshDataDir();
    const first = await startEmbeddedLbplane(dataDir);
    servers.push(first);
    await createResourceGroup(first.url);

    let killed = false;
    const acknowledged: Acked[] = [];
    const burst = writeUntil(first.url, 6, () => killed, acknowledged);
    // Mid-burst: some writes acknowledged, others in flight when the process dies.
    await until("a burst under way", () => acknowledged.length >= 12, 60_000, 20);
    const orphan = postmasterPid(dataDir);
    await first.kill("SIGKILL");
    killed = true;
    const acked = await burst;
    expect(acked.length).toBeGreaterThan(0);
    // The situation the issue describes: the postmaster outlived lbplane.
    expect(orphan && alive(orphan)).toBe(true);

    const t0 = performance.now();
    const second = await startEmbeddedLbplane(dataDir);
    servers.push(second);
    const restartMs = performance.now() - t0;
    expect(second.log.join("")).toMatch(/stopped a PostgreSQL left running on this folder/);
    expect(alive(orphan as number)).toBe(false);
    console.log(`faults: restart after SIGKILL ${Math.round(restartMs)} ms (${acked.length} acknowledged writes)`);

    expect(await missingOrIncomplete(second.url, acked)).toEqual([]);
    const db = await sql(dataDir);
    try {
      expect(await claimMismatches(db)).toEqual([]);
      // Nothing half-written: a public IP whose load balancer PUT was cut is a whole resource of its
      // own; a load balancer row exists only with all its children (checked above).
      await until("no operation stuck InProgress", async () => {
        const { rows } = await db.query("SELECT count(*)::int AS n FROM operations WHERE status = 'InProgress'");
        return rows[0].n === 0;
      }, 20_000, 200);
    } finally {
      await db.end();
    }
  }, 240_000);
});
