// The ARM error catalogue: every error lbplane answers outside the domain's own issue codes
// (src/domain/issues.ts), with its code, HTTP status and message template, in one table. Routes,
// use cases and the error handler throw `Errors.xxx(...)`; nothing else builds an ArmError. The
// handler renders {"error":{code,message,target,details}} with the entry's status. A test checks
// the README's error table against this catalogue and the domain's codes.

import type { DomainIssue } from "./domain/model.js";

export interface ArmErrorDetail {
  code: string;
  message: string;
  target?: string;
}

export interface ArmErrorBody {
  code: string;
  message: string;
  target?: string;
  details: ArmErrorDetail[];
}

export class ArmError extends Error {
  override name = "ArmError";
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly target?: string,
    readonly details: ArmErrorDetail[] = [],
  ) {
    super(message);
  }

  toBody(): { error: ArmErrorBody } {
    const error: ArmErrorBody = { code: this.code, message: this.message, details: this.details };
    if (this.target !== undefined) error.target = this.target;
    return { error };
  }
}

/** What an entry's template renders: a message, or a message with a target and details. */
type Rendered = string | { message: string; target?: string; details?: ArmErrorDetail[] };

/** One catalogue entry: a factory that also tells its code and status (for the README and OpenAPI). */
export interface CatalogueEntry<A extends unknown[]> {
  (...args: A): ArmError;
  readonly code: string;
  readonly status: number;
}

function entry<A extends unknown[]>(status: number, code: string, render: (...args: A) => Rendered): CatalogueEntry<A> {
  const make = (...args: A) => {
    const r = render(...args);
    return typeof r === "string" ? new ArmError(status, code, r) : new ArmError(status, code, r.message, r.target, r.details);
  };
  return Object.assign(make, { code, status });
}

const NAME_RULE =
  "The name can be up to 80 characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.";

export const Errors = {
  // ---- authentication and authorisation (ARM) -------------------------------------------------
  authorizationHeaderMissing: entry(401, "AuthenticationFailed", () => "Authentication failed. The 'Authorization' header is missing."),
  accessTokenInvalid: entry(401, "AuthenticationFailed", () => "Authentication failed. The access token is invalid."),
  notAnOperatorToken: entry(403, "AuthorizationFailed", (token: string) => `The token '${token}' is not an operator (admin) token.`),
  subscriptionNotAuthorized: entry(403, "AuthorizationFailed", (client: string, subscription: string) =>
    `The client '${client}' does not have authorization to perform this action over scope '/subscriptions/${subscription}'.`),

  // ---- request shape (ARM) ------------------------------------------------------------------------
  missingApiVersion: entry(400, "MissingApiVersionParameter", () =>
    "The api-version query parameter (?api-version=) is required for all requests."),
  invalidApiVersion: entry(400, "InvalidApiVersionParameter", (version: string, supported: readonly string[]) =>
    `The api-version '${version}' is invalid. The supported versions are '${supported.join(",")}'.`),
  /** Malformed JSON, schema violations, unstorable text: "Cannot parse the request." + the problem. */
  invalidRequestFormat: entry(400, "InvalidRequestFormat", (detail: string, target?: string, details?: ArmErrorDetail[]) =>
    ({ message: `Cannot parse the request. ${detail}`, target, details })),
  /** A path or query parameter that is not acceptable. */
  invalidParameter: entry(400, "InvalidParameter", (message: string, target?: string, details?: ArmErrorDetail[]) =>
    ({ message, target, details })),
  requestEntityTooLarge: entry(413, "RequestEntityTooLarge", () => "The request body is larger than the allowed limit."),
  unsupportedMediaType: entry(415, "UnsupportedMediaType", () =>
    "The request content type is not supported; send application/json."),
  invalidResourceName: entry(400, "InvalidResourceName", (name: string) => ({
    message: `Resource name ${name} is invalid. ${NAME_RULE}`,
    target: "name",
  })),
  invalidResourceGroupName: entry(400, "InvalidResourceGroup", (name: string) => ({
    message:
      `The provided resource group name '${name}' is invalid. It must be 1-90 characters of letters, digits, ` +
      `'-', '.', '(', ')' or '_', and must not end with '.'.`,
    target: "resourceGroupName",
  })),
  invalidIpAddress: entry(400, "InvalidIPAddress", (value: string, version: string) => ({
    message: `'${value}' is not a valid ${version} address (properties.publicIPAddressVersion is ${version}).`,
    target: "properties.ipAddress",
  })),

  // ---- not found --------------------------------------------------------------------------------
  noRoute: entry(404, "NotFound", (method: string, path: string) => `No route matches ${method} ${path}.`),
  resourceGroupNotFound: entry(404, "ResourceGroupNotFound", (name: string) => `Resource group '${name}' could not be found.`),
  resourceNotFound: entry(404, "ResourceNotFound", (type: string, name: string, resourceGroup: string) =>
    `The Resource '${type}/${name}' under resource group '${resourceGroup}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`),
  /** Network RP's own not-found for child resources. */
  childNotFound: entry(404, "NotFound", (id: string) => `Resource ${id} not found.`),
  operationNotFound: entry(404, "NotFound", (id: string) => `Operation ${id} was not found.`),
  resourceGroupOperationNotFound: entry(404, "OperationNotFound", (id: string) => `Operation '${id}' was not found.`),

  // ---- preconditions and conflicts ----------------------------------------------------------------
  preconditionFailed: entry(412, "PreconditionFailed", (sent: string, actual: string | undefined, id: string) =>
    actual === undefined
      ? `Precondition failed: resource ${id} does not exist but the request requires it (If-Match ${sent}).`
      : {
          message: `Etag provided in if-match header ${sent} does not match etag ${actual} of resource ${id} in NRP data store.`,
          details: [{ code: "PreconditionFailedEtagMismatch", message: `Current etag is ${actual}.` }],
        }),
  resourceAlreadyExists: entry(412, "PreconditionFailed", (id: string) => `Resource ${id} already exists (If-None-Match: *).`),
  invalidResourceLocation: entry(409, "InvalidResourceLocation",
    (name: string, current: string, resourceGroup: string, wanted: string, target?: string) => ({
      message: `The resource '${name}' already exists in location '${current}' in resource group '${resourceGroup}'. A resource with the same name cannot be created in location '${wanted}'.`,
      target,
    })),
  invalidResourceGroupLocation: entry(409, "InvalidResourceGroupLocation", (wanted: string, current: string) => ({
    message: `Invalid resource group location '${wanted}'. The Resource group already exists in location '${current}'.`,
    target: "location",
  })),
  resourceGroupDeletionBlocked: entry(409, "ResourceGroupDeletionBlocked", (name: string, details: ArmErrorDetail[]) => ({
    message: `Resource group '${name}' cannot be deleted: its public IP addresses are still used by load balancers in other resource groups. Detach them first.`,
    details,
  })),
  anotherOperationInProgress: entry(409, "AnotherOperationInProgress", () =>
    "A concurrent write changed the same flows or names; retry the request."),

  // ---- public IP addresses ------------------------------------------------------------------------
  ipAddressAlreadyAllocated: entry(400, "IpAddressAlreadyAllocated", (address: string) => ({
    message: `IP address ${address} is already allocated to another public IP address resource.`,
    target: "properties.ipAddress",
  })),
  publicIpInUseCannotChangeSku: entry(400, "PublicIPAddressInUseCannotChangeSku", (id: string, usedBy: string, from: string, to: string) => ({
    message: `Public IP address ${id} is used by ${usedBy}; its SKU cannot change from ${from} to ${to}.`,
    target: "sku.name",
  })),
  publicIpInUseCannotChangeAddress: entry(400, "PublicIPAddressInUseCannotChangeAddress", (id: string, usedBy: string, address: string) => ({
    message: `Public IP address ${id} is used by ${usedBy}; its address ${address} cannot change while it is in use.`,
    target: "properties.ipAddress",
  })),
  publicIpv6RequiresIpAddress: entry(400, "PublicIPv6AddressRequiresIpAddress", () => ({
    message: "lbplane allocates IPv4 addresses only (LBPLANE_PUBLIC_IP_POOL); an IPv6 public IP must name its address in properties.ipAddress.",
    target: "properties.ipAddress",
  })),
  publicIpPoolExhausted: entry(400, "PublicIPAddressPoolExhausted", (pool: string) =>
    `Every address of the public IP pool ${pool} is allocated; delete an unused public IP or bring your own address in properties.ipAddress.`),
  publicIpCannotBeDeleted: entry(400, "PublicIPAddressCannotBeDeleted", (id: string, usedBy: string) =>
    `Public IP address ${id} can not be deleted since it is still allocated to resource ${usedBy}. In order to delete the public IP, disassociate/detach the Public IP address from the resource.`),

  // ---- agents (lbplane's agent API) ---------------------------------------------------------------
  agentCredentialInvalid: entry(401, "AgentAuthenticationFailed", () =>
    "The agent credential is missing or invalid; register again."),
  joinTokenInvalid: entry(401, "AgentAuthenticationFailed", () => "The join token is missing or invalid."),
  agentRegistrationDisabled: entry(503, "AgentRegistrationDisabled", () =>
    "Agent registration is disabled: LBPLANE_JOIN_TOKEN is not configured."),
  agentNotLive: entry(409, "AgentNotLive", (name: string) =>
    `Agent '${name}' is stale; heartbeat (or register) before reporting health.`),
  healthReportTooLarge: entry(400, "InvalidRequestFormat", (limit: number) =>
    `The health report is larger than ${limit} bytes; send transitions, or split the summary.`),

  // ---- operations -------------------------------------------------------------------------------
  /** A finished operation's stored error, answered at its Location URL (the stored code wins). */
  operationFailed: entry(400, "OperationFailed", (stored: { code?: string; message?: string } | null, fallback: string) => ({
    message: stored?.message ?? fallback,
  })),

  // ---- the edge's last resorts ---------------------------------------------------------------------
  /** A framework 4xx with no better translation: its own status and code. */
  clientError: entry(400, "BadRequest", (message: string) => message),
  internalServerError: entry(500, "InternalServerError", () => "An internal error occurred; the request was not applied."),

  // ---- hostile requests (S3): what the HTTP edge answers before any route runs ----------------------
  /** Node's requestTimeout/headersTimeout cut a request that did not arrive in time. */
  requestTimeout: entry(408, "RequestTimeout", () =>
    "The request (headers or body) was not received in time; the connection is closed."),
  /** A path parameter longer than any Azure name (fastify's maxParamLength). */
  requestUriTooLong: entry(414, "RequestUriTooLong", () => "The request URI is too long."),
  /** The request line and headers exceed Node's maxHeaderSize. */
  requestHeaderFieldsTooLarge: entry(431, "RequestHeaderFieldsTooLarge", () =>
    "The request line and headers are larger than the allowed limit."),
  /** A request Node's HTTP parser cannot read (bad request line, bad header, smuggling attempt). */
  malformedHttpRequest: entry(400, "BadRequest", () => "The HTTP request is malformed; the connection is closed."),
  /** readyz: not ready, nothing about why (the log has the detail). */
  serviceNotReady: entry(503, "ServiceUnavailable", () => "lbplane is not ready to serve requests."),
  // ---- s1: linked authorization -------------------------------------------------------------------
  /** A body references a resource in a subscription the token does not cover (ARM's code and message shape). */
  linkedAuthorizationFailed: entry(403, "LinkedAuthorizationFailed",
    (client: string, action: string, scope: string, linkedActions: string[], linkedScopes: string[]) =>
      `The client '${client}' has permission to perform action '${action}' on scope '${scope}'; however, it does not ` +
      `have permission to perform action '${linkedActions.join("', '")}' on the linked scope(s) '${linkedScopes.join(",")}' ` +
      `or the linked scope(s) are invalid.`),
  // ---- s2: agent identity and push targets ----------------------------------------------------------
  agentNameInUse: entry(409, "AgentNameInUse", (name: string, windowMs: number) =>
    `Agent name '${name}' is held by a live agent (it heartbeated within the last ${windowMs} ms). ` +
    `Another agent cannot take it over: the name frees ${windowMs} ms after its holder's last heartbeat, ` +
    `or the holder re-registers by presenting its current credential. Choose another --name if this is a different agent.`),
  invalidAgentUrl: entry(400, "InvalidAgentUrl", (url: string, problem: string) =>
    `The agent url '${url}' ${problem}.`),
  agentUrlNotAllowed: entry(403, "AgentUrlNotAllowed", (host: string, networks: string) =>
    `The agent url's host '${host}' is not an IP address inside LBPLANE_AGENT_NETWORKS (${networks}); lbplane pushes only there.`),
  // ---- p: incremental push protocol --------------------------------------------------------------
  agentProtocolVersionUnsupported: entry(400, "AgentProtocolVersionUnsupported", (agentSpeaks: string, lbplaneSpeaks: string) =>
    `The agent speaks push protocol version(s) ${agentSpeaks}; this lbplane speaks ${lbplaneSpeaks}. ` +
    `There is no common version: upgrade the older side (an agent that names no versions speaks 1).`),
  // ---- f: database unavailable (issue 11) ---------------------------------------------------------
  /** The database refused, dropped or did not answer a query within its bounds: come back later (Retry-After). */
  databaseUnavailable: entry(503, "ServiceUnavailable", () =>
    "lbplane's database is unavailable or did not answer in time; retry the request shortly."),
  // ---- d2: traffic metrics (Azure Monitor's metrics API, agent traffic reports) ---------------------
  /** Azure Monitor answers a metric name the resource type does not have with this message shape. */
  metricNotFound: entry(400, "BadRequest", (metric: string, valid: string[]) =>
    `Failed to find metric configuration for provider: Microsoft.Network, resource Type: loadBalancers, metric: ${metric}, ` +
    `Valid metrics: ${valid.join(",")}`),
  /** A timespan, interval, aggregation or $filter Azure Monitor would refuse. */
  metricQueryInvalid: entry(400, "BadRequest", (parameter: string, detail: string) => ({ message: `Invalid ${parameter}: ${detail}`, target: parameter })),
  trafficReportTooLarge: entry(400, "InvalidRequestFormat", (limit: number) =>
    `The traffic report is larger than ${limit} bytes; report more often, or split it.`),
} as const;

/**
 * Codes a failed operation carries in its status resource (operations are failed by agents, not by
 * a request, so these are details rather than thrown errors).
 */
export const OperationErrors = {
  agentRefusedConfiguration: (agent: string, resourceId: string, detail: string | null): ArmErrorDetail => ({
    code: "AgentRefusedConfiguration",
    message: `Agent '${agent}' refused load balancer ${resourceId}: ${detail ?? "no detail"}`,
  }),
  // A tenant learns which load balancer did not converge and which agent held it up, never why in
  // transport terms: the agent's last error (addresses, answers of whatever it pointed at) is the
  // operator's, shown in GET /dataplane/v1/agents.
  agentConfigurationTimeout: (agent: string, resourceId: string, generation: bigint, windowMs: number, acked: bigint): ArmErrorDetail => ({
    code: "AgentConfigurationTimeout",
    message:
      `Load balancer ${resourceId} did not converge: agent '${agent}' did not acknowledge generation ${generation}` +
      ` within ${windowMs} ms (acknowledged ${acked}).`,
  }),
} as const;

/** Every code in the catalogue (for the README check and the OpenAPI document). */
export function catalogueCodes(): string[] {
  const codes = new Set<string>(Object.values(Errors).map((e) => e.code));
  codes.add("AgentRefusedConfiguration");
  codes.add("AgentConfigurationTimeout");
  return [...codes].sort();
}

/**
 * Re-coded variants where the code or status is data (an operation's stored error, a framework
 * error's own status): still built here, so the catalogue stays the only constructor of ArmError.
 */
export function withStatusAndCode(err: ArmError, status: number, code: string | undefined): ArmError {
  return new ArmError(status, code ?? err.code, err.message, err.target, err.details);
}

/** Many domain issues → one 400 whose top level is the first issue and whose details list them all. */
export function issuesError(issues: DomainIssue[]): ArmError {
  const [first] = issues;
  const details = issues.map((i) => ({ code: i.code, message: i.message, ...(i.target ? { target: i.target } : {}) }));
  return new ArmError(400, first.code, first.message, first.target, details);
}
