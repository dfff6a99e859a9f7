// Reads src/**/*.ts as text for the architecture tests: each file's imports (resolved to
// repo-relative paths for relative specifiers, type-only or not) and its string literals. Plain
// TypeScript and a tokenizer that knows comments and strings — enough for rules about seams.

import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "../..");

export interface SourceImport {
  /** As written, e.g. "pg" or "../store/prisma.js". */
  specifier: string;
  /** Repo-relative .ts path for a relative specifier ("src/store/prisma.ts"); the specifier otherwise. */
  target: string;
  typeOnly: boolean;
}

export interface SourceFile {
  /** Repo-relative, forward slashes: "src/routes/agents.routes.ts". */
  path: string;
  text: string;
  imports: SourceImport[];
  /** Contents of string literals and template literals (comments are not strings). */
  strings: string[];
}

function listTs(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const p = posix.join(dir, e.name);
    if (e.isDirectory()) return p === "src/store/generated" ? [] : listTs(p);
    return e.name.endsWith(".ts") ? [p] : [];
  });
}

// Earliest match wins, so a "//" inside a string is a string and a quote inside a comment is a comment.
const TOKENS = /\/\/[^\n]*|\/\*[\s\S]*?\*\/|`(?:\\[\s\S]|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g;
const IMPORTS = /^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;

function resolveTarget(file: string, specifier: string): string {
  if (!specifier.startsWith(".")) return specifier;
  return posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, ".ts");
}

function parse(path: string): SourceFile {
  const text = readFileSync(join(ROOT, path), "utf8");
  const strings: string[] = [];
  for (const m of text.matchAll(TOKENS)) if (!m[0].startsWith("/")) strings.push(m[0].slice(1, -1));
  const imports: SourceImport[] = [];
  for (const m of text.matchAll(IMPORTS)) {
    const specifier = m[4] ?? m[5] ?? m[6]!;
    // `import { type A, type B } from` is type-only as well.
    const names = m[3] ?? "";
    const allTypes = /^\{[^}]*\}$/.test(names.trim()) && names.replace(/[{}\s]/g, "").split(",").filter(Boolean).every((n) => n.startsWith("type"));
    imports.push({ specifier, target: resolveTarget(path, specifier), typeOnly: Boolean(m[2]) || (m[1] === "import" && allTypes) });
  }
  return { path, text, imports, strings };
}

let cache: SourceFile[] | undefined;

/** Every .ts file under src (the generated Prisma client excluded). */
export function sourceFiles(): SourceFile[] {
  cache ??= listTs("src").map(parse);
  return cache;
}

export const under = (dir: string) => (f: { path: string }) => f.path.startsWith(`${dir}/`);
