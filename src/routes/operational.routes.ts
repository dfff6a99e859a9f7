// Liveness and readiness for orchestrators; no authentication, no api-version, so nothing in an
// answer may describe the deployment.

import type { FastifyInstance } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { Errors } from "../errors.js";
import { databaseHealthOf, pendingMigrationsForReadiness } from "../store/db-health.js";
import { ErrorResponseSchema, edgeErrors } from "./schemas/arm.schema.js";

const StatusSchema = Type.Object({ status: Type.String() }, { title: "ProcessStatus" });
/**
 * /readyz gives the database this long, so it answers within 2 s even when the database hangs
 * (orchestrators' probes time out at 1-2 s); the rest is headroom for a busy process.
 */
export const READYZ_DEADLINE_MS = 1_000;

/** Rejects when `work` has not settled within `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from the database within ${ms} ms (Query read timeout)`)), ms);
  });
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

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
        const pending = await within(pendingMigrationsForReadiness(app.deps.db), READYZ_DEADLINE_MS);
        if (pending.length) {
          request.log.warn({ pending }, "readyz: pending migrations");
          return notReady();
        }
        return { status: "ready" };
      } catch (err) {
        // Told once per outage by the health tracker; a probe every second must not flood the log.
        const health = databaseHealthOf(app.deps.db);
        if (health) health.reportUnavailable(err);
        else request.log.error({ err }, "readyz: database unreachable");
        reply.header("retry-after", "1");
        return notReady();
      }
    },
  );
}
