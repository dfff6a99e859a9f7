// Liveness and readiness for orchestrators; no authentication, no api-version.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { pendingMigrationsOf } from "../store/migrator.js";

const StatusSchema = Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) });

export async function operationalRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    "/healthz",
    {
      schema: {
        operationId: "Healthz",
        tags: ["Operations"],
        summary: "Process liveness",
        security: [],
        response: { 200: StatusSchema },
      },
    },
    async () => ({ status: "ok" }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "Readyz",
        tags: ["Operations"],
        summary: "Readiness: database reachable and every migration applied",
        security: [],
        response: { 200: StatusSchema, 503: StatusSchema },
      },
    },
    async (_request, reply) => {
      try {
        const pending = await pendingMigrationsOf(app.deps.db);
        if (pending.length) return reply.code(503).send({ status: "not ready", detail: `pending migrations: ${pending.join(", ")}` });
        return { status: "ready" };
      } catch (err) {
        return reply.code(503).send({ status: "not ready", detail: `database unreachable: ${(err as Error).message}` });
      }
    },
  );
}
