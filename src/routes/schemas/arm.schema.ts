// Schema pieces every ARM operation shares, written once so the OpenAPI document is a contract a
// generator can type: a schema given a `title` becomes a named component (components.schemas, see
// openapi-document.ts), enums are plain `enum`s, read-only members keep their types and say
// `readOnly`, and every path parameter carries Azure's name and an example that works on a fresh
// lbplane (Swagger UI's "Try it out" pre-fills it). api-version is an enum per resource family,
// read from api-versions.ts, with the newest as the default.

import { Type, type Static, type TSchema } from "typebox";
import { NETWORK_API_VERSIONS, RESOURCES_API_VERSIONS } from "../api-versions.js";
import { EXAMPLE } from "./examples.js";
import { RESPONSE_NAME } from "./openapi-document.js";

/** A string enum as OpenAPI wants it (`type: string` + `enum`), typed as its union. */
export function StringEnum<const V extends readonly string[]>(values: V, options: Record<string, unknown> = {}) {
  return Type.Unsafe<V[number]>({ type: "string", enum: [...values], ...options });
}

/**
 * An enum in the document for a value the handler holds as a plain string (the domain computes
 * it): clients get the closed set, the handler's type stays `string`.
 */
export function AnsweredEnum(values: readonly string[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<string>({ type: "string", enum: [...values], ...options });
}

/** A read-only member: the server fills it; a client may echo it back and it is ignored. */
export function ReadOnly<T extends TSchema>(schema: T, description?: string) {
  return Type.Optional(Type.Unsafe<Static<T>>({ ...schema, readOnly: true, ...(description ? { description } : {}) }));
}

export const SubResourceSchema = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 1024, description: "ARM id of the referenced resource" }) },
  { additionalProperties: false, title: "SubResource", description: "Reference to another resource by its ARM id" },
);

/** The provisioning state lbplane reports: Updating while agents have not yet acknowledged a write. */
export const ProvisioningStateSchema = StringEnum(["Succeeded", "Updating", "Deleting", "Failed"], {
  title: "ProvisioningState",
  description: "Succeeded once the location's live agents acknowledged the last write, Updating before",
});

export const TransportProtocolSchema = StringEnum(["Tcp", "Udp", "All"], {
  title: "TransportProtocol", description: "All with port 0 = HA ports (every port of Tcp and Udp)",
});

/** A backend's health as the location's live agents report it (majority; Unknown without reports). */
export const BackendHealthStateSchema = AnsweredEnum(["Up", "Down", "Unknown"], { title: "BackendHealthState" });

export const TagsSchema = Type.Record(Type.String({ maxLength: 512 }), Type.String({ maxLength: 256 }), {
  description: "Resource tags (name → value)",
});

/** A location with something in it: it is stored without spaces, and "  " would become "". */
export const LocationSchema = Type.String({
  minLength: 1, maxLength: 100, pattern: "\\S", description: "Azure location, e.g. westeurope",
});

export const TagsObjectSchema = Type.Object(
  { tags: Type.Optional(TagsSchema) },
  { additionalProperties: false, title: "TagsObject", description: "Tags to set (replacing the whole set)" },
);

export const ErrorDetailSchema = Type.Object(
  {
    code: Type.String({ description: "Stable machine-readable code (the README's error table)" }),
    message: Type.String(),
    target: Type.Optional(Type.String({ description: "The member or rule the issue is about" })),
  },
  { title: "ErrorDetail" },
);

export const ErrorBodySchema = Type.Object(
  {
    code: Type.String({ description: "Stable machine-readable code (the README's error table)" }),
    message: Type.String(),
    target: Type.Optional(Type.String()),
    details: Type.Array(ErrorDetailSchema, { description: "Every issue found, not only the first" }),
  },
  { title: "ErrorBody" },
);

export const ErrorResponseSchema = Type.Object({ error: ErrorBodySchema }, { title: "ErrorResponse", description: "ARM error body" });
export type ErrorResponse = Static<typeof ErrorResponseSchema>;

/**
 * The ARM error body under one status, with what that status means here. `name` makes it one
 * entry of components.responses that every operation answering it references (openapi-document.ts).
 */
function errorAnswer(name: string, description: string) {
  return { ...ErrorResponseSchema, "x-response-description": description, [RESPONSE_NAME]: name } as typeof ErrorResponseSchema;
}

/**
 * What the HTTP edge answers for any path before a route runs (src/routes/http-edge.ts): the only
 * errors of the anonymous operational endpoints.
 */
export const edgeErrors = {
  400: errorAnswer("MalformedRequest", "Malformed HTTP request (refused by the HTTP parser)"),
  431: errorAnswer("RequestHeaderFieldsTooLarge", "RequestHeaderFieldsTooLarge"),
};

/**
 * The error responses every ARM operation may answer: the ones the edge itself answers before or
 * around any handler. The statuses are the catalogue's (src/errors.ts).
 */
export const armErrors = {
  400: errorAnswer("BadRequest", "Bad request: missing or unsupported api-version, malformed body, invalid resource (every issue in details)"),
  401: errorAnswer("AuthenticationFailed", "AuthenticationFailed: the Authorization header is missing or its token is invalid"),
  403: errorAnswer("AuthorizationFailed", "AuthorizationFailed: the token is limited to other subscriptions"),
  404: errorAnswer("NotFound", "ResourceGroupNotFound / ResourceNotFound"),
  413: errorAnswer("RequestEntityTooLarge", "RequestEntityTooLarge"),
  500: errorAnswer("InternalServerError", "InternalServerError: anything unexpected, without its details"),
};

/** Writes: armErrors plus conditional requests (412), conflicts (409) and bodies that are not JSON (415). */
export const armWriteErrors = {
  ...armErrors,
  409: errorAnswer("Conflict", "Conflict with the resource's current state (e.g. another load balancer's claim, a resource in use)"),
  412: errorAnswer("PreconditionFailed", "PreconditionFailed: If-Match / If-None-Match did not hold"),
  415: errorAnswer("UnsupportedMediaType", "UnsupportedMediaType: the body must be application/json"),
};

/** The agent API's errors (/dataplane/v1): its own credentials, and agents' conflicts. */
export const agentErrors = {
  400: errorAnswer("AgentBadRequest", "Malformed or oversized request (every issue in details)"),
  401: armErrors[401],
  403: errorAnswer("AgentForbidden", "Forbidden: not an admin token, or the agent URL is outside LBPLANE_AGENT_NETWORKS"),
  409: errorAnswer("AgentConflict", "Conflict: the name is held by a live agent, or the agent is not live"),
  413: armErrors[413],
  415: armWriteErrors[415],
  503: errorAnswer("AgentServiceUnavailable", "Not ready to accept agents"),
};

/** armErrors plus 409, for deletes and operation results that can report a conflict. */
export const armErrorsWithConflict = { ...armErrors, 409: armWriteErrors[409], 412: armWriteErrors[412] };

// ---- parameters (Azure's names; examples chosen to work together on a fresh instance)

function apiVersionQuery(versions: readonly string[], more: Record<string, TSchema> = {}) {
  return Type.Object(
    {
      "api-version": StringEnum(versions, {
        default: versions[0],
        description: `Client API version (${versions.length === 1 ? versions[0] : `${versions[0]} is the newest`})`,
      }),
      ...more,
    },
    { additionalProperties: true },
  );
}

const paging = {
  $skipToken: Type.Optional(Type.String({ description: "Continuation token from a previous page's nextLink" })),
  $top: Type.Optional(Type.String({ pattern: "^[0-9]+$", description: "Page size (at most the server's page size)" })),
};

/** api-version of Microsoft.Network operations (load balancers, public IPs, operations). */
export const NetworkApiVersionQuery = apiVersionQuery(NETWORK_API_VERSIONS);
export const NetworkListQuery = apiVersionQuery(NETWORK_API_VERSIONS, paging);
/** api-version of Microsoft.Resources operations (resource groups): a family of its own in ARM. */
export const ResourcesApiVersionQuery = apiVersionQuery(RESOURCES_API_VERSIONS);
export const ResourcesListQuery = apiVersionQuery(RESOURCES_API_VERSIONS, paging);
export const ResourceGroupDeleteQuery = apiVersionQuery(RESOURCES_API_VERSIONS, {
  forceDeletionTypes: Type.Optional(Type.String({ description: "Accepted and ignored: lbplane deletes everything in the group" })),
});

export const SubscriptionParams = Type.Object({
  subscriptionId: Type.String({ description: "The subscription (a GUID)", examples: [EXAMPLE.subscriptionId] }),
});
export const ResourceGroupParams = Type.Object({
  ...SubscriptionParams.properties,
  resourceGroupName: Type.String({ description: "The resource group", examples: [EXAMPLE.resourceGroupName] }),
});

/** If-Match / If-None-Match, as ARM's RPC defines them for PUT, PATCH and DELETE. */
export const PreconditionHeaders = Type.Object({
  "If-Match": Type.Optional(Type.String({ description: "Write only if the resource's etag is one of these (or `*`: it exists)" })),
  "If-None-Match": Type.Optional(Type.String({ description: "`*`: create only, refused if the resource exists" })),
});

// ---- response headers

const header = (description: string, schema: TSchema = Type.String()) => ({ ...schema, description });
export const ETAG_HEADER = { ETag: header("The resource's etag (send it back in If-Match)") };
export const ASYNC_HEADERS = {
  "Azure-AsyncOperation": header("Operation status URL to poll until the location's agents acknowledged the write"),
  "Retry-After": header("Seconds to wait before polling", Type.Integer()),
};
export const LOCATION_HEADERS = {
  Location: header("Operation result URL: 202 while running, then the final status"),
  "Retry-After": ASYNC_HEADERS["Retry-After"],
};

/** A response schema with the headers it carries (documented in OpenAPI; set by the handler). */
export function withHeaders<T extends TSchema>(schema: T, headers: Record<string, TSchema>, description?: string): T {
  return { ...schema, headers, ...(description ? { "x-response-description": description } : {}) } as T;
}

/** A status-only answer (no body) and the headers it carries. */
export function noBody(description: string, headers?: Record<string, TSchema>) {
  return Type.Null({ description, ...(headers ? { headers } : {}) });
}
