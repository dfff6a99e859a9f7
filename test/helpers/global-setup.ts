// One real PostgreSQL for the whole run: DATABASE_URL when given, else an embedded server in a
// temporary folder. Migrations run once into a template database; each test file clones it.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../src/store/embedded-postgres.js";
import { migrate } from "../../src/store/migrator.js";

export const TEMPLATE_DB = "lbplane_test_template";

declare module "vitest" {
  export interface ProvidedContext {
    adminDatabaseUrl: string;
  }
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * embedded-postgres registers async-exit-hook, whose "beforeExit" handler calls process.exit(0): that
 * would turn a failed run (vitest sets process.exitCode = 1 and lets the process end) into a success,
 * and CI would pass with failing tests. Runs first, remembers the failure, and restores it on exit.
 */
function keepFailingExitCode(): void {
  process.prependListener("beforeExit", () => {
    const code = process.exitCode;
    if (code) process.once("exit", () => void (process.exitCode = code));
  });
}

export default async function setup(project: TestProject) {
  keepFailingExitCode();
  let adminUrl = process.env.DATABASE_URL;
  let stop = async () => {};
  if (!adminUrl) {
    const dir = mkdtempSync(join(tmpdir(), "lbplane-test-pg-"));
    const embedded = await startEmbeddedPostgres(dir);
    adminUrl = embedded.url("postgres");
    stop = async () => {
      await embedded.stop();
      rmSync(dir, { recursive: true, force: true });
    };
  }
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
  await client.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await client.end();
  await migrate(withDatabase(adminUrl, TEMPLATE_DB));
  project.provide("adminDatabaseUrl", adminUrl);
  return stop;
}
