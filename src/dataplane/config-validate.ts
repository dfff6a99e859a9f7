// Checks on pushed config, in two layers, both against the protocol's schemas
// (src/domain/agent-protocol.ts). The envelope (generation, load balancer ids and versions) must be
// sound or the whole push is a 400: without it there is nothing to acknowledge. Each load balancer's
// body is then checked on its own, so bad data in one is refused with a detail while the others are
// applied (per-resource semantics, as Envoy xDS does). What a schema cannot say (IP addresses, probe
// references, one rule per frontend tuple) is checked here after it.

import net from "node:net";
import { Compile } from "typebox/compile";
import {
  AgentConfigEnvelopeSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  CompiledLoadBalancerSchema,
  type AgentConfig,
  type CompiledListener,
  type CompiledLoadBalancer,
  type CompiledProbe,
} from "../domain/agent-protocol.js";

const envelopeShape = Compile(AgentConfigEnvelopeSchema);
const loadBalancerShape = Compile(CompiledLoadBalancerSchema);

/**
 * Reason a push's protocol version is not one this agent speaks (→ 400 ProtocolVersionUnsupported,
 * naming both sides), or undefined. The version decides which schema applies, so it comes first.
 */
export function checkProtocolVersion(body: unknown): string | undefined {
  const version = (body as { protocolVersion?: unknown } | null)?.protocolVersion;
  if (typeof version === "number" && SUPPORTED_PROTOCOL_VERSIONS.includes(version)) return undefined;
  return `lbplane pushed protocol version ${JSON.stringify(version ?? null)}; this agent speaks ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")} (upgrade the older side)`;
}

/** Reason the push envelope is unusable (→ 400), or undefined. */
export function checkEnvelope(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "body must be a JSON object";
  if (!envelopeShape.Check(body)) return describeErrors(envelopeShape.Errors(body), "body", () => undefined);
  const ids = new Set<string>();
  for (const [i, lb] of body.upserts.entries()) {
    if (ids.has(lb.id)) return `upserts[${i}]: duplicate id ${lb.id}`;
    ids.add(lb.id);
  }
  if (body.fromGeneration !== "full" && body.fromGeneration > body.generation) return `fromGeneration ${body.fromGeneration} is after generation ${body.generation}`;
  return undefined;
}

/** The body after checkEnvelope accepted it; each load balancer in it still needs checkLoadBalancer. */
export function asConfig(body: unknown): AgentConfig {
  return body as AgentConfig;
}

/** Reason this load balancer's data cannot be served by any driver, or undefined. */
export function checkLoadBalancer(lb: CompiledLoadBalancer): string | undefined {
  if (!loadBalancerShape.Check(lb)) return describeErrors(loadBalancerShape.Errors(lb), "load balancer", (path) => subjectOf(lb, path));
  const probes = new Set<string>();
  for (const p of lb.probes) {
    const reason = checkProbe(p);
    if (reason) return reason;
    probes.add(p.name);
  }
  const frontends = new Set<string>();
  for (const l of lb.listeners) {
    const reason = checkListener(l, probes);
    if (reason) return reason;
    const tuple = `${l.frontendIPAddress}/${l.protocol}/${l.frontendPort}`;
    if (frontends.has(tuple)) return `rule '${l.name}': frontend ${tuple} is used by two rules`;
    frontends.add(tuple);
  }
  return undefined;
}

function checkProbe(p: CompiledProbe): string | undefined {
  const at = `probe '${p.name}'`;
  if (p.protocol !== "Tcp" && !p.requestPath?.startsWith("/")) return `${at}: ${p.protocol} probes need a requestPath starting with /`;
  if (!p.targets.every((t) => net.isIP(t) !== 0)) return `${at}: targets must be IP addresses`;
  return undefined;
}

function checkListener(l: CompiledListener, probes: Set<string>): string | undefined {
  const at = `rule '${l.name}'`;
  if (net.isIP(l.frontendIPAddress) === 0) return `${at}: frontendIPAddress '${l.frontendIPAddress}' is not an IP address`;
  if (l.probe !== undefined && !probes.has(l.probe)) return `${at}: probe '${l.probe}' is not defined`;
  if (!l.backends.every((b) => net.isIP(b.address) !== 0 && net.isIP(b.destinationIPAddress) !== 0)) {
    return `${at}: every backend needs an IP address and destinationIPAddress`;
  }
  return undefined;
}

interface SchemaError {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message: string;
}

/**
 * The schema's complaints as one line for a human, each prefixed with the rule or probe it is about
 * ("rule 'http': frontendPort must be <= 65535"). A union's per-member complaints are folded into
 * the list of allowed values; at most three complaints are named.
 */
function describeErrors(errors: readonly SchemaError[], whole: string, subject: (path: string[]) => string | undefined): string {
  const allowed = new Map<string, unknown[]>();
  for (const e of errors) if (e.keyword === "const") allowed.set(e.instancePath, [...(allowed.get(e.instancePath) ?? []), e.params.allowedValue]);
  const lines: string[] = [];
  for (const e of errors) {
    if (e.keyword === "const" && errors.some((o) => o.keyword === "anyOf" && o.instancePath === e.instancePath)) continue;
    const path = e.instancePath.split("/").slice(1);
    const owner = subject(path);
    const member = (owner ? path.slice(2) : path).join(".") || (owner ? "" : whole);
    const problem =
      e.keyword === "anyOf" && allowed.has(e.instancePath)
        ? `must be ${allowed.get(e.instancePath)!.join(", ")}`
        : e.keyword === "required"
          ? `needs ${(e.params.requiredProperties as string[]).join(", ")}`
          : e.message;
    const line = [owner && `${owner}:`, member, problem].filter(Boolean).join(" ");
    if (!lines.includes(line)) lines.push(line);
  }
  return lines.slice(0, 3).join("; ");
}

/** "rule 'x'" or "probe 'y'" when `path` points inside a listener or probe of `lb`. */
function subjectOf(lb: CompiledLoadBalancer, path: string[]): string | undefined {
  const [collection, index] = path;
  if ((collection !== "listeners" && collection !== "probes") || index === undefined) return undefined;
  const items = (lb as { listeners?: unknown; probes?: unknown })[collection];
  const item = Array.isArray(items) ? (items[Number(index)] as { name?: unknown } | undefined) : undefined;
  const name = typeof item?.name === "string" && item.name !== "" ? `'${item.name}'` : `#${index}`;
  return `${collection === "listeners" ? "rule" : "probe"} ${name}`;
}
