// lbplane's agent API (/dataplane/v1). Agents authenticate themselves here, not with management
// tokens: registration with the join token (LBPLANE_JOIN_TOKEN), everything after it with the
// credential registration returned. Operators list agents with an admin token.
// Nothing an agent sends reaches a load balancer: agents only write their own rows.

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { Errors } from "../errors.js";
import { isUuid } from "../domain/ids.js";
import {
  authenticateAgent,
  checkJoinToken,
  deregisterAgent,
  heartbeat,
  listAgents,
  registerAgent,
  reportHealth,
  type Agent,
} from "../services/agents.service.js";
import { agentErrors } from "./schemas/arm.schema.js";
import { bearerToken } from "./auth.js";
import { drainBody, handleError } from "./error-handler.js";
import {
  AgentIdParams,
  AgentListSchema,
  HEALTH_BODY_LIMIT,
  HealthIntakeResponseSchema,
  HealthReportBody,
  HeartbeatRequestBody,
  HeartbeatResponseSchema,
  RegisterRequestBody,
  RegisterResponseSchema,
} from "./agents.schemas.js";

declare module "fastify" {
  interface FastifyRequest {
    agent?: Agent;
  }
}

const TAGS = ["Agents"];
const errors = agentErrors;
const agentSecurity = [{ bearer: [] }];

/** onRequest hook: the caller must present the credential of the agent named in the path. */
async function requireAgent(request: FastifyRequest): Promise<void> {
  const { agentId } = request.params as { agentId: string };
  if (!isUuid(agentId)) {
    throw Errors.agentCredentialInvalid();
  }
  request.agent = await authenticateAgent(request.server.deps, agentId.toLowerCase(), bearerToken(request));
}

/**
 * onRequest hook of heartbeats: only the shape of the id; the credential is checked with the write.
 * The callback form, as for every per-request hook of the fleet's hot path (no promise per beat).
 */
function requireAgentId(request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void): void {
  const { agentId } = request.params as { agentId: string };
  done(isUuid(agentId) ? undefined : Errors.agentCredentialInvalid());
}

/**
 * onRequest hook of registration: the join token is checked before the body is read, so an
 * anonymous caller cannot make lbplane receive, parse and validate a body at all.
 */
async function requireJoinToken(request: FastifyRequest): Promise<void> {
  checkJoinToken(request.server.deps, bearerToken(request));
}

/** A heartbeat is `{"appliedGeneration":n}`. */
const HEARTBEAT_BODY_LIMIT = 1024;

/** A registration is a few hundred bytes; 64 KiB leaves room for capabilities newer agents add. */
const REGISTER_BODY_LIMIT = 64 * 1024;

/** Oversized health reports are bad input like malformed ones: 400, and nothing is stored. */
async function healthErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    // As for any unwanted body: read what is in flight, then answer and close, so the agent reads the 400.
    await drainBody(request.raw);
    const err = Errors.healthReportTooLarge(HEALTH_BODY_LIMIT);
    return reply.code(400).header("connection", "close").send(err.toBody());
  }
  return handleError(error, request, reply);
}

export async function agentsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { config } = app.deps;

  app.post(
    "/dataplane/v1/agents/register",
    {
      config: { auth: "none" },
      onRequest: requireJoinToken,
      bodyLimit: REGISTER_BODY_LIMIT,
      schema: {
        operationId: "Agents_Register",
        tags: TAGS,
        summary: "Register (or re-register) a data-plane agent",
        description:
          "Bearer LBPLANE_JOIN_TOKEN (checked before the body is read). Registers the agent by name with a fresh credential and push token. A name held by a live agent is refused (409 AgentNameInUse) unless the body's `credential` is that agent's current credential; a name frees once its holder has missed the liveness window, which the 409 answer's Retry-After gives in seconds. `url` must be http(s)://host:port with no path, query, fragment or userinfo (lbplane pushes to {url}/v1/config), and inside LBPLANE_AGENT_NETWORKS when that is set. An agent that starts empty (appliedGeneration -1 or absent) receives its location's full configuration at once; health reports start afresh.",
        security: agentSecurity,
        body: RegisterRequestBody,
        response: { 200: RegisterResponseSchema, ...errors },
      },
    },
    async (request, reply) => {
      const reg = await registerAgent(request.server.deps, bearerToken(request), request.body).catch((err: unknown) => {
        // A restarted agent does not know the liveness window yet: tell it how long a lapsed
        // holder can keep the name, so it waits that long before deciding the name is really taken.
        if ((err as { code?: string }).code === Errors.agentNameInUse.code) reply.header("retry-after", String(Math.ceil(config.agentLivenessMs / 1000)));
        throw err;
      });
      return {
        agentId: reg.agent.id,
        credential: reg.credential,
        pushToken: reg.pushToken,
        heartbeatIntervalMs: Math.max(100, Math.floor(config.agentLivenessMs / 4)),
        livenessWindowMs: config.agentLivenessMs,
        protocolVersion: reg.protocolVersion,
      };
    },
  );

  app.post(
    "/dataplane/v1/agents/:agentId/heartbeat",
    {
      config: { auth: "none", routine: true },
      onRequest: requireAgentId,
      // The credential is checked with the write, after the body is read: keep that body tiny.
      bodyLimit: HEARTBEAT_BODY_LIMIT,
      schema: {
        operationId: "Agents_Heartbeat",
        tags: TAGS,
        summary: "Agent heartbeat: keeps the agent live and returns the generation it should have",
        security: agentSecurity,
        params: AgentIdParams,
        body: HeartbeatRequestBody,
        response: { 200: HeartbeatResponseSchema, ...errors },
      },
    },
    async (request) => {
      const { agentId } = request.params as { agentId: string };
      const beat = await heartbeat(request.server.deps, agentId.toLowerCase(), bearerToken(request), request.body.appliedGeneration);
      return { desiredGeneration: Number(beat.desiredGeneration) };
    },
  );

  app.post(
    "/dataplane/v1/agents/:agentId/health",
    {
      config: { auth: "none" },
      bodyLimit: HEALTH_BODY_LIMIT,
      onRequest: requireAgent,
      errorHandler: healthErrorHandler,
      schema: {
        operationId: "Agents_ReportHealth",
        tags: TAGS,
        summary: "Probe results per (load balancer, probe, DIP): transitions, or a full periodic summary",
        description:
          "Refused (409) from an agent that is not live. Malformed or oversized reports are refused whole (400). Items about load balancers or probes outside the agent's location are ignored one by one.",
        security: agentSecurity,
        params: AgentIdParams,
        body: HealthReportBody,
        response: { 200: HealthIntakeResponseSchema, ...errors },
      },
    },
    async (request) => reportHealth(request.server.deps, request.agent!, request.body),
  );

  app.delete(
    "/dataplane/v1/agents/:agentId",
    {
      config: { auth: "none" },
      onRequest: requireAgent,
      schema: {
        operationId: "Agents_Deregister",
        tags: TAGS,
        summary: "Deregister an agent (it stops holding operations and its health reports are forgotten)",
        security: agentSecurity,
        params: AgentIdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (request, reply) => {
      await deregisterAgent(request.server.deps, request.agent!);
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/dataplane/v1/agents",
    {
      config: { auth: "admin" },
      schema: {
        operationId: "Agents_List",
        tags: TAGS,
        summary: "Registered agents with liveness, generations and per-load-balancer outcomes (operators only)",
        response: { 200: AgentListSchema, ...errors },
      },
    },
    async (request) => ({ value: await listAgents(request.server.deps) }),
  );
}
