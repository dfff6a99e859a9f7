// A database that stops answering (every PostgreSQL process of the cluster SIGSTOPped, as a hung
// host or a paused VM would) for longer than lbplane's bounds: every request still answers, within
// the documented bound, with 503 ServiceUnavailable and Retry-After; /readyz within 2 s; /healthz
// stays 200 (the process is fine). After SIGCONT lbplane serves again by itself.

import { rmSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../agents/processes.js";
import { loadBalancerPath } from "../kit/bodies.js";
import { until } from "../kit/wait.js";
import { api, clusterPids, freshDataDir, startEmbeddedLbplane, timed } from "./kit.js";
import { createResourceGroup, loadBalancerBody, NET, RG, writePair } from "./workload.js";

/** README "Operations": acquire (3 s) + statement (5 s) + 0.5 s client margin, plus scheduling slack on a shared CI box. */
const REQUEST_BOUND_MS = 9_500;
const READYZ_BOUND_MS = 2_000;
const HANG_MS = 12_000;

describe("a hung database (SIGSTOP) for longer than the bounds", () => {
  let server: ServerProcess | undefined;
  let dataDir = "";
  let stopped: number[] = [];
  afterAll(async () => {
    for (const pid of stopped) {
      try {
        process.kill(pid, "SIGCONT");
      } catch {}
    }
    await server?.kill("SIGKILL");
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it("answers every request with 503 within the bound, /readyz within 2 s, and recovers after SIGCONT", async () => {
    dataDir = await freshDataDir();
    server = await startEmbeddedLbplane(dataDir);
    const { url } = server;
    await createResourceGroup(url);
    expect(await writePair(url, "before", "65.52.201.1")).toBeDefined();

    const requests = () => [
      timed(() => api(url, "GET", `${loadBalancerPath(RG, "before")}?${NET}`)),
      timed(() => api(url, "GET", `/subscriptions/00000000-0000-0000-0000-000000000001/providers/Microsoft.Network/loadBalancers?${NET}`)),
      timed(() => api(url, "PUT", `${loadBalancerPath(RG, "before")}?${NET}`, loadBalancerBody("before", "65.52.201.1"))),
      timed(() => api(url, "DELETE", `${loadBalancerPath(RG, "before")}?${NET}`)),
      timed(() => api(url, "GET", "/metrics")),
    ];

    stopped = clusterPids(dataDir);
    expect(stopped.length).toBeGreaterThan(1);
    const hungAt = performance.now();
    for (const pid of stopped) process.kill(pid, "SIGSTOP");

    // Two rounds: one meets idle pooled connections (query timeout), the next a pool whose
    // connections are all stuck (acquire timeout), each with a readiness and a liveness probe.
    const rounds: Array<{ ms: number; status: number; retryAfter: string | null; code?: string; what: string }> = [];
    for (let round = 0; round < 2; round++) {
      const readyz = await timed(() => api(url, "GET", "/readyz"));
      expect(readyz.value.status).toBe(503);
      expect(readyz.ms).toBeLessThan(READYZ_BOUND_MS);
      const healthz = await timed(() => api(url, "GET", "/healthz"));
      expect(healthz.value.status).toBe(200);
      const answers = await Promise.all(requests());
      answers.forEach((a, i) =>
        rounds.push({ ms: Math.round(a.ms), status: a.value.status, retryAfter: a.value.headers.get("retry-after"), code: a.value.json?.error?.code, what: `round ${round} request ${i}` }),
      );
    }
    const remaining = HANG_MS - (performance.now() - hungAt);
    if (remaining > 0) await new Promise((r) => setTimeout(r, remaining));
    for (const pid of stopped) process.kill(pid, "SIGCONT");
    const resumedAt = performance.now();
    stopped = [];

    console.log(`faults: answers while hung ${JSON.stringify(rounds.map((r) => [r.status, r.ms]))}`);
    for (const r of rounds) {
      // /metrics may still answer 200 from memory; nothing may hang or answer 500.
      expect(r.status === 503 || (r.status === 200 && r.what.endsWith("request 4")), JSON.stringify(r)).toBe(true);
      if (r.status === 503) {
        expect(r.code).toBe("ServiceUnavailable");
        expect(Number(r.retryAfter)).toBeGreaterThan(0);
      }
      expect(r.ms, JSON.stringify(r)).toBeLessThan(REQUEST_BOUND_MS);
    }

    await until("lbplane serves again after SIGCONT", async () => (await api(url, "GET", `${loadBalancerPath(RG, "before")}?${NET}`)).status === 200, 30_000, 100);
    console.log(`faults: serving again ${Math.round(performance.now() - resumedAt)} ms after SIGCONT`);
    expect((await api(url, "GET", "/readyz")).status).toBe(200);
    expect(await writePair(url, "after", "65.52.201.2")).toBeDefined();

    const log = server.log.join("");
    expect(log.match(/database unavailable/g)?.length).toBe(1);
    await until("the recovery is logged", () => /database available again/.test(server!.log.join("")), 5_000, 100);
  }, 240_000);
});
