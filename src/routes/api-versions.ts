// Supported api-versions per resource provider. Every ARM route declares which list applies; a
// missing or unknown api-version is refused before any handler runs, as ARM does.

import type { FastifyRequest } from "fastify";
import { ArmError } from "../errors.js";

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
    throw new ArmError(
      400,
      "MissingApiVersionParameter",
      "The api-version query parameter (?api-version=) is required for all requests.",
    );
  }
  if (typeof version !== "string" || !supported.includes(version)) {
    throw new ArmError(
      400,
      "InvalidApiVersionParameter",
      `The api-version '${String(version)}' is invalid. The supported versions are '${supported.join(",")}'.`,
    );
  }
}
