// Status of asynchronous operations, the targets of Azure-AsyncOperation (status resource, always
// 200) and Location (202 while running, then the final status code) headers.

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type, type Static } from "typebox";
import { Errors, withStatusAndCode } from "../errors.js";
import { getOperation } from "../services/operations.service.js";
import type { Operation } from "../store/operations.store.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";
import { baseUrl, resourcePath, sendStatusOnly } from "./arm-common.js";
import {
  AnsweredEnum, LOCATION_HEADERS, NetworkApiVersionQuery, SubscriptionParams, armErrors, noBody, withHeaders,
} from "./schemas/arm.schema.js";

const config = { apiVersions: NETWORK_API_VERSIONS };
const tags = ["Operations"];
const Params = Type.Object({
  ...SubscriptionParams.properties,
  location: Type.String({ description: "The location of the operation (as in the Azure-AsyncOperation URL)" }),
  operationId: Type.String({ description: "The operation" }),
});
type ParamsT = Static<typeof Params>;
const OperationStatusSchema = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    status: AnsweredEnum(["InProgress", "Succeeded", "Failed", "Canceled"], { title: "OperationStatusValue" }),
    startTime: Type.String({ format: "date-time" }),
    endTime: Type.Optional(Type.String({ format: "date-time" })),
    error: Type.Optional(
      Type.Object({ code: Type.String(), message: Type.String() }, { additionalProperties: true, title: "OperationError" }),
    ),
  },
  { title: "OperationStatus", description: "Status of an asynchronous operation (Azure-AsyncOperation)" },
);

function load(request: FastifyRequest, p: ParamsT): Promise<Operation> {
  return getOperation(request.server.deps, p.subscriptionId, p.operationId);
}

function render(request: FastifyRequest, op: Operation) {
  const error = op.error as { code: string; message: string } | null;
  return {
    id: resourcePath(request),
    name: op.id,
    status: op.status,
    startTime: op.startTime.toISOString(),
    ...(op.endTime ? { endTime: op.endTime.toISOString() } : {}),
    ...(error ? { error } : {}),
  };
}

export async function operationRoutes(fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const base = "/subscriptions/:subscriptionId/providers/Microsoft.Network/locations/:location";
  app.get(`${base}/operations/:operationId`, {
    config,
    schema: {
      operationId: "Operations_GetStatus", tags, summary: "Status of an asynchronous operation (Azure-AsyncOperation)",
      params: Params, querystring: NetworkApiVersionQuery,
      response: { ...armErrors, 200: withHeaders(OperationStatusSchema, { "Retry-After": LOCATION_HEADERS["Retry-After"] }, "The status (Retry-After while InProgress)") },
    },
  }, async (request, reply) => {
    const op = await load(request, request.params);
    if (op.status === "InProgress") reply.header("retry-after", "1");
    return render(request, op);
  });

  app.get(`${base}/operationResults/:operationId`, {
    config,
    schema: {
      operationId: "Operations_GetResult", tags, summary: "Result of an asynchronous operation (Location)",
      description: "202 while in progress; 204 when it succeeded; the operation's error when it failed.",
      params: Params, querystring: NetworkApiVersionQuery,
      response: { ...armErrors, 202: noBody("Still running; poll again", LOCATION_HEADERS), 204: noBody("The operation succeeded") },
    },
  }, async (request, reply) => {
    const op = await load(request, request.params);
    if (op.status === "InProgress") {
      reply.header("location", `${baseUrl(request)}${request.url}`).header("retry-after", "1");
      return sendStatusOnly(reply, 202);
    }
    if (op.status === "Succeeded") return sendStatusOnly(reply, 204);
    const error = op.error as { code?: string; message?: string } | null;
    throw withStatusAndCode(Errors.operationFailed(error, "The operation failed."), 400, error?.code);
  });
}
