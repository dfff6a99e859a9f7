// The embedded PostgreSQL dies under a running lbplane (SIGKILL of its postmaster): lbplane answers
// 503 ServiceUnavailable with Retry-After meanwhile (never a 500), says so once in its log,
// restarts PostgreSQL by itself and serves again; and a shutdown after that recovery leaves no
// PostgreSQL running on the folder.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../agents/processes.js";
import { loadBalancerPath } from "../kit/bodies.js";
import { until } from "../kit/wait.js";
import { alive, api, freshDataDir, postmasterPid, startEmbeddedLbplane } from "./kit.js";
import { createResourceGroup, NET, RG, writePair } from "./workload.js";

describe("SIGKILL of the embedded postmaster", () => {
  let server: ServerProcess | undefined;
  let dataDir = "";
  afterAll(async () => {
    await server?.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers 503 with Retry-After while PostgreSQL is down, restarts it without intervention, and stops it on shutdown", async () => {
    dataDir = await freshDataDir();
    server = await startEmbeddedLbplane(dataDir);
    const { url } = server;
    await createResourceGroup(url);
    expect(await writePair(url, "before", "65.52.200.1")).toBeDefined();

    const victim = postmasterPid(dataDir) as number;
    const killedAt = performance.now();
    process.kill(victim, "SIGKILL");

    const seen = new Map<number, number>();
    let unavailable: Awaited<ReturnType<typeof api>> | undefined;
    await until("lbplane serves again", async () => {
      const res = await api(url, "GET", `${loadBalancerPath(RG, "before")}?${NET}`);
      seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
      if (res.status === 503) unavailable = res;
      return res.status === 200 && seen.has(503);
    }, 60_000, 50);
    const recoveryMs = performance.now() - killedAt;
    console.log(`faults: postmaster SIGKILL → serving again in ${Math.round(recoveryMs)} ms; answers ${JSON.stringify(Object.fromEntries(seen))}`);

    // What the supervisor did, for the closing note's recovery figures.
    console.log(server.log.join("").split("\n").filter((l) => /PostgreSQL|database/.test(l)).map((l) => l.slice(0, 300)).join("\n"));
    expect([...seen.keys()].sort()).toEqual([200, 503]); // never a 500
    expect(unavailable?.json.error.code).toBe("ServiceUnavailable");
    expect(Number(unavailable?.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(recoveryMs).toBeLessThan(30_000);

    const reborn = postmasterPid(dataDir) as number;
    expect(reborn).not.toBe(victim);
    expect(alive(reborn)).toBe(true);
    expect(await writePair(url, "after", "65.52.200.2")).toBeDefined();
    expect((await api(url, "GET", "/readyz")).status).toBe(200);

    // Told once, not once per failed request or sweep.
    const log = server.log.join("");
    expect(log.match(/embedded PostgreSQL exited/g)?.length).toBe(1);
    expect(log).toMatch(/embedded PostgreSQL restarted after/);
    expect(log.match(/database unavailable/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(log).not.toMatch(/"level":50.*"stack"/);

    // The shutdown after a recovery stops the PostgreSQL started by the recovery.
    await server.kill("SIGTERM");
    expect(server.child.exitCode).toBe(0);
    await until("PostgreSQL stopped", () => !alive(reborn), 5_000);
    expect(postmasterPid(dataDir)).toBeUndefined();
  }, 240_000);
});
