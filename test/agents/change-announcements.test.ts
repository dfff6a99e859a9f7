// A change is announced to the other replicas with a NOTIFY on the push pool. A burst of changes to
// one location (1,000 agents coming back at once, each heartbeat a change) must not become a burst
// of NOTIFYs: that took every connection of the small push pool and timed out the reconciler's and
// the sweep's statements. One NOTIFY is in flight per location, one more follows for the rest.

import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CHANNEL } from "../../src/store/change-feed.js";
import { until } from "../kit/wait.js";
import { startPlane, type Plane } from "./harness.js";

describe("change announcements to other replicas", () => {
  let plane: Plane;
  let listener: pg.Client;
  const heard: string[] = [];

  beforeAll(async () => {
    plane = await startPlane();
    listener = new pg.Client({ connectionString: plane.database.url });
    await listener.connect();
    listener.on("notification", (n) => heard.push(n.payload ?? ""));
    await listener.query(`LISTEN ${CHANNEL}`);
  });
  afterAll(async () => {
    await listener.end();
    await plane.close();
  });

  it("500 changes to one location in a burst are at most two NOTIFYs; every location is announced", async () => {
    for (let i = 0; i < 500; i++) plane.loops.notifyChange("westeurope");
    plane.loops.notifyChange("northeurope");
    await until("both locations announced", () => heard.includes("westeurope") && heard.includes("northeurope"));
    await new Promise((r) => setTimeout(r, 300)); // a NOTIFY that follows the first would be here by now
    const west = heard.filter((l) => l === "westeurope").length;
    expect(west).toBeGreaterThanOrEqual(1);
    expect(west).toBeLessThanOrEqual(2);
  });

  it("a change after the burst is announced again", async () => {
    const before = heard.filter((l) => l === "westeurope").length;
    plane.loops.notifyChange("westeurope");
    await until("the later change announced", () => heard.filter((l) => l === "westeurope").length > before);
  });
});
