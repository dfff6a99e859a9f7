// Pure translation of compiled load balancers into nftables objects and text. No I/O here, so the exact
// ruleset is unit-testable without root; driver.ts feeds the text to `nft -f -` as one atomic transaction.
//
// Table layout (family ip):
//   prerouting/mangle  "mangle": restore the floating-IP mark of established flows, then dispatch NEW
//                      packets by (VIP, proto, port) through verdict maps to one chain per floating listener;
//                      that chain sets meta mark + ct mark from a hash slot map (policy routing does the rest).
//   prerouting/dstnat  "nat": dispatch by (VIP, proto, port) to one chain per default listener, which DNATs
//                      through its hash slot map to DIP:port; floating listeners that change the port get a
//                      port-only DNAT (address stays the VIP). NAT chains see only a flow's first packet, so
//                      conntrack keeps every established flow on the backend it was given.
//   output/route+nat   "local_mark", "local_nat": the same dispatch for flows started on this host (the
//                      agent's synthetic flows for Data Path Availability; traffic.ts localPathText).
//   forward/filter     "traffic" (when counting): traffic counters per listener and backend (traffic.ts).
// Dispatch is O(1) via verdict maps (kube-proxy nftables style), so 1,500 rules do not mean 1,500 compares.
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

function hashExpr(l: CompiledListener): string {
  const slots = Math.max(1, l.backends.length) * SLOTS_PER_BACKEND;
  // Azure's distribution modes: 5-tuple (Default), 2-tuple (SourceIP), 3-tuple (SourceIPProtocol).
  const tuple =
    l.loadDistribution === "SourceIP"
      ? "ip saddr . ip daddr"
      : l.loadDistribution === "SourceIPProtocol"
        ? "ip saddr . ip daddr . meta l4proto"
        : "ip saddr . th sport . ip daddr . th dport . meta l4proto";
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
  return keepsPort(l) ? "ip daddr" : "ip daddr . th dport";
}

/**
 * nft wants an explicit protocol match before a port rewrite. Listener chains are only reached through the
 * (VIP, proto, port) dispatch, so this is redundant at run time; a literal protocol keeps it cheap — an
 * inline set `{ tcp, udp }` per rule costs the kernel ~1 ms each to build (1.2 s for 1,500 rules).
 */
const l4match = (l: CompiledListener): string => (l.protocol === "All" ? "meta l4proto { tcp, udp }" : `meta l4proto ${l.protocol.toLowerCase()}`);

const protos = (l: CompiledListener): string[] => (l.protocol === "All" ? ["tcp", "udp"] : [l.protocol.toLowerCase()]);

export type DispatchMap = "fip_port" | "fip_any" | "nat_port" | "nat_any" | TrafficMap;

/** One (VIP, proto[, port]) entry of a dispatch verdict map. */
export interface DispatchEntry {
  map: DispatchMap;
  key: string; // "vip . proto . port" or "vip . proto"
  chain: string; // goto target
}

export interface ChainObject {
  name: string;
  rules: string[];
  /** References the listener's slot map (nft must see the map declared in the same transaction; see diff.ts). */
  usesMap: boolean;
}

/** Everything the kernel holds for one listener. Plain strings, so equality is the change test. */
export interface ListenerObjects {
  lbId: string;
  /** Everything the objects were rendered from; equal source = equal objects, so they can be reused. */
  source: string;
  title: string; // comment in the full table
  map: { name: string; type: string; elements: string }; // elements "" = no backend receives new flows
  chains: ChainObject[];
  dispatch: DispatchEntry[];
  /** Named traffic counters its chains update (traffic.ts); absent when counting is off. */
  counters?: CounterObject[];
}

/** listener key → objects, in table order. What the kernel holds (driver) or should hold (next apply). */
export type TableState = Map<string, ListenerObjects>;

function dispatchOf(l: CompiledListener, family: "fip" | "nat", chain: string): DispatchEntry[] {
  return protos(l).map((p) =>
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
  if (!ctx.countTraffic) return o;
  const counting = countingObjects(lb, l, listenerKey(lb.id, l.name, l.kind), keepsPort(l), ctx.markOf);
  return { ...o, chains: [...o.chains, ...counting.chains], dispatch: [...o.dispatch, ...counting.dispatch], counters: counting.counters };
}

function buildForwarding(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain: boolean, source: string): ListenerObjects {
  const k = listenerKey(lb.id, l.name, l.kind);
  const map = { name: `b_${k}`, type: `typeof numgen inc mod 1 : ${mapValueType(l)}`, elements: drain ? "" : mapElements(lb, l, ctx) };
  const hash = hashExpr(l);
  const c = `c_${k}`;
  const title = `${lb.name} / ${l.name}`.replace(/\n/g, " ");
  if (l.enableFloatingIP) {
    // No address rewrite: the slot map yields the DIP's fwmark; ct mark remembers it for later packets.
    const chains: ChainObject[] = [{ name: c, rules: [`meta mark set ${hash} map @${map.name} ct mark set meta mark accept`, "drop"], usesMap: true }];
    const dispatch = dispatchOf(l, "fip", c);
    if (!keepsPort(l) && l.backendPort !== l.frontendPort) {
      // The seed allows a floating rule to change the port: rewrite only the port, the address stays the VIP.
      chains.push({ name: `p_${k}`, rules: [`${l4match(l)} dnat ip to ${l.frontendIPAddress}:${l.backendPort}`], usesMap: false });
      dispatch.push(...dispatchOf(l, "nat", `p_${k}`));
    }
    return { lbId: lb.id, source, title, map, chains, dispatch };
  }
  const target = keepsPort(l) ? "dnat ip to" : `${l4match(l)} dnat ip addr . port to`;
  // "drop" is reached only when the map has no element for the slot: no backend is up.
  const chains = [{ name: c, rules: [`${target} ${hash} map @${map.name}`, "drop"], usesMap: true }];
  return { lbId: lb.id, source, title, map, chains, dispatch: dispatchOf(l, "nat", c) };
}

/**
 * The objects of every listener of `lbs`. A listener whose inputs equal those `reuse` was rendered from keeps
 * that very object (a 1,500-rule load balancer re-renders in a few ms, and the diff skips it by identity).
 * Two listeners with one key would silently merge: refused here.
 */
export function renderState(lbs: Iterable<CompiledLoadBalancer>, ctx: RenderContext, drain = false, reuse?: TableState): TableState {
  const out: TableState = new Map();
  for (const lb of lbs)
    for (const l of lb.listeners) {
      const k = listenerKey(lb.id, l.name, l.kind);
      if (out.has(k)) throw new Error(`${lb.name}: two ${l.kind}s named ${l.name}`);
      const source = sourceOf(lb, l, ctx, drain);
      const old = reuse?.get(k);
      out.set(k, old?.source === source ? old : build(lb, l, ctx, drain, source));
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
  const t = tableName;
  const out: string[] = [`table ip ${t} {}`, `delete table ip ${t}`, `table ip ${t} {`];
  out.push(`  set tcpudp {\n    type inet_proto\n    elements = { tcp, udp }\n  }`);
  const dispatch: Record<DispatchMap, string[]> = { fip_port: [], fip_any: [], nat_port: [], nat_any: [], cnt_tcp: [], cnt_udp: [], cnt_any: [] };
  for (const o of state.values()) {
    out.push(`  # ${o.title}`);
    for (const c of o.counters ?? []) out.push(counterText(c.name, counterValues?.get(c.name)));
    out.push(`  map ${o.map.name} {\n    ${o.map.type}${elementsLine(o.map.elements)}\n  }`);
    for (const ch of o.chains) out.push(`  chain ${ch.name} {\n${ch.rules.map((r) => `    ${r}\n`).join("")}  }`);
    for (const d of o.dispatch) dispatch[d.map].push(`${d.key} : goto ${d.chain}`);
  }
  const portMap = "type ipv4_addr . inet_proto . inet_service : verdict";
  const anyMap = "type ipv4_addr . inet_proto : verdict";
  for (const m of ["fip_port", "fip_any", "nat_port", "nat_any"] as const)
    out.push(`  map ${m} {\n    ${m.endsWith("_port") ? portMap : anyMap}${elementsLine(dispatch[m])}\n  }`);
  out.push(
    `  chain mangle {
    type filter hook prerouting priority mangle; policy accept;
    # Later packets of a floating flow (client→VM direction only; replies must follow the main table).
    ct direction original ct mark and ${hex(MARK_MASK)} == ${hex(MARK_BASE)} meta mark set ct mark accept
    ct state new meta l4proto @tcpudp ip daddr . meta l4proto . th dport vmap @fip_port
    ct state new meta l4proto @tcpudp ip daddr . meta l4proto vmap @fip_any
  }`,
  );
  out.push(
    `  chain nat {
    type nat hook prerouting priority dstnat; policy accept;
    meta l4proto @tcpudp ip daddr . meta l4proto . th dport vmap @nat_port
    meta l4proto @tcpudp ip daddr . meta l4proto vmap @nat_any
  }`,
  );
  if (countTraffic) out.push(...trafficBaseText(dispatch));
  out.push(...localPathText(MARK_BASE, MARK_MASK));
  out.push("}");
  return out.join("\n") + "\n";
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
    const m = `b_${listenerKey(lb.id, listener.name, listener.kind)}`;
    out.push(`flush map ip ${ctx.tableName} ${m}`);
    const els = mapElements(lb, listener, ctx);
    if (els) out.push(`add element ip ${ctx.tableName} ${m} { ${els} }`);
  }
  return out.join("\n") + "\n";
}
