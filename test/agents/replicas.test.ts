// Restart and replica safety with real lbplane processes on one database.

import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NET, RGV, SUB } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { lbPath, pipId } from "../helpers/seed.js";
import { FakeAgent } from "./fake-agent.js";
import { JOIN_TOKEN, simpleLb, until } from "./harness.js";
import { api, startServer, type ServerProcess } from "./processes.js";

async function prepare(base: string, publicIps: number) {
  expect((await api(base, "PUT", `/subscriptions/${SUB}/resourcegroups/rg1?${RGV}`, { location: "westeurope" })).status).toBeLessThan(300);
  for (let i = 1; i <= publicIps; i++) {
    const res = await api(base, "PUT", `${pipId("rg1", `vip${i}`).replace(/^/, "")}?${NET}`, {
      location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress: `65.52.1.${i}` },
    });
    expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
  }
}

async function putLb(base: string, name: string, port: number, vip: string) {
  const res = await api(base, "PUT", `${lbPath("rg1", name)}?${NET}`, simpleLb("rg1", name, port, vip));
  expect(res.status, JSON.stringify(res.json)).toBeLessThan(300);
  const op = new URL(res.headers.get("azure-asyncoperation")!);
  return { operation: op.pathname + op.search };
}

async function maxGeneration(db: TestDatabase): Promise<number> {
  const pg = (await import("pg")).default;
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query("SELECT COALESCE(max(generation), 0)::int AS g FROM location_generations");
    return r.rows[0].g;
  } finally {
    await c.end();
  }
}

describe("control plane processes", () => {
  let db: TestDatabase;
  const servers: ServerProcess[] = [];
  const agents: FakeAgent[] = [];
  beforeEach(async () => {
    db = await createTestDatabase();
  });
  afterEach(async () => {
    for (const a of agents.splice(0)) await a.kill();
    for (const s of servers.splice(0)) await s.kill();
    await db.drop();
  });

  const agentOn = async (name: string, base: string) => {
    const a = new FakeAgent(name, base);
    await a.start();
    await a.register(JOIN_TOKEN);
    a.startHeartbeats();
    agents.push(a);
    return a;
  };

  it("two processes on one database: each agent is pushed by one at a time, and a change through either reaches every agent promptly", async () => {
    const a = await startServer(db.url, { LBPLANE_AGENT_LIVENESS_MS: "3000" });
    const b = await startServer(db.url, { LBPLANE_AGENT_LIVENESS_MS: "3000" });
    servers.push(a, b);
    await prepare(a.url, 6);
    const fleet = [];
    for (let i = 0; i < 6; i++) fleet.push(await agentOn(`r${i}`, i % 2 ? a.url : b.url));
    for (const f of fleet) f.behaviour.delayMs = 30; // widen the window in which two pushers could overlap
    for (let i = 1; i <= 6; i++) {
      const via = i % 2 ? a : b;
      await putLb(via.url, `lb${i}`, 80 + i, `vip${i}`);
      const started = performance.now();
      const gen = await maxGeneration(db);
      await Promise.all(fleet.map((f) => f.waitForGeneration(gen, 3000)));
      expect(performance.now() - started).toBeLessThan(900); // NOTIFY, not the 1 s sweep, carried it
    }
    for (const f of fleet) {
      expect(f.maxInFlight, `${f.name} was pushed by two processes at once`).toBe(1);
      // A generation may rarely be pushed twice (idempotent by design), but never much more.
      const gens = f.received.map((r) => r.generation);
      expect(gens.length - new Set(gens).size, `${f.name}: ${gens}`).toBeLessThanOrEqual(1);
    }
  }, 90_000);

  it("a control plane killed mid-push resumes after restart", async () => {
    const env = { LBPLANE_AGENT_LIVENESS_MS: "15000" };
    const first = await startServer(db.url, env);
    servers.push(first);
    await prepare(first.url, 1);
    const agent = await agentOn("survivor", first.url);
    await agent.waitForGeneration(0);
    agent.behaviour.delayMs = 1500;
    const { operation } = await putLb(first.url, "lb1", 80, "vip1");
    const gen = await maxGeneration(db);
    await until("push in flight", () => agent.startedPushes > agent.received.length);
    await first.kill("SIGKILL");
    agent.behaviour.delayMs = 0;

    const second = await startServer(db.url, env);
    servers.push(second);
    await agent.waitForGeneration(gen, 10_000);
    const status = await until("operation settled", async () => {
      const res = await api(second.url, "GET", operation);
      return res.json.status !== "InProgress" && res.json;
    });
    expect(status.status).toBe("Succeeded");
    expect(agent.servedNames()).toEqual(["lb1"]);
    const list = await api(second.url, "GET", "/dataplane/v1/agents");
    expect(list.json.value[0]).toMatchObject({ name: "survivor", ackedGeneration: gen });
  }, 90_000);
});
