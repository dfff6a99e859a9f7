// Schemas of lbplane's agent API (src/domain/agent-protocol.ts on the wire). Everything an agent
// sends is untrusted: strings are bounded, arrays capped, unknown members refused — except inside
// `capabilities`, which newer agents may extend.

import { Type, type Static } from "typebox";

const Strict = { additionalProperties: false } as const;
const Generation = Type.Integer({ minimum: -1, maximum: Number.MAX_SAFE_INTEGER });

export const MAX_HEALTH_REPORTS = 10_000;
/** A full report of 10k targets is ~2 MB at most; 1 MiB allows ~5k verbose ones or 10k terse ones. */
export const HEALTH_BODY_LIMIT = 1024 * 1024;

export const AgentIdParams = Type.Object({
  agentId: Type.String({ pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" }),
});

export const CapabilitiesSchema = Type.Object(
  {
    driver: Type.Union([Type.Literal("userspace"), Type.Literal("nftables")]),
    floatingIP: Type.Boolean(),
    haPorts: Type.Boolean(),
    protocols: Type.Array(Type.Union([Type.Literal("Tcp"), Type.Literal("Udp")]), { maxItems: 2 }),
  },
  { additionalProperties: true },
);

export const RegisterRequestSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128, pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]*$" }),
    location: Type.String({ minLength: 1, maxLength: 64, pattern: "^[A-Za-z0-9][A-Za-z0-9 _-]*$" }),
    url: Type.String({ minLength: 8, maxLength: 2048, pattern: "^https?://[A-Za-z0-9.:\\[\\]_-]+(/[\\x21-\\x7e]*)?$" }),
    capabilities: CapabilitiesSchema,
    appliedGeneration: Type.Optional(Generation),
  },
  Strict,
);

export const RegisterResponseSchema = Type.Object({
  agentId: Type.String(),
  credential: Type.String({ description: "The agent's credential for every later call; shown once." }),
  pushToken: Type.String({ description: "lbplane presents this on every config push." }),
  heartbeatIntervalMs: Type.Integer(),
  livenessWindowMs: Type.Integer(),
});

export const HeartbeatRequestSchema = Type.Object({ appliedGeneration: Generation }, Strict);
export const HeartbeatResponseSchema = Type.Object({ desiredGeneration: Type.Integer() });

export const ProbeReportSchema = Type.Object(
  {
    loadBalancerId: Type.String({ minLength: 1, maxLength: 1024, pattern: "^[\\x21-\\x7e]+$" }),
    probe: Type.String({ minLength: 1, maxLength: 80, pattern: "^[A-Za-z0-9_.-]+$" }),
    backendAddress: Type.String({ minLength: 2, maxLength: 45, pattern: "^[0-9A-Fa-f.:]+$", description: "the DIP" }),
    state: Type.Union([Type.Literal("Up"), Type.Literal("Down")]),
    reason: Type.Optional(Type.String({ maxLength: 512 })),
    since: Type.String({ minLength: 1, maxLength: 40, pattern: "^[0-9A-Za-z:.+-]+$", description: "ISO time of the last transition" }),
  },
  Strict,
);

export const HealthReportSchema = Type.Object(
  { full: Type.Boolean(), reports: Type.Array(ProbeReportSchema, { maxItems: MAX_HEALTH_REPORTS }) },
  Strict,
);

export const HealthIntakeResponseSchema = Type.Object({ accepted: Type.Integer(), ignored: Type.Integer() });

export const AgentViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.String(),
  url: Type.String(),
  capabilities: Type.Record(Type.String(), Type.Unknown()),
  state: Type.Union([Type.Literal("live"), Type.Literal("stale")]),
  desiredGeneration: Type.Integer(),
  ackedGeneration: Type.Integer(),
  lastError: Type.Optional(Type.String()),
  lastHeartbeatAt: Type.String(),
  lastPushAt: Type.Optional(Type.String()),
  registeredAt: Type.String(),
  consecutiveFailures: Type.Integer(),
  loadBalancers: Type.Array(
    Type.Object({
      id: Type.String(),
      state: Type.String({ description: "Applied or Refused" }),
      generation: Type.Integer(),
      detail: Type.Optional(Type.String()),
    }),
  ),
});

export const AgentListSchema = Type.Object({ value: Type.Array(AgentViewSchema) });

export type RegisterBody = Static<typeof RegisterRequestSchema>;
export type HealthReportBody = Static<typeof HealthReportSchema>;
