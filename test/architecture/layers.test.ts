// The seams of issue 9 as executable rules: the domain is pure, the store alone speaks SQL and
// knows nothing of HTTP, routes reach the database only through use cases and store functions,
// the agent data plane shares only the agent protocol with the control plane, and every ARM
// error is built by the catalogue. A failure lists each offending file and what it did.

import { describe, expect, it } from "vitest";
import { sourceFiles, under, type SourceFile, type SourceImport } from "./source.js";

/** "file → specifier" for every import of `files` that `forbidden` flags. */
function offending(files: SourceFile[], forbidden: (i: SourceImport, f: SourceFile) => boolean): string[] {
  return files.flatMap((f) => f.imports.filter((i) => forbidden(i, f)).map((i) => `${f.path} → ${i.specifier}`));
}

const isPackage = (i: SourceImport, ...names: string[]) =>
  names.some((n) => i.specifier === n || i.specifier.startsWith(`${n}/`));
const isDatabaseClient = (i: SourceImport) =>
  isPackage(i, "pg", "@prisma/client", "@prisma/adapter-pg", "prisma") || i.target.startsWith("src/store/generated/");

describe("layer rules", () => {
  const files = sourceFiles();

  it("src/domain imports nothing outside src/domain but typebox (and node:crypto for content hashes)", () => {
    const bad = offending(files.filter(under("src/domain")), (i) =>
      i.specifier.startsWith(".") ? !i.target.startsWith("src/domain/") : !isPackage(i, "typebox", "node:crypto"),
    );
    expect(bad).toEqual([]);
  });

  it("src/dataplane shares only the agent protocols (config, health; traffic metrics) with the control plane (and the model's types it names)", () => {
    const bad = offending(files.filter(under("src/dataplane")), (i) => {
      if (!i.specifier.startsWith(".") || i.target.startsWith("src/dataplane/")) return false;
      if (i.target === "src/domain/agent-protocol.ts" || i.target === "src/domain/metrics-protocol.ts") return false;
      return !(i.target === "src/domain/model.ts" && i.typeOnly);
    });
    expect(bad).toEqual([]);
  });

  it("src/routes reach the database only through use cases and store functions", () => {
    const bad = offending(files.filter(under("src/routes")), (i) =>
      isDatabaseClient(i) ||
      i.target === "src/store/sql-transaction.ts" ||
      // The Db type may name a dependency; the client factory and pools may not be used here.
      (i.target === "src/store/prisma.ts" && !i.typeOnly),
    );
    expect(bad).toEqual([]);
  });

  it("src/agents use store functions, never a database client", () => {
    const bad = offending(files.filter(under("src/agents")), isDatabaseClient);
    expect(bad).toEqual([]);
  });

  it("src/store knows nothing of routes, use cases, agents or HTTP errors", () => {
    const bad = offending(files.filter(under("src/store")), (i) =>
      ["src/routes/", "src/services/", "src/agents/"].some((d) => i.target.startsWith(d)) || i.target === "src/errors.ts",
    );
    expect(bad).toEqual([]);
  });

  it("src/services import no web framework", () => {
    const bad = offending(files.filter(under("src/services")), (i) => isPackage(i, "fastify") || i.specifier.startsWith("@fastify/"));
    expect(bad).toEqual([]);
  });

  it("no SQL string outside src/store", () => {
    const SQL = /\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/;
    const bad = files
      .filter((f) => !under("src/store")(f))
      .flatMap((f) => f.strings.filter((s) => SQL.test(s)).map((s) => `${f.path}: ${s.replace(/\s+/g, " ").trim().slice(0, 60)}`));
    expect(bad).toEqual([]);
  });

  it("no `new ArmError(` outside src/errors.ts: errors come from the catalogue", () => {
    const bad = files.filter((f) => f.path !== "src/errors.ts" && /\bnew ArmError\(/.test(f.text)).map((f) => f.path);
    expect(bad).toEqual([]);
  });
});
