// Each Microsoft.Network api-version answers in its own shape: a property that version's
// specification does not know is left out of its responses and ignored in its requests, as
// Azure's network resource provider does when it deserialises a body with that version's model
// (it neither stores nor echoes members it cannot name). One table of (resource, property path,
// first version[, last version]) feeds both directions, so request and response shaping never
// disagree about what a version knows.
//
// Sources: azure-rest-api-specs Microsoft.Network/stable/<v>/loadBalancer.json and
// publicIpAddress.json. Rows marked "models" were read from the per-version models Debian's
// azure-mgmt-network 23 ships (2020-06-01, 2020-07-01, 2020-08-01, 2020-11-01, 2021-02-01,
// 2022-07-01); rows marked "templates" from Azure's per-version resource reference (absent in one
// version, present in the next listed). Unmarked rows come from the specs' history without a
// second source; where a property falls between two checked versions, the row names the later
// one (an older client then sees a property missing, never one it cannot parse). Properties every
// version in the window knows (ports, protocols, probes' basics, loadBalancerBackendAddresses, …)
// need no row. One quirk is simplified: 2020-08-01 alone had a pool `location`, dropped again in
// 2020-11-01 and back for good in 2021-02-01; the row starts at 2021-02-01.

import type { FastifyRequest } from "fastify";
import { CHILD_COLLECTION_NAMES, type ChildCollection } from "../domain/collections.js";
import { NETWORK_API_VERSIONS } from "./api-versions.js";

/** Where a row applies: a whole load balancer, one of its child collections, or a public IP. */
type ShapedKind = "loadBalancers" | ChildCollection | "publicIPAddresses" | "loadBalancerBackendAddresses";

interface VersionedProperty {
  kind: ShapedKind;
  /** Dotted path inside one resource of `kind`; `[]` walks every element of an array. */
  path: string;
  /** First api-version whose specification has the property. */
  since: string;
  /** Last api-version that still had it (the property was removed after). */
  until?: string;
}

export const VERSIONED_PROPERTIES: readonly VersionedProperty[] = [
  // Load balancer and public IP SKUs: the tier (Regional/Global) arrived with cross-region LB. (models)
  { kind: "loadBalancers", path: "sku.tier", since: "2020-07-01" },
  { kind: "loadBalancers", path: "extendedLocation", since: "2020-07-01" },
  { kind: "publicIPAddresses", path: "sku.tier", since: "2020-07-01" },
  { kind: "publicIPAddresses", path: "extendedLocation", since: "2020-07-01" },
  // Backend addresses (models; adminState: templates, present in 2022-01-01, absent from 2021-02-01's models).
  { kind: "loadBalancerBackendAddresses", path: "properties.loadBalancerFrontendIPConfiguration", since: "2020-07-01" },
  { kind: "loadBalancerBackendAddresses", path: "properties.subnet", since: "2020-11-01" },
  { kind: "loadBalancerBackendAddresses", path: "properties.inboundNatRulesPortMapping", since: "2021-08-01" },
  { kind: "loadBalancerBackendAddresses", path: "properties.adminState", since: "2022-01-01" },
  // Backend pools: gateway load balancer (tunnel interfaces) and cross-region pools (models);
  // drainPeriodInSeconds in 2022-01-01 but not virtualNetwork (templates; models: 2022-07-01 has it);
  // syncMode absent from 2023-02-01, present in 2023-04-01 (templates).
  { kind: "backendAddressPools", path: "properties.location", since: "2021-02-01" },
  { kind: "backendAddressPools", path: "properties.tunnelInterfaces", since: "2021-02-01" },
  { kind: "backendAddressPools", path: "properties.inboundNatRules", since: "2021-08-01" },
  { kind: "backendAddressPools", path: "properties.virtualNetwork", since: "2022-07-01" },
  { kind: "backendAddressPools", path: "properties.drainPeriodInSeconds", since: "2022-01-01" },
  { kind: "backendAddressPools", path: "properties.syncMode", since: "2023-04-01" },
  // Frontends chaining to a gateway load balancer. (models)
  { kind: "frontendIPConfigurations", path: "properties.gatewayLoadBalancer", since: "2021-02-01" },
  // Rules: several pools per rule (models); connection tracking much later.
  { kind: "loadBalancingRules", path: "properties.backendAddressPools", since: "2021-02-01" },
  { kind: "loadBalancingRules", path: "properties.enableConnectionTracking", since: "2024-07-01" },
  // Inbound NAT rules v2: a port range mapped onto a whole pool.
  { kind: "inboundNatRules", path: "properties.frontendPortRangeStart", since: "2021-08-01" },
  { kind: "inboundNatRules", path: "properties.frontendPortRangeEnd", since: "2021-08-01" },
  { kind: "inboundNatRules", path: "properties.backendAddressPool", since: "2021-08-01" },
  // Probes.
  { kind: "probes", path: "properties.probeThreshold", since: "2022-05-01" },
  { kind: "probes", path: "properties.noHealthyBackendsBehavior", since: "2024-03-01" },
  // Public IPs: deleteOption (models), the DDoS settings rework (models: the old members are gone
  // by 2022-07-01, the new ones present), the DNS label scope.
  { kind: "publicIPAddresses", path: "properties.deleteOption", since: "2021-02-01" },
  { kind: "publicIPAddresses", path: "properties.ddosSettings.ddosProtectionPlan", since: "2022-01-01" },
  { kind: "publicIPAddresses", path: "properties.ddosSettings.protectionMode", since: "2022-01-01" },
  { kind: "publicIPAddresses", path: "properties.ddosSettings.ddosCustomPolicy", since: "2020-06-01", until: "2021-08-01" },
  { kind: "publicIPAddresses", path: "properties.ddosSettings.protectionCoverage", since: "2020-06-01", until: "2021-08-01" },
  { kind: "publicIPAddresses", path: "properties.ddosSettings.protectedIP", since: "2020-06-01", until: "2021-08-01" },
  { kind: "publicIPAddresses", path: "properties.dnsSettings.domainNameLabelScope", since: "2023-02-01" },
];

/** Where nested resources of one kind sit inside another (a load balancer's children, a pool's addresses). */
const NESTED: Partial<Record<ShapedKind, Record<string, ShapedKind>>> = {
  loadBalancers: Object.fromEntries(CHILD_COLLECTION_NAMES.map((c) => [`properties.${c}[]`, c])),
  backendAddressPools: { "properties.loadBalancerBackendAddresses[]": "loadBalancerBackendAddresses" },
};

function knownIn(row: VersionedProperty, version: string): boolean {
  return version >= row.since && (row.until === undefined || version <= row.until);
}

/** The objects a dotted path (with `[]` steps) reaches inside `node`. */
function reach(node: unknown, steps: readonly string[]): unknown[] {
  if (steps.length === 0) return [node];
  if (node === null || typeof node !== "object") return [];
  const [step, ...rest] = steps as [string, ...string[]];
  const many = step.endsWith("[]");
  const value = (node as Record<string, unknown>)[many ? step.slice(0, -2) : step];
  if (!many) return reach(value, rest);
  return Array.isArray(value) ? value.flatMap((item) => reach(item, rest)) : [];
}

/** Removes from one resource of `kind` (and what nests in it) every property `version` does not know. */
export function shapeResource(kind: ShapedKind, resource: unknown, version: string): void {
  for (const row of VERSIONED_PROPERTIES) {
    if (row.kind !== kind || knownIn(row, version)) continue;
    const steps = row.path.split(".");
    const leaf = steps.pop() as string;
    for (const owner of reach(resource, steps)) {
      if (owner !== null && typeof owner === "object") delete (owner as Record<string, unknown>)[leaf];
    }
  }
  for (const [path, nestedKind] of Object.entries(NESTED[kind] ?? {})) {
    for (const nested of reach(resource, path.split("."))) shapeResource(nestedKind, nested, version);
  }
}

const SHAPED_KINDS = new Set<string>(["loadBalancers", "publicIPAddresses", ...CHILD_COLLECTION_NAMES]);

/** The kind a response resource is, read from its ARM `type` (Microsoft.Network/loadBalancers/probes → probes). */
function kindOfType(type: unknown): ShapedKind | undefined {
  if (typeof type !== "string" || !type.startsWith("Microsoft.Network/")) return undefined;
  const last = type.slice(type.lastIndexOf("/") + 1);
  return SHAPED_KINDS.has(last) ? (last as ShapedKind) : undefined;
}

/** The kind a route's body is, read from the route's path: the segment before its last `:name`. */
function kindOfRoute(url: string | undefined): ShapedKind | undefined {
  const segments = (url ?? "").split("/");
  const last = segments.at(-1) ?? "";
  const segment = last.startsWith(":") ? segments.at(-2) : undefined;
  return segment !== undefined && SHAPED_KINDS.has(segment) ? (segment as ShapedKind) : undefined;
}

function requestedNetworkVersion(request: FastifyRequest): string | undefined {
  if (!request.routeOptions.config.apiVersions) return undefined;
  const version = (request.query as Record<string, unknown> | undefined)?.["api-version"];
  return typeof version === "string" ? version : undefined;
}

/** preValidation: a PUT/PATCH body loses the members its api-version does not know, before the schema sees it. */
export function shapeRequestForVersion(request: FastifyRequest): void {
  if (request.body === null || typeof request.body !== "object") return;
  const version = requestedNetworkVersion(request);
  if (version === undefined || kindsShapedIn(version).size === 0) return;
  const kind = kindOfRoute(request.routeOptions.url);
  if (kind !== undefined && kindsShapedIn(version).has(kind)) shapeResource(kind, request.body, version);
}

/** The kinds `kind`'s resources may hold: itself and what nests in it, transitively. */
function kindsWithin(kind: ShapedKind): ShapedKind[] {
  return [kind, ...Object.values(NESTED[kind] ?? {}).flatMap(kindsWithin)];
}

/**
 * The kinds `version` must shape: those whose resources (or nested ones) hold a property that
 * version does not know. The newest version lacks only properties Azure removed long ago from
 * public IPs, so a load balancer read at it passes through untouched.
 */
function lackingKinds(version: string): ReadonlySet<ShapedKind> {
  const lacking = new Set(VERSIONED_PROPERTIES.filter((row) => !knownIn(row, version)).map((row) => row.kind));
  return new Set([...SHAPED_KINDS].filter((k) => kindsWithin(k as ShapedKind).some((within) => lacking.has(within))) as ShapedKind[]);
}

/** Worked out once per supported version: one lookup per request instead of a walk over the table. */
const KINDS_TO_SHAPE = new Map<string, ReadonlySet<ShapedKind>>(NETWORK_API_VERSIONS.map((v) => [v, lackingKinds(v)]));

/** A version the request named but lbplane does not serve (its error answer) is worked out, not kept. */
function kindsShapedIn(version: string): ReadonlySet<ShapedKind> {
  return KINDS_TO_SHAPE.get(version) ?? lackingKinds(version);
}

/** The kind a route answers with: a resource (`…/probes/:name`) or a list of them (`…/probes`). */
function kindOfResponse(url: string | undefined): ShapedKind | undefined {
  const last = (url ?? "").slice((url ?? "").lastIndexOf("/") + 1);
  return SHAPED_KINDS.has(last) ? (last as ShapedKind) : kindOfRoute(url);
}

/**
 * onSend: a resource, or a page of them, in its api-version's shape. Shaped after serialisation:
 * the response schemas are the newest version's, and the serialiser fills their defaults (a SKU
 * tier) back in; only a version that lacks a property the answer can hold pays for the extra parse.
 */
export function shapeResponseForVersion(request: FastifyRequest, payload: unknown): unknown {
  const version = requestedNetworkVersion(request);
  if (version === undefined || typeof payload !== "string" || !payload.startsWith("{")) return payload;
  const kinds = kindsShapedIn(version);
  if (kinds.size === 0) return payload;
  // A route known to answer a kind this version need not shape passes through unparsed.
  const answered = kindOfResponse(request.routeOptions.url);
  if (answered !== undefined && !kinds.has(answered)) return payload;
  const shaped = JSON.parse(payload) as unknown;
  const page = (shaped as { value?: unknown }).value;
  const resources = Array.isArray(page) ? page : [shaped];
  for (const resource of resources) {
    const kind = kindOfType((resource as { type?: unknown } | null)?.type);
    if (kind !== undefined) shapeResource(kind, resource, version);
  }
  return JSON.stringify(shaped);
}
