// The coalescer behind heartbeats and load-balancer reads: what arrives in one turn of the event
// loop is one batch; what arrives while the batches in flight are out forms the next; a failing
// batch fails only its own callers; every caller gets the answer at its own position.

import { describe, expect, it } from "vitest";
import { Coalescer } from "../../src/store/coalesce.js";

/** A batch runner whose batches finish when the test says so. */
function controlledRunner() {
  const batches: number[][] = [];
  const finishers: Array<(fail?: Error) => void> = [];
  const run = (inputs: number[]) => {
    batches.push(inputs);
    return new Promise<string[]>((resolve, reject) => {
      finishers.push((fail) => (fail ? reject(fail) : resolve(inputs.map((n) => `answer ${n}`))));
    });
  };
  return { batches, finishers, run };
}

const turn = () => new Promise((r) => setImmediate(r));

describe("coalescing statements", () => {
  it("items of one turn share one batch, and each caller gets its own answer", async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, { maxBatch: 100, maxInFlight: 1 });
    const answers = Promise.all([1, 2, 3].map((n) => c.add(n)));
    await turn();
    expect(r.batches).toEqual([[1, 2, 3]]);
    r.finishers[0]();
    expect(await answers).toEqual(["answer 1", "answer 2", "answer 3"]);
  });

  it("what arrives while a batch is out waits for it, then leaves as one batch", async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, { maxBatch: 100, maxInFlight: 1 });
    const first = c.add(1);
    await turn();
    const later = [c.add(2), c.add(3)];
    await turn();
    await turn();
    expect(r.batches).toEqual([[1]]);
    r.finishers[0]();
    await first;
    await turn();
    await turn();
    expect(r.batches).toEqual([[1], [2, 3]]);
    r.finishers[1]();
    expect(await Promise.all(later)).toEqual(["answer 2", "answer 3"]);
  });

  it("splits at maxBatch and sends up to maxInFlight batches at once", async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, { maxBatch: 2, maxInFlight: 2 });
    const all = Promise.all([1, 2, 3, 4, 5].map((n) => c.add(n)));
    await turn();
    expect(r.batches).toEqual([[1, 2], [3, 4]]);
    r.finishers[1]();
    await turn();
    await turn();
    expect(r.batches).toEqual([[1, 2], [3, 4], [5]]);
    r.finishers[0]();
    r.finishers[2]();
    expect(await all).toEqual([1, 2, 3, 4, 5].map((n) => `answer ${n}`));
  });

  it("a failing batch fails its own callers only; the next batch is served", async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, { maxBatch: 100, maxInFlight: 1 });
    const doomed = [c.add(1), c.add(2)].map((p) => p.then(() => "ok", (err: Error) => err.message));
    await turn();
    const next = c.add(3);
    r.finishers[0](new Error("connection lost"));
    expect(await Promise.all(doomed)).toEqual(["connection lost", "connection lost"]);
    await turn();
    r.finishers[1]();
    expect(await next).toBe("answer 3");
  });
});

describe("coalescing spread-out traffic", () => {
  it("with a linger, items arriving over several turns (and during a batch) share a statement", async () => {
    const r = controlledRunner();
    const c = new Coalescer(r.run, { maxBatch: 100, maxInFlight: 1, lingerMs: 30 });
    const first = [c.add(1)];
    await turn();
    first.push(c.add(2));
    await new Promise((resolve) => setTimeout(resolve, 10));
    first.push(c.add(3));
    expect(r.batches).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(r.batches).toEqual([[1, 2, 3]]);
    const second = [c.add(4)];
    r.finishers[0]();
    await Promise.all(first);
    second.push(c.add(5));
    await turn();
    expect(r.batches).toEqual([[1, 2, 3]]);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(r.batches).toEqual([[1, 2, 3], [4, 5]]);
    r.finishers[1]();
    expect(await Promise.all(second)).toEqual(["answer 4", "answer 5"]);
  });
});
