// Builds the real app on a fresh database for a test file, with a known admin token.

import { buildApp, type App, type AppDeps } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createPrisma, type Db } from "../../src/store/prisma.js";
import { TokenStore } from "../../src/store/tokens.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const SUB = "00000000-0000-0000-0000-000000000001";
export const NET = "api-version=2026-01-01";
export const RGV = "api-version=2025-04-01";
export const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };

export interface TestApp {
  app: App;
  db: Db;
  database: TestDatabase;
  close: () => Promise<void>;
}

export async function createTestApp(overrides: Partial<AppDeps> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> {
  const database = await createTestDatabase();
  const db = createPrisma(database.url, 5);
  const tokens = new TokenStore();
  tokens.add(ADMIN_TOKEN, { name: "admin" });
  const config = loadConfig({ LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused", ...env });
  const app = await buildApp({ config, db, tokens, ...overrides });
  await app.ready();
  return {
    app,
    db,
    database,
    close: async () => {
      // Peers that were killed mid-request must not hold the suite: drop their connections, then
      // end every database session (FORCE) before disconnecting, and never wait on it forever.
      app.server.closeAllConnections?.();
      await withDeadline(app.close(), 10_000);
      await database.drop();
      await withDeadline(db.$disconnect(), 5_000);
    },
  };
}

/** Waits for `work`, but at most `ms` (teardown must not hang the suite). */
function withDeadline(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(() => undefined),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}
