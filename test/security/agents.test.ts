// Attacks on lbplane's agent API, each through real HTTP against an lbplane listening on loopback:
// an impostor taking a live agent's name, a registration aiming pushes at another endpoint, an
// anonymous caller making lbplane parse a body before the join token, a rogue reporter forging
// health, and an agent whose transport trouble would leak into a tenant's operation. Each case
// asserts the attack fails AND that the victim (the real agent, the tenant) saw no change.

import { spawn } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AUTH } from "../helpers/app.js";
import { lbPath } from "../helpers/seed.js";
import type { ProbeReport } from "../../src/domain/agent-protocol.js";
import { FakeAgent } from "../agents/fake-agent.js";
import { JOIN_TOKEN, prepareNetwork, simpleLb, startPlane, until, waitForOperation, writeLb, type Plane } from "../agents/harness.js";

const CAPS = { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function post(base: string, path: string, token: string | undefined, body: unknown) {
  const res = await fetch(base + path, {
    method: "POST",
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), "content-type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, text };
}

/** A loopback HTTP service that records every request and answers with `answer`. */
async function trap(answer: (res: http.ServerResponse) => void = (res) => res.writeHead(200).end("ok")) {
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    answer(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const register = (plane: Plane, name: string, url: string, extra: Record<string, unknown> = {}) =>
  post(plane.url, "/dataplane/v1/agents/register", JOIN_TOKEN, { name, location: "westeurope", url, capabilities: CAPS, ...extra });

async function agentsView(plane: Plane) {
  const res = await fetch(`${plane.url}/dataplane/v1/agents`, { headers: AUTH });
  return ((await res.json()) as { value: Array<{ name: string; url: string; state: string; lastError?: string }> }).value;
}

describe("agent identity: a live agent's name is its own", () => {
  let plane: Plane;
  let real: FakeAgent;

  beforeAll(async () => {
    plane = await startPlane({ LBPLANE_AGENT_LIVENESS_MS: "3000" });
    await prepareNetwork(plane);
    real = await plane.addAgent("edge-1");
  });
  afterAll(() => plane.close());

  it("an impostor with the join token cannot register a live agent's name; the real agent keeps heartbeating and taking pushes", async () => {
    const impostor = new FakeAgent("edge-1", plane.url);
    await impostor.start();
    try {
      const res = await register(plane, "edge-1", impostor.url);
      expect(res.status).toBe(409);
      expect(res.json.error.code).toBe("AgentNameInUse");
      expect(res.json.error.message).toContain("'edge-1'");
      expect(res.json.error.message).toMatch(/live agent/);
      // Guessing at a credential is no better.
      const guessed = await register(plane, "edge-1", impostor.url, { credential: "x".repeat(43) });
      expect(guessed.status).toBe(409);

      // The victim: same row, same URL, its credential still works, and pushes still reach it alone.
      expect((await real.heartbeat()).status).toBe(200);
      const view = (await agentsView(plane)).find((a) => a.name === "edge-1")!;
      expect(view).toMatchObject({ url: real.url, state: "live" });
      const w = await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80));
      await real.waitForGeneration(w.generation, 10_000);
      expect((await waitForOperation(plane, w.operationUrl, 10_000)).status).toBe("Succeeded");
      expect(impostor.received).toHaveLength(0);
    } finally {
      await impostor.kill();
    }
  });

  it("the holder itself re-registers by presenting its current credential, and keeps its identity", async () => {
    const before = real.reg!;
    const again = await real.register(JOIN_TOKEN);
    expect(again.agentId).toBe(before.agentId);
    expect(again.credential).not.toBe(before.credential);
    expect((await real.heartbeat()).status).toBe(200);
  });

  it("a restarted agent that lost its credential gets its name back once the old registration lapses", async () => {
    real.stopHeartbeats();
    const reborn = new FakeAgent("edge-1", plane.url);
    await reborn.start();
    try {
      const refusedWhileLive = await register(plane, "edge-1", reborn.url);
      expect(refusedWhileLive.status).toBe(409);
      const reg = await until("the name frees within the liveness window", async () => {
        const r = await register(plane, "edge-1", reborn.url);
        return r.status === 200 ? r.json : undefined;
      }, 10_000, 100);
      expect(reg.agentId).toBe(real.reg!.agentId);
      // The predecessor's credential no longer works.
      expect((await real.heartbeat()).status).toBe(401);
    } finally {
      await reborn.kill();
    }
  });
});

describe("two real lbplane-agent processes started with the same --name", () => {
  let plane: Plane;
  const children: ReturnType<typeof spawn>[] = [];
  const bin = fileURLToPath(new URL("../../bin/lbplane-agent.js", import.meta.url));

  beforeAll(async () => {
    plane = await startPlane();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
    await plane.close();
  });

  const startAgent = (...extra: string[]) => {
    const child = spawn(process.execPath, [bin, "--control-plane", plane.url, "--name", "twin", "--location", "westeurope", "--listen", "127.0.0.1:0", ...extra], {
      env: { ...process.env, LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    children.push(child);
    const out = { text: "", code: undefined as number | null | undefined };
    child.stdout!.on("data", (c) => (out.text += c));
    child.stderr!.on("data", (c) => (out.text += c));
    child.once("exit", (code) => (out.code = code));
    return out;
  };

  it("the second exits non-zero saying the name is taken; the first keeps its registration", async () => {
    const first = startAgent();
    await until("the first agent registers", async () => (await agentsView(plane)).some((a) => a.name === "twin" && a.state === "live"), 45_000, 100);
    const firstUrl = (await agentsView(plane)).find((a) => a.name === "twin")!.url;

    const second = startAgent();
    await until("the second agent gives up", () => second.code !== undefined, 45_000, 100);
    expect(second.code).not.toBe(0);
    expect(second.text).toMatch(/agent name 'twin' is held by another live agent/);

    // The first never lost its name: same URL, live, still running.
    const view = (await agentsView(plane)).find((a) => a.name === "twin")!;
    expect(view).toMatchObject({ url: firstUrl, state: "live" });
    expect(first.code).toBeUndefined();
    expect(first.text).not.toMatch(/registering again/);
  }, 120_000);

  it("an agent advertising a URL with a path is refused and exits non-zero at once, saying why", async () => {
    const misconfigured = startAgent("--name", "misconfigured", "--advertise-url", "http://127.0.0.1:9/internal/admin");
    await until("the misconfigured agent gives up", () => misconfigured.code !== undefined, 30_000, 100);
    expect(misconfigured.code).not.toBe(0);
    expect(misconfigured.text).toMatch(/refused the registration \(400\)/);
    expect((await agentsView(plane)).some((a) => a.name === "misconfigured")).toBe(false);
  }, 60_000);
});

describe("push targets: lbplane pushes only to http(s)://host:port/v1/config", () => {
  let plane: Plane;
  let service: Awaited<ReturnType<typeof trap>>;

  beforeAll(async () => {
    plane = await startPlane();
    await prepareNetwork(plane);
    service = await trap();
  });
  afterAll(async () => {
    await service.close();
    await plane.close();
  });

  it.each([
    ["a path", "/internal/admin"],
    ["a query", "/?x="],
    ["a path and query", "/internal/admin?x="],
    ["a fragment", "#frag"],
    ["a trailing slash", "/"],
  ])("a registration URL with %s is refused and nothing is pushed there", async (_what, tail) => {
    const res = await register(plane, `ssrf-${tail.length}`, service.url + tail);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("InvalidAgentUrl");
    expect(res.json.error.message).toMatch(/no path, query or fragment/);
  });

  it("a registration URL with userinfo is refused", async () => {
    const res = await register(plane, "ssrf-userinfo", service.url.replace("://", "://admin:secret@"));
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/userinfo/);
  });

  it("after the refused registrations, a write pushes nothing to the targeted service and no such agent exists", async () => {
    const w = await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80));
    await waitForOperation(plane, w.operationUrl, 10_000);
    await sleep(300);
    expect(service.seen).toEqual([]);
    expect((await agentsView(plane)).filter((a) => a.name.startsWith("ssrf"))).toEqual([]);
  });
});

describe("push targets: LBPLANE_AGENT_NETWORKS", () => {
  let plane: Plane;
  let service: Awaited<ReturnType<typeof trap>>;

  beforeAll(async () => {
    plane = await startPlane({ LBPLANE_AGENT_NETWORKS: "10.0.0.0/8" });
    await prepareNetwork(plane);
    service = await trap();
  });
  afterAll(async () => {
    await service.close();
    await plane.close();
  });

  it("a registration pointing at loopback, outside the allowed networks, is refused and never pushed to", async () => {
    const res = await register(plane, "outside", service.url);
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("AgentUrlNotAllowed");
    expect(res.json.error.message).toContain("10.0.0.0/8");
    const byName = await register(plane, "by-name", "http://localhost:7070");
    expect(byName.status).toBe(403);
    const w = await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80));
    await waitForOperation(plane, w.operationUrl);
    expect(service.seen).toEqual([]);
  });

  it("a registration inside the allowed networks is accepted", async () => {
    expect((await register(plane, "inside", "http://10.1.2.3:7070")).status).toBe(200);
  });
});

describe("registration checks the join token before reading the body", () => {
  let plane: Plane;
  beforeAll(async () => {
    plane = await startPlane();
  });
  afterAll(() => plane.close());

  it("an anonymous caller sending a 4 MiB body, or a deeply nested one, gets 401 and registers nothing", async () => {
    const big = JSON.stringify({ name: "x", location: "westeurope", url: "http://127.0.0.1:1", capabilities: CAPS, pad: "a".repeat(4 * 1024 * 1024) });
    const bigRes = await post(plane.url, "/dataplane/v1/agents/register", undefined, big);
    expect(bigRes.status).toBe(401);
    expect(bigRes.json.error.code).toBe("AgentAuthenticationFailed");
    const deep = `${"[".repeat(20_000)}${"]".repeat(20_000)}`;
    const deepRes = await post(plane.url, "/dataplane/v1/agents/register", "wrong-join-token", deep);
    expect(deepRes.status).toBe(401);
    expect(await agentsView(plane)).toEqual([]);
  });
});

describe("health provenance: an agent reports only on what it was sent", () => {
  let plane: Plane;
  let rogue: FakeAgent;
  let webUid: string;
  const report = (over: Record<string, unknown>) => ({
    loadBalancerId: lbPath("rg1", "web"),
    probe: "probe",
    backendAddress: "10.0.0.4",
    state: "Down",
    reason: "forged",
    since: new Date().toISOString(),
    ...over,
  }) as ProbeReport;

  beforeAll(async () => {
    plane = await startPlane({ LBPLANE_AGENT_LIVENESS_MS: "10000" });
    await prepareNetwork(plane);
    webUid = (await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80, "vip1", ["10.0.0.4", "10.0.0.5"]))).uid;
    // Another tenant-visible load balancer of the same location, on other DIPs.
    await writeLb(plane, "rg1", "api", simpleLb("rg1", "api", 81, "vip2", ["10.0.0.6"]));
  });
  afterAll(() => plane.close());
  afterEach(async () => plane.db.probeHealth.deleteMany({ where: { agentId: rogue?.reg?.agentId } }));

  it("a rogue reporter cannot set a tenant's backend Down under a probe that does not target it", async () => {
    rogue = await plane.addAgent("rogue-west");
    // 10.0.0.6 is a backend of 'api', not of 'web': web's probe was never sent that address.
    const res = await rogue.reportHealth({ full: false, reports: [report({ backendAddress: "10.0.0.6" }), report({ backendAddress: "10.0.0.6", loadBalancerId: lbPath("rg1", "web").toUpperCase() })] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: 0, ignored: 2 });
    expect(await plane.db.probeHealth.count({ where: { loadBalancerId: webUid } })).toBe(0);
  });

  it("a rogue reporter of another location cannot set a tenant's backend Down", async () => {
    rogue = await plane.addAgent("rogue-east", { location: "eastus" });
    const res = await rogue.reportHealth({ full: false, reports: [report({}), report({ backendAddress: "10.0.0.5" })] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: 0, ignored: 2 });
    expect(await plane.db.probeHealth.count({ where: { loadBalancerId: webUid } })).toBe(0);
  });

  it("an agent of the location cannot store invented backend addresses or probes", async () => {
    rogue = await plane.addAgent("rogue-west-2");
    const invented = Array.from({ length: 500 }, (_, i) => report({ backendAddress: `10.9.${Math.floor(i / 250)}.${i % 250}` }));
    const res = await rogue.reportHealth({ full: true, reports: [...invented, report({ probe: "nope" }), report({ backendAddress: "::ffff:10.9.9.9" })] });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ accepted: 0, ignored: 502 });
    expect(await plane.db.probeHealth.count()).toBe(0);
  });

  it("what it was sent still counts: its report about the DIPs the probe targets is stored", async () => {
    rogue = await plane.addAgent("honest-west");
    const res = await rogue.reportHealth({ full: true, reports: [report({ state: "Up" }), report({ state: "Up", backendAddress: "10.0.0.5" })] });
    expect(res.json).toEqual({ accepted: 2, ignored: 0 });
  });
});

describe("what tenants see: no agent transport text in an operation's error", () => {
  let plane: Plane;
  let bad: Awaited<ReturnType<typeof trap>>;

  beforeAll(async () => {
    plane = await startPlane();
    await prepareNetwork(plane);
    // An "agent" whose endpoint answers 500 with a body of its choosing (or another service's).
    bad = await trap((res) => res.writeHead(500, { "content-type": "text/plain" }).end("root:x:0:0:SECRET-FROM-TARGET"));
  });
  afterAll(async () => {
    await bad.close();
    await plane.close();
  });

  it("a failed operation names the load balancer and the agent, never the agent's URL, status or answer", { timeout: 30_000 }, async () => {
    const reg = (await register(plane, "leaky", bad.url)).json;
    const beat = setInterval(() => void post(plane.url, `/dataplane/v1/agents/${reg.agentId}/heartbeat`, reg.credential, { appliedGeneration: -1 }).catch(() => {}), 300);
    try {
      const w = await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80));
      const op = await waitForOperation(plane, w.operationUrl, 20_000);
      expect(op.status).toBe("Failed");
      expect(op.error!.code).toBe("AgentConfigurationTimeout");
      expect(op.error!.message).toContain(lbPath("rg1", "web"));
      const tenantText = JSON.stringify(op);
      expect(tenantText).not.toContain("SECRET-FROM-TARGET");
      expect(tenantText).not.toContain(bad.url.replace("http://", ""));
      expect(tenantText).not.toMatch(/answered 500|last error/);
      // The operator still sees why.
      const view = (await agentsView(plane)).find((a) => a.name === "leaky")!;
      expect(view.lastError).toContain("500");
    } finally {
      clearInterval(beat);
    }
  });
});
