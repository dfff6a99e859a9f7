// The pass that makes @fastify/swagger's output a typed contract (src/routes/schemas/openapi-document.ts),
// on small documents: titled schemas become components, a use that adds readOnly stays a reference,
// one title for two different schemas is refused, single-value anyOfs become one enum, named error
// answers become one shared response, and "-head" leaves explicit HEAD operationIds.

import { describe, expect, it } from "vitest";
import { finishOpenApiDocument, RESPONSE_NAME, servedToSwaggerUi } from "../../src/routes/schemas/openapi-document.js";

const sub = { title: "SubResource", type: "object", properties: { id: { type: "string" } } };
const json = (schema: unknown, extra: Record<string, unknown> = {}) => ({ description: "ok", ...extra, content: { "application/json": { schema } } });

function finish(paths: Record<string, unknown>) {
  return finishOpenApiDocument({ openapiObject: { openapi: "3.0.3", info: { title: "t", version: "1" }, paths } as never }) as Record<string, any>;
}

describe("finishing the OpenAPI document", () => {
  it("names titled schemas once and references them; a read-only use is allOf + readOnly", () => {
    const doc = finish({
      "/a": {
        get: {
          operationId: "A_Get",
          responses: {
            200: json({ title: "Thing", type: "object", properties: { ref: sub, backRef: { ...sub, readOnly: true }, kind: { anyOf: [{ type: "string", enum: ["X"] }, { type: "string", enum: ["Y"] }] } } }),
          },
        },
      },
    });
    expect(doc.paths["/a"].get.responses[200].content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Thing" });
    expect(doc.components.schemas.SubResource).toEqual({ type: "object", properties: { id: { type: "string" } } });
    expect(doc.components.schemas.Thing.properties).toEqual({
      ref: { $ref: "#/components/schemas/SubResource" },
      backRef: { allOf: [{ $ref: "#/components/schemas/SubResource" }], readOnly: true },
      kind: { type: "string", enum: ["X", "Y"] },
    });
    expect(doc.paths["/a"].get.responses[200].headers["x-ms-request-id"]).toEqual({ $ref: "#/components/headers/RequestId" });
  });

  it("refuses two different schemas under one title", () => {
    expect(() => finish({
      "/a": { get: { operationId: "A", responses: { 200: json({ ...sub }) } } },
      "/b": { get: { operationId: "B", responses: { 200: json({ ...sub, properties: { id: { type: "integer" } } }) } } },
    })).toThrow(/two different schemas are named SubResource/);
  });

  it("shares named error answers and keeps explicit HEAD operationIds", () => {
    const error = { title: "ErrorResponse", type: "object", properties: { code: { type: "string" } }, [RESPONSE_NAME]: "NotFound" };
    const doc = finish({
      "/a": { head: { operationId: "A_CheckExistence-head", responses: { 404: json(error, { description: "missing" }) } } },
      "/b": { get: { operationId: "B_Get", responses: { 404: json(error, { description: "missing" }) } } },
    });
    expect(doc.paths["/a"].head.operationId).toBe("A_CheckExistence");
    expect(doc.paths["/a"].head.responses[404]).toEqual({ $ref: "#/components/responses/NotFound" });
    expect(doc.paths["/b"].get.responses[404]).toEqual({ $ref: "#/components/responses/NotFound" });
    expect(doc.components.responses.NotFound.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ErrorResponse" });
    expect(JSON.stringify(doc)).not.toContain(RESPONSE_NAME);
  });

  it("gives Swagger UI the serving instance as its first server", () => {
    const served = servedToSwaggerUi({ servers: [{ url: "{scheme}://{host}" }, { url: "/" }] });
    expect(served.servers).toEqual([{ url: "/" }, { url: "{scheme}://{host}" }]);
  });
});
