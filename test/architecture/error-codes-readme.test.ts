// The README's error-code table is the user's map of every code lbplane answers with: it must name
// only codes that exist (the ARM catalogue in src/errors.ts or the domain's Codes) and all of them.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { catalogueCodes } from "../../src/errors.js";
import { Codes } from "../../src/domain/issues.js";
import { ROOT } from "./source.js";

/** The code in the first column of each row of the `| Code | Whose | When |` table. */
function readmeCodes(): string[] {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const start = lines.findIndex((l) => /^\|\s*Code\s*\|\s*Whose\s*\|\s*When\s*\|/.test(l));
  if (start < 0) throw new Error("README.md has no | Code | Whose | When | table");
  const codes: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    // Every code in the first cell (a row may group related codes); "…" and notes are not codes.
    for (const m of (line.split("|")[1] ?? "").matchAll(/`([A-Z][A-Za-z0-9]+)`/g)) codes.push(m[1]!);
  }
  return codes;
}

describe("README error-code table", () => {
  const known = new Set<string>([...catalogueCodes(), ...Object.values(Codes)]);
  const documented = new Set(readmeCodes());

  it("names only codes lbplane can answer with", () => {
    expect([...documented].filter((c) => !known.has(c)).sort()).toEqual([]);
  });

  it("names every code of the catalogue and of the domain", () => {
    expect([...known].filter((c) => !documented.has(c)).sort()).toEqual([]);
  });
});
