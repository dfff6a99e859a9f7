// Pure translation of compiled load balancers into nftables objects and text. No I/O here, so the exact
// ruleset is unit-testable without root; driver.ts feeds the text to `nft -f -` as one atomic transaction.
//
// Two tables of one name, `ip` for IPv4 listeners and `ip6` for IPv6 ones, with the same layout; a
// listener lives in the table of its frontend's family (an IPv4 and an IPv6 rule on one port coexist).
// Table layout (per family):
//   prerouting/mangle  "mangle": restore the floating-IP mark of established flows, then dispatch NEW
//                      packets by (VIP, proto, port) through verdict maps to one chain per floating listener;
//                      that chain sets meta mark + ct mark from a hash slot map (policy routing does the rest).
//   prerouting/dstnat  "nat": dispatch by (VIP, proto, port) to one chain per default listener, which DNATs
//                      through its hash slot map to DIP:port; floating listeners that change the port get a
//                      port-only DNAT (address stays the VIP). NAT chains see only a flow's first packet, so
//                      conntrack keeps every established flow on the backend it was given. A new TCP flow
//                      that finds no backend up is answered with a RST at once (Azure's behaviour), not dropped.
//   forward/filter     "forward": outbound SNAT port budget per backend (render-outbound.ts), and the
//                      Standard-SKU rule: other new flows from backends, and any from a VIP, are dropped.
//   postrouting/srcnat "postrouting": SNAT of backends' outbound flows to their block on the frontend.
//   output/route+nat   "local_mark", "local_nat": the same dispatch for flows started on this host (the
//                      agent's synthetic flows for Data Path Availability; traffic.ts localPathText).
//   forward/filter     "traffic" (when counting): traffic counters per listener and backend (traffic.ts).
// Dispatch is O(1) via verdict maps (kube-proxy nftables style), so 1,500 rules do not mean 1,500 compares.
//
// UDP failover (render-zones.ts): UDP flows sit in a conntrack zone per hash slot, so when a backend goes
// Down its UDP flows are load-balanced anew with their next datagram; TCP flows stay.
//
// Health: each listener hashes into a fixed number of slots (SLOTS_PER_BACKEND × backends) and a map turns
// a slot into a backend. A probe change only rewrites that map's elements, never the table, and only the
// slots of the backend that changed move (the others keep their flows' hash targets).
//
// Every listener renders to a ListenerObjects value (its map, chains and dispatch entries). The whole table
// (renderTable/fullTableText) and the incremental transaction (diff.ts) are both built from those values,
// so an incremental change and a full re-render always describe the same kernel state.

import { createHash } from "node:crypto";
import type { CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { renderOutbound } from "./render-outbound.js";
import { zoned, zoneElements, zoneObjects } from "./render-zones.js";
import { countingObjects, counterText, localPathText, trafficBaseText, type CounterObject, type CounterValues, type TrafficMap } from "./traffic.js";

/** Floating-IP marks are MARK_BASE | index; the high 16 bits identify lbplane's marks. */
export const MARK_BASE = 0x4c420000;
export const MARK_MASK = 0xffff0000;
export const MAX_MARKS = 0xfffe;
/** Slots per backend: 8 keeps the spread within one slot of even when a backend of up to 8 is down. */
export const SLOTS_PER_BACKEND = 8;
/** Fixed hash seed: every agent serving the same VIP picks the same backend for a flow. */
export const HASH_SEED = 0x4c42;

export interface RenderContext {
  tableName: string;
  /** Whether a backend currently receives new flows (probe state, noHealthyBackendsBehavior applied by caller). */
  isUp: (lb: CompiledLoadBalancer, listener: CompiledListener, backend: CompiledBackend) => boolean;
  /** Floating IP: the fwmark that policy routing sends to this DIP. */
  markOf: (dip: string) => number;
  /** Traffic counters per (listener, backend) in a forward-hook chain (traffic.ts); default off. */
  countTraffic?: boolean;
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** nftables family of an address: a listener, a SNAT block or a dispatch key lives in its frontend's family. */
export type Family = "ip" | "ip6";
export const FAMILIES: readonly Family[] = ["ip", "ip6"];
export const familyOf = (address: string): Family => (address.includes(":") ? "ip6" : "ip");
/** An address where nft expects host[:port]: IPv6 in brackets. */
export const hostPort = (address: string, port: number | string): string =>
  address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;

/**
 * Stable identifier for a listener (names its map and chains) that survives re-renders and reordering.
 * An inbound NAT rule may share its name with a load-balancing rule (different ARM collections), so its
 * kind is part of the key; load-balancing rules keep the historical key.
 */
export function listenerKey(lbId: string, listenerName: string, kind: CompiledListener["kind"] = "LoadBalancingRule"): string {
  const id = kind === "InboundNatRule" ? `${lbId}\0nat\0${listenerName}` : `${lbId}\0${listenerName}`;
  let k = keys.get(id);
  if (k === undefined) {
    if (keys.size >= 100_000) keys.clear(); // bounded: names of long-gone listeners must not pile up
    k = createHash("sha1").update(id).digest("hex").slice(0, 16);
    keys.set(id, k);
  }
  return k;
}
const keys = new Map<string, string>(); // a sha1 per listener per render is a measurable share of a re-apply

/** HA ports (protocol All, port 0) and backendPort 0 keep the packet's destination port. */
export function keepsPort(l: CompiledListener): boolean {
  return l.backendPort === 0 || (l.protocol === "All" && l.frontendPort === 0);
}

/**
 * Slot → backend index. Slot s belongs to backend s mod n; a down backend's slots are dealt round-robin to
 * the up ones. Empty when nothing is up (the listener chain then drops new flows).
 */
export function assignSlots(up: boolean[], perBackend = SLOTS_PER_BACKEND): number[] {
  const n = up.length;
  const ups = up.flatMap((u, i) => (u ? [i] : []));
  if (ups.length === 0) return [];
  const slots: number[] = [];
  let spill = 0;
  for (let s = 0; s < n * perBackend; s++) {
    const home = s % n;
    slots.push(up[home] ? home : ups[spill++ % ups.length]);
  }
  return slots;
}

export function hashExpr(l: CompiledListener): string {
  const slots = Math.max(1, l.backends.length) * SLOTS_PER_BACKEND;
  const f = familyOf(l.frontendIPAddress);
  // Azure's distribution modes: 5-tuple (Default), 2-tuple (SourceIP), 3-tuple (SourceIPProtocol).
  const tuple =
    l.loadDistribution === "SourceIP"
      ? `${f} saddr . ${f} daddr`
      : l.loadDistribution === "SourceIPProtocol"
        ? `${f} saddr . ${f} daddr . meta l4proto`
        : `${f} saddr . th sport . ${f} daddr . th dport . meta l4proto`;
  return `jhash ${tuple} mod ${slots} seed ${hex(HASH_SEED)}`;
}

/** The map's element list (without braces), empty string when no backend is up. */
export function mapElements(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext): string {
  const up = l.backends.map((b) => ctx.isUp(lb, l, b));
  return assignSlots(up)
    .map((bi, slot) => {
      const b = l.backends[bi];
      if (l.enableFloatingIP) return `${slot} : ${hex(ctx.markOf(b.address))}`;
      return keepsPort(l) ? `${slot} : ${b.destinationIPAddress}` : `${slot} : ${b.destinationIPAddress} . ${b.destinationPort}`;
    })
    .join(", ");
}

function mapValueType(l: CompiledListener): string {
  if (l.enableFloatingIP) return "meta mark";
  const f = familyOf(l.frontendIPAddress);
  return keepsPort(l) ? `${f} daddr` : `${f} daddr . th dport`;
}

/**
 * The end of a listener chain, reached only when no backend is up: a new TCP flow gets a RST at once (the
 * client fails in milliseconds instead of waiting for its connect timeout); anything else is dropped.
 */
const noBackend = (l: CompiledListener): string[] => [...(l.protocol === "Udp" ? [] : ["meta l4proto tcp reject with tcp reset"]), "drop"];

/**
 * nft wants an explicit protocol match before a port rewrite. Listener chains are only reached through the
 * (VIP, proto, port) dispatch, so this is redundant at run time; a literal protocol keeps it cheap — an
 * inline set `{ tcp, udp }` per rule costs the kernel ~1 ms each to build (1.2 s for 1,500 rules).
 */
const l4match = (l: CompiledListener): string => (l.protocol === "All" ? "meta l4proto { tcp, udp }" : `meta l4proto ${l.protocol.toLowerCase()}`);

const protos = (l: CompiledListener): string[] => (l.protocol === "All" ? ["tcp", "udp"] : [l.protocol.toLowerCase()]);

export type DispatchMap = "fip_port" | "fip_any" | "nat_port" | "nat_any" | "zone_port" | "zone_any" | "out_src" | "snat_src" | "no_out" | TrafficMap;
/** The forwarding maps every family's table declares (the traffic maps are traffic.ts's, declared when counting). */
export const DISPATCH_MAPS = ["fip_port", "fip_any", "nat_port", "nat_any", "zone_port", "zone_any", "out_src", "snat_src", "no_out"] as const;

/** A dispatch entry whose verdict is a plain drop (no_out) instead of a goto. */
export const DROP = "drop";

/** One entry of a dispatch verdict map: (VIP, proto[, port]) for listeners, (source[, proto]) for outbound. */
export interface DispatchEntry {
  map: DispatchMap;
  key: string; // "vip . proto . port", "vip . proto", "dip . proto" or "address"
  chain: string; // goto target, or DROP
}

/** The element's verdict as nft spells it. */
export const verdictOf = (d: DispatchEntry): string => (d.chain === DROP ? "drop" : `goto ${d.chain}`);

export interface ChainObject {
  name: string;
  rules: string[];
  /** References the listener's slot or zone map (nft must see the map declared in the same transaction; see diff.ts). */
  usesMap: boolean;
}

export interface MapObject {
  name: string;
  type: string;
  /** "" = empty (no backend receives new flows). */
  elements: string;
}

/** The maps a listener's chains use: the slot map and, for UDP listeners, the zone map. */
export const mapsOf = (o: ListenerObjects): MapObject[] => (o.map ? (o.zoneMap ? [o.map, o.zoneMap] : [o.map]) : []);

/**
 * Everything the kernel holds for one listener (or one outbound rule, or the Standard-SKU drop list:
 * render-outbound.ts). Plain strings, so equality is the change test.
 */
export interface ListenerObjects {
  lbId: string;
  /** The table (ip or ip6) holding the objects. */
  family: Family;
  /** Everything the objects were rendered from; equal source = equal objects, so they can be reused. */
  source: string;
  title: string; // comment in the full table
  /** The slot map; elements "" = no backend receives new flows. Absent for outbound objects. */
  map?: MapObject;
  /** UDP listeners: slot → conntrack zone (see the header), rewritten with the slot map. */
  zoneMap?: MapObject;
  /** Conntrack timeout policies the chains name (outbound rules' idle timeout); the name carries the value. */
  timeouts?: Array<{ name: string; body: string }>;
  chains: ChainObject[];
  dispatch: DispatchEntry[];
  /** Named traffic counters its chains update (traffic.ts); absent when counting is off. */
  counters?: CounterObject[];
}

/** listener key → objects, in table order. What the kernel holds (driver) or should hold (next apply). */
export type TableState = Map<string, ListenerObjects>;

function dispatchOf(l: CompiledListener, family: "fip" | "nat", chain: string): DispatchEntry[] {
  return protos(l).map((p): DispatchEntry =>
    l.frontendPort === 0
      ? { map: `${family}_any` as const, key: `${l.frontendIPAddress} . ${p}`, chain }
      : { map: `${family}_port` as const, key: `${l.frontendIPAddress} . ${p} . ${l.frontendPort}`, chain },
  );
}

/** The inputs of renderListener, as one string: the listener, its backends' up state and marks, drain. */
function sourceOf(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain: boolean): string {
  const state = l.backends.map((b) => (ctx.isUp(lb, l, b) ? "u" : "d") + (l.enableFloatingIP ? ctx.markOf(b.address) : ""));
  return JSON.stringify([lb.id, lb.name, drain, state, l]);
}

/** One listener's objects; `drain` empties its slot map (no new flows) but keeps everything else. */
export function renderListener(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain = false): ListenerObjects {
  return build(lb, l, ctx, drain, sourceOf(lb, l, ctx, drain));
}

function build(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain: boolean, source: string): ListenerObjects {
  const o = buildForwarding(lb, l, ctx, drain, source);
  const k = listenerKey(lb.id, l.name, l.kind);
  let out: ListenerObjects = o;
  if (zoned(l)) {
    const z = zoneObjects(lb, l, ctx, drain, k);
    out = { ...out, zoneMap: z.zoneMap, chains: [...out.chains, z.chain], dispatch: [...out.dispatch, z.dispatch] };
  }
  if (!ctx.countTraffic) return out;
  const counting = countingObjects(lb, l, k, keepsPort(l), ctx.markOf);
  return { ...out, chains: [...out.chains, ...counting.chains], dispatch: [...out.dispatch, ...counting.dispatch], counters: counting.counters };
}

function buildForwarding(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain: boolean, source: string): ListenerObjects {
  const k = listenerKey(lb.id, l.name, l.kind);
  const family = familyOf(l.frontendIPAddress);
  const map = { name: `b_${k}`, type: `typeof numgen inc mod 1 : ${mapValueType(l)}`, elements: drain ? "" : mapElements(lb, l, ctx) };
  const hash = hashExpr(l);
  const c = `c_${k}`;
  const title = `${lb.name} / ${l.name}`.replace(/\n/g, " ");
  if (l.enableFloatingIP) {
    // No address rewrite: the slot map yields the DIP's fwmark; ct mark remembers it for later packets.
    const chains: ChainObject[] = [{ name: c, rules: [`meta mark set ${hash} map @${map.name} ct mark set meta mark accept`, ...noBackend(l)], usesMap: true }];
    const dispatch = dispatchOf(l, "fip", c);
    if (!keepsPort(l) && l.backendPort !== l.frontendPort) {
      // The seed allows a floating rule to change the port: rewrite only the port, the address stays the VIP.
      chains.push({ name: `p_${k}`, rules: [`${l4match(l)} dnat ${family} to ${hostPort(l.frontendIPAddress, l.backendPort)}`], usesMap: false });
      dispatch.push(...dispatchOf(l, "nat", `p_${k}`));
    }
    return { lbId: lb.id, family, source, title, map, chains, dispatch };
  }
  const target = keepsPort(l) ? `dnat ${family} to` : `${l4match(l)} dnat ${family} addr . port to`;
  // The rules after the DNAT are reached only when the map has no element for the slot: no backend is up.
  const chains = [{ name: c, rules: [`${target} ${hash} map @${map.name}`, ...noBackend(l)], usesMap: true }];
  return { lbId: lb.id, family, source, title, map, chains, dispatch: dispatchOf(l, "nat", c) };
}

/**
 * The objects of every listener of `lbs`. A listener whose inputs equal those `reuse` was rendered from keeps
 * that very object (a 1,500-rule load balancer re-renders in a few ms, and the diff skips it by identity).
 * Two listeners with one key would silently merge: refused here.
 */
export function renderState(lbs: Iterable<CompiledLoadBalancer>, ctx: RenderContext, drain = false, reuse?: TableState): TableState {
  const out: TableState = new Map();
  const all = [...lbs];
  for (const lb of all)
    for (const l of lb.listeners) {
      const k = listenerKey(lb.id, l.name, l.kind);
      if (out.has(k)) throw new Error(`${lb.name}: two ${l.kind}s named ${l.name}`);
      const source = sourceOf(lb, l, ctx, drain);
      const old = reuse?.get(k);
      out.set(k, old?.source === source ? old : build(lb, l, ctx, drain, source));
    }
  for (const [k, o] of renderOutbound(all)) {
    const old = reuse?.get(k);
    out.set(k, old?.source === o.source ? old : o);
  }
  return out;
}

const elementsLine = (els: string[] | string): string => {
  const s = Array.isArray(els) ? els.join(", ") : els;
  return s ? `\n    elements = { ${s} }` : "";
};

/**
 * The whole table as one transaction: create-if-missing, delete, re-create. nft applies the file atomically,
 * so packets see either the old table or the new one, never none; if any line is refused nothing changes.
 * Used for the first apply and for re-syncing after a failure; later changes go through diff.ts.
 */
export function fullTableText(state: TableState, tableName: string, countTraffic = false, counterValues?: CounterValues): string {
  const out: string[] = [];
  for (const family of FAMILIES) out.push(...familyTableText([...state.values()].filter((o) => o.family === family), family, tableName, countTraffic, counterValues));
  return out.join("\n") + "\n";
}

/** The element types of the dispatch maps, per family. */
function dispatchMapType(m: DispatchMap, family: Family): string {
  const addr = family === "ip" ? "ipv4_addr" : "ipv6_addr";
  if (m === "no_out" || m === "zone_any") return `type ${addr} : verdict`;
  if (m === "zone_port") return `type ${addr} . inet_service : verdict`;
  return m.endsWith("_port") ? `type ${addr} . inet_proto . inet_service : verdict` : `type ${addr} . inet_proto : verdict`;
}

function familyTableText(objects: ListenerObjects[], f: Family, t: string, countTraffic: boolean, counterValues?: CounterValues): string[] {
  const out: string[] = [`table ${f} ${t} {}`, `delete table ${f} ${t}`, `table ${f} ${t} {`];
  out.push(`  set tcpudp {\n    type inet_proto\n    elements = { tcp, udp }\n  }`);
  const dispatch = Object.fromEntries([...DISPATCH_MAPS, "cnt_tcp", "cnt_udp", "cnt_any"].map((m) => [m, [] as string[]])) as Record<DispatchMap, string[]>;
  for (const o of objects) {
    out.push(`  # ${o.title}`);
    for (const c of o.counters ?? []) out.push(counterText(c.name, counterValues?.get(c.name)));
    for (const m of mapsOf(o)) out.push(`  map ${m.name} {\n    ${m.type}${elementsLine(m.elements)}\n  }`);
    for (const ct of o.timeouts ?? []) out.push(`  ct timeout ${ct.name} ${ct.body}`);
    for (const ch of o.chains) out.push(`  chain ${ch.name} {\n${ch.rules.map((r) => `    ${r}\n`).join("")}  }`);
    for (const d of o.dispatch) dispatch[d.map].push(`${d.key} : ${verdictOf(d)}`);
  }
  for (const m of DISPATCH_MAPS) out.push(`  map ${m} {\n    ${dispatchMapType(m, f)}${elementsLine(dispatch[m])}\n  }`);
  out.push(
    `  chain mangle {
    type filter hook prerouting priority mangle; policy accept;
    # Later packets of a floating flow (client→VM direction only; replies must follow the main table).
    ct direction original ct mark and ${hex(MARK_MASK)} == ${hex(MARK_BASE)} meta mark set ct mark accept
    ct state new meta l4proto @tcpudp ${f} daddr . meta l4proto . th dport vmap @fip_port
    ct state new meta l4proto @tcpudp ${f} daddr . meta l4proto vmap @fip_any
  }`,
  );
  out.push(
    `  chain raw {
    type filter hook prerouting priority raw; policy accept;
    # UDP flows of a listener go in their slot's conntrack zone (see the header: failover of UDP flows).
    meta l4proto udp ${f} daddr . udp dport vmap @zone_port
    meta l4proto udp ${f} daddr vmap @zone_any
  }`,
  );
  out.push(
    `  chain nat {
    type nat hook prerouting priority dstnat; policy accept;
    meta l4proto @tcpudp ${f} daddr . meta l4proto . th dport vmap @nat_port
    meta l4proto @tcpudp ${f} daddr . meta l4proto vmap @nat_any
  }`,
  );
  out.push(
    `  chain forward {
    type filter hook forward priority filter; policy accept;
    # A backend's new outbound flow (not one to a VIP, which DNAT serves): its SNAT block's budget (goto),
    # else the Standard-SKU drop list.
    ct state new ct status & dnat != dnat meta l4proto @tcpudp ${f} saddr . meta l4proto vmap @out_src
    ct state new ct status & dnat != dnat ${f} saddr vmap @no_out
  }`,
  );
  out.push(
    `  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ct status & dnat != dnat meta l4proto @tcpudp ${f} saddr . meta l4proto vmap @snat_src
  }`,
  );
  if (countTraffic) out.push(...trafficBaseText(dispatch, f));
  out.push(...localPathText(MARK_BASE, MARK_MASK, f));
  out.push("}");
  return out;
}

export function renderTable(lbs: Iterable<CompiledLoadBalancer>, ctx: RenderContext, drain = false): string {
  return fullTableText(renderState(lbs, ctx, drain), ctx.tableName, ctx.countTraffic);
}

/**
 * A probe change: rewrite only the slot maps of the given listeners, in one transaction. The driver gets the
 * same statements from renderDiff (which also skips maps whose elements did not change); kept as the
 * minimal, self-contained form of a health update.
 */
export function renderHealthUpdate(
  targets: Array<{ lb: CompiledLoadBalancer; listener: CompiledListener }>,
  ctx: RenderContext,
): string {
  const out: string[] = [];
  for (const { lb, listener } of targets) {
    const k = listenerKey(lb.id, listener.name, listener.kind);
    const t = `${familyOf(listener.frontendIPAddress)} ${ctx.tableName}`;
    const maps: Array<[string, string]> = [[`b_${k}`, mapElements(lb, listener, ctx)], ...(zoned(listener) ? [[`y_${k}`, zoneElements(lb, listener, ctx)] as [string, string]] : [])];
    for (const [m, els] of maps) {
      out.push(`flush map ${t} ${m}`);
      if (els) out.push(`add element ${t} ${m} { ${els} }`);
    }
  }
  return out.join("\n") + "\n";
}
