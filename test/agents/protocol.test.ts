// The incremental push protocol (version 2) end to end: lbplane replicas on one database, fake agents
// that are real HTTP servers and keep state like lbplane-agent (deltas only on the generation they
// have, a refused load balancer keeps its last good version). Each case says what an agent receives.

import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app.js";
import { AUTH, NET } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, lbPath, putLb } from "../helpers/seed.js";
import type { FakeAgent } from "./fake-agent.js";
import { simpleLb, until } from "./harness.js";
import { ReplicaSet, servedVersions } from "./replica-set.js";

/** Every load balancer name these tests use; each has its own public IP (a public IP has one user). */
const NAMES = ["base0", "base1", "base2", "base3", "base4", "fresh", "r0", "r1", "r2", "kept", "added", "p0", "p1", "p2", "p3"];

async function prepare(app: App): Promise<void> {
  await createResourceGroup(app, "rg1", "westeurope");
  for (const [i, name] of NAMES.entries()) await createPublicIp(app, "rg1", `${name}-ip`, `65.52.0.${10 + i}`, "westeurope");
}

async function put(app: App, name: string, port: number): Promise<void> {
  const res = await putLb(app, "rg1", name, simpleLb("rg1", name, port, `${name}-ip`));
  if (res.statusCode >= 300) throw new Error(`PUT ${name}: ${res.statusCode} ${res.body}`);
}

async function remove(app: App, name: string): Promise<void> {
  const res = await app.inject({ method: "DELETE", url: `${lbPath("rg1", name)}?${NET}`, headers: AUTH });
  if (res.statusCode >= 300) throw new Error(`DELETE ${name}: ${res.statusCode} ${res.body}`);
}

/** Waits until every agent has applied the database's generation, then checks they serve exactly it. */
async function expectConverged(set: ReplicaSet, agents: FakeAgent[], timeoutMs = 15_000): Promise<void> {
  const want = await set.databaseState();
  await until(`agents at generation ${want.generation}`, () => agents.every((a) => a.appliedGeneration >= want.generation), timeoutMs);
  for (const a of agents) expect(servedVersions(a), a.name).toEqual(want.versions);
}

const last = (a: FakeAgent) => a.received[a.received.length - 1];

describe("incremental push: what an agent receives", () => {
  let set: ReplicaSet;
  let app: App;
  beforeAll(async () => {
    // Liveness well above a heartbeat lapse on a loaded CI machine: an agent that turns stale while a
    // push fails loses its tombstones (correctly: full state) and would not test the delta.
    set = await ReplicaSet.start(1, { LBPLANE_AGENT_LIVENESS_MS: "6000" });
    app = set.replicas[0].lbplane.app;
    await prepare(app);
    for (let i = 0; i < 5; i++) await put(app, `base${i}`, 1000 + i);
  });
  afterAll(() => set.close());
  afterEach(() => {
    for (const a of set.agents) a.behaviour = {};
  });

  it("a new agent gets the full state once, then a change arrives as a delta of just that load balancer", async () => {
    const a = await set.addAgent("delta-1");
    await expectConverged(set, [a]);
    expect(a.received).toHaveLength(1);
    expect(a.received[0]).toMatchObject({ from: "full", upserts: 5, removals: 0 });
    const fullBytes = a.received[0].bytes;

    const before = a.appliedGeneration;
    await put(app, "base2", 1102);
    await expectConverged(set, [a]);
    expect(last(a)).toMatchObject({ from: before, upserts: 1, removals: 0 });
    expect(last(a).bytes).toBeLessThan(fullBytes / 3);
    expect(a.baseMismatches).toBe(0);
  });

  it("a deleted load balancer arrives as a removal, and nothing else is resent", async () => {
    const a = set.agents[0];
    const before = a.appliedGeneration;
    await remove(app, "base4");
    await expectConverged(set, [a]);
    expect(last(a)).toMatchObject({ from: before, upserts: 0, removals: 1 });
    expect([...a.serving.keys()].some((id) => id.endsWith("/base4"))).toBe(false);
  });

  it("an agent that restarts empty gets the full state again", async () => {
    const a = set.agents[0];
    await a.register("join-token-for-tests-0123456789", { empty: true });
    await expectConverged(set, [a]);
    expect(last(a)).toMatchObject({ from: "full", upserts: 4, removals: 0 });
  });

  it("an agent that missed several generations gets one delta covering them all", async () => {
    const a = set.agents[0];
    const before = a.appliedGeneration;
    a.behaviour.unavailable = true;
    await put(app, "base0", 1200);
    await put(app, "fresh", 1300);
    await remove(app, "base1");
    await until("a failed push", () => a.received.some((r) => r.generation > before));
    a.behaviour.unavailable = false;
    await expectConverged(set, [a]);
    expect(last(a)).toMatchObject({ from: before, upserts: 2, removals: 1 });
  });

  it("a refused load balancer keeps its last good version across later deltas, and stays reported refused", async () => {
    const a = set.agents[0];
    const id = lbPath("rg1", "base2");
    const good = servedVersions(a).get(id);
    a.behaviour.refuse = new Map([[id.toLowerCase(), "port taken"]]);
    await put(app, "base2", 1400);
    await until("refusal acknowledged", () => last(a)?.upserts === 1 && a.appliedGeneration === last(a).generation);
    expect(servedVersions(a).get(id)).toBe(good);

    a.behaviour.refuse = undefined;
    const before = a.appliedGeneration;
    await put(app, "base3", 1403);
    await until("the next delta", () => a.appliedGeneration > before);
    expect(last(a)).toMatchObject({ from: before, upserts: 1 });
    expect(servedVersions(a).get(id)).toBe(good);
    const list = await app.inject({ method: "GET", url: "/dataplane/v1/agents", headers: AUTH });
    const row = (list.json().value as Array<{ name: string; loadBalancers: Array<{ id: string; state: string }> }>).find((r) => r.name === a.name)!;
    expect(row.loadBalancers.find((l) => l.id.toLowerCase() === id.toLowerCase())?.state).toBe("Refused");
  });

  it("an agent behind the tombstone horizon (stale while deletions were pruned) gets the full state", async () => {
    const a = set.agents[0];
    a.stopHeartbeats();
    await until("agent stale", async () => {
      const list = await app.inject({ method: "GET", url: "/dataplane/v1/agents", headers: AUTH });
      return (list.json().value as Array<{ name: string; state: string }>).find((r) => r.name === a.name)?.state === "stale";
    }, 20_000);
    await remove(app, "fresh");
    // With no live agent in the location, the sweep prunes the tombstone at once.
    await until("tombstone pruned", async () => (await set.replicas[0].lbplane.db.loadBalancerTombstone.count()) === 0, 10_000);
    // A replica that already built this delta (before the prune) may serve it: it is still right. A
    // fresh one can only read the database, where the deletion is no longer answerable.
    await set.restart(0);
    app = set.replicas[0].lbplane.app;
    a.startHeartbeats();
    await expectConverged(set, [a]);
    expect(last(a)).toMatchObject({ from: "full", removals: 0 });
    expect([...a.serving.keys()].some((id) => id.endsWith("/fresh"))).toBe(false);
  });
});

describe("incremental push across control-plane restarts and replicas", () => {
  let set: ReplicaSet | undefined;
  afterEach(async () => {
    await set?.close();
    set = undefined;
  });

  it("after a control-plane restart the agent keeps its state and continues with deltas from what it acknowledged", async () => {
    // A slow restart must not make the agent stale (its tombstones would go, and a full push is right then).
    set = await ReplicaSet.start(1, { LBPLANE_AGENT_LIVENESS_MS: "6000" });
    await prepare(set.replicas[0].lbplane.app);
    for (let i = 0; i < 3; i++) await put(set.replicas[0].lbplane.app, `r${i}`, 1000 + i);
    const a = await set.addAgent("restart-1");
    await expectConverged(set, [a]);
    // The agent applied it; lbplane must also have recorded the ACK, else the restarted process
    // rightly sends the same push again (the agent answers it with the same ACK) before any delta.
    await until("lbplane recorded the agent's ACK", async () => (await set!.recordedAck(a)) >= a.appliedGeneration);
    const pushes = a.received.length;
    const acked = a.appliedGeneration;
    const fresh = await set.restart(0);
    await put(fresh.lbplane.app, "r1", 1101);
    await remove(fresh.lbplane.app, "r2");
    await expectConverged(set, [a]);
    const after = a.received.slice(pushes);
    // Whatever the new process pushed started from what the agent acknowledged before the restart.
    expect(after[0]).toMatchObject({ from: acked });
    expect(after.every((r) => r.from !== "full")).toBe(true);
  }, 60_000);

  it("a control plane whose database no longer matches the agent (restored) brings it back with the full state", async () => {
    set = await ReplicaSet.start(1);
    await prepare(set.replicas[0].lbplane.app);
    await put(set.replicas[0].lbplane.app, "kept", 1000);
    const a = await set.addAgent("restore-1");
    await expectConverged(set, [a]);
    const pushesBefore = a.received.length;
    // The agent applied generations lbplane's database does not know it has (as after a restore).
    await set.restart(0, async () => {
      a.appliedGeneration += 0; // the agent keeps what it has…
      const db = set!.database.url;
      const pg = await import("pg");
      const c = new pg.default.Client({ connectionString: db });
      await c.connect();
      await c.query("UPDATE agents SET acked_generation = acked_generation - 1"); // …but lbplane believes less
      // A restored database's tombstone horizon is as old as its ACKs. Left where pruning may have
      // moved it (to the agent's true generation), the base would fall behind it and lbplane would
      // rightly send the full state straight away, with no mismatch to answer.
      await c.query("UPDATE location_tombstone_horizons SET pruned_through = LEAST(pruned_through, (SELECT min(acked_generation) FROM agents))");
      await c.end();
    });
    await put(set.replicas[0].lbplane.app, "added", 1001);
    await expectConverged(set, [a]);

    expect(a.baseMismatches).toBeGreaterThanOrEqual(1);
    // The mismatch was answered with the full state (before or after "added": the restarted lbplane
    // may resync the agent before the PUT arrives, and then send "added" as a delta on that state).
    const after = a.received.slice(pushesBefore);
    const full = after.findIndex((r) => r.from === "full");
    expect(full).toBeGreaterThanOrEqual(0);
    expect(after.slice(full + 1).every((r) => r.from !== "full")).toBe(true);
  }, 60_000);

  it("random writes on two replicas with agent restarts always converge to the database's state (property)", async () => {
    set = await ReplicaSet.start(2);
    const s = set;
    await prepare(s.replicas[0].lbplane.app);
    const agents = [await s.addAgent("prop-0", 0), await s.addAgent("prop-1", 1)];
    const names = ["p0", "p1", "p2", "p3"];
    const command = fc.oneof(
      fc.record({ kind: fc.constant("put" as const), lb: fc.integer({ min: 0, max: 3 }), port: fc.integer({ min: 0, max: 9 }), via: fc.integer({ min: 0, max: 1 }) }),
      fc.record({ kind: fc.constant("delete" as const), lb: fc.integer({ min: 0, max: 3 }), via: fc.integer({ min: 0, max: 1 }) }),
      fc.record({ kind: fc.constant("restartAgent" as const), agent: fc.integer({ min: 0, max: 1 }) }),
      fc.record({ kind: fc.constant("settle" as const), ms: fc.integer({ min: 0, max: 60 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 3, maxLength: 10 }), async (commands) => {
        for (const c of commands) {
          if (c.kind === "put") await put(s.replicas[c.via].lbplane.app, names[c.lb], 2000 + c.lb * 10 + c.port);
          else if (c.kind === "delete") await remove(s.replicas[c.via].lbplane.app, names[c.lb]);
          else if (c.kind === "restartAgent") await agents[c.agent].register("join-token-for-tests-0123456789", { empty: true });
          else await new Promise((r) => setTimeout(r, c.ms));
        }
        await expectConverged(s, agents);
        for (const a of agents) expect(a.maxInFlight, `${a.name} was pushed by two replicas at once`).toBe(1);
      }),
      { numRuns: 8, endOnFailure: true },
    );
  }, 180_000);
});
