// The OpenAPI document's frame (info, servers, declared tags, security) and the one pass that turns
// @fastify/swagger's per-route output into a contract generators can type:
//   - an error answer marked with a response name (arm.schema.ts) becomes one entry of
//     components.responses, referenced by every operation that answers it;
//   - every schema with a `title` becomes components.schemas[title] and is referenced by $ref
//     (ErrorResponse once instead of hundreds of inline copies); two different schemas under one
//     title are a bug and fail the build. A use that only adds readOnly or its own description
//     becomes `allOf: [$ref]` plus that annotation (OpenAPI 3.0 ignores siblings of $ref);
//   - an `anyOf` of single values becomes one plain `enum`;
//   - explicit HEAD routes keep their operationId (@fastify/swagger appends "-head");
//   - every response documents x-ms-request-id, which the onRequest hook sets on every answer, and
//     carries no copy of the request example.

import type { FastifyDynamicSwaggerOptions, SwaggerTransformObject } from "@fastify/swagger";
import { CHILD_COLLECTIONS } from "../../domain/collections.js";

type Json = Record<string, unknown>;

/** Schema keyword naming a shared response (components.responses); removed from the document. */
export const RESPONSE_NAME = "x-lbplane-response";

const TAGS = [
  { name: "ResourceGroups", description: "Microsoft.Resources resource groups: the containers of load balancers and public IPs" },
  { name: "PublicIPAddresses", description: "Microsoft.Network public IP addresses: the VIPs of public load balancers" },
  {
    name: "LoadBalancers",
    description: "Microsoft.Network load balancers: validated against the uniqueness law, compiled and pushed to the location's agents; plus rule health and the effective mapping table",
  },
  ...CHILD_COLLECTIONS.map((c) => ({
    name: c.sdkGroup,
    description: `The ${c.singular}s of a load balancer (${c.writable ? "read, and written on their own through the parent" : "read-only here; written with the load balancer"})`,
  })),
  { name: "Operations", description: "Asynchronous operation status (Azure-AsyncOperation, Location), liveness, readiness and metrics" },
  { name: "Metrics", description: "Azure Monitor's metrics API (Microsoft.Insights) on load balancers: traffic, data path and probe availability, SNAT" },
  { name: "Agents", description: "lbplane's data-plane agent API (/dataplane/v1): registration, heartbeats, health reports" },
];

/** The document's frame, for @fastify/swagger's `openapi` option. */
export function openApiFrame(version: string): FastifyDynamicSwaggerOptions["openapi"] {
  return {
    openapi: "3.0.3",
    info: {
      title: "lbplane",
      description:
        "Control plane for software layer-4 load balancers speaking the Azure Load Balancer resource model (Microsoft.Network " +
        "load balancers and public IP addresses, Microsoft.Resources resource groups), plus lbplane's data-plane agent API. " +
        "Authenticate with a bearer token (the admin token lbplane prints on first start, or a tenant token).",
      version,
      license: { name: "MIT", url: "https://opensource.org/licenses/MIT" },
      contact: { name: "lbplane", url: "https://github.com/lbplane/lbplane" },
    },
    // Absolute first: generated clients take the first server as their default base URL, and a
    // relative one fails outside a browser. Swagger UI gets "/" first (servedToSwaggerUi).
    servers: [
      {
        url: "{scheme}://{host}",
        description: "An lbplane (npm start listens on http://127.0.0.1:8080)",
        variables: { scheme: { enum: ["http", "https"], default: "http" }, host: { default: "127.0.0.1:8080" } },
      },
      { url: RELATIVE_SERVER, description: "The lbplane serving this document" },
    ],
    tags: TAGS,
    components: {
      securitySchemes: { bearer: { type: "http" as const, scheme: "bearer", description: "lbplane token (admin, tenant or agent credential)" } },
      headers: {
        RequestId: { description: "The request's id (also in lbplane's log)", schema: { type: "string" } },
      },
    },
    security: [{ bearer: [] }],
  };
}

const RELATIVE_SERVER = "/";

/**
 * The document as Swagger UI receives it (/docs/json): the serving lbplane first, so "Try it out"
 * calls the instance the page came from, whatever its address.
 */
export function servedToSwaggerUi(document: Record<string, unknown>): Record<string, unknown> {
  const servers = (document.servers ?? []) as Array<{ url: string }>;
  return { ...document, servers: [...servers.filter((s) => s.url === RELATIVE_SERVER), ...servers.filter((s) => s.url !== RELATIVE_SERVER)] };
}

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options"];
/** Annotations a use may add to a named schema without making it another schema. */
const USE_SITE = ["readOnly", "description"] as const;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const canonical = (v: unknown): string => JSON.stringify(v, (_k, x) => (isObject(x) ? Object.fromEntries(Object.entries(x).sort()) : x));

function visit(node: unknown, fn: (n: Json) => Json): unknown {
  if (Array.isArray(node)) return node.map((n) => visit(n, fn));
  if (!isObject(node)) return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = visit(v, fn);
  return fn(out);
}

/** anyOf of single values (const or one-value enum) → one enum. */
function collapseEnums(n: Json): Json {
  const members = n.anyOf;
  if (!Array.isArray(members) || members.length === 0) return n;
  const values = members.map((m: Json) => ("const" in m ? [m.const] : Array.isArray(m.enum) && m.enum.length === 1 ? m.enum : undefined));
  if (values.some((v) => v === undefined)) return n;
  const { anyOf: _, ...rest } = n;
  const type = (members[0] as Json).type;
  return { ...(type ? { type } : {}), ...rest, enum: values.flat() };
}

function core(schema: Json): Json {
  const out = { ...schema };
  for (const k of [...USE_SITE, "title", "example"]) delete out[k];
  return out;
}

/** Collects every titled schema (innermost first) and checks one title means one schema. */
function collectComponents(paths: unknown): Map<string, Json> {
  const uses = new Map<string, Json[]>();
  visit(paths, (n) => {
    if (typeof n.title === "string") uses.set(n.title, [...(uses.get(n.title) ?? []), n]);
    return n;
  });
  const components = new Map<string, Json>();
  for (const [name, all] of uses) {
    const shape = canonical(refsOnly(core(all[0])));
    const other = all.find((u) => canonical(refsOnly(core(u))) !== shape);
    if (other) throw new Error(`OpenAPI: two different schemas are named ${name}:\n${canonical(core(all[0]))}\n${canonical(core(other))}`);
    const component = core(all[0]);
    for (const key of USE_SITE) {
      const first = all[0][key];
      if (first !== undefined && all.every((u) => canonical(u[key]) === canonical(first))) component[key] = first;
    }
    const example = all.find((u) => u.example !== undefined)?.example;
    if (example !== undefined) component.example = example;
    components.set(name, component);
  }
  return components;
}

/** A schema with its titled members replaced by $refs (what the component will hold). */
function refsOnly(schema: Json): Json {
  return visit(schema, (n) => (typeof n.title === "string" ? { $ref: `#/components/schemas/${n.title}` } : n)) as Json;
}

function referenceTo(name: string, use: Json, component: Json): Json {
  const $ref = `#/components/schemas/${name}`;
  const extra: Json = {};
  for (const key of USE_SITE) if (use[key] !== undefined && canonical(use[key]) !== canonical(component[key])) extra[key] = use[key];
  return Object.keys(extra).length ? { allOf: [{ $ref }], ...extra } : { $ref };
}

function hoistComponents(doc: Json): void {
  const box = (doc.components ??= {}) as Json;
  const roots = visit({ paths: doc.paths, responses: box.responses ?? {} }, collapseEnums);
  const components = collectComponents(roots);
  const replace = (n: Json): Json => (typeof n.title === "string" ? referenceTo(n.title, n, components.get(n.title)!) : n);
  const replaced = visit(roots, replace) as Json;
  doc.paths = replaced.paths;
  box.responses = replaced.responses;
  const schemas: Json = {};
  for (const [name, component] of components) schemas[name] = visit(component, replace);
  box.schemas = { ...(box.schemas as Json | undefined), ...schemas };
}

/** Responses whose schema carries RESPONSE_NAME → components.responses[name], referenced by $ref. */
function shareNamedResponses(doc: Json): void {
  const shared: Json = {};
  eachOperation(doc, (op) => {
    const responses = (op.responses ?? {}) as Json;
    for (const [status, response] of Object.entries(responses)) {
      const r = response as Json;
      const media = Object.values((r.content ?? {}) as Json) as Json[];
      const name = (media[0]?.schema as Json | undefined)?.[RESPONSE_NAME];
      if (typeof name !== "string") continue;
      // Copies, not in place: one schema object may serve several responses.
      for (const m of media) {
        const { [RESPONSE_NAME]: _, ...schema } = m.schema as Json;
        m.schema = schema;
      }
      if (shared[name] !== undefined && canonical(shared[name]) !== canonical(r)) throw new Error(`OpenAPI: two different responses are named ${name}`);
      shared[name] = r;
      responses[status] = { $ref: `#/components/responses/${name}` };
    }
  });
  ((doc.components ??= {}) as Json).responses = shared;
}

/** What every answer carries: x-ms-request-id; and no copy of the request example. */
function finishResponse(response: Json): void {
  if (response.$ref) return;
  response.headers = { ...(response.headers as Json | undefined), "x-ms-request-id": { $ref: "#/components/headers/RequestId" } };
  // A request example shown as every response's example would mislead (and repeat): the
  // component carries it once.
  for (const media of Object.values((response.content ?? {}) as Json)) delete (media as Json).example;
}

function eachOperation(doc: Json, fn: (op: Json) => void): void {
  for (const item of Object.values(doc.paths as Json)) {
    for (const [method, op] of Object.entries(item as Json)) if (METHODS.includes(method)) fn(op as Json);
  }
}

/** @fastify/swagger's transformObject: the document as committed (before key sorting). */
export const finishOpenApiDocument: SwaggerTransformObject = (input) => {
  if (!("openapiObject" in input)) throw new Error("lbplane documents itself as OpenAPI 3, not Swagger 2");
  const doc = structuredClone(input.openapiObject) as Json;
  shareNamedResponses(doc);
  hoistComponents(doc);
  eachOperation(doc, (op) => {
    if (typeof op.operationId === "string") op.operationId = op.operationId.replace(/-head$/, "");
    for (const response of Object.values((op.responses ?? {}) as Json)) finishResponse(response as Json);
  });
  for (const response of Object.values(((doc.components as Json).responses ?? {}) as Json)) finishResponse(response as Json);
  return doc;
};
