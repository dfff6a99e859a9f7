// Schemas of lbplane's agent API. The protocol itself (what agents send and receive) is defined once
// in src/domain/agent-protocol.ts and re-exported here for the routes; this file adds only what is
// HTTP-specific: path parameters, the body limit of health reports and the operator's agent listing.

import { Type, type Static } from "typebox";
import { HealthReportSchema, HeartbeatRequestSchema, RegisterRequestSchema } from "../domain/agent-protocol.js";

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

/** The protocol's request bodies with an example each, as the document shows them. */
export const RegisterRequestBody = {
  ...RegisterRequestSchema,
  examples: [{
    name: "agent-1", location: "northeurope", url: "http://127.0.0.1:9443", appliedGeneration: -1,
    capabilities: { driver: "userspace", floatingIP: false, haPorts: false, protocols: ["Tcp", "Udp"] },
  }],
} as typeof RegisterRequestSchema;
export const HeartbeatRequestBody = { ...HeartbeatRequestSchema, examples: [{ appliedGeneration: 7 }] } as typeof HeartbeatRequestSchema;
export const HealthReportBody = {
  ...HealthReportSchema,
  examples: [{
    full: false,
    reports: [{
      loadBalancerId: "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/seed/providers/Microsoft.Network/loadBalancers/lb1",
      probe: "tcp", backendAddress: "10.0.0.4", state: "Down", reason: "connection refused", since: "2026-01-01T00:00:00.000Z",
    }],
  }],
} as typeof HealthReportSchema;

export const AgentIdParams = Type.Object({
  agentId: Type.String({ description: "The agent's id (from its registration)", pattern: "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$" }),
});

export const HealthIntakeResponseSchema = Type.Object(
  { accepted: Type.Integer(), ignored: Type.Integer({ description: "Items about load balancers or probes outside the agent's location" }) },
  { title: "HealthIntakeResponse" },
);

export const AgentViewSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  location: Type.String(),
  url: Type.String(),
  capabilities: Type.Record(Type.String(), Type.Unknown()),
  state: Type.Union([Type.Literal("live"), Type.Literal("stale")], { title: "AgentState" }),
  desiredGeneration: Type.Integer(),
  ackedGeneration: Type.Integer(),
  lastError: Type.Optional(Type.String()),
  lastHeartbeatAt: Type.String(),
  lastPushAt: Type.Optional(Type.String()),
  registeredAt: Type.String(),
  consecutiveFailures: Type.Integer(),
  loadBalancers: Type.Array(
    Type.Object(
      {
        id: Type.String(),
        state: Type.String({ description: "Applied or Refused" }),
        generation: Type.Integer(),
        detail: Type.Optional(Type.String()),
      },
      { title: "AgentLoadBalancerOutcome" },
    ),
  ),
}, { title: "Agent", description: "A registered data-plane agent as operators see it" });

export const AgentListSchema = Type.Object({ value: Type.Array(AgentViewSchema) }, { title: "AgentListResult" });

export type RegisterBody = Static<typeof RegisterRequestSchema>;
export type HealthReportBody = Static<typeof HealthReportSchema>;
