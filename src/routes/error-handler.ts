// Every failure leaves as an ARM error body; nothing the client sends can produce a 500. Framework
// errors (bad JSON, schema violations, oversized bodies, refused URLs) are translated to ARM's codes here.

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ArmError, Errors, withStatusAndCode } from "../errors.js";
import { isDatabaseUnavailable } from "../store/db-errors.js";
import { databaseHealthOf } from "../store/db-health.js";

/** Seconds a client is asked to wait before retrying while the database is unavailable. */
export const DATABASE_RETRY_AFTER_S = 5;

/** "/properties/loadBalancingRules/0/properties/frontendPort" → "properties.loadBalancingRules[0].properties.frontendPort" */
export function pointerToTarget(pointer: string): string {
  return pointer
    .split("/")
    .filter(Boolean)
    .map((seg) => seg.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((acc, seg) => (/^\d+$/.test(seg) ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), "");
}

interface ValidationItem {
  instancePath?: string;
  schemaPath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

function validationError(error: FastifyError): ArmError {
  const items = (error.validation ?? []) as ValidationItem[];
  const part = error.validationContext ?? "body";
  const describe = (v: ValidationItem) => {
    let path = pointerToTarget(v.instancePath ?? "");
    const extra = v.params?.additionalProperties ?? v.params?.requiredProperties ?? v.params?.missingProperty;
    const names = Array.isArray(extra) ? extra : extra !== undefined ? [extra] : [];
    if (v.keyword === "additionalProperties" && names.length) {
      path = path ? `${path}.${names[0]}` : String(names[0]);
      return { target: path, message: `Could not find member '${names[0]}' on object of type '${path.split(".").slice(-2, -1)[0] ?? "resource"}'. Path '${path}'.` };
    }
    if (v.keyword === "required" && names.length) {
      path = path ? `${path}.${names[0]}` : String(names[0]);
      return { target: path, message: `Required property '${path}' is missing.` };
    }
    return { target: path || part, message: `Invalid value for '${path || part}': ${v.message ?? "invalid"}.` };
  };
  // TypeBox reports an unknown member twice: as a `false` schema at the member and as an
  // additionalProperties error on its object. Keep the one that names the member.
  const unknownTwice = (v: ValidationItem) => v.keyword === "boolean" && v.schemaPath?.endsWith("/additionalProperties");
  const described = items.filter((v) => !unknownTwice(v)).map(describe);
  const first = described[0] ?? { target: part, message: error.message };
  const details = described.map((d) => ({ code: Errors.invalidRequestFormat.code, message: d.message, target: d.target }));
  return part === "body"
    ? Errors.invalidRequestFormat(first.message, first.target, details)
    : Errors.invalidParameter(first.message, first.target, details);
}

function translate(error: FastifyError): ArmError {
  if (error instanceof ArmError) return error;
  if (error.validation) return validationError(error);
  switch (error.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return Errors.invalidRequestFormat(error.message);
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return Errors.requestEntityTooLarge();
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return Errors.unsupportedMediaType();
    case "FST_ERR_BAD_URL":
      return Errors.invalidParameter("The request URL contains an invalid percent-encoded component.", "url");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return Errors.requestUriTooLong();
  }
  if (error instanceof SyntaxError || error.statusCode === 400) {
    return Errors.invalidRequestFormat(error.message);
  }
  const status = error.statusCode ?? 500;
  if (status >= 400 && status < 500) return withStatusAndCode(Errors.clientError(error.message), status, error.code);
  return Errors.internalServerError();
}

/** How much of a refused body is read (and dropped) so the client, still writing, can read the 413. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;
const DRAIN_MAX_MS = 10_000;

/**
 * Reads and drops the rest of a request body, up to a bound. A client that writes its whole body
 * before reading (Python's http.client, curl) gets a reset instead of the answer if the server
 * closes while body bytes are still arriving; past the bound it is cut anyway.
 */
export function drainBody(raw: FastifyRequest["raw"]): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    let seen = 0;
    const finish = () => {
      clearTimeout(timer);
      raw.off("data", onData).off("end", finish).off("error", finish).off("close", finish);
      resolve();
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.length;
      if (seen > DRAIN_MAX_BYTES) finish();
    };
    const timer = setTimeout(finish, DRAIN_MAX_MS);
    raw.on("data", onData).on("end", finish).on("error", finish).on("close", finish);
    raw.resume();
  });
}

export async function handleError(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isDatabaseUnavailable(error)) {
    // Not a bug of ours and not the client's: told once by the health tracker, not once per request.
    const health = databaseHealthOf(request.server.deps.db);
    if (health) health.reportUnavailable(error);
    else request.log.warn({ code: (error as { code?: string }).code }, `database unavailable: ${error.message}`);
    const arm = Errors.databaseUnavailable();
    reply.header("retry-after", String(DATABASE_RETRY_AFTER_S));
    return reply.code(arm.statusCode).type("application/json; charset=utf-8").send(arm.toBody());
  }
  const arm = translate(error);
  if (arm.statusCode >= 500) request.log.error({ err: error }, "request failed");
  else request.log.info({ code: arm.code, status: arm.statusCode }, arm.message);
  if (arm.statusCode === 413) {
    // The body is not wanted: read what is in flight, then answer and close the connection.
    await drainBody(request.raw);
    reply.header("connection", "close");
  }
  return reply.code(arm.statusCode).type("application/json; charset=utf-8").send(arm.toBody());
}
