// Liveness and readiness for orchestrators; no authentication, no api-version, so nothing in an
// answer may describe the deployment.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { Errors } from "../errors.js";
import { pendingMigrationsOf } from "../store/migrator.js";
import { ErrorResponseSchema, edgeErrors } from "./schemas/arm.schema.js";

const StatusSchema = Type.Object({ status: Type.String() }, { title: "ProcessStatus" });
const NotReadySchema = Type.Object(
  { status: Type.String(), error: ErrorResponseSchema.properties.error },
  { title: "NotReady", "x-response-description": "Not ready: the database is unreachable or migrations are pending" },
);

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
        response: { 200: StatusSchema, ...edgeErrors },
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
        response: { 200: StatusSchema, 503: NotReadySchema, ...edgeErrors },
      },
    },
    async (request, reply) => {
      // Anonymous callers learn ready or not; why (the database's address, the driver's error text,
      // migration names) goes to the log only.
      const notReady = () => reply.code(503).send({ status: "not ready", ...Errors.serviceNotReady().toBody() });
      try {
        const pending = await pendingMigrationsOf(app.deps.db);
        if (pending.length) {
          request.log.warn({ pending }, "readyz: pending migrations");
          return notReady();
        }
        return { status: "ready" };
      } catch (err) {
        request.log.error({ err }, "readyz: database unreachable");
        return notReady();
      }
    },
  );
}
