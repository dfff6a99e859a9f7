// What the userspace driver can serve. It proxies connections, so the packet's destination is always
// rewritten: a floating IP rule (destination must stay VIP:port) and HA ports (every port of every
// protocol) need packet forwarding in the kernel, which is what the nftables driver does; so do outbound
// rules. IPv6 is served (sockets of either family).

import type { CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { frontendOf } from "./listener.js";

export const FLOATING_IP_REASON =
  "floating IP rules need kernel forwarding: run lbplane-agent with --driver nftables (Linux, root)";
export const OUTBOUND_REASON =
  "outbound rules (SNAT of the backends' own flows) need kernel forwarding: run lbplane-agent with --driver nftables (Linux, root)";
export const HA_PORTS_REASON =
  "HA ports rules (protocol All) need kernel forwarding: run lbplane-agent with --driver nftables (Linux, root)";

/**
 * Reason the userspace driver cannot serve `lb`, or undefined.
 * `frontendOwner` says which other load balancer already serves a frontend on this agent.
 */
export function checkUserspaceSupport(
  lb: CompiledLoadBalancer,
  frontendOwner: (frontend: string) => string | undefined,
): string | undefined {
  // A proxy sees only connections made to its frontends; a backend's own outbound flows never reach it.
  // Default SNAT of load-balancing rules is implicit (nothing was asked for), so only explicit rules are refused.
  const outbound = (lb.outboundRules ?? []).find((o) => o.kind === "OutboundRule");
  if (outbound) return `outbound rule '${outbound.name}': ${OUTBOUND_REASON}`;
  for (const l of lb.listeners) {
    const what = `${l.kind === "InboundNatRule" ? "inbound NAT rule" : "rule"} '${l.name}'`;
    if (l.enableFloatingIP) return `${what}: ${FLOATING_IP_REASON}`;
    if (l.protocol === "All") return `${what}: ${HA_PORTS_REASON}`;
    if (l.frontendPort === 0 || l.backends.some((b) => b.destinationPort === 0)) {
      return `${what}: port 0 is only valid for HA ports`;
    }
    const owner = frontendOwner(frontendOf(l));
    if (owner !== undefined && owner !== lb.id) {
      return `${what}: frontend ${frontendOf(l)} is already served by another load balancer on this agent`;
    }
  }
  return undefined;
}
