// How the nftables driver counts current flows, without root: conntrack's lines (as /proc/net/nf_conntrack
// prints them) become open flows per (rule, backend) series — the original tuple's VIP:port (any port for
// HA ports) picks the rule, the reply tuple's source (DIP:port, DIP alone for HA ports) or the conntrack
// mark (floating IP) picks the backend; closing TCP flows are left out, UDP entries count until they
// expire; IPv6 as the model spells it. A reading's gauge travels to lbplane while non-zero and once more
// when it falls to 0.

import { describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { seriesId, type CounterReading, type SeriesKey } from "../../src/dataplane/metrics/counters.js";
import { deltasOf } from "../../src/dataplane/metrics/report.js";
import { ConntrackReader, parseConntrackFlows } from "../../src/dataplane/nftables/conntrack.js";
import { ConntrackFigures, countCurrentFlows } from "../../src/dataplane/nftables/current-flows.js";
import { parseConntrack } from "../../src/dataplane/nftables/snat-usage.js";

const VIP = "203.0.113.3";
const DIP1 = "198.51.100.2";
const DIP2 = "198.51.100.6";
const VIP6 = "2001:db8:100::3";
const DIP6 = "2001:db8:1::2";
const FULL6 = (a: string) => a.split(":").flatMap((g, i, all) => (g === "" ? Array(9 - all.length).fill("0000") : [g.padStart(4, "0")])).join(":");
const MARK1 = 0x4c420001;

/** One conntrack line: original client → frontend, reply backend → client. */
function line(o: { proto?: "tcp" | "udp"; state?: string; client?: string; vip?: string; port: number; backend: string; bport: number; mark?: number; sport?: number }): string {
  const v6 = o.backend.includes(":");
  const client = o.client ?? (v6 ? FULL6("2001:db8:2::2") : "192.0.2.2");
  const vip = o.vip ?? VIP;
  const sport = o.sport ?? 40000;
  const proto = o.proto ?? "tcp";
  const head = `${v6 ? "ipv6     10" : "ipv4     2"} ${proto}      ${proto === "tcp" ? "6 431999" : "17 29"}${proto === "tcp" ? ` ${o.state ?? "ESTABLISHED"}` : ""}`;
  return `${head} src=${client} dst=${vip} sport=${sport} dport=${o.port} src=${o.backend} dst=${client} sport=${o.bport} dport=${sport} [ASSURED] mark=${o.mark ?? 0} zone=0 use=2`;
}

function listener(name: string, o: Partial<CompiledListener> & { dips?: string[] } = {}): CompiledListener {
  const { dips = [DIP1, DIP2], ...rest } = o;
  const vip = rest.frontendIPAddress ?? VIP;
  const floating = rest.enableFloatingIP ?? false;
  const frontendPort = rest.frontendPort ?? 80;
  const backendPort = rest.backendPort ?? 81;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort, backendPort, enableFloatingIP: floating,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: dips.map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: backendPort })), ...rest,
  };
}
const LB = (listeners: CompiledListener[]): CompiledLoadBalancer => ({ id: "lb", name: "lb", version: "v1", type: "Public", listeners, probes: [] });

const key = (l: CompiledListener, dip: string, backendPort = l.backendPort): SeriesKey => ({
  loadBalancerId: "lb", rule: l.name, frontendIPAddress: l.frontendIPAddress, frontendPort: l.frontendPort, protocol: l.protocol, backendIPAddress: dip, backendPort,
});
const countsOf = (lb: CompiledLoadBalancer, lines: string[], marks = new Map<string, number>()) => countCurrentFlows([lb], parseConntrackFlows(lines.join("\n")), marks);

describe("current flows from conntrack's table", () => {
  it("counts each open flow for the backend its reply came from; closing TCP states are left out, opening ones count", () => {
    const web = listener("web");
    const open = ["ESTABLISHED", "SYN_SENT", "SYN_RECV"].map((state, i) => line({ state, port: 80, backend: DIP1, bport: 81, sport: 40000 + i }));
    const closing = ["FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"].map((state, i) => line({ state, port: 80, backend: DIP2, bport: 81, sport: 41000 + i }));
    const counts = countsOf(LB([web]), [...open, ...closing, line({ port: 80, backend: DIP2, bport: 81, sport: 42000 })]);
    expect(counts.get(seriesId(key(web, DIP1)))).toBe(3);
    expect(counts.get(seriesId(key(web, DIP2)))).toBe(1);
  });

  it("a flow to another frontend, port, protocol or backend port is not the rule's; a backend with none has 0", () => {
    const web = listener("web");
    const counts = countsOf(LB([web]), [
      line({ vip: "203.0.113.4", port: 80, backend: DIP1, bport: 81 }), // another VIP
      line({ port: 8080, backend: DIP1, bport: 81 }), // another port
      line({ proto: "udp", port: 80, backend: DIP1, bport: 81 }), // another protocol
      line({ port: 80, backend: DIP1, bport: 82 }), // not where this rule sends flows
      line({ port: 80, backend: "198.51.100.9", bport: 81 }), // not a backend of the rule
    ]);
    expect([...counts.values()]).toEqual([0, 0]);
  });

  it("UDP entries count until conntrack expires them", () => {
    const dns = listener("dns", { protocol: "Udp", frontendPort: 53, backendPort: 53 });
    const counts = countsOf(LB([dns]), [1, 2, 3].map((i) => line({ proto: "udp", port: 53, backend: DIP2, bport: 53, sport: 5000 + i })));
    expect(counts.get(seriesId(key(dns, DIP2)))).toBe(3);
    expect(counts.get(seriesId(key(dns, DIP1)))).toBe(0);
  });

  it("HA ports: any port and both transports of the frontend, the backend by its address alone (port 0 in the series); a port's own rule wins", () => {
    const ha = listener("ha", { protocol: "All", frontendPort: 0, backendPort: 0 });
    const web = listener("web", { dips: [DIP1] });
    const counts = countsOf(LB([ha, web]), [
      line({ port: 443, backend: DIP1, bport: 443 }),
      line({ proto: "udp", port: 4789, backend: DIP2, bport: 4789 }),
      line({ port: 22, backend: DIP2, bport: 22 }),
      line({ port: 80, backend: DIP1, bport: 81 }), // the web rule's
    ]);
    expect(counts.get(seriesId(key(ha, DIP1, 0)))).toBe(1);
    expect(counts.get(seriesId(key(ha, DIP2, 0)))).toBe(2);
    expect(counts.get(seriesId(key(web, DIP1)))).toBe(1);
  });

  it("floating IP: every reply comes from VIP:backendPort, so the flow's conntrack mark names the backend", () => {
    const fl = listener("fl", { enableFloatingIP: true, frontendPort: 80, backendPort: 8080 });
    const marks = new Map([[DIP1, MARK1], [DIP2, MARK1 + 1]]);
    const counts = countsOf(LB([fl]), [
      line({ port: 80, backend: VIP, bport: 8080, mark: MARK1, sport: 1 }),
      line({ port: 80, backend: VIP, bport: 8080, mark: MARK1, sport: 2 }),
      line({ port: 80, backend: VIP, bport: 8080, mark: MARK1 + 1, sport: 3 }),
      line({ port: 80, backend: VIP, bport: 8080, mark: MARK1 + 7, sport: 4 }), // a mark no backend holds now
    ], marks);
    expect(counts.get(seriesId(key(fl, DIP1, 8080)))).toBe(2);
    expect(counts.get(seriesId(key(fl, DIP2, 8080)))).toBe(1);
  });

  it("IPv6: conntrack's unabbreviated addresses match the model's RFC 5952 spelling", () => {
    const web6 = listener("web6", { frontendIPAddress: VIP6, dips: [DIP6, "2001:db8:1::6"] });
    const counts = countsOf(LB([web6]), [
      line({ vip: FULL6(VIP6), port: 80, backend: FULL6(DIP6), bport: 81, sport: 1 }),
      line({ vip: FULL6(VIP6), port: 80, backend: FULL6(DIP6), bport: 81, sport: 2 }),
      line({ vip: FULL6(VIP6), port: 80, backend: FULL6(DIP6), bport: 81, state: "TIME_WAIT", sport: 3 }),
    ]);
    expect(counts.get(seriesId(key(web6, DIP6)))).toBe(2);
    expect(counts.get(seriesId(key(web6, "2001:db8:1::6")))).toBe(0);
  });

  it("one parse serves SNAT usage too: its tuples are the same with text or parsed flows", () => {
    const text = [line({ port: 80, backend: DIP1, bport: 81 }), line({ state: "TIME_WAIT", port: 80, backend: DIP1, bport: 81, sport: 2 })].join("\n");
    expect(parseConntrack(parseConntrackFlows(text))).toEqual(parseConntrack(text));
    expect(parseConntrack(text)).toHaveLength(1);
  });
});

describe("reading conntrack's table once per interval", () => {
  it("readers within maxAgeMs share one read, concurrent readers share the one under way; an unreadable table says why", async () => {
    let reads = 0;
    const reader = new ConntrackReader(async (cmd) => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      if (cmd === "cat") return `${line({ port: 80, backend: DIP1, bport: 81 })}\n`;
      throw new Error("unreachable");
    }, 60_000);
    const [a, b] = await Promise.all([reader.read(), reader.read()]);
    await reader.read();
    expect(reads).toBe(1);
    expect(a).toBe(b);
    expect("flows" in a && a.flows).toHaveLength(1);

    const broken = new ConntrackReader(async () => {
      throw new Error("No such file or directory");
    }, 0);
    const s = await broken.read();
    expect("unreadable" in s && s.unreadable).toMatch(/cannot read conntrack's table: No such file or directory; and no conntrack tool/);
  });
});

describe("the driver's conntrack figures", () => {
  const web = listener("web");
  const counters = (): CounterReading[] => [DIP1, DIP2].map((d) => ({ key: key(web, d), bytesIn: 1, bytesOut: 1, packetsIn: 1, packetsOut: 1, newFlows: 1 }));
  const scope = { loadBalancers: [LB([web])], marks: new Map<string, number>(), countTraffic: true };

  it("fills each series' current flows and the status' activeFlows from one read", async () => {
    let reads = 0;
    const figures = new ConntrackFigures(async () => {
      reads++;
      return [1, 2].map((i) => line({ port: 80, backend: DIP2, bport: 81, sport: i })).join("\n");
    }, 60_000, () => {});
    expect(figures.activeFlows(scope.loadBalancers[0], web, web.backends[1])).toBe(0); // before any read
    const readings = counters();
    await figures.addTo(readings, scope);
    expect(readings.map((r) => r.currentFlows)).toEqual([0, 2]);
    expect(figures.activeFlows(scope.loadBalancers[0], web, web.backends[1])).toBe(2);
    expect(reads).toBe(1);
  });

  it("an unreadable table leaves current flows absent, never 0, and is said once", async () => {
    const logs: string[] = [];
    const figures = new ConntrackFigures(async () => {
      throw new Error("Permission denied");
    }, 0, (m) => logs.push(m));
    for (let i = 0; i < 2; i++) {
      const readings = counters();
      await figures.addTo(readings, scope);
      expect(readings.map((r) => r.currentFlows)).toEqual([undefined, undefined]);
    }
    expect(logs).toEqual([expect.stringMatching(/cannot read conntrack's table: Permission denied.*UsedSnatPorts and current flows are not reported/)]);
  });

  it("with traffic counting off, current flows are not read at all", async () => {
    let reads = 0;
    const figures = new ConntrackFigures(async () => {
      reads++;
      return "";
    }, 0, () => {});
    await figures.addTo(counters(), { ...scope, countTraffic: false });
    expect(reads).toBe(0);
  });
});

describe("current flows in the agent's report", () => {
  const k: SeriesKey = { loadBalancerId: "lb", rule: "web", frontendIPAddress: VIP, frontendPort: 80, protocol: "Tcp", backendIPAddress: DIP1, backendPort: 81 };
  const reading = (currentFlows: number | undefined, bytesIn = 100): CounterReading => ({ key: k, bytesIn, bytesOut: 0, packetsIn: 1, packetsOut: 0, newFlows: 1, currentFlows });
  const base = (r: CounterReading) => new Map([[seriesId(r.key), r]]);

  it("is sent while flows are open, once more when they fall to 0, then no more; never when the driver cannot see flows", () => {
    expect(deltasOf([reading(3)], base(reading(3)))).toEqual([{ ...k, currentFlows: 3 }]);
    expect(deltasOf([reading(0)], base(reading(3)))).toEqual([{ ...k, currentFlows: 0 }]);
    expect(deltasOf([reading(0)], base(reading(0)))).toEqual([]);
    expect(deltasOf([reading(undefined, 150)], base(reading(undefined)))).toEqual([{ ...k, bytesIn: 50 }]);
  });
});
