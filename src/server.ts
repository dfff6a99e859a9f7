// `npm start`: configuration, TLS files, database (embedded PostgreSQL unless DATABASE_URL),
// migrations, then lbplane as composeLbplane wires it (API, logger, timeouts, control loops);
// graceful shutdown on SIGINT/SIGTERM.

import closeWithGrace from "close-with-grace";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadConfig, type Config } from "./config.js";
import { composeLbplane } from "./lbplane.js";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./store/embedded-postgres.js";
import { migrate } from "./store/migrator.js";
import { loadTokens } from "./store/tokens.js";

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
  const database = await openDatabase(config);
  await migrate(database.url);
  const lbplane = await composeLbplane({ config, databaseUrl: database.url, tokens: tokens.store, https });
  const { app } = lbplane;
  const address = await app.listen({ host: config.host, port: config.port });

  const log = app.log;
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

  closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
    if (err) log.error({ err }, "shutting down after an error");
    else log.info(`${signal}: shutting down`);
    await lbplane.close();
    await database.embedded?.stop();
  });
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
