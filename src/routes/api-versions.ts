// Supported api-versions per resource provider. Real ARM accepts every published version of a
// resource type, and real clients pin their own (Debian's azure-mgmt-network 23 sends 2022-07-01,
// azure-mgmt-resource 22 sends 2022-09-01, Terraform and the CLI pin others), so each family lists
// every stable version in Azure's REST API specifications within lbplane's supported window:
//   network:   specification/network/resource-manager/Microsoft.Network/stable/<v>/loadBalancer.json
//              (and publicIpAddress.json), 2020-06-01 … 2026-01-01
//   resources: specification/resources/resource-manager/Microsoft.Resources/stable/<v>/resources.json,
//              2019-05-01 … 2025-04-01
// Lists are newest first (the OpenAPI document and error messages read them in that order). Every
// ARM route declares which list applies; a missing or unknown api-version is refused before any
// handler runs, as ARM does.

import type { FastifyRequest } from "fastify";
import { Errors } from "../errors.js";

export const NETWORK_API_VERSIONS = [
  "2026-01-01",
  "2025-07-01",
  "2025-05-01",
  "2025-03-01",
  "2025-01-01",
  "2024-10-01",
  "2024-07-01",
  "2024-05-01",
  "2024-03-01",
  "2024-01-01",
  "2023-11-01",
  "2023-09-01",
  "2023-06-01",
  "2023-05-01",
  "2023-04-01",
  "2023-02-01",
  "2022-11-01",
  "2022-09-01",
  "2022-07-01",
  "2022-05-01",
  "2022-01-01",
  "2021-08-01",
  "2021-05-01",
  "2021-03-01",
  "2021-02-01",
  "2020-11-01",
  "2020-08-01",
  "2020-07-01",
  "2020-06-01",
] as const;
export const RESOURCES_API_VERSIONS = [
  "2025-04-01",
  "2025-03-01",
  "2024-11-01",
  "2024-07-01",
  "2024-03-01",
  "2023-07-01",
  "2022-09-01",
  "2021-04-01",
  "2021-01-01",
  "2020-10-01",
  "2020-08-01",
  "2020-06-01",
  "2019-10-01",
  "2019-08-01",
  "2019-07-01",
  "2019-05-10",
  "2019-05-01",
] as const;

export type NetworkApiVersion = (typeof NETWORK_API_VERSIONS)[number];
export type ResourcesApiVersion = (typeof RESOURCES_API_VERSIONS)[number];

/** The version lbplane's own links, examples and documentation use: the newest of each family. */
export const DEFAULT_NETWORK_API_VERSION: NetworkApiVersion = NETWORK_API_VERSIONS[0];
export const DEFAULT_RESOURCES_API_VERSION: ResourcesApiVersion = RESOURCES_API_VERSIONS[0];

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
