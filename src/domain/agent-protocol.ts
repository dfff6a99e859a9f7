// The contract between lbplane and its data-plane agents (HTTP + JSON), defined once as TypeBox
// schemas: lbplane's routes validate agent requests with them and publish them in OpenAPI, lbplane
// checks an agent's ACK with them, and the agent checks pushed config with them. The TypeScript types
// are derived (`type X = Static<typeof XSchema>`), so the wire format and the types cannot drift.
//
//   agent → lbplane  POST   /dataplane/v1/agents/register        Bearer <join token>
//   agent → lbplane  POST   /dataplane/v1/agents/{id}/heartbeat  Bearer <agent credential>
//   agent → lbplane  POST   /dataplane/v1/agents/{id}/health     Bearer <agent credential>
//   agent → lbplane  DELETE /dataplane/v1/agents/{id}            Bearer <agent credential>
//   lbplane → agent  PUT    {agent url}/v1/config                Bearer <push token>
//   operator         GET    /dataplane/v1/agents                 Bearer <admin token>
//
// Protocol version 2: incremental push (the xDS "delta" idea). Every load balancer row carries the
// location generation of its last write, and a deleted one leaves a tombstone (id, generation), so
// "what changed since generation B" is answerable. A push says
//   { protocolVersion, location, fromGeneration, generation, upserts: [compiled LB…], removals: [id…] }
// fromGeneration "full" = the complete state (upserts are every load balancer; anything else the agent
// serves goes); an integer B = apply on top of exactly generation B. The agent refuses a delta whose
// base is not the generation it has applied (409 DeltaBaseMismatch naming both), and lbplane answers
// that with a full push at once. Full state is sent on first contact (an agent registering empty),
// after the agent restarted (it re-registers, or heartbeats, with appliedGeneration -1), when the
// agent's base does not match (lbplane's database was restored, a push was lost mid-way), and when the
// agent fell behind the tombstone horizon (tombstones are pruned once every live agent has them). A
// control-plane restart needs nothing special: the acknowledged generation is in the database, and
// the base check catches any disagreement. The ACK names each upserted load balancer (Applied, or
// Refused with a detail; a refused one keeps its last good version, also across later deltas that do
// not touch it); removals need no outcome.
//
// Versions: registration carries the versions the agent speaks (`protocolVersions`; absent = whatever
// lbplane speaks, so the push itself is where an unversioned old agent says no);
// lbplane refuses a registration it shares no version with (400 AgentProtocolVersionUnsupported
// naming both sets), and an agent refuses a push of a version it does not speak (400
// ProtocolVersionUnsupported naming both). Version 1 (state of the world every push) is retired.
//
// What an agent sends lbplane is untrusted: strings are bounded, arrays capped, unknown members refused
// — except inside `capabilities`, which newer agents may extend. What lbplane pushes is checked by the
// agent for shape, but unknown members are tolerated so an older agent keeps accepting a newer lbplane's
// config. TypeBox is plain data (JSON Schema objects), which is why the pure domain may import it.

import { Type, type Static } from "typebox";

/** The protocol version lbplane pushes and lbplane-agent speaks. */
export const AGENT_PROTOCOL_VERSION = 2;
/** Every version this build speaks (both sides): registration intersects the agent's with these. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [AGENT_PROTOCOL_VERSION];

/**
 * The newest version both sides speak, or undefined. An agent that names no versions is taken at
 * lbplane's word (a version-1 agent then refuses the first push with a 400 naming the version it
 * wants, which lbplane records as that agent's last error).
 */
export function commonProtocolVersion(agentSpeaks: readonly number[] | undefined, lbplaneSpeaks: readonly number[] = SUPPORTED_PROTOCOL_VERSIONS): number | undefined {
  const theirs = new Set(agentSpeaks ?? lbplaneSpeaks);
  return [...lbplaneSpeaks].sort((a, b) => b - a).find((v) => theirs.has(v));
}

/** Per-push cap on health items: a full report of 10k targets is ~2 MB at most. */
export const MAX_HEALTH_REPORTS = 10_000;

const Strict = { additionalProperties: false } as const;
/** A config generation as agents report it: -1 = the agent starts empty. */
const Generation = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });
const SafeInteger = Type.Integer({ minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER });
const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Name = Type.String({ minLength: 1 });
const TcpOrUdp = Type.Union([Type.Literal("Tcp"), Type.Literal("Udp")]);

// ---- registration and heartbeats (agent → lbplane)

/**
 * Any well-formed driver name: lbplane only records and shows it, so an agent with a driver this
 * lbplane has never heard of can still register. The agent's own registry (src/dataplane/drivers.ts)
 * holds the closed set it can actually run.
 */
export const DriverNameSchema = Type.String({
  pattern: "^[a-z][a-z0-9-]{0,31}$",
  description: "Forwarding driver of the agent, e.g. userspace or nftables",
});
export type DriverName = Static<typeof DriverNameSchema>;

export const CapabilitiesSchema = Type.Object(
  {
    driver: DriverNameSchema,
    floatingIP: Type.Boolean(),
    haPorts: Type.Boolean(),
    protocols: Type.Array(TcpOrUdp, { maxItems: 2 }),
    /** Outbound rules (SNAT); absent = no (older agents). */
    outbound: Type.Optional(Type.Boolean()),
    /** IPv6 frontends and backends; absent = no (older agents). */
    ipv6: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: true, title: "AgentCapabilities" },
);
export type AgentCapabilities = Static<typeof CapabilitiesSchema>;

export const RegisterRequestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" }),
    location: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9 _-]*$" }),
    /**
     * Where lbplane pushes config: `http(s)://host:port` and nothing more (lbplane appends its own
     * fixed path, /v1/config). The shape is checked here; what is wrong with a bad one is said by
     * pushTargetProblem, so the answer names the fault instead of a pattern.
     */
    url: Type.String({ minLength: 8, maxLength: 300, pattern: "^[\\x21-\\x7e]+$" }),
    capabilities: CapabilitiesSchema,
    /** Generation the agent currently has applied (-1 when it starts empty). */
    appliedGeneration: Type.Optional(Generation),
    /** Push protocol versions the agent speaks; absent = lbplane's own (see commonProtocolVersion). */
    protocolVersions: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 1000 }), { minItems: 1, maxItems: 16 })),
    /**
     * The credential of this agent's current registration, when it has one: proves a re-registration
     * (after a 401 or a control-plane restart) comes from the agent that holds the name.
     */
    credential: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { ...Strict, title: "AgentRegisterRequest" },
);
export type RegisterRequest = Static<typeof RegisterRequestSchema>;

/**
 * What is wrong with an agent URL as a push target, or undefined when it is `http(s)://host[:port]`.
 * Anything more (userinfo, path, query, fragment) would let a registration aim lbplane's pushes —
 * which carry the push token and a whole location's configuration — at another service's endpoint.
 */
export function pushTargetProblem(url: string): string | undefined {
  const m = /^(https?):\/\/([^/?#@\\]*)(.*)$/i.exec(url);
  if (!m) return url.includes("@") ? "must not carry userinfo (user:password@)" : "must start with http:// or https://";
  const [, , authority, rest] = m;
  if (rest.startsWith("@") || url.includes("@")) return "must not carry userinfo (user:password@)";
  if (rest !== "") return "must be http(s)://host:port with no path, query or fragment (lbplane pushes to its own /v1/config)";
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `has an invalid host or port ('${authority}')`;
  }
  if (!parsed.hostname) return "has no host";
  return undefined;
}

/** The host of a valid push target, without IPv6 brackets. */
export function pushTargetHost(url: string): string {
  return new URL(url).hostname.replace(/^\[|\]$/g, "");
}

export const RegisterResponseSchema = Type.Object({
  agentId: Type.String(),
  credential: Type.String({ description: "The agent's credential for every later call; shown once." }),
  pushToken: Type.String({ description: "lbplane presents this on every config push." }),
  heartbeatIntervalMs: Type.Integer(),
  livenessWindowMs: Type.Integer(),
  /** The push protocol version lbplane will use with this agent (the newest both speak). */
  protocolVersion: Type.Integer(),
}, { title: "AgentRegisterResponse" });
export type RegisterResponse = Static<typeof RegisterResponseSchema>;

export const HeartbeatRequestSchema = Type.Object({ appliedGeneration: Generation }, { ...Strict, title: "AgentHeartbeatRequest" });
export type HeartbeatRequest = Static<typeof HeartbeatRequestSchema>;

export const HeartbeatResponseSchema = Type.Object({ desiredGeneration: Type.Integer() }, { title: "AgentHeartbeatResponse" });
export type HeartbeatResponse = Static<typeof HeartbeatResponseSchema>;

// ---- health (agent → lbplane)

export const HealthStateSchema = Type.Union([Type.Literal("Up"), Type.Literal("Down")], { title: "ProbeState" });
export type HealthState = Static<typeof HealthStateSchema>;

export const ProbeReportSchema = Type.Object(
  {
    loadBalancerId: Type.String({ minLength: 1, maxLength: 1024, pattern: "^[\\x21-\\x7e]+$" }),
    probe: Type.String({ minLength: 1, maxLength: 80, pattern: "^[A-Za-z0-9_.-]+$" }),
    backendAddress: Type.String({ minLength: 2, maxLength: 45, pattern: "^[0-9A-Fa-f.:]+$", description: "the DIP" }),
    state: HealthStateSchema,
    reason: Type.Optional(Type.String({ maxLength: 512 })),
    since: Type.String({ minLength: 1, maxLength: 40, pattern: "^[0-9A-Za-z:.+-]+$", description: "ISO time of the last transition" }),
  },
  { ...Strict, title: "ProbeReport" },
);
export type ProbeReport = Static<typeof ProbeReportSchema>;

/** `full`: true = periodic summary of every probed target; false = transitions only. */
export const HealthReportSchema = Type.Object(
  { full: Type.Boolean(), reports: Type.Array(ProbeReportSchema, { maxItems: MAX_HEALTH_REPORTS }) },
  { ...Strict, title: "HealthReport" },
);
export type HealthReport = Static<typeof HealthReportSchema>;

// ---- config push (lbplane → agent): the compiled model (src/domain/compile.ts builds it)

export const CompiledBackendSchema = Type.Object({
  /** The DIP: identifies the backend VM, and is where probes go. */
  address: Type.String(),
  /** DIP for a default rule, the VIP for a floating IP rule. */
  destinationIPAddress: Type.String(),
  destinationPort: Port,
});
export type CompiledBackend = Static<typeof CompiledBackendSchema>;

/** One frontend tuple and where its flows go: a load-balancing rule or an inbound NAT rule. */
export const CompiledListenerSchema = Type.Object({
  kind: Type.Union([Type.Literal("LoadBalancingRule"), Type.Literal("InboundNatRule")]),
  name: Name,
  frontendIPAddress: Type.String(),
  /** "All" with port 0 = HA ports (every port of Tcp and Udp). */
  protocol: Type.Union([Type.Literal("Tcp"), Type.Literal("Udp"), Type.Literal("All")]),
  frontendPort: Port,
  /** Backend port; equal to frontendPort for HA ports (0 = keep the packet's port). */
  backendPort: Port,
  enableFloatingIP: Type.Boolean(),
  loadDistribution: Type.Union([Type.Literal("Default"), Type.Literal("SourceIP"), Type.Literal("SourceIPProtocol")]),
  idleTimeoutInMinutes: Type.Number({ exclusiveMinimum: 0 }),
  enableTcpReset: Type.Boolean(),
  /** Probe name within the load balancer; absent = backends always considered up. */
  probe: Type.Optional(Type.String()),
  backends: Type.Array(CompiledBackendSchema),
});
export type CompiledListener = Static<typeof CompiledListenerSchema>;

export const CompiledProbeSchema = Type.Object({
  name: Name,
  protocol: Type.Union([Type.Literal("Tcp"), Type.Literal("Http"), Type.Literal("Https")]),
  port: Type.Integer({ minimum: 1, maximum: 65535 }),
  /** Required (starting with /) for Http and Https probes. */
  requestPath: Type.Optional(Type.String()),
  intervalInSeconds: Type.Number({ minimum: 1 }),
  /** Consecutive failures to mark down (Azure's probeThreshold, else numberOfProbes). */
  probeThreshold: Type.Integer({ minimum: 1, maximum: 1000 }),
  noHealthyBackendsBehavior: Type.Union([Type.Literal("AllProbedDown"), Type.Literal("AllProbedUp")]),
  /** DIPs to probe. */
  targets: Type.Array(Type.String()),
});
export type CompiledProbe = Static<typeof CompiledProbeSchema>;

/** What identifies one load balancer's entry in a push and its ACK. */
const LoadBalancerKey = {
  /** ARM id. */
  id: Name,
  /** Changes whenever anything in this entry changes (content hash), for cheap diffing. */
  version: Name,
};

/** One backend's SNAT ports: new outbound flows from `address` leave as frontendIPAddress:portLow–portHigh. */
export const CompiledSnatBlockSchema = Type.Object({
  address: Type.String(),
  frontendIPAddress: Type.String(),
  portLow: Port,
  portHigh: Port,
});
export type CompiledSnatBlock = Static<typeof CompiledSnatBlockSchema>;

/**
 * Outbound connectivity (src/domain/outbound.ts): an outbound rule, or a load-balancing rule of a public
 * load balancer whose disableOutboundSnat is false (Azure's default SNAT). Blocks never overlap.
 */
export const CompiledOutboundRuleSchema = Type.Object({
  kind: Type.Union([Type.Literal("OutboundRule"), Type.Literal("LoadBalancingRule")]),
  name: Name,
  protocol: Type.Union([Type.Literal("Tcp"), Type.Literal("Udp"), Type.Literal("All")]),
  frontendIPAddresses: Type.Array(Type.String()),
  /** As configured; 0 = Azure's default allocation (the blocks carry the actual size). */
  allocatedOutboundPorts: Type.Integer({ minimum: 0, maximum: 64000 }),
  idleTimeoutInMinutes: Type.Number({ exclusiveMinimum: 0 }),
  enableTcpReset: Type.Boolean(),
  blocks: Type.Array(CompiledSnatBlockSchema),
});
export type CompiledOutboundRule = Static<typeof CompiledOutboundRuleSchema>;

export const CompiledLoadBalancerSchema = Type.Object({
  ...LoadBalancerKey,
  name: Name,
  type: Type.Union([Type.Literal("Public"), Type.Literal("Internal")]),
  listeners: Type.Array(CompiledListenerSchema),
  probes: Type.Array(CompiledProbeSchema),
  /**
   * Standard (Azure's default): a backend gets outbound connectivity through the agent only from an
   * outbound rule (or default SNAT); its other new outbound flows, and any sent from a VIP, are dropped.
   * Absent (older lbplane) = no such filtering.
   */
  sku: Type.Optional(Type.Union([Type.Literal("Standard"), Type.Literal("Basic"), Type.Literal("Gateway")])),
  /** SNAT for backends' outbound flows; absent = none. */
  outboundRules: Type.Optional(Type.Array(CompiledOutboundRuleSchema)),
});
export type CompiledLoadBalancer = Static<typeof CompiledLoadBalancerSchema>;

/** The base of a push: "full" (the complete state) or the generation a delta applies on. */
export const FromGenerationSchema = Type.Union([Type.Literal("full"), Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })]);
export type FromGeneration = Static<typeof FromGenerationSchema>;

const ConfigEnvelope = {
  /** The sender's AGENT_PROTOCOL_VERSION; an agent refuses any version it does not speak. */
  protocolVersion: Type.Integer(),
  location: Type.String(),
  fromGeneration: FromGenerationSchema,
  /** The generation the agent has once this push is applied. */
  generation: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  /** Ids of load balancers to stop serving (a delta's deletions since fromGeneration). */
  removals: Type.Array(Type.String({ minLength: 1 })),
};

/** One push: the complete state ("full") or what changed since fromGeneration. */
export const AgentConfigSchema = Type.Object({ ...ConfigEnvelope, upserts: Type.Array(CompiledLoadBalancerSchema) });
export type AgentConfig = Static<typeof AgentConfigSchema>;

/**
 * The part of a push that must be sound for the agent to acknowledge anything (else the push is a
 * 400). Each load balancer's body is checked on its own against CompiledLoadBalancerSchema, so bad
 * data in one is refused with a detail while the others apply (per-resource semantics, as in Envoy xDS).
 */
export const AgentConfigEnvelopeSchema = Type.Object({ ...ConfigEnvelope, upserts: Type.Array(Type.Object(LoadBalancerKey)) });

/** The agent's answer to a delta whose base is not what it has applied (HTTP 409): lbplane sends full. */
export const DELTA_BASE_MISMATCH = "DeltaBaseMismatch";

// ---- the ACK (agent → lbplane, as the answer to a push)

/** Longest refusal detail lbplane keeps: the detail is for humans and is stored with the outcome. */
export const MAX_REFUSAL_DETAIL = 2000;

/** An ACK's ids and versions only have to be strings: lbplane matches them against what it pushed. */
const OutcomeKey = { id: Type.String(), version: Type.String() };

export const LoadBalancerOutcomeSchema = Type.Union([
  Type.Object({ ...OutcomeKey, state: Type.Literal("Applied") }),
  Type.Object({ ...OutcomeKey, state: Type.Literal("Refused"), detail: Type.String({ maxLength: MAX_REFUSAL_DETAIL }) }),
]);
export type LoadBalancerOutcome = Static<typeof LoadBalancerOutcomeSchema>;

export const ConfigAckSchema = Type.Object({ generation: SafeInteger, loadBalancers: Type.Array(LoadBalancerOutcomeSchema) });
export type ConfigAck = Static<typeof ConfigAckSchema>;

/** The part of an ACK that must be sound for lbplane to read it; outcomes are then read one by one. */
export const ConfigAckEnvelopeSchema = Type.Object({ generation: SafeInteger, loadBalancers: Type.Array(Type.Unknown()) });
