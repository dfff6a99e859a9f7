// `npm start`: configuration, TLS files, database (embedded PostgreSQL unless DATABASE_URL),
// migrations, then lbplane as composeLbplane wires it (API, logger, timeouts, control loops);
// graceful shutdown on SIGINT/SIGTERM.

import closeWithGrace from "close-with-grace";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { composeLbplane, type Lbplane } from "./lbplane.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./store/embedded-postgres.js";
import { migrate } from "./store/migrator.js";
import { loadTokens } from "./store/tokens.js";

/** Whole shutdown budget; close-with-grace exits with an error after it. */
const SHUTDOWN_GRACE_MS = 20_000;

function fail(message: string): never {
  process.stderr.write(`lbplane: ${message}\n`);
  process.exit(1);
}

async function openDatabase(config: Config): Promise<{ url: string; embedded?: EmbeddedDatabase }> {
  if (config.databaseUrl) return { url: config.databaseUrl };
  const embedded = await startEmbeddedPostgres(join(config.dataDir, "postgres"));
  await embedded.createDatabase("lbplane");
  return { url: embedded.url("lbplane"), embedded };
}

function tlsOptions(): { key: Buffer; cert: Buffer } | undefined {
  const cert = process.env.LBPLANE_TLS_CERT_FILE;
  const key = process.env.LBPLANE_TLS_KEY_FILE;
  if (!cert && !key) return undefined;
  if (!cert || !key) fail("LBPLANE_TLS_CERT_FILE and LBPLANE_TLS_KEY_FILE must be set together");
  return { cert: readFileSync(cert), key: readFileSync(key) };
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  const https = tlsOptions();
  let tokens: ReturnType<typeof loadTokens>;
  try {
    tokens = loadTokens(config.dataDir, config.adminToken);
  } catch (err) {
    fail((err as Error).message);
  }
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase(config);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  let lbplane: Lbplane;
  let address: string;
  try {
    await migrate(database.url);
    lbplane = await composeLbplane({ config, databaseUrl: database.url, tokens: tokens.store, https });
    address = await lbplane.app.listen({ host: config.host, port: config.port });
  } catch (err) {
    // A start that fails after the database is up must not leave the embedded PostgreSQL running.
    await database.embedded?.stop();
    fail(err instanceof Error ? (err.stack ?? err.message) : String(err));
  }
  const { app } = lbplane;
  const log = app.log;
  database.embedded?.setLog(log.child({ component: "postgres" }));
  log.info(`lbplane API on ${address} (Swagger UI ${address}/docs, OpenAPI ${address}/docs/json)`);
  log.info(
    database.embedded
      ? `database: embedded PostgreSQL in ${join(config.dataDir, "postgres")}`
      : "database: DATABASE_URL",
  );
  if (tokens.created) {
    // Printed once, on the start that created it; it stays in the data folder's tokens.json.
    process.stdout.write(
      `\nAdmin token created and stored in ${tokens.created.file}:\n\n  ${tokens.created.token}\n\n` +
        `Use it as: curl -H "Authorization: Bearer ${tokens.created.token}" ${address}/subscriptions/...\n\n`,
    );
  } else {
    log.info(`authentication: Bearer tokens from ${config.adminToken ? "LBPLANE_TOKEN and " : ""}${tokens.file}`);
  }
  if (!config.joinToken) log.warn("LBPLANE_JOIN_TOKEN is not set: agents cannot register");

  // Every way out (SIGTERM, SIGINT, an uncaught error, a rejected promise) closes lbplane, then stops
  // the embedded PostgreSQL; the database stop runs even when closing lbplane failed or took too long.
  closeWithGrace({ delay: SHUTDOWN_GRACE_MS }, async ({ signal, err }) => {
    if (err) log.error({ err }, "shutting down after an error");
    else log.info(`${signal}: shutting down`);
    try {
      await lbplane.close({ graceMs: SHUTDOWN_GRACE_MS / 2 });
    } finally {
      await database.embedded?.stop();
    }
  });
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
