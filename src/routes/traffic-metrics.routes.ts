// The agents' traffic reports: POST /dataplane/v1/agents/{id}/metrics (Bearer <agent credential>).
// Deltas since the agent's last accepted report (src/domain/metrics-protocol.ts); lbplane adds them
// into one-minute buckets. Same trust model as health reports: only a live agent, only about load
// balancers of its own location; malformed or oversized reports are refused whole (400).

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { TrafficIntakeResponseSchema, TrafficReportSchema } from "../domain/metrics-protocol.js";
import { isUuid } from "../domain/ids.js";
import { Errors } from "../errors.js";
import { authenticateAgent } from "../services/agents.service.js";
import { reportTraffic } from "../services/metrics.service.js";
import { AgentIdParams } from "./agents.schemas.js";
import { agentErrors } from "./schemas/arm.schema.js";
import { bearerToken } from "./auth.js";
import { drainBody, handleError } from "./error-handler.js";

/** 20,000 series of ~250 bytes: 5 MiB. An agent with more reports more often. */
export const TRAFFIC_BODY_LIMIT = 5 * 1024 * 1024;

const errors = { 400: agentErrors[400], 401: agentErrors[401], 409: agentErrors[409], 413: agentErrors[413], 415: agentErrors[415] };

/** onRequest: the credential of the agent in the path, checked before the body is read. */
async function requireReportingAgent(request: FastifyRequest): Promise<void> {
  const { agentId } = request.params as { agentId: string };
  if (!isUuid(agentId)) throw Errors.agentCredentialInvalid();
  request.agent = await authenticateAgent(request.server.deps, agentId.toLowerCase(), bearerToken(request));
}

async function trafficErrorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    await drainBody(request.raw);
    return reply.code(400).header("connection", "close").send(Errors.trafficReportTooLarge(TRAFFIC_BODY_LIMIT).toBody());
  }
  return handleError(error, request, reply);
}

export async function trafficMetricsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    "/dataplane/v1/agents/:agentId/metrics",
    {
      config: { auth: "none" },
      bodyLimit: TRAFFIC_BODY_LIMIT,
      onRequest: requireReportingAgent,
      errorHandler: trafficErrorHandler,
      schema: {
        operationId: "Agents_ReportTraffic",
        tags: ["Agents"],
        summary: "Traffic counters and availability samples since the agent's last accepted report",
        description:
          "Deltas per (load balancer, rule, frontend, backend): bytes and packets each direction, new flows, SNAT connections; gauges (current flows, SNAT ports); availability samples (Vip: synthetic flows through the data path; Dip: health probes). Filed in the current one-minute bucket. Refused (409) from an agent that is not live; items about load balancers outside the agent's location are ignored one by one.",
        security: [{ bearer: [] }],
        params: AgentIdParams,
        body: TrafficReportSchema,
        response: { 200: TrafficIntakeResponseSchema, ...errors },
      },
    },
    async (request) => reportTraffic(request.server.deps, request.agent!, request.body),
  );
}
