import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH } from "../helpers/app.js";
import { getJson, lbPath } from "../helpers/seed.js";
import { operationStatus, prepareNetwork, simpleLb, startPlane, until, waitForOperation, writeLb, type Plane } from "./harness.js";

describe("config push to agents (fake agents are real HTTP servers)", () => {
  let p: Plane;
  beforeAll(async () => {
    p = await startPlane();
    await prepareNetwork(p);
  });
  afterAll(() => p.close());

  it("with no agent in the location, a write's operation completes at once", async () => {
    const w = await writeLb(p, "rg1", "lone", simpleLb("rg1", "lone", 8080, "vip2"));
    expect((await operationStatus(p, w.operationUrl)).status).toBe("Succeeded");
  });

  it("a new agent gets the full config at once, and a write completes when it acknowledges", async () => {
    const a = await p.addAgent("ack-1");
    await until("initial push", () => a.appliedGeneration >= 1);
    expect(a.servedNames()).toEqual(["lone"]);
    expect(a.received[0].auth).toBe(`Bearer ${a.reg!.pushToken}`);

    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 80));
    const op = await waitForOperation(p, w.operationUrl);
    expect(op.status).toBe("Succeeded");
    expect(a.appliedGeneration).toBeGreaterThanOrEqual(w.generation);
    expect(a.servedNames()).toEqual(["lone", "web"]);
    const lb = (await getJson(p.app, lbPath("rg1", "web"))).json();
    expect(lb.properties.provisioningState).toBe("Succeeded");
  });

  it("an agent that refuses one load balancer fails that operation with its detail; the others are applied", async () => {
    const nack = await p.addAgent("nack-1");
    const webId = lbPath("rg1", "web").toLowerCase();
    nack.behaviour.refuse = new Map([[webId, "port 80 is taken on this host"]]);
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 81));
    const op = await waitForOperation(p, w.operationUrl);
    expect(op.status).toBe("Failed");
    expect(op.error!.code).toBe("AgentRefusedConfiguration");
    expect(op.error!.message).toContain("nack-1");
    expect(op.error!.message).toContain("port 80 is taken on this host");
    const lb = (await getJson(p.app, lbPath("rg1", "web"))).json();
    expect(lb.properties.provisioningState).toBe("Failed");

    // The other load balancer is unaffected: its next write succeeds on both agents.
    const other = await writeLb(p, "rg1", "lone", simpleLb("rg1", "lone", 8081, "vip2"));
    expect((await waitForOperation(p, other.operationUrl)).status).toBe("Succeeded");

    const list = await p.app.inject({ method: "GET", url: "/dataplane/v1/agents", headers: AUTH });
    const view = list.json().value.find((v: any) => v.name === "nack-1");
    expect(view.state).toBe("live");
    expect(view.ackedGeneration).toBe(other.generation);
    const statuses = Object.fromEntries(view.loadBalancers.map((s: any) => [s.id.toLowerCase(), s]));
    expect(statuses[webId]).toMatchObject({ state: "Refused", detail: "port 80 is taken on this host" });
    expect(statuses[lbPath("rg1", "lone").toLowerCase()]).toMatchObject({ state: "Applied" });
    nack.behaviour.refuse = undefined;
  });

  it("a slow agent delays the operation but it still succeeds within the window", async () => {
    const slow = await p.addAgent("slow-1");
    await slow.waitForGeneration(0);
    slow.behaviour.delayMs = 400;
    const started = Date.now();
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 82));
    expect((await operationStatus(p, w.operationUrl)).status).toBe("InProgress");
    const op = await waitForOperation(p, w.operationUrl);
    expect(op.status).toBe("Succeeded");
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    slow.behaviour.delayMs = 0;
  });

  it("a live agent that never acknowledges fails the operation with a timeout naming it, within the window", async () => {
    const stuck = p.agents.find((a) => a.name === "slow-1")!;
    stuck.behaviour.delayMs = 60_000;
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 83));
    const started = Date.now();
    const op = await waitForOperation(p, w.operationUrl, 4000);
    expect(op.status).toBe("Failed");
    expect(op.error!.code).toBe("AgentConfigurationTimeout");
    expect(op.error!.message).toContain("slow-1");
    expect(Date.now() - started).toBeLessThan(1500 + 1000);
    await stuck.kill(); // it leaves; it must stop holding anything
  });

  it("a stale agent is shown as such, gets no pushes and holds no operation", async () => {
    const gone = p.agents.find((a) => a.name === "slow-1")!;
    await until("slow-1 stale", async () => {
      const list = await p.app.inject({ method: "GET", url: "/dataplane/v1/agents", headers: AUTH });
      return list.json().value.find((v: any) => v.name === "slow-1").state === "stale";
    });
    const pushesBefore = gone.received.length;
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 84));
    expect((await waitForOperation(p, w.operationUrl, 1000)).status).toBe("Succeeded");
    expect(gone.received.length).toBe(pushesBefore);
  });

  it("an agent that dies mid-push and comes back empty gets the full config at once", async () => {
    const phoenix = await p.addAgent("phoenix");
    await phoenix.waitForGeneration(0);
    phoenix.behaviour.dieOnNextPush = true;
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 85));
    await until("phoenix died", () => !phoenix.url || phoenix.received.length >= 0 && phoenix.behaviour.dieOnNextPush === false);
    await phoenix.start();
    const reregisteredAt = performance.now();
    await phoenix.register("join-token-for-tests-0123456789", { empty: true });
    phoenix.startHeartbeats();
    await phoenix.waitForGeneration(w.generation, 2000);
    expect(performance.now() - reregisteredAt).toBeLessThan(500);
    expect(phoenix.servedNames()).toEqual(["lone", "web"]);
  });

  it("an agent that lies about the generation it applied is not believed and is pushed again", async () => {
    const liar = await p.addAgent("liar");
    await liar.waitForGeneration(0);
    liar.behaviour.lie = true;
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 86));
    await until("two pushes of the same generation", () => liar.received.filter((r) => r.generation === w.generation).length >= 2);
    const row = await p.db.agent.findUniqueOrThrow({ where: { name: "liar" } });
    expect(Number(row.ackedGeneration)).toBeLessThan(w.generation);
    expect(row.lastError).toContain("acknowledged generation");
    liar.behaviour.lie = false;
    await until("liar corrected", async () => Number((await p.db.agent.findUniqueOrThrow({ where: { name: "liar" } })).ackedGeneration) === w.generation, 12_000);
  }, 20_000);

  it("a push-lock session lost mid-push abandons its pushes and the agent still converges, pushed by one at a time", async () => {
    const agent = await p.addAgent("lock-loss");
    await agent.waitForGeneration(0);
    agent.behaviour.delayMs = 300;
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 87));
    await until("push in flight", () => agent.startedPushes > agent.received.length);
    // The session holding the push locks dies (as on a network cut): Postgres releases its locks.
    const killed = await p.db.$queryRaw<Array<{ n: number }>>`
      SELECT count(pg_terminate_backend(l.pid))::int AS n FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    expect(killed[0].n).toBeGreaterThan(0);
    agent.behaviour.delayMs = 0;
    await agent.waitForGeneration(w.generation, 5000);
    expect((await waitForOperation(p, w.operationUrl)).status).toBe("Succeeded");
    expect(agent.maxInFlight).toBe(1);
  });

  it("/metrics exposes push latency, generations behind, live agents and NACKs", async () => {
    const res = await p.app.inject({ method: "GET", url: "/metrics" });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain("lbplane_agent_push_duration_seconds_bucket");
    expect(res.body).toMatch(/lbplane_agents_live\{location="westeurope"\} \d+/);
    expect(res.body).toMatch(/lbplane_agent_generations_behind\{agent="ack-1",location="westeurope"\} 0/);
    expect(res.body).toMatch(/lbplane_agent_nacks_total\{agent="nack-1"\} [1-9]/);
    expect(res.body).toContain("lbplane_agent_push_failures_total");
  });
});
