// Prometheus exposition at /metrics (no authentication, like /healthz: it carries agent names and
// counts, no secrets). prom-client renders it; the per-agent gauges are refreshed from the database
// on each scrape.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { refreshAgentGauges, registry } from "../agents/metrics.js";
import { edgeErrors } from "./schemas/arm.schema.js";

export async function metricsRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/metrics",
    {
      config: { auth: "none" },
      schema: {
        operationId: "Metrics",
        tags: ["Operations"],
        summary: "Prometheus metrics: push latency, generations behind per agent, live agents, NACKs, push failures",
        security: [],
        response: {
          200: { description: "Prometheus text exposition format", content: { "text/plain": { schema: Type.String() } } },
          ...edgeErrors,
        },
      },
    },
    async (_request, reply) => {
      await refreshAgentGauges(app.deps.db, app.deps.config.agentLivenessMs);
      reply.type(registry.contentType);
      return registry.metrics();
    },
  );
}
