// Checks on pushed config, in two layers. The envelope (generation, load balancer ids and versions)
// must be sound or the whole push is a 400: without it there is nothing to acknowledge. Each load
// balancer's body is then checked on its own, so bad data in one is refused with a detail while the
// others are applied (per-resource semantics, as Envoy xDS does).

import net from "node:net";
import { AGENT_PROTOCOL_VERSION, type AgentConfig, type CompiledLoadBalancer } from "../domain/agent-protocol.js";

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const isText = (v: unknown) => typeof v === "string" && v.length > 0;

/** Reason the push envelope is unusable (→ 400), or undefined. */
export function checkEnvelope(body: unknown): string | undefined {
  if (!isObject(body)) return "body must be a JSON object";
  if (body.protocolVersion !== AGENT_PROTOCOL_VERSION) return `protocolVersion must be ${AGENT_PROTOCOL_VERSION}`;
  if (!isInt(body.generation, 0, Number.MAX_SAFE_INTEGER)) return "generation must be a non-negative integer";
  if (typeof body.location !== "string") return "location must be a string";
  if (!Array.isArray(body.loadBalancers)) return "loadBalancers must be an array";
  const ids = new Set<string>();
  for (const [i, lb] of body.loadBalancers.entries()) {
    if (!isObject(lb) || !isText(lb.id) || !isText(lb.version)) return `loadBalancers[${i}] needs string id and version`;
    if (ids.has(lb.id as string)) return `loadBalancers[${i}]: duplicate id ${lb.id}`;
    ids.add(lb.id as string);
  }
  return undefined;
}

export function asConfig(body: unknown): AgentConfig {
  return body as AgentConfig;
}

const LISTENER_KINDS = ["LoadBalancingRule", "InboundNatRule"];
const PROTOCOLS = ["Tcp", "Udp", "All"];
const DISTRIBUTIONS = ["Default", "SourceIP", "SourceIPProtocol"];
const PROBE_PROTOCOLS = ["Tcp", "Http", "Https"];
const NO_HEALTHY = ["AllProbedDown", "AllProbedUp"];

/** Reason this load balancer's data cannot be served by any driver, or undefined. */
export function checkLoadBalancer(lb: CompiledLoadBalancer): string | undefined {
  const raw = lb as unknown as Json;
  if (!isText(raw.name)) return "name must be a non-empty string";
  if (!Array.isArray(raw.listeners) || !Array.isArray(raw.probes)) return "listeners and probes must be arrays";
  const probes = new Set<string>();
  for (const p of raw.probes as unknown[]) {
    const reason = checkProbe(p);
    if (reason) return reason;
    probes.add((p as Json).name as string);
  }
  const frontends = new Set<string>();
  for (const l of raw.listeners as unknown[]) {
    const reason = checkListener(l, probes);
    if (reason) return reason;
    const { frontendIPAddress, protocol, frontendPort, name } = l as Json;
    const tuple = `${frontendIPAddress}/${protocol}/${frontendPort}`;
    if (frontends.has(tuple)) return `rule '${name}': frontend ${tuple} is used by two rules`;
    frontends.add(tuple);
  }
  return undefined;
}

function checkProbe(p: unknown): string | undefined {
  if (!isObject(p) || !isText(p.name)) return "every probe needs a name";
  const at = `probe '${p.name}'`;
  if (!PROBE_PROTOCOLS.includes(p.protocol as string)) return `${at}: protocol must be Tcp, Http or Https`;
  if (!isInt(p.port, 1, 65535)) return `${at}: port must be 1-65535`;
  if (p.protocol !== "Tcp" && !(typeof p.requestPath === "string" && p.requestPath.startsWith("/"))) {
    return `${at}: ${p.protocol} probes need a requestPath starting with /`;
  }
  if (typeof p.intervalInSeconds !== "number" || !(p.intervalInSeconds >= 1)) return `${at}: intervalInSeconds must be >= 1`;
  if (!isInt(p.probeThreshold, 1, 1000)) return `${at}: probeThreshold must be a positive integer`;
  if (!NO_HEALTHY.includes(p.noHealthyBackendsBehavior as string)) return `${at}: noHealthyBackendsBehavior must be AllProbedDown or AllProbedUp`;
  if (!Array.isArray(p.targets) || !p.targets.every((t) => net.isIP(t as string) !== 0)) return `${at}: targets must be IP addresses`;
  return undefined;
}

function checkListener(l: unknown, probes: Set<string>): string | undefined {
  if (!isObject(l) || !isText(l.name)) return "every listener needs a name";
  const at = `rule '${l.name}'`;
  if (!LISTENER_KINDS.includes(l.kind as string)) return `${at}: kind must be LoadBalancingRule or InboundNatRule`;
  if (net.isIP(l.frontendIPAddress as string) === 0) return `${at}: frontendIPAddress '${l.frontendIPAddress}' is not an IP address`;
  if (!PROTOCOLS.includes(l.protocol as string)) return `${at}: protocol must be Tcp, Udp or All`;
  if (!isInt(l.frontendPort, 0, 65535) || !isInt(l.backendPort, 0, 65535)) return `${at}: ports must be 0-65535`;
  if (typeof l.enableFloatingIP !== "boolean" || typeof l.enableTcpReset !== "boolean") return `${at}: enableFloatingIP and enableTcpReset must be booleans`;
  if (!DISTRIBUTIONS.includes(l.loadDistribution as string)) return `${at}: loadDistribution must be Default, SourceIP or SourceIPProtocol`;
  if (typeof l.idleTimeoutInMinutes !== "number" || !(l.idleTimeoutInMinutes > 0)) return `${at}: idleTimeoutInMinutes must be positive`;
  if (l.probe !== undefined && !probes.has(l.probe as string)) return `${at}: probe '${l.probe}' is not defined`;
  if (!Array.isArray(l.backends)) return `${at}: backends must be an array`;
  for (const b of l.backends as unknown[]) {
    if (!isObject(b) || net.isIP(b.address as string) === 0 || net.isIP(b.destinationIPAddress as string) === 0) {
      return `${at}: every backend needs an IP address and destinationIPAddress`;
    }
    if (!isInt(b.destinationPort, 0, 65535)) return `${at}: backend destinationPort must be 0-65535`;
  }
  return undefined;
}
