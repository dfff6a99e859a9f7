// Builds the real app on a fresh database for a test file, with a known admin token — through
// composeLbplane, the same wiring the server uses (control loops off unless a test asks for them).

import type { App, AppDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { composeLbplane, type Lbplane } from "../../src/lbplane.js";
import type { Db } from "../../src/store/prisma.js";
import { TokenStore } from "../../src/store/tokens.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export { SUB } from "../kit/bodies.js";
export const NET = "api-version=2026-01-01";
export const RGV = "api-version=2025-04-01";
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface TestApp {
  app: App;
  db: Db;
  database: TestDatabase;
  close: () => Promise<void>;
}

export interface TestLbplane extends TestApp {
  lbplane: Lbplane;
}

/** lbplane on a fresh template database, silent, five connections per pool; loops on request. */
export async function startTestLbplane(opts: {
  overrides?: Partial<AppDeps>;
  env?: NodeJS.ProcessEnv;
  /** true = the control loops with their defaults; an object sets their push slots and locks. */
  controlLoops?: boolean | { concurrency?: number; maxLocks?: number };
}): Promise<TestLbplane> {
  const database = await createTestDatabase();
  const tokens = new TokenStore();
  tokens.add(ADMIN_TOKEN, { name: "admin" });
  const config = loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused", ...opts.env });
  const lbplane = await composeLbplane({
    config,
    databaseUrl: database.url,
    tokens,
    logger: false,
    poolSize: 5,
    controlLoops: opts.controlLoops ? (opts.controlLoops === true ? {} : opts.controlLoops) : false,
    appOverrides: opts.overrides,
  });
  await lbplane.app.ready();
  return {
    lbplane,
    app: lbplane.app,
    db: lbplane.db,
    database,
    close: async () => {
      // Peers that were killed mid-request must not hold the suite: drop their connections, then
      // end every database session (FORCE) before disconnecting, and never wait on it forever.
      lbplane.app.server.closeAllConnections?.();
      await lbplane.close({ beforeDisconnect: () => database.drop(), graceMs: 10_000 });
    },
  };
}

export async function createTestApp(overrides: Partial<AppDeps> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  return startTestLbplane({ overrides, env });
}
