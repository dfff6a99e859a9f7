// Settling operations in bulk (src/services/operations.service.ts, settleAll): a pass over a
// location costs the same few statements however many operations are in progress — one per
// operation made the settling of a location being filled fall behind its writes — and each
// operation still gets its own verdict: a refusal fails only the writes of the refused load balancer
// up to the refused generation, and only the newest write of a load balancer sets its
// provisioningState.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleAll } from "../../src/services/operations.service.js";
import { startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { createPublicIp } from "../helpers/seed.js";
import { FakeAgent } from "./fake-agent.js";
import { JOIN_TOKEN, prepareNetwork, simpleLb, writeLb } from "./harness.js";

describe("settling operations in bulk", () => {
  let t: TestLbplane;
  let agent: FakeAgent;
  beforeAll(async () => {
    // No control loops: this test decides when a pass runs and what the agent acknowledged.
    t = await startTestLbplane({ env: { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "60000" }, controlLoops: false });
    const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    await prepareNetwork(t);
    agent = new FakeAgent("settler", url);
    await agent.start();
    await agent.register(JOIN_TOKEN);
  });
  afterAll(async () => {
    await agent.kill();
    await t.close();
  });

  it("30 operations settle in one pass of at most five statements; a refusal fails only its load balancer's writes", async () => {
    for (let i = 0; i < 30; i++) {
      await createPublicIp(t.app, "rg1", `pip-${i}`, `65.52.1.${i + 10}`);
      await writeLb(t, "rg1", `lb-${i}`, simpleLb("rg1", `lb-${i}`, 1000 + i, `pip-${i}`, [`10.0.${i}.4`]));
    }
    // lb-7 is written again; the agent refused its newer version, and acknowledged everything else.
    const rewrite = await writeLb(t, "rg1", "lb-7", simpleLb("rg1", "lb-7", 2007, "pip-7", ["10.0.7.4"]));
    const agentId = agent.reg!.agentId;
    await t.db.agent.update({ where: { id: agentId }, data: { ackedGeneration: BigInt(rewrite.generation) } });
    await t.db.agentLoadBalancerStatus.create({
      data: { agentId, loadBalancerId: rewrite.uid, generation: BigInt(rewrite.generation), state: "Refused", detail: "port 2007 is taken on this host" },
    });

    // Every statement of every connection (Prisma's adapter and lbplane's own pg calls alike).
    const query = pg.Client.prototype.query;
    let statements = 0;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      statements++;
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
    let finished: number;
    try {
      finished = await settleAll(t.db, { livenessMs: 60_000 });
    } finally {
      pg.Client.prototype.query = query;
    }
    expect(finished).toBe(31);
    // list + snapshot + refusals + verdicts, whatever the number of operations.
    expect(statements).toBeGreaterThanOrEqual(3);
    expect(statements).toBeLessThanOrEqual(5);

    const ops = await t.db.operation.findMany({ where: { loadBalancerId: { not: null } } });
    // A refusal fails the writes of that load balancer at or before the refused generation (both of
    // lb-7's), with the agent's detail; every other write succeeded.
    const failed = ops.filter((o) => o.status === "Failed");
    expect(failed.map((o) => o.loadBalancerId)).toEqual([rewrite.uid, rewrite.uid]);
    for (const o of failed) expect(JSON.stringify(o.error)).toContain("port 2007 is taken on this host");
    expect(ops.filter((o) => o.status === "Succeeded")).toHaveLength(29);
    // provisioningState follows the newest write of each load balancer.
    const lbs = await t.db.loadBalancer.findMany({ select: { name: true, provisioningState: true } });
    for (const lb of lbs) expect(lb.provisioningState).toBe(lb.name === "lb-7" ? "Failed" : "Succeeded");
    // Nothing is left to settle: a second pass finds nothing.
    expect(await settleAll(t.db, { livenessMs: 60_000 })).toBe(0);
  });
});
