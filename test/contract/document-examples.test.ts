// The document tells the truth on a fresh lbplane: every write's example executes as Swagger UI
// would send it (path parameters from their examples, api-version from its default, the body from
// the request example), then every read the examples make addressable answers; each answer is
// checked against the document's schema for its status. And nothing the views render is lost on
// the way out (response schemas serialize; a member missing from them would vanish silently).

import { Ajv } from "ajv";
import formats from "ajv-formats";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { renderLoadBalancer } from "../../src/routes/load-balancer.view.js";
import { listLoadBalancers } from "../../src/store/load-balancers.store.js";
import { AUTH, SUB, startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { OPENAPI_DOCUMENT } from "./contract-kit.js";

type Json = Record<string, any>;
interface Parameter { name: string; in: string; example?: unknown; schema?: Json }

const doc = JSON.parse(readFileSync(OPENAPI_DOCUMENT, "utf8")) as Json;
const operations = new Map<string, { method: string; path: string; op: Json }>();
for (const [path, item] of Object.entries(doc.paths as Json)) {
  for (const [method, op] of Object.entries(item as Json)) operations.set(op.operationId, { method, path, op });
}

const ajv = new Ajv({ strict: false, allErrors: true });
// ajv-formats is CommonJS: its plugin is the module itself and also its `default`.
(formats as unknown as { default: (a: Ajv) => void }).default(ajv);
ajv.addSchema({ ...doc, $id: "openapi" });

/** The request Swagger UI builds from the document alone for one operation. */
function requestFor(operationId: string) {
  const { method, path, op } = operations.get(operationId)!;
  let url = path;
  const query = new URLSearchParams();
  for (const p of (op.parameters ?? []) as Parameter[]) {
    if (p.in === "path") url = url.replace(`{${p.name}}`, encodeURIComponent(String(p.example)));
    if (p.in === "query" && p.schema?.default !== undefined) query.set(p.name, String(p.schema.default));
  }
  const payload = op.requestBody?.content?.["application/json"]?.example;
  return { method: method.toUpperCase() as "GET", url: `${url}?${query}`, payload, op };
}

/** What the document says about an answer: the operation's response, or the shared one it references. */
function schemaErrors(op: Json, status: number, body: unknown): string[] {
  const response = op.responses[String(status)];
  if (!response) return [`status ${status} is not documented`];
  const where = response.$ref
    ? `openapi${response.$ref}`
    : `openapi#/paths/${ptr(pathOf(op))}/${methodOf(op)}/responses/${status}`;
  const validate = ajv.compile({ $ref: `${where}/content/application~1json/schema` });
  return validate(body) ? [] : (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath} ${e.message}`);
}
const ptr = (s: string) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const pathOf = (op: Json) => [...operations.values()].find((o) => o.op === op)!.path;
const methodOf = (op: Json) => [...operations.values()].find((o) => o.op === op)!.method;

const WRITES = [
  ["ResourceGroups_CreateOrUpdate", 201],
  ["PublicIPAddresses_CreateOrUpdate", 201],
  ["LoadBalancers_CreateOrUpdate", 201],
  ["LoadBalancerBackendAddressPools_CreateOrUpdate", 200],
  ["InboundNatRules_CreateOrUpdate", 201],
  ["LoadBalancers_UpdateTags", 200],
  ["PublicIPAddresses_UpdateTags", 200],
  ["ResourceGroups_Update", 200],
] as const;

describe("the document's examples on a fresh lbplane", () => {
  let t: TestLbplane;
  beforeAll(async () => {
    t = await startTestLbplane({});
  });
  afterAll(async () => t?.close());

  it("every write's example executes as documented, and each answer matches its schema", async () => {
    for (const [operationId, status] of WRITES) {
      const { op, ...request } = requestFor(operationId);
      const res = await t.app.inject({ ...request, headers: AUTH });
      expect(`${operationId} ${res.statusCode} ${res.body}`).toBe(`${operationId} ${status} ${res.body}`);
      expect(schemaErrors(op, status, res.json())).toEqual([]);
    }
  });

  it("every read the examples address answers 200 in the documented shape", async () => {
    const reads = [...operations.entries()].filter(([, o]) => o.method === "get" && o.path.startsWith("/subscriptions/"))
      .filter(([, o]) => ((o.op.parameters ?? []) as Parameter[]).every((p) => p.in !== "path" || p.example !== undefined));
    expect(reads.length).toBeGreaterThan(15);
    for (const [operationId] of reads) {
      const { op, ...request } = requestFor(operationId);
      const res = await t.app.inject({ ...request, headers: AUTH });
      // The example load balancer is internal, and outbound rules need a public frontend: none exists.
      const expected = operationId === "LoadBalancerOutboundRules_Get" ? 404 : 200;
      expect(`${operationId} ${res.statusCode}`).toBe(`${operationId} ${expected}`);
      expect(schemaErrors(op, expected, res.json())).toEqual([]);
    }
  });

  it("a load balancer's answer carries everything the view renders (the response schema drops nothing)", async () => {
    const {
      items: [stored],
    } = await listLoadBalancers(t.db, { subscriptionId: SUB }, { limit: 100 });
    const { op: _op, ...request } = requestFor("LoadBalancers_Get");
    const res = await t.app.inject({ ...request, headers: AUTH });
    expect(res.json()).toEqual(JSON.parse(JSON.stringify(renderLoadBalancer(stored))));
    // The schema check above can fail: an undocumented member is refused.
    const { op } = requestFor("LoadBalancers_Get");
    expect(schemaErrors(op, 200, { ...(res.json() as Json), undocumented: true })).not.toEqual([]);
    // Back-references and the NAT rule the examples added are there.
    const ip2 = res.json().properties.frontendIPConfigurations.find((f: Json) => f.name === "ip2");
    expect(ip2.properties.inboundNatRules).toEqual([{ id: `${stored.id}/inboundNatRules/ssh-vm1` }]);
  });
});
