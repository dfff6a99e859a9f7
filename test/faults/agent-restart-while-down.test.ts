// The control plane's host dies (lbplane and its embedded PostgreSQL SIGKILLed) under a real
// lbplane-agent serving the seed's rule type #1 on loopback; while it is down the agent is restarted
// as an operator would (SIGTERM, same command line). Issue 11 promises: a running agent keeps
// forwarding with its last configuration and says once that the control plane is unavailable instead of
// crash-looping; a restarted agent keeps retrying its registration with backoff and does not exit
// (it persists no configuration, so it forwards nothing until it has registered); once lbplane is
// back on the same data the agent gets its name back, receives its configuration and forwards
// again — measured from lbplane's start — and changes made right after reach it.

import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import type { ServerProcess } from "../agents/processes.js";
import { freePort, spread, startHttpBackend, tryGet, type Backend } from "../dataplane/lab.js";
import {
  type AgentProcess,
  createPublicIp,
  createResourceGroup,
  findAgent,
  followOperation,
  lbPath,
  loadBalancerBody,
  NET,
  putLoadBalancer,
  type RuleSpec,
  spawnAgent,
} from "../e2e/cluster.js";
import { until } from "../kit/wait.js";
import { api, freshDataDir, JOIN_TOKEN, killControlPlaneHost, startEmbeddedLbplane } from "./kit.js";

// This file's loopback addresses (DIPs 127.0.0.5x, VIPs 127.51.0.x): no other test listens there.
const VIP1 = "127.51.0.1";
const VIP2 = "127.51.0.2";
const VM1 = "127.0.0.51";
const VM2 = "127.0.0.52";
const VM3 = "127.0.0.53";
const RG = "ar";
const NAME = "ar-agent";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface LogLine {
  time: string;
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** The agent's JSON log lines (stderr), parsed. */
const agentLog = (agent: AgentProcess): LogLine[] =>
  agent
    .stderr()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);

/** `n` fresh connections to `vip`, each answered by a backend (never refused, reset or timed out). */
async function allAnswered(vip: string, port: number, n: number): Promise<Record<string, number>> {
  const seen = await spread(vip, port, n);
  expect(seen.error ?? 0, `${vip}:${port} ${JSON.stringify(seen)}`).toBe(0);
  return seen;
}

describe("an agent restarted while the control plane is down", () => {
  const servers: ServerProcess[] = [];
  const agents: AgentProcess[] = [];
  const backends: Backend[] = [];
  const dataDirs: string[] = [];
  afterAll(async () => {
    for (const a of agents) await a.kill("SIGKILL");
    for (const s of servers) await s.kill("SIGTERM");
    for (const b of backends) await b.close();
    for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
  });

  it("keeps forwarding, retries its registration without exiting, and forwards again once lbplane is back", async () => {
    const dataDir = await freshDataDir();
    dataDirs.push(dataDir);
    // lbplane comes back on the same address, as behind a stable name or service address.
    const lbPort = await freePort(["127.0.0.1"]);
    const env = { PORT: String(lbPort) };
    const first = await startEmbeddedLbplane(dataDir, env);
    servers.push(first);
    const base = first.url;

    // The seed's rule type #1: two VIPs on one port, each to its own backend port on both VMs.
    const P = await freePort([VIP1, VIP2]);
    const S1 = await freePort([VM1, VM2, VM3]);
    const S2 = await freePort([VM1, VM2]);
    for (const [vm, host] of [["vm1", VM1], ["vm2", VM2]]) {
      backends.push(await startHttpBackend(host, S1, `${vm}:s1`), await startHttpBackend(host, S2, `${vm}:s2`));
    }
    const agentArgs = (level: string) => ["--probe-interval-ms", "300", "--log-level", level, "--drain-timeout-ms", "2000"];
    let agent = spawnAgent(base, NAME, agentArgs("info"));
    agents.push(agent);
    await until("the agent registers", async () => (await findAgent(base, NAME))?.state === "live", 60_000, 200);

    await createResourceGroup(base, RG);
    await createPublicIp(base, RG, "vip1", VIP1);
    await createPublicIp(base, RG, "vip2", VIP2);
    const rule = (name: string, frontend: string, frontendPort: number, backendPort: number, probe: string): RuleSpec => ({
      name,
      frontend,
      frontendPort,
      backendPort,
      probe,
    });
    const seed = {
      frontends: { fe1: "vip1", fe2: "vip2" },
      vms: { vm1: VM1, vm2: VM2 },
      probes: { s1: S1, s2: S2 },
      rules: [rule("vip1", "fe1", P, S1, "s1"), rule("vip2", "fe2", P, S2, "s2")],
    };
    const op = await putLoadBalancer(base, lbPath(RG, "seed"), loadBalancerBody(RG, "seed", seed), 60_000);
    expect(op.status, `${JSON.stringify(op)}\n${agent.stderr()}`).toBe("Succeeded");
    await until("both VMs answer through both VIPs", async () => {
      const [one, two] = [await spread(VIP1, P, 12), await spread(VIP2, P, 12)];
      return one["vm1:s1"] && one["vm2:s1"] && two["vm1:s2"] && two["vm2:s2"];
    }, 30_000, 200);

    // (1) The host of the control plane dies: lbplane and its PostgreSQL, both SIGKILLed.
    const logBefore = agentLog(agent).length;
    await killControlPlaneHost(first, dataDir);
    const downSince = Date.now();
    for (let round = 0; round < 4; round++) {
      await allAnswered(VIP1, P, 5);
      await allAnswered(VIP2, P, 5);
      await sleep(500);
    }
    // Two liveness windows (3 s) without lbplane: still forwarding, still the same process, and it
    // says why its heartbeats fail rather than restarting.
    await until("two liveness windows without lbplane", () => Date.now() - downSince > 6_000, 10_000, 100);
    expect(await allAnswered(VIP1, P, 10)).toMatchObject({ "vm1:s1": expect.any(Number), "vm2:s1": expect.any(Number) });
    expect(agent.child.exitCode).toBeNull();
    // Said once, not once per failed heartbeat (every 750 ms here), health or traffic report.
    const outage = agentLog(agent).slice(logBefore);
    const warnings = outage.filter((l) => l.level !== "info");
    expect(warnings.map((l) => l.msg), agent.stderr()).toEqual(["control plane unavailable; forwarding with the last configuration and retrying"]);
    // Refused, or a kept-alive connection that the kill cut mid-call (reset, closed).
    expect(warnings[0].err).toMatch(/ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET/);

    // (2) The operator restarts the agent while lbplane is still down: it drains, exits 0 …
    const stoppedAt = performance.now();
    await agent.kill("SIGTERM");
    const stopMs = performance.now() - stoppedAt;
    expect(agent.child.exitCode, agent.stderr()).toBe(0);
    expect(await tryGet(VIP1, P, { timeoutMs: 1000 })).toBe("error");
    // … and starts again with the same command line: it cannot register, so it retries with backoff
    // and stays up; having persisted no configuration, it forwards nothing meanwhile.
    agent = spawnAgent(base, NAME, agentArgs("debug")); // debug: each retry, not only the outage's first line
    agents.push(agent);
    const restartedAt = Date.now();
    await until("the restarted agent has retried its registration six times", () => {
      const n = agentLog(agent).filter((l) => l.msg === "registration failed; retrying").length;
      return n >= 6;
    }, 20_000, 100);
    const retries = agentLog(agent).filter((l) => l.msg === "registration failed; retrying");
    // Backoff that grows to a heartbeat interval (a new process knows only lbplane's default, 1.25 s)
    // and no further, so the agent finds the control plane within that long of its return.
    const delays = retries.map((l) => Number(l.retryInMs));
    expect(delays.slice(1).every((d, i) => d >= delays[i]), JSON.stringify(delays)).toBe(true);
    expect(delays[0]).toBeLessThan(delays.at(-1) as number);
    expect(delays.at(-1)).toBe(1250);
    expect(String(retries[0].err)).toMatch(/ECONNREFUSED/);
    expect(agentLog(agent).filter((l) => l.level === "warn" || l.level === "error").map((l) => l.msg)).toEqual([
      "control plane unavailable; forwarding with the last configuration and retrying",
    ]);
    expect(agent.child.exitCode).toBeNull();
    expect(await tryGet(VIP1, P, { timeoutMs: 1000 })).toBe("error");
    expect(await tryGet(VIP2, P, { timeoutMs: 1000 })).toBe("error");
    const waitingMs = Date.now() - restartedAt;

    // (3) lbplane starts again on the same data (PostgreSQL's crash recovery included).
    const startedAt = Date.now();
    const second = await startEmbeddedLbplane(dataDir, env);
    servers.push(second);
    const listeningAt = Date.now();
    expect(second.url).toBe(base);
    // (4) A change right after it is back, before the agent has registered again: a third VM.
    const withVm3 = { ...seed, vms: { ...seed.vms, vm3: VM3 } };
    backends.push(await startHttpBackend(VM3, S1, "vm3:s1"));
    const change = await api(base, "PUT", `${lbPath(RG, "seed")}?${NET}`, loadBalancerBody(RG, "seed", withVm3));
    expect(change.status, JSON.stringify(change.json)).toBeLessThan(300);

    await until("the first request forwarded after lbplane's start", async () => (await tryGet(VIP1, P, { timeoutMs: 500 })) !== "error", 60_000, 25);
    const firstForwardMs = Date.now() - startedAt;
    const registered = agentLog(agent).find((l) => l.msg === "registered");
    const registeredMs = registered ? Date.parse(registered.time) - startedAt : Number.NaN;
    console.log(
      `faults: agent restarted while lbplane was down → first request forwarded ${firstForwardMs} ms after lbplane's start ` +
        `(lbplane listening after ${listeningAt - startedAt} ms, agent registered after ${registeredMs} ms; ` +
        `the restarted agent had waited ${waitingMs} ms with backoff ${delays.join("/")} ms; SIGTERM drain ${Math.round(stopMs)} ms)`,
    );

    // Its identity: the same name, one agent, live, everything acknowledged, nothing refused.
    await until("the agent acknowledges everything", async () => {
      const view = await findAgent(base, NAME);
      return view?.state === "live" && view.ackedGeneration === view.desiredGeneration && view.loadBalancers.every((lb) => lb.state === "Applied");
    }, 30_000, 100);
    const listed = (await api(base, "GET", "/dataplane/v1/agents")).json.value as { name: string }[];
    expect(listed.filter((a) => a.name === NAME)).toHaveLength(1);
    expect(agentLog(agent).filter((l) => l.level === "error")).toEqual([]);
    expect(agentLog(agent).filter((l) => /name held/.test(l.msg))).toEqual([]);
    expect(agentLog(agent).filter((l) => l.msg === "control plane available again")).toHaveLength(1);
    // Another process taking the name now is refused, and told how long a holder keeps it.
    const taken = await fetch(`${base}/dataplane/v1/agents/register`, {
      method: "POST",
      headers: { authorization: `Bearer ${JOIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: NAME, location: "westeurope", url: "http://127.0.0.1:9", capabilities: { driver: "userspace", floatingIP: false, haPorts: false, protocols: ["Tcp"] }, appliedGeneration: -1 }),
    });
    expect(taken.status, await taken.text()).toBe(409);
    expect(taken.headers.get("retry-after")).toBe("3");

    // The change made right after lbplane came back is served, and its operation completed.
    const asyncUrl = change.headers.get("azure-asyncoperation") as string;
    expect((await followOperation(base, asyncUrl, 30_000)).status).toBe("Succeeded");
    await until("vm3 gets flows through VIP1", async () => (await spread(VIP1, P, 12))["vm3:s1"], 30_000, 200);
    await allAnswered(VIP2, P, 6);

    // A later change goes as a delta to the re-registered agent: VIP2 leaves the load balancer.
    const vip1Only = { ...withVm3, frontends: { fe1: "vip1" }, rules: [seed.rules[0]], probes: { s1: S1 } };
    expect((await putLoadBalancer(base, lbPath(RG, "seed"), loadBalancerBody(RG, "seed", vip1Only), 30_000)).status).toBe("Succeeded");
    await until("VIP2 no longer forwarded", async () => (await tryGet(VIP2, P, { timeoutMs: 500 })) === "error", 15_000, 100);
    await allAnswered(VIP1, P, 6);
    const pushes = agentLog(agent).filter((l) => l.msg === "config pushed");
    expect(pushes[0].from, JSON.stringify(pushes)).toBe("full");
    expect(pushes.at(-1)?.from).not.toBe("full");
  }, 180_000);

  it("a new agent process waits for a held name as long as lbplane's 409 says a holder can keep it (Retry-After), not lbplane's default window", async () => {
    // The window is lbplane's setting; a restarted agent has not been told it. A control plane with
    // a 1 s window: the agent must give up after two of them (2 s), not after two default ones (10 s)
    // — so with a window longer than the default it likewise waits for its predecessor to lapse.
    const fake = http.createServer((req, res) => {
      req.resume();
      res.writeHead(409, { "content-type": "application/json", "retry-after": "1" });
      res.end(JSON.stringify({ error: { code: "AgentNameInUse", message: "held", details: [] } }));
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    try {
      const agent = spawnAgent(`http://127.0.0.1:${(fake.address() as AddressInfo).port}`, "ar-held", ["--log-level", "info"]);
      agents.push(agent);
      // Process start is slow under CI load: time the 409s from the agent's own log.
      await until("the agent gives up", () => agent.child.exitCode !== null, 30_000, 50);
      expect(agent.child.exitCode, agent.stderr()).toBe(1);
      expect(agent.stderr()).toMatch(/lbplane answered 409 for 2000 ms/);
      const log = agentLog(agent);
      const firstHeld = log.find((l) => l.msg === "agent name held by another live agent; retrying");
      const gaveUp = log.find((l) => l.msg === "name taken; giving up");
      const heldMs = Date.parse(gaveUp?.time ?? "") - Date.parse(firstHeld?.time ?? "");
      expect(heldMs).toBeGreaterThanOrEqual(2_000);
      expect(heldMs).toBeLessThan(6_000); // lbplane's default window would have made it 10 s
    } finally {
      fake.closeAllConnections();
      await new Promise((r) => fake.close(r));
    }
  });
});
