// Supported api-versions per resource provider. Every ARM route declares which list applies; a
// missing or unknown api-version is refused before any handler runs, as ARM does.

import type { FastifyRequest } from "fastify";
import { Errors } from "../errors.js";

export const NETWORK_API_VERSIONS = ["2026-01-01", "2024-05-01"] as const;
export const RESOURCES_API_VERSIONS = ["2025-04-01"] as const;

declare module "fastify" {
  interface FastifyContextConfig {
    /** api-versions the route accepts; unset = not an ARM route. */
    apiVersions?: readonly string[];
  }
}

export function checkApiVersion(request: FastifyRequest): void {
  const supported = request.routeOptions.config.apiVersions;
  if (!supported) return;
  const version = (request.query as Record<string, unknown> | undefined)?.["api-version"];
  if (version === undefined || version === "") {
    throw Errors.missingApiVersion();
  }
  if (typeof version !== "string" || !supported.includes(version)) {
    throw Errors.invalidApiVersion(String(version), supported);
  }
}
