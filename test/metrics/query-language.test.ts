// Azure Monitor's query parameters as lbplane reads them, and the agent's delta arithmetic: pure
// functions, so every edge is cheap to pin down.

import { describe, expect, it } from "vitest";
import { parseAggregations, parseDuration, parseFilter, parseInterval, parseTimespan } from "../../src/domain/metrics-query.js";
import { samplesOf } from "../../src/domain/metrics-protocol.js";
import { deltasOf } from "../../src/dataplane/metrics/report.js";
import type { CounterReading } from "../../src/dataplane/metrics/counters.js";

const NOW = Date.parse("2026-11-28T06:30:20Z");

describe("Azure Monitor query parameters", () => {
  it("durations: PT1M, PT1H, P1D, P1W, PT90S; nonsense is refused", () => {
    expect(parseDuration("PT1M")).toBe(60_000);
    expect(parseDuration("PT1H")).toBe(3_600_000);
    expect(parseDuration("P1D")).toBe(86_400_000);
    expect(parseDuration("P1W")).toBe(7 * 86_400_000);
    expect(parseDuration("PT90S")).toBe(90_000);
    for (const bad of ["", "P", "PT", "1H", "PT-1M", "P0D"]) expect(parseDuration(bad), bad).toBeUndefined();
  });

  it("timespan: default the last hour, start/end, start/duration, a duration ending now; rounded out to minutes", () => {
    expect(parseTimespan(undefined, NOW)).toEqual({ from: new Date("2026-11-28T05:30:00Z"), to: new Date("2026-11-28T06:31:00Z") });
    expect(parseTimespan("2026-11-28T06:00:10Z/2026-11-28T06:10:00Z", NOW)).toEqual({ from: new Date("2026-11-28T06:00:00Z"), to: new Date("2026-11-28T06:10:00Z") });
    expect(parseTimespan("2026-11-28T06:00:00Z/PT5M", NOW)).toEqual({ from: new Date("2026-11-28T06:00:00Z"), to: new Date("2026-11-28T06:05:00Z") });
    expect(parseTimespan("PT10M", NOW)).toEqual({ from: new Date("2026-11-28T06:20:00Z"), to: new Date("2026-11-28T06:31:00Z") });
    expect(parseTimespan("yesterday/today", NOW)).toMatchObject({ parameter: "timespan" });
    expect(parseTimespan("2026-11-28T06:10:00Z/2026-11-28T06:00:00Z", NOW)).toMatchObject({ parameter: "timespan" });
  });

  it("interval: PT1M default, FULL, whole minutes only, and a bounded number of points", () => {
    const day = { from: new Date("2026-11-27T00:00:00Z"), to: new Date("2026-11-28T00:00:00Z") };
    expect(parseInterval(undefined, day)).toEqual({ grainMs: 60_000, label: "PT1M" });
    expect(parseInterval("full", day)).toEqual({ grainMs: undefined, label: "FULL" });
    expect(parseInterval("PT5M", day)).toEqual({ grainMs: 300_000, label: "PT5M" });
    expect(parseInterval("PT30S", day)).toMatchObject({ parameter: "interval" });
    const year = { from: new Date("2026-01-01T00:00:00Z"), to: new Date("2026-11-28T00:00:00Z") };
    expect(parseInterval("PT1M", year)).toMatchObject({ parameter: "interval" });
  });

  it("aggregation: a case-insensitive comma list, default the metric's primary", () => {
    expect(parseAggregations(undefined, "Total")).toEqual(["Total"]);
    expect(parseAggregations("average, MAXIMUM,average", "Total")).toEqual(["Average", "Maximum"]);
    expect(parseAggregations("median", "Total")).toMatchObject({ parameter: "aggregation" });
  });

  it("$filter: dimensions split, values filter, '*' means any, 'or' joins values of one dimension", () => {
    const f = parseFilter("FrontendIPAddress eq '203.0.113.1' and (BackendPort eq '80' or BackendPort eq '81') and Direction eq '*'");
    expect(f).toEqual(new Map([["FrontendIPAddress", ["203.0.113.1"]], ["BackendPort", ["80", "81"]], ["Direction", []]]));
    expect(parseFilter("backendipaddress eq '*' ")).toEqual(new Map([["BackendIPAddress", []]]));
    expect(parseFilter("Color eq 'red'")).toMatchObject({ parameter: "$filter" });
    expect(parseFilter("FrontendPort eq '80' or BackendPort eq '80'")).toMatchObject({ parameter: "$filter" });
    expect(parseFilter("FrontendPort eq '80' and")).toMatchObject({ parameter: "$filter" });
    expect(parseFilter("FrontendPort eq '80")).toMatchObject({ parameter: "$filter" });
  });
});

describe("traffic deltas and samples", () => {
  const key = { loadBalancerId: "/x/lb", rule: "r", frontendIPAddress: "203.0.113.1", frontendPort: 80, protocol: "Tcp" as const, backendIPAddress: "10.0.0.4", backendPort: 80 };
  const reading = (bytesIn: number, newFlows = 0): CounterReading => ({ key, bytesIn, bytesOut: 0, packetsIn: 0, packetsOut: 0, newFlows });

  it("reports what changed since the accepted baseline; a counter that went backwards restarted from zero", () => {
    expect(deltasOf([reading(100, 1)], new Map())).toEqual([{ ...key, bytesIn: 100, newFlows: 1 }]);
    const base = new Map([[Object.values(key).join("\n"), reading(100, 1)]]);
    expect(deltasOf([reading(150, 1)], base)).toEqual([{ ...key, bytesIn: 50 }]);
    expect(deltasOf([reading(100, 1)], base)).toEqual([]); // nothing new: left out
    expect(deltasOf([reading(30, 0)], base)).toEqual([{ ...key, bytesIn: 30 }]);
  });

  it("counters become Azure metric samples by direction; availability becomes a weighted percentage", () => {
    const samples = samplesOf({
      series: [{ ...key, bytesIn: 10, bytesOut: 20, packetsIn: 1, newFlows: 1 }],
      availability: [{ kind: "Vip", loadBalancerId: "/x/lb", frontendIPAddress: "203.0.113.1", frontendPort: 80, protocol: "Tcp", up: 3, samples: 4 }],
    });
    expect(samples.map((s) => [s.metric, s.direction, s.value, s.weight])).toEqual([
      ["ByteCount", "Inbound", 10, 1],
      ["ByteCount", "Outbound", 20, 1],
      ["PacketCount", "Inbound", 1, 1],
      ["SYNCount", "Inbound", 1, 1],
      ["VipAvailability", "", 75, 4],
    ]);
  });
});
