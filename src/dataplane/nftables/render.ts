// Pure translation of compiled load balancers into nftables text. No I/O here, so the exact ruleset
// is unit-testable without root; driver.ts feeds the text to `nft -f -` as one atomic transaction.
//
// Table layout (family ip):
//   prerouting/mangle  "mangle": restore the floating-IP mark of established flows, then dispatch NEW
//                      packets by (VIP, proto, port) through verdict maps to one chain per floating listener;
//                      that chain sets meta mark + ct mark from a hash slot map (policy routing does the rest).
//   prerouting/dstnat  "nat": dispatch by (VIP, proto, port) to one chain per default listener, which DNATs
//                      through its hash slot map to DIP:port; floating listeners that change the port get a
//                      port-only DNAT (address stays the VIP). NAT chains see only a flow's first packet, so
//                      conntrack keeps every established flow on the backend it was given.
// Dispatch is O(1) via verdict maps (kube-proxy nftables style), so 1,500 rules do not mean 1,500 compares.
//
// Health: each listener hashes into a fixed number of slots (SLOTS_PER_BACKEND × backends) and a map turns
// a slot into a backend. A probe change only rewrites that map's elements (renderHealthUpdate), never the
// table, and only the slots of the backend that changed move (the others keep their flows' hash targets).

import { createHash } from "node:crypto";
import type { CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";

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
}

export const hex = (n: number): string => `0x${n.toString(16)}`;

/** Stable identifier for a listener (names its map and chains) that survives re-renders and reordering. */
export function listenerKey(lbId: string, listenerName: string): string {
  return createHash("sha1").update(`${lbId}\0${listenerName}`).digest("hex").slice(0, 16);
}

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

interface Dispatch {
  port: string[]; // "vip . proto . port : goto chain"
  any: string[]; // "vip . proto : goto chain" (frontendPort 0)
}

function dispatchInto(d: Dispatch, l: CompiledListener, chain: string): void {
  for (const p of protos(l)) {
    if (l.frontendPort === 0) d.any.push(`${l.frontendIPAddress} . ${p} : goto ${chain}`);
    else d.port.push(`${l.frontendIPAddress} . ${p} . ${l.frontendPort} : goto ${chain}`);
  }
}

const elementsLine = (els: string[] | string): string => {
  const s = Array.isArray(els) ? els.join(", ") : els;
  return s ? `\n    elements = { ${s} }` : "";
};

/**
 * The whole table as one transaction: create-if-missing, delete, re-create. nft applies the file atomically,
 * so packets see either the old table or the new one, never none; if any line is refused nothing changes.
 */
export function renderTable(lbs: Iterable<CompiledLoadBalancer>, ctx: RenderContext, drain = false): string {
  const t = ctx.tableName;
  const out: string[] = [`table ip ${t} {}`, `delete table ip ${t}`, `table ip ${t} {`];
  out.push(`  set tcpudp {\n    type inet_proto\n    elements = { tcp, udp }\n  }`);
  const fip: Dispatch = { port: [], any: [] };
  const nat: Dispatch = { port: [], any: [] };
  for (const lb of lbs) {
    for (const l of lb.listeners) {
      const k = listenerKey(lb.id, l.name);
      const elements = drain ? "" : mapElements(lb, l, ctx);
      out.push(`  # ${lb.name.replace(/\n/g, " ")} / ${l.name.replace(/\n/g, " ")}`);
      out.push(`  map b_${k} {\n    typeof numgen inc mod 1 : ${mapValueType(l)}${elementsLine(elements)}\n  }`);
      const hash = hashExpr(l);
      if (l.enableFloatingIP) {
        // No address rewrite: the slot map yields the DIP's fwmark; ct mark remembers it for later packets.
        out.push(`  chain c_${k} {\n    meta mark set ${hash} map @b_${k} ct mark set meta mark accept\n    drop\n  }`);
        dispatchInto(fip, l, `c_${k}`);
        if (!keepsPort(l) && l.backendPort !== l.frontendPort) {
          // The seed allows a floating rule to change the port: rewrite only the port, the address stays the VIP.
          out.push(`  chain p_${k} {\n    ${l4match(l)} dnat ip to ${l.frontendIPAddress}:${l.backendPort}\n  }`);
          dispatchInto(nat, l, `p_${k}`);
        }
      } else {
        const target = keepsPort(l) ? "dnat ip to" : `${l4match(l)} dnat ip addr . port to`;
        // "drop" is reached only when the map has no element for the slot: no backend is up.
        out.push(`  chain c_${k} {\n    ${target} ${hash} map @b_${k}\n    drop\n  }`);
        dispatchInto(nat, l, `c_${k}`);
      }
    }
  }
  const portMap = "type ipv4_addr . inet_proto . inet_service : verdict";
  const anyMap = "type ipv4_addr . inet_proto : verdict";
  out.push(`  map fip_port {\n    ${portMap}${elementsLine(fip.port)}\n  }`);
  out.push(`  map fip_any {\n    ${anyMap}${elementsLine(fip.any)}\n  }`);
  out.push(`  map nat_port {\n    ${portMap}${elementsLine(nat.port)}\n  }`);
  out.push(`  map nat_any {\n    ${anyMap}${elementsLine(nat.any)}\n  }`);
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
  out.push("}");
  return out.join("\n") + "\n";
}

/** A probe change: rewrite only the slot maps of the given listeners, in one transaction. */
export function renderHealthUpdate(
  targets: Array<{ lb: CompiledLoadBalancer; listener: CompiledListener }>,
  ctx: RenderContext,
): string {
  const out: string[] = [];
  for (const { lb, listener } of targets) {
    const m = `b_${listenerKey(lb.id, listener.name)}`;
    out.push(`flush map ip ${ctx.tableName} ${m}`);
    const els = mapElements(lb, listener, ctx);
    if (els) out.push(`add element ip ${ctx.tableName} ${m} { ${els} }`);
  }
  return out.join("\n") + "\n";
}
