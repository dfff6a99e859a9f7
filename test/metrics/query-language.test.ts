// Azure Monitor's query parameters as lbplane reads them, and the agent's delta arithmetic: pure
// functions, so every edge is cheap to pin down.

import { describe, expect, it } from "vitest";
import { parseAggregations, parseDuration, parseFilter, parseInterval, parseTimespan } from "../../src/domain/metrics-query.js";
import { samplesOf } from "../../src/domain/metrics-protocol.js";
import { AvailabilitySampler } from "../../src/dataplane/metrics/availability.js";
import { TrafficTally, type CounterReading } from "../../src/dataplane/metrics/counters.js";
import { deltasOf, TrafficReporter } from "../../src/dataplane/metrics/report.js";
import { silentLogger } from "../../src/dataplane/log.js";
import type { TrafficReport } from "../../src/domain/metrics-protocol.js";

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

  it("a failed report is not lost: the next one carries its deltas, and nothing is counted twice", async () => {
    let total = 0;
    let fail = true;
    const sent: TrafficReport[] = [];
    const sampler = new AvailabilitySampler({ loadBalancers: () => [], probeReports: () => [] });
    const reporter = new TrafficReporter({
      read: async () => [reading(total)], sampler, reportIntervalMs: 1e9, sampleIntervalMs: 1e9, log: silentLogger,
      send: async (r) => {
        if (fail) throw new Error("lbplane is down");
        sent.push(r);
      },
    });
    total = 100;
    expect(await reporter.report()).toBe(false);
    total = 250;
    fail = false;
    expect(await reporter.report()).toBe(true);
    total = 300;
    expect(await reporter.report()).toBe(true);
    expect(await reporter.report()).toBe(true); // nothing new: nothing sent
    expect(sent.map((r) => r.series.map((x) => x.bytesIn))).toEqual([[250], [50]]);
  });

  it("a userspace series outlives its listener long enough for every reader to see its last totals", () => {
    const tally = new TrafficTally();
    tally.of(key).bytesIn += 5;
    tally.retain(() => false, 1_000, 120_000);
    expect(tally.read(() => undefined)).toHaveLength(1);
    tally.retain(() => false, 121_000, 120_000);
    expect(tally.read(() => undefined)).toHaveLength(0);
  });
});
