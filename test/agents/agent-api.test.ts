import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, createTestApp, type TestApp } from "../helpers/app.js";
import { lbPath } from "../helpers/seed.js";
import { JOIN_TOKEN, prepareNetwork, simpleLb, writeLb } from "./harness.js";

const registration = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  location: "West Europe",
  url: "http://127.0.0.1:1",
  capabilities: { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] },
  ...extra,
});

describe("agent API: authentication and bad input", () => {
  let t: TestApp;
  const post = (url: string, token: string | undefined, payload: unknown) =>
    t.app.inject({ method: "POST", url, headers: token ? { authorization: `Bearer ${token}` } : {}, payload: payload as object });
  let agent: { agentId: string; credential: string; pushToken: string };

  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "1000" });
    await prepareNetwork(t);
    await writeLb(t, "rg1", "web", simpleLb("rg1", "web", 80));
  });
  afterAll(() => t.close());

  it("registration without the join token, or with a wrong one, is refused", async () => {
    expect((await post("/dataplane/v1/agents/register", undefined, registration("a1"))).statusCode).toBe(401);
    const wrong = await post("/dataplane/v1/agents/register", "not-the-join-token", registration("a1"));
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("AgentAuthenticationFailed");
  });

  it("registration returns a credential and a push token, and stores only the credential's digest", async () => {
    const res = await post("/dataplane/v1/agents/register", JOIN_TOKEN, registration("a1"));
    expect(res.statusCode, res.body).toBe(200);
    agent = res.json();
    expect(agent.credential).not.toBe(agent.pushToken);
    const row = await t.db.agent.findUniqueOrThrow({ where: { id: agent.agentId } });
    expect(row.location).toBe("westeurope");
    expect(row.credentialHash).not.toContain(agent.credential);
    expect(row.ackedGeneration).toBe(-1n);
  });

  it("a malformed registration is a 400", async () => {
    const res = await post("/dataplane/v1/agents/register", JOIN_TOKEN, registration("a2", { url: "ftp://x", extra: 1 }));
    expect(res.statusCode).toBe(400);
  });

  it("heartbeats need the agent's own credential", async () => {
    const url = `/dataplane/v1/agents/${agent.agentId}/heartbeat`;
    expect((await post(url, undefined, { appliedGeneration: -1 })).statusCode).toBe(401);
    expect((await post(url, JOIN_TOKEN, { appliedGeneration: -1 })).statusCode).toBe(401);
    expect((await post(`/dataplane/v1/agents/00000000-0000-0000-0000-000000000000/heartbeat`, agent.credential, { appliedGeneration: -1 })).statusCode).toBe(401);
    expect((await post(`/dataplane/v1/agents/not-a-uuid/heartbeat`, agent.credential, { appliedGeneration: -1 })).statusCode).toBe(401);
    const ok = await post(url, agent.credential, { appliedGeneration: -1 });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().desiredGeneration).toBeGreaterThanOrEqual(1);
  });

  const report = (over: Record<string, unknown> = {}) => ({
    loadBalancerId: lbPath("rg1", "web"),
    probe: "probe",
    backendAddress: "10.0.0.4",
    state: "Up",
    since: new Date().toISOString(),
    ...over,
  });

  it("health reports: unauthenticated → 401; unknown load balancers and probes ignored per item", async () => {
    const url = `/dataplane/v1/agents/${agent.agentId}/health`;
    expect((await post(url, undefined, { full: false, reports: [report()] })).statusCode).toBe(401);
    await post(`/dataplane/v1/agents/${agent.agentId}/heartbeat`, agent.credential, { appliedGeneration: -1 });
    const res = await post(url, agent.credential, {
      full: false,
      reports: [report(), report({ loadBalancerId: lbPath("rg1", "nope") }), report({ probe: "nope" })],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: 1, ignored: 2 });
    expect(await t.db.probeHealth.count()).toBe(1);
  });

  it("malformed or oversized reports are a 400 and change nothing", async () => {
    const url = `/dataplane/v1/agents/${agent.agentId}/health`;
    await post(`/dataplane/v1/agents/${agent.agentId}/heartbeat`, agent.credential, { appliedGeneration: -1 });
    const bad = await post(url, agent.credential, { full: true, reports: [report({ state: "Sideways" })] });
    expect(bad.statusCode).toBe(400);
    const nul = await post(url, agent.credential, { full: true, reports: [report({ backendAddress: "10.0.0.4\u0000" })] });
    expect(nul.statusCode).toBe(400);
    const notJson = await t.app.inject({
      method: "POST", url, headers: { authorization: `Bearer ${agent.credential}`, "content-type": "application/json" }, payload: "{nope",
    });
    expect(notJson.statusCode).toBe(400);
    const big = { full: true, reports: Array.from({ length: 9000 }, (_, i) => report({ backendAddress: `10.1.${i >> 8}.${i & 255}`, reason: "x".repeat(100) })) };
    const oversized = await post(url, agent.credential, big);
    expect(oversized.statusCode).toBe(400);
    const tooMany = await post(url, agent.credential, { full: true, reports: Array.from({ length: 10_001 }, () => ({})) });
    expect(tooMany.statusCode).toBe(400);
    expect(await t.db.probeHealth.count()).toBe(1);
    const lb = await t.db.loadBalancer.findFirstOrThrow();
    expect(lb.provisioningState).toBe("Succeeded");
  });

  it("a report from a stale agent is refused with 409", async () => {
    await new Promise((r) => setTimeout(r, 1100));
    const res = await post(`/dataplane/v1/agents/${agent.agentId}/health`, agent.credential, { full: false, reports: [report()] });
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe("AgentNotLive");
  });

  it("operators list agents with the admin token only", async () => {
    expect((await t.app.inject({ method: "GET", url: "/dataplane/v1/agents" })).statusCode).toBe(401);
    const res = await t.app.inject({ method: "GET", url: "/dataplane/v1/agents", headers: AUTH });
    expect(res.statusCode).toBe(200);
    expect(res.json().value[0]).toMatchObject({ name: "a1", location: "westeurope", state: "stale", ackedGeneration: -1, desiredGeneration: 1 });
  });

  it("re-registering by name keeps the id and replaces the credential", async () => {
    const res = await post("/dataplane/v1/agents/register", JOIN_TOKEN, registration("a1"));
    expect(res.json().agentId).toBe(agent.agentId);
    const old = await post(`/dataplane/v1/agents/${agent.agentId}/heartbeat`, agent.credential, { appliedGeneration: -1 });
    expect(old.statusCode).toBe(401);
    agent = res.json();
  });

  it("deregistration removes the agent", async () => {
    const res = await t.app.inject({ method: "DELETE", url: `/dataplane/v1/agents/${agent.agentId}`, headers: { authorization: `Bearer ${agent.credential}` } });
    expect(res.statusCode).toBe(204);
    expect(await t.db.agent.count()).toBe(0);
  });

  it("the agent API is in the OpenAPI document with operation ids", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/docs/json" })).json();
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const id of ["Agents_Register", "Agents_Heartbeat", "Agents_ReportHealth", "Agents_Deregister", "Agents_List", "LoadBalancerLoadBalancingRules_Health", "Metrics"]) {
      expect(ids).toContain(id);
    }
  });
});

describe("agent registration with no join token configured", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it("is disabled (503)", async () => {
    const res = await t.app.inject({
      method: "POST", url: "/dataplane/v1/agents/register", headers: { authorization: "Bearer anything" }, payload: registration("x"),
    });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.code).toBe("AgentRegistrationDisabled");
  });
});
