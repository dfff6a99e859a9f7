// `npm run openapi`: writes openapi/openapi.json from the route schemas. The app is built with a
// stand-in database (buildApp touches the database only when a request arrives), so no PostgreSQL
// is needed. Keys are sorted so the committed document diffs cleanly; test/app/openapi.test.ts
// fails when it drifts from the code.

import { writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { tmpdir } from "node:os";
import { buildApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import type { Db } from "../src/store/prisma.js";
import { TokenStore } from "../src/store/tokens.js";

export const OPENAPI_FILE = join(dirname(fileURLToPath(import.meta.url)), "../openapi/openapi.json");

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The OpenAPI document as committed: sorted keys, two-space indent, trailing newline. */
export async function renderOpenApi(): Promise<string> {
  // A fixed environment: the document must not depend on the machine that generates it.
  const config = loadConfig({ LBPLANE_DATA_DIR: join(tmpdir(), "lbplane-openapi-unused") });
  const app = await buildApp({ config, db: {} as Db, tokens: new TokenStore() });
  try {
    await app.ready();
    return `${JSON.stringify(sortKeys(app.swagger()), null, 2)}\n`;
  } finally {
    await app.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const text = await renderOpenApi();
  mkdirSync(dirname(OPENAPI_FILE), { recursive: true });
  writeFileSync(OPENAPI_FILE, text);
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}
