// The background loops' log folds database outages into the health tracker's one line; an agent's
// own connection failure (which reads just like a database's: "connect ECONNREFUSED") must stay a
// warning about that agent and never be told as a database outage.

import type pg from "pg";
import { describe, expect, it } from "vitest";
import { DatabaseHealth, quietWhileDatabaseDown } from "../../src/store/db-health.js";

function setup() {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`info ${m}`), warn: (m: string) => lines.push(`warn ${m}`) };
  // The probe's pool is never reached here: a report schedules it 500 ms later and stop() cancels it.
  const health = new DatabaseHealth({ query: async () => ({ rows: [] }) } as unknown as pg.Pool, log);
  return { lines, health, loopLog: quietWhileDatabaseDown(log, health) };
}

describe("background loop warnings while the database is away", () => {
  it("an agent that refuses connections is a warning about the agent, not a database outage", () => {
    const { lines, health, loopLog } = setup();
    loopLog.warn("push of generation 7 to agent 'edge-1' failed: push to http://127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9");
    expect(health.available).toBe(true);
    expect(lines).toEqual(["warn push of generation 7 to agent 'edge-1' failed: push to http://127.0.0.1:9 failed: connect ECONNREFUSED 127.0.0.1:9"]);
    health.stop();
  });

  it("failures caused by the database become one 'database unavailable' line however many loops report them", () => {
    const { lines, health, loopLog } = setup();
    const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    loopLog.warn("sweep failed: connect ECONNREFUSED 127.0.0.1:5432", refused);
    loopLog.warn("NOTIFY failed: connect ECONNREFUSED 127.0.0.1:5432", refused);
    loopLog.warn("recording push results failed: Connection terminated unexpectedly", new Error("Connection terminated unexpectedly"));
    expect(health.available).toBe(false);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn database unavailable: connect ECONNREFUSED 127\.0\.0\.1:5432 \(ECONNREFUSED\)/);
    health.stop();
  });

  it("a database error that is not an outage (a bug, a constraint) is still told as itself", () => {
    const { lines, health, loopLog } = setup();
    loopLog.warn("sweep failed: duplicate key value", Object.assign(new Error("duplicate key value"), { code: "23505" }));
    expect(health.available).toBe(true);
    expect(lines).toEqual(["warn sweep failed: duplicate key value"]);
    health.stop();
  });
});
