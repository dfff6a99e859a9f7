// The compiled model pushed to agents (agent-protocol.ts): one listener per frontend tuple with its
// concrete backends. Ordering is canonical so the content hash — the version agents ACK — changes
// only when the data plane's behaviour would.

import { createHash } from "node:crypto";
import type { CompiledBackend, CompiledListener, CompiledLoadBalancer, CompiledOutboundRule, CompiledProbe } from "./agent-protocol.js";
import type { LoadBalancerSpec } from "./model.js";
import { compileOutbound } from "./outbound.js";
import { resolveLoadBalancer, type ResolveContext, type ResolvedRule, type ResolvedTarget } from "./resolve.js";

export { loadBalancerType } from "./resolve.js";

/**
 * Version = sha256 over the JSON of the entry, fed piece by piece (a large load balancer never needs
 * its whole JSON in one string). Every object here is built by this file with a fixed key order and
 * every list is sorted, so equal content always serialises — and hashes — equally.
 */
function contentHash(head: unknown, listeners: CompiledListener[], probes: CompiledProbe[], outbound: CompiledOutboundRule[]): string {
  const hash = createHash("sha256").update(JSON.stringify(head));
  for (const l of listeners) hash.update(JSON.stringify(l));
  hash.update("|");
  for (const p of probes) hash.update(JSON.stringify(p));
  hash.update("|");
  for (const o of outbound) hash.update(JSON.stringify(o));
  return hash.digest("hex");
}

const byAddress = (a: CompiledBackend, b: CompiledBackend) =>
  a.address < b.address ? -1 : a.address > b.address ? 1 : a.destinationIPAddress.localeCompare(b.destinationIPAddress);

function backendsOf(rule: ResolvedRule, targets: ResolvedTarget[]): CompiledBackend[] {
  // adminState Down takes a backend out of rotation without removing it from the pool (or its probes).
  return targets
    .filter((t) => t.backend.adminState !== "Down")
    .map((t) => ({ address: t.backend.ip, destinationIPAddress: t.destinationIp, destinationPort: rule.ha ? 0 : t.destLow }))
    .sort(byAddress);
}

function listenersOf(rule: ResolvedRule): CompiledListener[] {
  const ip = rule.frontend?.ip;
  if (!ip || (rule.protocol !== "Tcp" && rule.protocol !== "Udp" && rule.protocol !== "All")) return [];
  const base = (frontendPort: number, targets: ResolvedTarget[]): CompiledListener => ({
    kind: rule.kind,
    name: rule.name,
    frontendIPAddress: ip,
    protocol: rule.protocol,
    frontendPort,
    backendPort: rule.ha ? 0 : rule.backendPort,
    enableFloatingIP: rule.floating,
    loadDistribution: rule.loadDistribution,
    idleTimeoutInMinutes: rule.idleTimeoutInMinutes,
    enableTcpReset: rule.enableTcpReset,
    ...(rule.probe ? { probe: rule.probe } : {}),
    backends: backendsOf(rule, targets),
  });
  // A pool-based NAT rule is one listener per mapped frontend port (each reaches one address).
  if (rule.kind === "InboundNatRule" && rule.frontendLow !== rule.frontendHigh) {
    return rule.targets.map((t) => base(t.frontendPort, [t]));
  }
  return [base(rule.frontendLow, rule.targets)];
}

export function compileLoadBalancer(spec: LoadBalancerSpec, ctx: ResolveContext): CompiledLoadBalancer {
  const lb = resolveLoadBalancer(spec, ctx);
  const listeners = lb.rules
    .flatMap(listenersOf)
    .sort((a, b) =>
      a.kind.localeCompare(b.kind) || a.name.toLowerCase().localeCompare(b.name.toLowerCase()) ||
      a.frontendPort - b.frontendPort);

  const targetsByProbe = new Map<string, Set<string>>();
  for (const rule of lb.rules) {
    if (!rule.probe) continue;
    const set = targetsByProbe.get(rule.probe.toLowerCase()) ?? new Set<string>();
    for (const t of rule.targets) set.add(t.backend.ip); // probes always go to the DIP, even for floating IP
    targetsByProbe.set(rule.probe.toLowerCase(), set);
  }
  const probes: CompiledProbe[] = (spec.properties.probes ?? [])
    .filter((p) => p?.properties && ["Tcp", "Http", "Https"].includes(p.properties.protocol))
    .map((p) => ({
      name: p.name,
      protocol: p.properties.protocol,
      port: p.properties.port,
      ...(p.properties.protocol !== "Tcp" && p.properties.requestPath ? { requestPath: p.properties.requestPath } : {}),
      intervalInSeconds: p.properties.intervalInSeconds ?? 15,
      probeThreshold: p.properties.probeThreshold ?? p.properties.numberOfProbes ?? 1,
      noHealthyBackendsBehavior: p.properties.noHealthyBackendsBehavior ?? "AllProbedDown",
      targets: [...(targetsByProbe.get(p.name.toLowerCase()) ?? [])].sort(),
    }))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));

  const sku = spec.sku?.name ?? "Standard";
  const outboundRules = compileOutbound(spec, lb);
  const version = contentHash({ id: lb.id, name: lb.name, type: lb.type, sku }, listeners, probes, outboundRules);
  return { id: lb.id, name: lb.name, version, type: lb.type, listeners, probes, sku, outboundRules };
}
