// The agent's outage log: one warning when lbplane stops serving (no answer, or 503 while its database
// is down), a reminder per interval while it stays so, one line when it serves again — whatever the
// number of failed calls between.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ControlPlaneClient } from "../../src/dataplane/control-plane-client.js";
import { createLogger } from "../../src/dataplane/log.js";
import { ControlPlaneUnavailable, logCallFailure, Reachability } from "../../src/dataplane/reachability.js";

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
      r.unavailable("POST /dataplane/v1/agents/{id}/heartbeat", refused);
      vi.advanceTimersByTime(1_250); // 40 heartbeats: 50 s
    }
    expect(lines.map((l) => l.msg)).toEqual(["control plane unavailable; forwarding with the last configuration and retrying"]);
    expect(lines[0].err).toBe("connect ECONNREFUSED 127.0.0.1:9");
    for (let i = 0; i < 10; i++) {
      r.unavailable("POST /dataplane/v1/agents/{id}/heartbeat", refused);
      vi.advanceTimersByTime(1_250);
    }
    expect(lines.map((l) => l.msg)).toEqual(["control plane unavailable; forwarding with the last configuration and retrying", "control plane still unavailable"]);
    expect(lines[1]).toMatchObject({ failedCalls: 49, forMs: 60_000 });
    r.reached();
    r.reached();
    expect(lines.slice(2)).toMatchObject([{ level: "info", msg: "control plane available again", failedCalls: 50, afterMs: 62_500 }]);
    r.unavailable("POST /dataplane/v1/agents/register", refused); // a new outage is told again
    expect(lines).toHaveLength(4);
  });

  it("logs a failed call at debug when lbplane is unavailable (already told), at warn when it answered an error", () => {
    const { lines, log } = recorder();
    logCallFailure(log, "heartbeat failed", new ControlPlaneUnavailable(refused));
    logCallFailure(log, "heartbeat failed", new Error("POST … → 503"));
    expect(lines.map((l) => [l.level, l.err])).toEqual([
      ["debug", "connect ECONNREFUSED 127.0.0.1:9"],
      ["warn", "POST … → 503"],
    ]);
  });

  it("counts lbplane's 503 (database down) as the outage, told once, and any other answer as its end", async () => {
    const statuses = [503, 503, 503, 200];
    const server = http.createServer((req, res) => {
      req.resume();
      const status = statuses.shift() ?? 200;
      res.writeHead(status, { "content-type": "application/json" }).end(status === 200 ? '{"desiredGeneration":1}' : '{"error":{"code":"ServiceUnavailable"}}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { lines, log } = recorder();
    const client = new ControlPlaneClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { log });
    try {
      for (let i = 0; i < 3; i++) await expect(client.heartbeat("a1", "c", { appliedGeneration: 0 })).rejects.toBeInstanceOf(ControlPlaneUnavailable);
      expect(await client.heartbeat("a1", "c", { appliedGeneration: 0 })).toEqual({ desiredGeneration: 1 });
      expect(lines.map((l) => [l.msg, l.call ?? l.failedCalls])).toEqual([
        ["control plane unavailable; forwarding with the last configuration and retrying", "POST /dataplane/v1/agents/{id}/heartbeat"],
        ["control plane available again", 3],
      ]);
      expect(lines[0].err).toMatch(/→ 503/);
    } finally {
      await client.close();
      await new Promise((r) => server.close(r));
    }
  });
});
