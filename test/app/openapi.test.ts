// The committed openapi/openapi.json is what the code produces (regenerate with `npm run openapi`),
// and every documented operation is complete: operationId, tags, summary, and its error responses.

import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { OPENAPI_FILE, renderOpenApi } from "../../scripts/write-openapi.js";

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  responses?: Record<string, unknown>;
}

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options"];
// Liveness and the metrics scrape answer 200 or nothing at all: no error response to document.
const NO_ERROR_RESPONSES = new Set(["GET /healthz", "GET /metrics"]);

describe("OpenAPI document", () => {
  let generated: string;
  let operations: Array<[string, Operation]>;
  beforeAll(async () => {
    generated = await renderOpenApi();
    const doc = JSON.parse(generated) as { paths: Record<string, Record<string, Operation>> };
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
});
