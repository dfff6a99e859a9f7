// A heartbeat reporting less than lbplane recorded lowers the record (the agent lost state and must
// be brought back), but not when a push was acknowledged moments ago: that beat may have been sent
// before the push arrived, and lowering would make lbplane push the same generation again (at 1,000
// agents a large share of one change's fan-out).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApp, type TestApp } from "../helpers/app.js";
import { JOIN_TOKEN } from "./harness.js";

describe("heartbeats and the acknowledged generation", () => {
  let t: TestApp;
  let agent: { agentId: string; credential: string };
  const beat = (applied: number) =>
    t.app.inject({
      method: "POST", url: `/dataplane/v1/agents/${agent.agentId}/heartbeat`,
      headers: { authorization: `Bearer ${agent.credential}` }, payload: { appliedGeneration: applied },
    });
  const acked = async () => (await t.db.agent.findUniqueOrThrow({ where: { id: agent.agentId } })).ackedGeneration;
  const recordPush = (generation: number, secondsAgo: number) =>
    t.db.$executeRawUnsafe(
      `UPDATE agents SET acked_generation = $1, last_push_at = now() - $2 * interval '1 second' WHERE id = $3::uuid`,
      generation, secondsAgo, agent.agentId,
    );

  beforeAll(async () => {
    t = await createTestApp({}, { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "4000" });
    const res = await t.app.inject({
      method: "POST", url: "/dataplane/v1/agents/register", headers: { authorization: `Bearer ${JOIN_TOKEN}` },
      payload: { name: "beat-1", location: "westeurope", url: "http://127.0.0.1:1", capabilities: { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] } },
    });
    expect(res.statusCode, res.body).toBe(200);
    agent = res.json();
  });
  afterAll(() => t.close());

  it("a beat sent before a push it overtook does not undo that push's acknowledgement", async () => {
    await recordPush(7, 0);
    expect((await beat(6)).statusCode).toBe(200);
    expect(await acked()).toBe(7n);
  });

  it("a beat reporting less, well after the last push, lowers the record (the agent lost state)", async () => {
    await recordPush(7, 60);
    expect((await beat(3)).statusCode).toBe(200);
    expect(await acked()).toBe(3n);
  });

  it("a beat never raises the record: only a push's ACK does", async () => {
    await recordPush(3, 60);
    expect((await beat(9)).statusCode).toBe(200);
    expect(await acked()).toBe(3n);
  });
});
