// The agent's outage log: one warning when lbplane stops answering, a reminder per interval while it
// stays unreachable, one line when it answers again — whatever the number of failed calls between.

import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger } from "../../src/dataplane/log.js";
import { ControlPlaneUnreachable, logCallFailure, Reachability } from "../../src/dataplane/reachability.js";

function recorder() {
  const lines: { level: string; msg: string; [k: string]: unknown }[] = [];
  return { lines, log: createLogger("debug", (l) => lines.push(JSON.parse(l))) };
}
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" });

describe("Reachability", () => {
  afterEach(() => vi.useRealTimers());

  it("warns once when lbplane stops answering, reminds once a minute, and says when it is back", () => {
    vi.useFakeTimers();
    const { lines, log } = recorder();
    const r = new Reachability(log);
    for (let i = 0; i < 40; i++) {
      r.unreachable("POST /dataplane/v1/agents/{id}/heartbeat", refused);
      vi.advanceTimersByTime(1_250); // 40 heartbeats: 50 s
    }
    expect(lines.map((l) => l.msg)).toEqual(["control plane unreachable; forwarding with the last configuration and retrying"]);
    expect(lines[0].err).toBe("connect ECONNREFUSED 127.0.0.1:9");
    for (let i = 0; i < 10; i++) {
      r.unreachable("POST /dataplane/v1/agents/{id}/heartbeat", refused);
      vi.advanceTimersByTime(1_250);
    }
    expect(lines.map((l) => l.msg)).toEqual(["control plane unreachable; forwarding with the last configuration and retrying", "control plane still unreachable"]);
    expect(lines[1]).toMatchObject({ failedCalls: 49, forMs: 60_000 });
    r.reached();
    r.reached();
    expect(lines.slice(2)).toMatchObject([{ level: "info", msg: "control plane reachable again", failedCalls: 50, afterMs: 62_500 }]);
    r.unreachable("POST /dataplane/v1/agents/register", refused); // a new outage is told again
    expect(lines).toHaveLength(4);
  });

  it("logs a failed call at debug when lbplane is unreachable (already told), at warn when it answered an error", () => {
    const { lines, log } = recorder();
    logCallFailure(log, "heartbeat failed", new ControlPlaneUnreachable(refused));
    logCallFailure(log, "heartbeat failed", new Error("POST … → 503"));
    expect(lines.map((l) => [l.level, l.err])).toEqual([
      ["debug", "connect ECONNREFUSED 127.0.0.1:9"],
      ["warn", "POST … → 503"],
    ]);
  });
});
