// A fleet of fake agents in its own process (forked by bench/convergence.ts), so the agents' HTTP
// servers do not share an event loop with the control plane they are measuring. Talks to the parent
// over IPC; times are epoch milliseconds with sub-millisecond precision (comparable across processes).

import { FakeAgent } from "../test/agents/fake-agent.js";

type Command = { cmd: "grow"; size: number; url: string; join: string } | { cmd: "wait"; generation: number } | { cmd: "stop" };

const fleet: FakeAgent[] = [];

process.on("message", async (m: Command) => {
  if (m.cmd === "grow") {
    while (fleet.length < m.size) {
      const a = new FakeAgent(`bench-${fleet.length}`, m.url);
      await a.start();
      await a.register(m.join);
      a.startHeartbeats();
      fleet.push(a);
    }
    process.send!({ grown: fleet.length });
  } else if (m.cmd === "wait") {
    await Promise.all(fleet.map((a) => a.waitForGeneration(m.generation, 30_000)));
    const pushes = fleet.map((a) => a.received.find((r) => r.generation === m.generation));
    const offset = performance.timeOrigin;
    process.send!({
      generation: m.generation,
      first: Math.min(...pushes.map((p) => offset + (p?.at ?? Infinity))),
      last: Math.max(...pushes.map((p) => offset + (p?.at ?? Infinity))),
      bytes: pushes.reduce((sum, p) => sum + (p?.bytes ?? 0), 0),
    });
  } else {
    await Promise.all(fleet.map((a) => a.kill()));
    process.exit(0);
  }
});
process.send!({ ready: true });
