// Traffic counters for the nftables driver: named kernel counters, so Node never touches a packet; the
// agent reads them all with one `nft -j list counters` per report or scrape.
//
// Where: a filter chain on the forward hook ("traffic") of each family's table (ip, ip6: a listener is
// counted where it forwards), which sees both directions of every flow the table load-balances (DNAT'd and floating-IP flows are routed through this host). It dispatches by the
// flow's ORIGINAL destination — conntrack's VIP:port, whatever NAT did to the packet — through verdict
// maps like the NAT dispatch (O(1) per packet), to one small chain per listener, t_<k>, with per
// backend: the first packet of a flow (not yet confirmed by conntrack) → its "new" counter, client → backend packets → "in", backend →
// client packets → "out".
// A backend is recognised after DNAT by its DIP[:port] (by the ct mark for floating IP, whose packets
// keep the VIP). Counter names hash the backend's destination, not its position, so a counter keeps
// counting for the same backend when the pool is reordered or grows.
//
// The objects ride along with each listener's ListenerObjects (render.ts), so the incremental diff and
// the whole-table render create and delete them with their listener. A whole-table replacement declares
// each counter with the value read just before (only packets of those few milliseconds are lost); when
// the table was gone anyway they start from zero, which the agent's reporter reads as a restart.

import { createHash } from "node:crypto";
import type { CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import type { CounterReading, SeriesKey } from "../metrics/counters.js";
import { seriesId } from "../metrics/counters.js";
import type { Runner } from "./exec.js";

/** Traffic of a listener's backend (in, out, new flows); a SNAT block's new flows carried or refused (render-outbound.ts). */
export type CounterField = "in" | "out" | "new" | "snat" | "snatFailed";

export interface CounterObject {
  name: string;
  key: SeriesKey;
  field: CounterField;
}

export type TrafficMap = "cnt_tcp" | "cnt_udp" | "cnt_any";

/** Counter name → its kernel values and the family of the table holding it (names are unique across both). */
export type CounterValues = Map<string, { packets: number; bytes: number; family?: "ip" | "ip6" }>;

/** A counter declaration; with `value`, it starts from there (a whole-table replacement keeps the counts). */
export const counterText = (name: string, value?: { packets: number; bytes: number }): string =>
  value ? `  counter ${name} {\n    packets ${value.packets} bytes ${value.bytes}\n  }` : `  counter ${name} {}`;

interface Counting {
  chains: Array<{ name: string; rules: string[]; usesMap: false }>;
  dispatch: Array<{ map: TrafficMap; key: string; chain: string }>;
  counters: CounterObject[];
}

const hex = (n: number): string => `0x${n.toString(16)}`;
const short = (s: string): string => createHash("sha1").update(s).digest("hex").slice(0, 10);

/**
 * What tells a listener's backends apart in the kernel: the DIP's fwmark for floating IP (its packets keep
 * the VIP), else where DNAT sent the flow. Backends of one identity share one series.
 */
export const backendIdentity = (l: CompiledListener, b: CompiledBackend): string =>
  l.enableFloatingIP ? b.address : `${b.destinationIPAddress}:${b.destinationPort}`;

/** The series of one (listener, backend): its counters and its current flows. `keepsPort`: HA ports (port 0). */
export const backendSeriesKey = (lb: CompiledLoadBalancer, l: CompiledListener, b: CompiledBackend, keepsPort: boolean): SeriesKey => ({
  loadBalancerId: lb.id, rule: l.name, frontendIPAddress: l.frontendIPAddress, frontendPort: l.frontendPort, protocol: l.protocol,
  backendIPAddress: b.address, backendPort: keepsPort ? 0 : b.destinationPort,
});

/**
 * The counting chains, dispatch entries and counters of one listener (`k` is its listener key).
 * `keepsPort`: the backend port is the packet's own (HA ports), so only the address identifies it.
 */
export function countingObjects(lb: CompiledLoadBalancer, l: CompiledListener, k: string, keepsPort: boolean, markOf: (dip: string) => number): Counting {
  const inRules: string[] = [];
  const outRules: string[] = [];
  const counters: CounterObject[] = [];
  const seen = new Set<string>();
  const f = l.frontendIPAddress.includes(":") ? "ip6" : "ip"; // a rule forwards within its frontend's family
  for (const b of l.backends) {
    const identity = backendIdentity(l, b);
    if (seen.has(identity)) continue;
    seen.add(identity);
    const key = backendSeriesKey(lb, l, b, keepsPort);
    const base = `x_${k}_${short(identity)}`;
    const [orig, reply] = l.enableFloatingIP
      ? [`ct mark ${hex(markOf(b.address))}`, `ct mark ${hex(markOf(b.address))}`]
      : keepsPort
        ? [`${f} daddr ${b.destinationIPAddress}`, `${f} saddr ${b.destinationIPAddress}`]
        : [`${f} daddr ${b.destinationIPAddress} th dport ${b.destinationPort}`, `${f} saddr ${b.destinationIPAddress} th sport ${b.destinationPort}`];
    // A new flow is its first packet, the one conntrack has not confirmed yet: "ct state new" would also
    // count a retransmitted SYN, and every datagram of a one-way UDP flow (new until a reply is seen).
    inRules.push(`ct direction original ${orig} ct status & confirmed == 0 counter name "${base}_n"`, `ct direction original ${orig} counter name "${base}_i" return`);
    outRules.push(`ct direction reply ${reply} counter name "${base}_o" return`);
    counters.push({ name: `${base}_i`, key, field: "in" }, { name: `${base}_o`, key, field: "out" }, { name: `${base}_n`, key, field: "new" });
  }
  const t = `t_${k}`;
  const protos = l.protocol === "All" ? ["tcp", "udp"] : [l.protocol.toLowerCase()];
  const dispatch = protos.map((p) =>
    l.frontendPort === 0
      ? { map: "cnt_any" as const, key: `${l.frontendIPAddress} . ${p}`, chain: t }
      : { map: `cnt_${p}` as TrafficMap, key: `${l.frontendIPAddress} . ${l.frontendPort}`, chain: t },
  );
  return {
    // One chain with no jumps, so a transaction may add or delete it in any order.
    chains: [{ name: t, rules: [...inRules, ...outRules], usesMap: false }],
    dispatch,
    counters,
  };
}

/** The counting base chain and its dispatch maps of one family's table, for the whole-table render. */
export function trafficBaseText(dispatch: Record<TrafficMap, string[]>, family: "ip" | "ip6" = "ip"): string[] {
  const els = (m: TrafficMap) => (dispatch[m].length ? `\n    elements = { ${dispatch[m].join(", ")} }` : "");
  const addr = family === "ip" ? "ipv4_addr" : "ipv6_addr";
  return [
    `  map cnt_tcp {\n    type ${addr} . inet_service : verdict${els("cnt_tcp")}\n  }`,
    `  map cnt_udp {\n    type ${addr} . inet_service : verdict${els("cnt_udp")}\n  }`,
    `  map cnt_any {\n    type ${addr} . inet_proto : verdict${els("cnt_any")}\n  }`,
    // nft cannot concatenate `ct original proto-dst` without a protocol in context: one rule per protocol.
    `  chain traffic {
    type filter hook forward priority filter; policy accept;
    meta l4proto tcp ct original ${family} daddr . ct original proto-dst vmap @cnt_tcp
    meta l4proto udp ct original ${family} daddr . ct original proto-dst vmap @cnt_udp
    ct original ${family} daddr . meta l4proto vmap @cnt_any
  }`,
  ];
}

/**
 * The local path: the agent's synthetic flows (Data Path Availability) start on this host, where packets
 * take the output hook, not prerouting, so the same dispatch maps are consulted there too (a nat chain for
 * DNAT rules, a route chain that marks floating-IP flows so policy routing re-routes them). Any local
 * process reaching a VIP is load-balanced like a client, as kube-proxy does for node-local traffic.
 */
export function localPathText(markBase: number, markMask: number, family: "ip" | "ip6" = "ip"): string[] {
  return [
    `  chain local_mark {
    type route hook output priority mangle; policy accept;
    ct direction original ct mark and ${hex(markMask)} == ${hex(markBase)} meta mark set ct mark accept
    ct state new meta l4proto @tcpudp ${family} daddr . meta l4proto . th dport vmap @fip_port
    ct state new meta l4proto @tcpudp ${family} daddr . meta l4proto vmap @fip_any
  }`,
    `  chain local_nat {
    type nat hook output priority -100; policy accept;
    meta l4proto @tcpudp ${family} daddr . meta l4proto . th dport vmap @nat_port
    meta l4proto @tcpudp ${family} daddr . meta l4proto vmap @nat_any
  }`,
  ];
}

/** Every named counter of the table in both families (ip, ip6): name → packets and bytes (one `nft` call). */
export async function readCounters(run: Runner, table: string): Promise<CounterValues> {
  const text = await run("nft", ["-j", "list", "counters"]);
  const out: CounterValues = new Map();
  type Item = { counter?: { family: string; table: string; name: string; packets: number; bytes: number } };
  for (const { counter: c } of (JSON.parse(text) as { nftables?: Item[] }).nftables ?? [])
    if (c && c.table === table && (c.family === "ip" || c.family === "ip6")) out.set(c.name, { packets: c.packets, bytes: c.bytes, family: c.family });
  return out;
}

/**
 * Counters a change leaves unreferenced (a rule or backend removed). The diff never deletes counters: they
 * stay in the kernel with their final totals for a grace period, so the next report still carries the
 * traffic they saw, and a backend that comes back within it picks its counter up again (`add counter`
 * keeps an existing one). The driver deletes them once expired, off the change path.
 */
export class OrphanCounters {
  private readonly orphans = new Map<string, { counter: CounterObject; since: number }>();

  constructor(private readonly graceMs = 120_000) {}

  /** A change from `before` to `after` was committed incrementally. */
  update(before: CounterObject[], after: CounterObject[], now = Date.now()): void {
    const live = new Set(after.map((c) => c.name));
    for (const c of before) if (!live.has(c.name) && !this.orphans.has(c.name)) this.orphans.set(c.name, { counter: c, since: now });
    for (const name of live) this.orphans.delete(name);
  }

  list(): CounterObject[] {
    return [...this.orphans.values()].map((o) => o.counter);
  }

  /** Names of orphans past their grace period, forgotten here; the caller deletes them from the kernel. */
  expire(now = Date.now()): string[] {
    const out: string[] = [];
    for (const [name, o] of this.orphans)
      if (now - o.since >= this.graceMs) {
        this.orphans.delete(name);
        out.push(name);
      }
    return out;
  }

  /** The table was replaced whole: no orphan survived. */
  clear(): void {
    this.orphans.clear();
  }
}

/** Kernel counter values → cumulative readings per series. */
export function readingsOf(counters: Iterable<CounterObject>, values: CounterValues): CounterReading[] {
  const out = new Map<string, CounterReading>();
  for (const c of counters) {
    const v = values.get(c.name);
    if (!v) continue;
    const id = seriesId(c.key);
    let r = out.get(id);
    if (!r) out.set(id, (r = { key: c.key, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, newFlows: 0 }));
    if (c.field === "in") {
      r.bytesIn += v.bytes;
      r.packetsIn += v.packets;
    } else if (c.field === "out") {
      r.bytesOut += v.bytes;
      r.packetsOut += v.packets;
    } else if (c.field === "new") r.newFlows += v.packets;
    else {
      // The block's ports are the driver's to fill in (they are not counters).
      r.snat ??= { connections: 0, failedConnections: 0, allocatedPorts: 0, usedPorts: 0 };
      if (c.field === "snat") r.snat.connections += v.packets;
      else r.snat.failedConnections += v.packets;
    }
  }
  return [...out.values()];
}
