// The committed OpenAPI document passes Redocly (recommended rules, redocly.yaml) and Spectral
// (spectral:oas, .spectral.yaml) with zero errors and zero warnings; `npm run openapi:lint` runs
// the same two commands. A rule may be switched off only in those configs, with its reason.

import { describe, expect, it } from "vitest";
import { OPENAPI_DOCUMENT, runTool } from "./contract-kit.js";

interface SpectralResult {
  code: string;
  message: string;
  severity: number;
  path: string[];
}

describe("openapi/openapi.json lint", () => {
  it("Redocly (recommended): no errors, no warnings", { timeout: 300_000 }, async () => {
    const r = await runTool("redocly", ["lint", OPENAPI_DOCUMENT, "--format=json"]);
    const report = JSON.parse(r.stdout.slice(r.stdout.indexOf("{"))) as { totals: { errors: number; warnings: number }; problems: Array<{ ruleId: string; message: string }> };
    const problems = report.problems.map((p) => `${p.ruleId}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it("Spectral (spectral:oas): no errors, no warnings", { timeout: 300_000 }, async () => {
    const r = await runTool("spectral", ["lint", OPENAPI_DOCUMENT, "--format=json", "--quiet", "--fail-severity=hint"]);
    const results = JSON.parse(r.stdout.trim() || "[]") as SpectralResult[];
    expect(results.filter((x) => x.severity <= 1).map((x) => `${x.code} at ${x.path.join(".")}: ${x.message}`)).toEqual([]);
    expect(r.code, r.stderr).toBe(0);
  });
});
