// A fleet of fake agents in a process of its own (forked by bench/agent-bench-kit.ts, several of them
// for a large fleet), so the agents' HTTP servers do not share an event loop with the control plane
// they are measuring. Talks to the parent over IPC; times are epoch milliseconds with sub-millisecond
// precision (comparable across processes).

import { FakeAgent } from "../test/agents/fake-agent.js";

type Command =
  | { cmd: "grow"; size: number; url: string; join: string; firstIndex?: number }
  | { cmd: "wait"; generation: number }
  | { cmd: "beats" }
  | { cmd: "blast"; url: string; rate: number; seconds: number }
  | { cmd: "stop" };

const fleet: FakeAgent[] = [];

/** Registers agents 20 at a time (1,000 one by one would take minutes). */
async function grow(size: number, url: string, join: string, firstIndex: number): Promise<void> {
  while (fleet.length < size) {
    const batch = Array.from({ length: Math.min(20, size - fleet.length) }, (_, i) => new FakeAgent(`bench-${firstIndex + fleet.length + i}`, url));
    fleet.push(...batch);
    await Promise.all(
      batch.map(async (a) => {
        await a.start();
        await a.register(join);
        a.startHeartbeats();
      }),
    );
  }
}

/** The baseline's load: heartbeat-shaped POSTs at `rate` per second, spread over 10 ms ticks. */
async function blast(url: string, rate: number, seconds: number): Promise<number> {
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  const perTick = rate / 100;
  let owed = 0;
  const inFlight = new Set<Promise<unknown>>();
  while (Date.now() < end) {
    owed += perTick;
    for (; owed >= 1; owed--) {
      const p = fetch(`${url}/dataplane/v1/agents/00000000-0000-0000-0000-000000000000/heartbeat`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: "Bearer x" },
        body: '{"appliedGeneration":1}',
      }).then((r) => r.text(), () => undefined);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      sent++;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(inFlight);
  return sent;
}

process.on("message", async (m: Command) => {
  if (m.cmd === "grow") {
    await grow(m.size, m.url, m.join, m.firstIndex ?? 0);
    process.send!({ grown: fleet.length });
  } else if (m.cmd === "wait") {
    // Agents still short of the generation after 60 s are named (with what they have and when they
    // last got a push), not thrown: a rejection here would kill the fleet and hang the bench.
    const late = (await Promise.all(fleet.map((a) => a.waitForGeneration(m.generation, 60_000).then(() => undefined, () => a)))).filter((a) => a !== undefined);
    if (late.length > 0) {
      const offset = performance.timeOrigin;
      process.send!({
        late: late.map((a) => ({ name: a.name, applied: a.appliedGeneration, pushes: a.received.length, lastPushAt: a.received.length ? offset + a.received[a.received.length - 1].at : null, beats: a.beats })),
      });
      return;
    }
    const pushes = fleet.map((a) => a.received.find((r) => r.generation === m.generation));
    const offset = performance.timeOrigin;
    process.send!({
      generation: m.generation,
      first: Math.min(...pushes.map((p) => offset + (p?.at ?? Infinity))),
      last: Math.max(...pushes.map((p) => offset + (p?.at ?? Infinity))),
      bytes: pushes.reduce((sum, p) => sum + (p?.bytes ?? 0), 0),
    });
  } else if (m.cmd === "beats") {
    process.send!({ beats: fleet.reduce((n, a) => n + a.beats, 0) });
  } else if (m.cmd === "blast") {
    process.send!({ sent: await blast(m.url, m.rate, m.seconds) });
  } else {
    await Promise.all(fleet.map((a) => a.kill()));
    process.exit(0);
  }
});
process.send!({ ready: true });
// The bench ended without "stop" (it failed): its agents must not outlive it.
process.on("disconnect", () => process.exit(0));
