// Backup and restore of the embedded PostgreSQL, with nothing but the binaries the embedded package
// ships (it has no pg_dump): an online physical backup, the way pg_basebackup makes one. A temporary
// replication slot keeps every WAL segment from the backup's start; pg_backup_start/pg_backup_stop
// bracket a tar of the data folder (files may change while they are copied: the WAL replayed from
// the backup's checkpoint repairs that); the WAL and the backup_label PostgreSQL returns are
// appended. A restored folder starts like a crash: PostgreSQL replays to the backup's end and is
// consistent as of that moment (every write committed before pg_backup_stop is there, none after).
// The archive also holds cluster.json (the password the cluster was initialised with).

import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { startEmbeddedPostgres, type EmbeddedDatabase } from "./embedded-postgres.js";
import { isAlive, readPostmasterLock } from "./postmaster.js";

const run = promisify(execFile);

/** tar exits 1 when a file changed while it was read: expected (and repaired by WAL replay) in an online backup. */
async function tar(args: string[]): Promise<void> {
  try {
    await run("tar", args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    if ((err as { code?: number }).code !== 1) throw err;
  }
}

/** Takes an online backup of the embedded cluster under `postgresDir` into `file` (a tar archive). Returns its size. */
export async function backupEmbedded(postgresDir: string, file: string): Promise<void> {
  const dataDir = join(postgresDir, "data");
  if (!existsSync(join(dataDir, "PG_VERSION"))) throw new Error(`no embedded PostgreSQL in ${postgresDir}`);
  let lock = readPostmasterLock(dataDir);
  // lbplane stopped: start the cluster just for the backup (not supervised, stopped afterwards).
  let temporary: EmbeddedDatabase | undefined;
  if (!lock || !isAlive(lock.pid)) {
    temporary = await startEmbeddedPostgres(postgresDir, { supervise: false });
    lock = readPostmasterLock(dataDir);
  }
  const { password } = JSON.parse(readFileSync(join(postgresDir, "cluster.json"), "utf8")) as { password: string };
  const client = new pg.Client({ host: "127.0.0.1", port: lock?.port, user: "lbplane", password, database: "postgres" });
  const partial = `${file}.partial`;
  const staging = mkdtempSync(join(tmpdir(), "lbplane-backup-"));
  try {
    await client.connect();
    // Temporary (dropped with the session) and reserving WAL at once: no segment the restore needs is recycled meanwhile.
    await client.query("SELECT pg_create_physical_replication_slot($1, true, true)", [`lbplane_backup_${process.pid}`]);
    await client.query("SELECT pg_backup_start($1, true)", [`lbplane backup ${new Date().toISOString()}`]);
    await tar([
      "-cf", partial, "-C", postgresDir,
      "--exclude=data/pg_wal/*", "--exclude=data/postmaster.pid", "--exclude=data/postmaster.opts",
      "--exclude=data/pg_replslot/*", "--warning=no-file-changed", "--warning=no-file-removed",
      "cluster.json", "data",
    ]);
    // pg_backup_stop switches to a new WAL segment, so the backup's end is in a finished one.
    const { rows } = await client.query<{ labelfile: string }>("SELECT labelfile FROM pg_backup_stop(false)");
    mkdirSync(join(staging, "data"));
    writeFileSync(join(staging, "data", "backup_label"), rows[0].labelfile, { mode: 0o600 });
    await tar(["-rf", partial, "-C", postgresDir, "--warning=no-file-changed", "--warning=no-file-removed", "data/pg_wal"]);
    await tar(["-rf", partial, "-C", staging, "data/backup_label"]);
    renameSync(partial, file);
  } finally {
    rmSync(staging, { recursive: true, force: true });
    rmSync(partial, { force: true });
    await client.end().catch(() => {});
    await temporary?.stop();
  }
}

/**
 * Restores `file` into `postgresDir` while nothing runs on it: the current folder is kept aside
 * (returned), the archive unpacked, and PostgreSQL started once to replay to the backup's end.
 */
export async function restoreEmbedded(postgresDir: string, file: string): Promise<string | undefined> {
  if (!existsSync(file)) throw new Error(`no backup file ${file}`);
  const lock = readPostmasterLock(join(postgresDir, "data"));
  if (lock && isAlive(lock.pid)) {
    throw new Error(`a PostgreSQL (pid ${lock.pid}) runs on ${postgresDir}: stop lbplane before restoring`);
  }
  let keptAside: string | undefined;
  if (existsSync(postgresDir)) {
    keptAside = `${postgresDir}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    renameSync(postgresDir, keptAside);
  }
  mkdirSync(postgresDir, { recursive: true });
  await run("tar", ["-xf", file, "-C", postgresDir]);
  if (!existsSync(join(postgresDir, "data", "backup_label"))) {
    throw new Error(`${file} is not an lbplane backup (no data/backup_label)`);
  }
  const dataDir = join(postgresDir, "data");
  for (const dir of ["pg_replslot", "pg_wal/archive_status"]) mkdirSync(join(dataDir, dir), { recursive: true });
  // As root, PostgreSQL runs as its own user: what this process wrote (backup_label, the folders
  // above) must belong to the cluster's owner like the rest.
  if (process.getuid?.() === 0) {
    const { uid, gid } = statSync(join(dataDir, "PG_VERSION"));
    await run("chown", ["-R", `${uid}:${gid}`, dataDir]);
  }
  // The first start replays the WAL up to the backup's end; then the folder is an ordinary cluster.
  const db = await startEmbeddedPostgres(postgresDir, { supervise: false });
  await db.stop();
  return keptAside;
}
