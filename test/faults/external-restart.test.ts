// An external PostgreSQL (DATABASE_URL) restarted under two running lbplane replicas and a real
// lbplane-agent (userspace driver, loopback addresses): traffic keeps flowing through the agent
// with its last configuration while the database is down; as soon as it is back a change is made on
// replica B while replica A (the agent's control plane) is still re-establishing its connections and
// LISTEN channel, and that change reaches the agent: connections, prepared statements and the change
// feed come back by themselves, and the full resync after the reconnect misses nothing.

import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "../../src/store/embedded-postgres.js";
import { startServer, type ServerProcess } from "../agents/processes.js";
import { freePort, startHttpBackend, tryGet, type Backend } from "../dataplane/lab.js";
import { type AgentProcess, createPublicIp, createResourceGroup, findAgent, lbPath, loadBalancerBody, putLoadBalancer, spawnAgent } from "../e2e/cluster.js";
import { until } from "../kit/wait.js";
import { api, freshDataDir } from "./kit.js";

// Slice-f loopback addresses: nobody else's tests listen here.
const VIP1 = "127.31.0.1";
const VIP2 = "127.31.0.2";
const VM = "127.0.31.11";
const RG = "ext";

describe("external PostgreSQL restarted under two replicas and a real agent", () => {
  let db: EmbeddedDatabase | undefined;
  let dir = "";
  const servers: ServerProcess[] = [];
  const backends: Backend[] = [];
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    await agent?.kill("SIGKILL");
    for (const s of servers) await s.kill("SIGKILL");
    for (const b of backends) await b.close?.();
    await db?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("keeps forwarding during the outage, and a change made on replica B right after reaches the agent", async () => {
    dir = await freshDataDir();
    const port = await freePort(["127.0.0.1"]);
    db = await startEmbeddedPostgres(join(dir, "postgres"), { port, supervise: false });
    const url = db.url("lbplane");
    const env = { LBPLANE_AGENT_LIVENESS_MS: "3000" };
    const [a, b] = await Promise.all([startServer(url, env, 90_000), startServer(url, env, 90_000)]);
    servers.push(a, b);

    const P = await freePort([VIP1, VIP2]);
    const S1 = await freePort([VM]);
    const S2 = await freePort([VM]);
    backends.push(await startHttpBackend(VM, S1, "svc1"), await startHttpBackend(VM, S2, "svc2"));
    agent = spawnAgent(a.url, "f-ext", ["--probe-interval-ms", "300"]);
    await until("the agent registers with replica A", async () => (await findAgent(a.url, "f-ext"))?.state === "live", 60_000, 200);

    await createResourceGroup(b.url, RG);
    await createPublicIp(b.url, RG, "vip1", VIP1);
    await createPublicIp(b.url, RG, "vip2", VIP2);
    const rule = (name: string, fe: string, backendPort: number) => ({ name, frontend: fe, frontendPort: P, backendPort, probe: name });
    const first = loadBalancerBody(RG, "lb", { frontends: { fe1: "vip1" }, vms: { vm1: VM }, probes: { r1: S1 }, rules: [rule("r1", "fe1", S1)] });
    const op = await putLoadBalancer(b.url, lbPath(RG, "lb"), first, 60_000);
    expect(op.status, `${JSON.stringify(op)}\n${agent.stderr()}`).toBe("Succeeded");
    await until("traffic through VIP1", async () => (await tryGet(VIP1, P)) === "svc1", 30_000, 100);

    // The outage: the database stops; the agent keeps forwarding with what it has.
    await db.stop();
    const downAt = performance.now();
    expect((await api(b.url, "GET", `${lbPath(RG, "lb")}?api-version=2026-01-01`)).status).toBe(503);
    for (let i = 0; i < 5; i++) expect(await tryGet(VIP1, P)).toBe("svc1");
    await new Promise((r) => setTimeout(r, 2_000));
    db = await startEmbeddedPostgres(join(dir, "postgres"), { port, supervise: false });

    // Right after: a change on replica B (retried while B itself reconnects).
    const second = loadBalancerBody(RG, "lb", {
      frontends: { fe1: "vip1", fe2: "vip2" },
      vms: { vm1: VM },
      probes: { r1: S1, r2: S2 },
      rules: [rule("r1", "fe1", S1), rule("r2", "fe2", S2)],
    });
    await until("replica B accepts the change", async () => (await api(b.url, "PUT", `${lbPath(RG, "lb")}?api-version=2026-01-01`, second)).status < 300, 30_000, 100);
    await until("the change reaches the agent (traffic through VIP2)", async () => (await tryGet(VIP2, P)) === "svc2", 30_000, 100);
    console.log(`faults: external PostgreSQL restart → change made on B served by the agent ${Math.round(performance.now() - downAt)} ms after the stop`);
    expect(await tryGet(VIP1, P)).toBe("svc1");
    const view = await findAgent(a.url, "f-ext");
    expect(view?.ackedGeneration).toBe(view?.desiredGeneration);
    await until("replica A's change feed is back", () => /change feed listening again/.test(a.log.join("")), 15_000, 200);
  }, 300_000);
});
