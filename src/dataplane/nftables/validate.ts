// What the nftables driver refuses before nft sees it: input it cannot express (IPv6, port 0 outside HA
// ports), input nft would misread (a non-literal address is resolved by DNS), and names that would collide
// in the table (two listeners mapping to one chain would silently merge in the incremental diff).

import type { CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function addressProblem(what: string, a: string): string | undefined {
  if (a.includes(":")) return `${what} ${a} is IPv6; the nftables driver serves IPv4 only (table ip)`;
  // Checked here, not left to nft: nft would try to resolve a non-literal as a host name (DNS lookup).
  if (!IPV4.test(a)) return `${what} "${a}" is not an IPv4 address`;
  return undefined;
}

export function listenerProblem(l: CompiledListener): string | undefined {
  const where = `${l.kind} ${l.name}`;
  if (l.frontendPort === 0 && l.protocol !== "All") return `${where}: port 0 is only valid with protocol All (HA ports)`;
  const p = addressProblem(`${where}: frontend`, l.frontendIPAddress);
  if (p) return p;
  for (const b of l.backends) {
    const q = addressProblem(`${where}: backend`, b.address) ?? addressProblem(`${where}: destination`, b.destinationIPAddress);
    if (q) return q;
    if (l.enableFloatingIP && b.destinationIPAddress !== l.frontendIPAddress)
      return `${where}: floating IP delivers to the VIP ${l.frontendIPAddress}, not ${b.destinationIPAddress}`;
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
  return undefined;
}
