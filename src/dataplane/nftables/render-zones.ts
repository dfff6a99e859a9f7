// UDP failover in nftables. Conntrack keeps a UDP "flow" on its backend for as long as datagrams keep
// coming, so a backend that went Down would keep its UDP flows. Every UDP listener therefore puts its flows,
// before conntrack sees them (prerouting/raw "raw"), in a conntrack zone of the original direction chosen by
// the listener's slot hash: zone = 1 + the index of the backend the slot currently maps to. When a backend
// goes Down its slots map to other backends, so those flows' zone changes, conntrack finds no entry in the
// new zone, and their next datagram is NATed anew to the slot's new backend. Flows of healthy backends keep
// their zone and stay; TCP is never zoned, so established TCP flows stay on a failed backend, as Azure keeps
// them. Replies are looked up without a zone (the zone is for the original direction only), so they still
// find their entry. Pure, like render.ts, whose ListenerObjects carry these objects.

import type { CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { assignSlots, hashExpr, type ChainObject, type DispatchEntry, type MapObject, type RenderContext } from "./render.js";

/** Listeners whose flows are zoned: every one that carries UDP. */
export const zoned = (l: CompiledListener): boolean => l.protocol !== "Tcp";

/** The zone map's element list: slot → 1 + index of the backend the slot maps to ("" when none is up). */
export function zoneElements(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext): string {
  return assignSlots(l.backends.map((b) => ctx.isUp(lb, l, b)))
    .map((bi, slot) => `${slot} : ${bi + 1}`)
    .join(", ");
}

/** The raw-hook objects of one UDP listener: its zone map, the chain setting the zone, its dispatch entry. */
export function zoneObjects(lb: CompiledLoadBalancer, l: CompiledListener, ctx: RenderContext, drain: boolean, k: string) {
  const zoneMap: MapObject = { name: `y_${k}`, type: "typeof numgen inc mod 1 : ct original zone", elements: drain ? "" : zoneElements(lb, l, ctx) };
  const chain: ChainObject = { name: `z_${k}`, rules: [`ct original zone set ${hashExpr(l)} map @${zoneMap.name}`], usesMap: true };
  const dispatch: DispatchEntry =
    l.frontendPort === 0
      ? { map: "zone_any", key: l.frontendIPAddress, chain: chain.name }
      : { map: "zone_port", key: `${l.frontendIPAddress} . ${l.frontendPort}`, chain: chain.name };
  return { zoneMap, chain, dispatch };
}
