// Push slots and push locks are two limits (src/agents/reconciler.ts): a replica holds the locks of
// up to `maxLocks` agents and pushes at most `concurrency` of them at once; the others wait for a
// slot holding their lock, so a change's fan-out needs no claim between batches of ACKs. These tests
// pin both limits and what a lost lock session does to agents still waiting for a slot.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operationStatus, prepareNetwork, simpleLb, startPlane, until, waitForOperation, writeLb, type Plane } from "./harness.js";

const SLOTS = 2;
const LOCKS = 5;

describe("push slots and push locks", () => {
  let p: Plane;
  beforeAll(async () => {
    p = await startPlane({ LBPLANE_AGENT_LIVENESS_MS: "3000" }, { concurrency: SLOTS, maxLocks: LOCKS });
    await prepareNetwork(p);
    for (let i = 0; i < 6; i++) await p.addAgent(`slot-${i}`);
    await until("every agent has the first state", () => p.agents.every((a) => a.appliedGeneration >= 0));
  });
  afterAll(() => p.close());

  /** Advisory locks (push locks) held in this test's database right now. */
  const locksHeld = async () =>
    (
      await p.db.$queryRaw<Array<{ n: number }>>`
        SELECT count(*)::int AS n FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`
    )[0].n;

  it("six slow agents: never more than two pushes at once, up to five agents claimed, all converge", async () => {
    for (const a of p.agents) a.behaviour.delayMs = 150;
    let mostPushes = 0;
    let mostLocks = 0;
    let sampling = true;
    const sample = (async () => {
      while (sampling) {
        mostPushes = Math.max(mostPushes, p.agents.reduce((n, a) => n + a.inFlight, 0));
        mostLocks = Math.max(mostLocks, await locksHeld());
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 80));
    expect((await waitForOperation(p, w.operationUrl, 10_000)).status).toBe("Succeeded");
    sampling = false;
    await sample;
    for (const a of p.agents) expect(a.appliedGeneration).toBeGreaterThanOrEqual(w.generation);
    expect(mostPushes).toBeLessThanOrEqual(SLOTS);
    expect(mostPushes).toBe(SLOTS);
    // Claimed agents wait for a slot holding their lock: more locks than slots, never more than the cap.
    expect(mostLocks).toBeGreaterThan(SLOTS);
    expect(mostLocks).toBeLessThanOrEqual(LOCKS);
    for (const a of p.agents) a.behaviour.delayMs = 0;
  }, 20_000);

  it("agents waiting for a slot when the lock session is lost are claimed again and converge, one push at a time each", async () => {
    for (const a of p.agents) {
      a.behaviour.delayMs = 200;
      a.maxInFlight = 0;
    }
    const w = await writeLb(p, "rg1", "web", simpleLb("rg1", "web", 81));
    await until("pushes in flight and agents waiting", async () => p.agents.some((a) => a.inFlight > 0) && (await locksHeld()) > SLOTS);
    // The session holding the push locks dies: Postgres releases every lock, the waiting agents' too.
    const killed = await p.db.$queryRaw<Array<{ n: number }>>`
      SELECT count(pg_terminate_backend(l.pid))::int AS n FROM pg_locks l
      WHERE l.locktype = 'advisory' AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`;
    expect(killed[0].n).toBeGreaterThan(0);
    for (const a of p.agents) a.behaviour.delayMs = 0;
    await Promise.all(p.agents.map((a) => a.waitForGeneration(w.generation, 8_000)));
    expect((await waitForOperation(p, w.operationUrl, 8_000)).status).toBe("Succeeded");
    for (const a of p.agents) expect(a.maxInFlight).toBeLessThanOrEqual(1);
    expect((await operationStatus(p, w.operationUrl)).status).toBe("Succeeded");
  }, 20_000);
});
