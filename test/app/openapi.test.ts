// The committed openapi/openapi.json is what the code produces (regenerate with `npm run openapi`),
// and it is a contract a generator can type: every documented operation is complete (operationId,
// tags, summary, its error responses), resources are named schemas, the error body is one $ref,
// enums are plain, api-version is an enum per family, parameters carry Azure's names.

import { MONITOR_API_VERSIONS } from "../../src/routes/monitor-metrics.routes.js";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { OPENAPI_FILE, renderOpenApi } from "../../scripts/write-openapi.js";
import { NETWORK_API_VERSIONS, RESOURCES_API_VERSIONS } from "../../src/routes/api-versions.js";

interface Parameter {
  name: string;
  in: string;
  schema?: { enum?: string[]; default?: string };
}
interface Response {
  $ref?: string;
  content?: Record<string, { schema?: unknown }>;
  headers?: Record<string, unknown>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  parameters?: Parameter[];
  requestBody?: unknown;
  responses?: Record<string, Response>;
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, Response> };
  servers?: unknown[];
  tags?: Array<{ name: string; description?: string }>;
}

/** Every JSON object in `value`, depth first. */
function objectsIn(value: unknown): Array<Record<string, unknown>> {
  if (Array.isArray(value)) return value.flatMap(objectsIn);
  if (value && typeof value === "object") return [value as Record<string, unknown>, ...Object.values(value).flatMap(objectsIn)];
  return [];
}

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options"];
// Liveness and the metrics scrape answer 200 or nothing at all: no error response to document.
const NO_ERROR_RESPONSES = new Set(["GET /healthz", "GET /metrics"]);

describe("OpenAPI document", () => {
  let generated: string;
  let doc: Document;
  let operations: Array<[string, Operation]>;
  beforeAll(async () => {
    generated = await renderOpenApi();
    doc = JSON.parse(generated) as Document;
    operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => METHODS.includes(method))
        .map(([method, op]) => [`${method.toUpperCase()} ${path}`, op] as [string, Operation]),
    );
  });

  it("matches the committed openapi/openapi.json (run `npm run openapi` after changing routes)", () => {
    const committed = readFileSync(OPENAPI_FILE, "utf8");
    expect(committed === generated, "openapi/openapi.json is stale: run `npm run openapi` and commit it").toBe(true);
  });

  it("documents the resource group and public IP routes", () => {
    const ids = operations.map(([, op]) => op.operationId);
    for (const id of [
      "ResourceGroups_CreateOrUpdate", "ResourceGroups_Get", "ResourceGroups_CheckExistence", "ResourceGroups_Update",
      "ResourceGroups_Delete", "ResourceGroups_List", "ResourceGroupOperationResults_Get",
      "PublicIPAddresses_CreateOrUpdate", "PublicIPAddresses_Get", "PublicIPAddresses_Delete", "PublicIPAddresses_UpdateTags",
      "PublicIPAddresses_List", "PublicIPAddresses_ListAll",
    ]) {
      expect(ids).toContain(id);
    }
  });

  it("every operation has a unique operationId, tags and a summary", () => {
    const missing = operations.filter(([, op]) => !op.operationId || !op.tags?.length || !op.summary).map(([k]) => k);
    expect(missing).toEqual([]);
    const ids = operations.map(([, op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("every operation documents its error responses; ARM operations document ARM's", () => {
    const lacking = operations
      .filter(([key]) => !NO_ERROR_RESPONSES.has(key))
      .filter(([key, op]) => {
        const codes = Object.keys(op.responses ?? {});
        if (key.includes(" /subscriptions/")) return !["400", "401", "403", "404"].every((c) => codes.includes(c));
        return !codes.some((c) => Number(c) >= 400);
      })
      .map(([key]) => key);
    expect(lacking).toEqual([]);
  });

  /** A response as written, or the shared one it references. */
  const resolve = (r: Response): Response => (r.$ref ? doc.components.responses[r.$ref.replace("#/components/responses/", "")] : r);

  it("names a schema for every resource and sub-resource, and the ARM error body once", () => {
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining([
      "LoadBalancer", "LoadBalancerPropertiesFormat", "FrontendIPConfiguration", "BackendAddressPool", "LoadBalancerBackendAddress",
      "LoadBalancingRule", "LoadBalancingRulePropertiesFormat", "Probe", "ProbePropertiesFormat", "InboundNatRule", "OutboundRule",
      "LoadBalancerListResult", "LoadBalancerLoadBalancingRuleListResult", "PublicIPAddress", "ResourceGroup", "SubResource",
      "ErrorResponse", "EffectiveMapping", "OperationStatus", "AgentRegisterRequest", "HealthReport",
    ]));
    const inlineErrors = operations.flatMap(([key, op]) =>
      Object.entries(op.responses ?? {})
        .filter(([code]) => Number(code) >= 400 && !(key === "GET /readyz" && code === "503"))
        .filter(([, r]) => !r.$ref || JSON.stringify(resolve(r).content?.["application/json"]?.schema) !== '{"$ref":"#/components/schemas/ErrorResponse"}')
        .map(([code]) => `${key} ${code}`));
    expect(inlineErrors).toEqual([]);
  });

  it("has plain enums, typed read-only members, no open 'any key' objects in resources", () => {
    const everything = objectsIn(doc);
    expect(everything.filter((o) => "anyOf" in o || "const" in o || "patternProperties" in o)).toEqual([]);
    expect(everything.filter((o) => o.readOnly === true && !("type" in o) && !("$ref" in o) && !("allOf" in o))).toEqual([]);
    const resource = JSON.stringify(doc.components.schemas.LoadBalancingRulePropertiesFormat);
    expect(resource).toContain('"protocol":{"$ref":"#/components/schemas/TransportProtocol"}');
  });

  it("api-version is an enum of the family's versions with the newest as default", () => {
    const wrong = operations.filter(([path]) => path.includes(" /subscriptions/")).flatMap(([key, op]) => {
      const versions = /Microsoft\.Insights/.test(key) ? MONITOR_API_VERSIONS : /Microsoft\.Network/.test(key) ? NETWORK_API_VERSIONS : RESOURCES_API_VERSIONS;
      const p = op.parameters?.find((x) => x.name === "api-version");
      return p?.in === "query" && JSON.stringify(p.schema?.enum) === JSON.stringify(versions) && p.schema?.default === versions[0] ? [] : [key];
    });
    expect(wrong).toEqual([]);
  });

  it("uses Azure's parameter names and identifier-safe operationIds", () => {
    const params = new Set(operations.flatMap(([, op]) => (op.parameters ?? []).filter((p) => p.in === "path").map((p) => p.name)));
    expect([...params]).not.toContain("childName");
    for (const name of ["loadBalancingRuleName", "backendAddressPoolName", "probeName", "frontendIPConfigurationName", "inboundNatRuleName", "outboundRuleName"]) {
      expect(params).toContain(name);
    }
    expect(operations.map(([, op]) => op.operationId).filter((id) => !/^[A-Za-z][A-Za-z0-9_]*$/.test(id ?? ""))).toEqual([]);
  });

  it("documents servers, every tag, If-Match on conditional writes, 415 on bodies and the response headers", () => {
    expect(doc.servers?.length).toBeGreaterThan(0);
    const declared = new Set((doc.tags ?? []).filter((t) => t.description).map((t) => t.name));
    expect(operations.flatMap(([, op]) => op.tags ?? []).filter((t) => !declared.has(t))).toEqual([]);
    const missing: string[] = [];
    for (const [key, op] of operations) {
      const responses = op.responses ?? {};
      if (op.requestBody && !responses["415"]) missing.push(`${key}: 415`);
      if (op.parameters?.some((p) => p.name === "If-Match") && !responses["412"]) missing.push(`${key}: 412`);
      for (const [code, r] of Object.entries(responses)) if (!resolve(r).headers?.["x-ms-request-id"]) missing.push(`${key} ${code}: x-ms-request-id`);
    }
    expect(missing).toEqual([]);
    const lbPut = doc.paths["/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/loadBalancers/{loadBalancerName}"].put;
    expect(lbPut.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(["If-Match", "If-None-Match"]));
    expect(Object.keys(lbPut.responses?.["201"].headers ?? {})).toEqual(expect.arrayContaining(["ETag", "Azure-AsyncOperation", "Retry-After"]));
  });
});
