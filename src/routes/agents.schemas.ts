// Schemas of lbplane's agent API. The protocol itself (what agents send and receive) is defined once
// in src/domain/agent-protocol.ts and re-exported here for the routes; this file adds only what is
// HTTP-specific: path parameters, the body limit of health reports and the operator's agent listing.

import { Type, type Static } from "typebox";
import type { HealthReportSchema, RegisterRequestSchema } from "../domain/agent-protocol.js";

export {
  CapabilitiesSchema,
  HealthReportSchema,
  HeartbeatRequestSchema,
  HeartbeatResponseSchema,
  MAX_HEALTH_REPORTS,
  ProbeReportSchema,
  RegisterRequestSchema,
  RegisterResponseSchema,
} from "../domain/agent-protocol.js";

/** A full report of 10k targets is ~2 MB at most; 1 MiB allows ~5k verbose ones or 10k terse ones. */
export const HEALTH_BODY_LIMIT = 1024 * 1024;

export const AgentIdParams = Type.Object({
  agentId: Type.String({ pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" }),
});

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
