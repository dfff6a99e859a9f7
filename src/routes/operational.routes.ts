// Liveness and readiness for orchestrators; no authentication, no api-version.

import type { FastifyInstance } from "fastify";
import { Type } from "typebox";
import { pendingMigrations } from "../store/migrator.js";

const StatusSchema = Type.Object({ status: Type.String(), detail: Type.Optional(Type.String()) });

export async function operationalRoutes(app: FastifyInstance): Promise<void> {
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
        const pending = await pendingMigrations({
          query: ((sql: string) => app.deps.db.$queryRawUnsafe(sql).then((rows) => ({ rows }))) as never,
        });
        if (pending.length) return reply.code(503).send({ status: "not ready", detail: `pending migrations: ${pending.join(", ")}` });
        return { status: "ready" };
      } catch (err) {
        return reply.code(503).send({ status: "not ready", detail: `database unreachable: ${(err as Error).message}` });
      }
    },
  );
}
