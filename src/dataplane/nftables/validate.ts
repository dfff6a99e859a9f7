// What the nftables driver refuses before nft sees it: input nft would misread (a non-literal address is
// resolved by DNS), a rule mixing IP families (a listener lives in one table, ip or ip6), port 0 outside
// HA ports, SNAT blocks it cannot express, and names that would collide in the table (two listeners
// mapping to one chain would silently merge in the incremental diff).

import net from "node:net";
import type { CompiledListener, CompiledLoadBalancer, CompiledOutboundRule } from "../../domain/agent-protocol.js";

function addressProblem(what: string, a: string): string | undefined {
  // Checked here, not left to nft: nft would try to resolve a non-literal as a host name (DNS lookup).
  if (net.isIP(a) === 0) return `${what} "${a}" is not an IP address`;
  return undefined;
}

const family = (a: string): number => net.isIP(a);

export function listenerProblem(l: CompiledListener): string | undefined {
  const where = `${l.kind} ${l.name}`;
  if (l.frontendPort === 0 && l.protocol !== "All") return `${where}: port 0 is only valid with protocol All (HA ports)`;
  const p = addressProblem(`${where}: frontend`, l.frontendIPAddress);
  if (p) return p;
  for (const b of l.backends) {
    const q = addressProblem(`${where}: backend`, b.address) ?? addressProblem(`${where}: destination`, b.destinationIPAddress);
    if (q) return q;
    if (family(b.address) !== family(l.frontendIPAddress) || family(b.destinationIPAddress) !== family(l.frontendIPAddress))
      return `${where}: backend ${b.address} is not of the frontend ${l.frontendIPAddress}'s IP family; a rule forwards within one family`;
    if (l.enableFloatingIP && b.destinationIPAddress !== l.frontendIPAddress)
      return `${where}: floating IP delivers to the VIP ${l.frontendIPAddress}, not ${b.destinationIPAddress}`;
  }
  return undefined;
}

export function outboundProblem(o: CompiledOutboundRule): string | undefined {
  const where = `${o.kind === "OutboundRule" ? "outbound rule" : "load-balancing rule (default SNAT)"} ${o.name}`;
  for (const b of o.blocks) {
    const p = addressProblem(`${where}: backend`, b.address) ?? addressProblem(`${where}: frontend`, b.frontendIPAddress);
    if (p) return p;
    if (family(b.address) !== family(b.frontendIPAddress)) return `${where}: backend ${b.address} cannot leave as ${b.frontendIPAddress} (another IP family)`;
    if (b.portLow < 1 || b.portLow > b.portHigh) return `${where}: port block ${b.portLow}-${b.portHigh} of ${b.address} is empty or starts at 0`;
  }
  return undefined;
}

/** The first reason the driver cannot serve `lb`, or undefined. */
export function loadBalancerProblem(lb: CompiledLoadBalancer): string | undefined {
  const seen = new Set<string>();
  for (const l of lb.listeners) {
    const id = `${l.kind}\0${l.name}`;
    if (seen.has(id)) return `${l.kind} ${l.name}: the load balancer has two of that name`;
    seen.add(id);
    const p = listenerProblem(l);
    if (p) return p;
  }
  for (const o of lb.outboundRules ?? []) {
    const p = outboundProblem(o);
    if (p) return p;
  }
  return undefined;
}
