// Where a bench's database time goes, measured rather than guessed: every statement timed at the
// driver (pg's Client and Pool, which Prisma's adapter and lbplane's own SQL both use; the time
// includes waiting for the connection's earlier statements and for locks), grouped by statement
// text; and the sequential scans PostgreSQL made meanwhile (pg_stat_user_tables), which show a
// statement whose cost grows with a table even when its time is still small.

import pg from "pg";
import type { Db } from "../src/store/prisma.js";

const times = new Map<string, { n: number; ms: number }>();
let recording = false;
let installed = false;

/** Times every pg statement from now on (only while recording: see `statementsDuring`). */
function install(): void {
  if (installed) return;
  installed = true;
  for (const proto of [pg.Client.prototype, pg.Pool.prototype] as Array<{ query: (...args: unknown[]) => unknown }>) {
    const query = proto.query;
    proto.query = function (this: unknown, ...args: unknown[]) {
      const r = query.apply(this, args) as Promise<unknown> | undefined;
      if (recording && r && typeof r.then === "function") {
        const cfg = args[0] as string | { name?: string; text?: string };
        const text = typeof cfg === "string" ? cfg : `${cfg?.name ? `[${cfg.name}] ` : ""}${cfg?.text ?? ""}`;
        const key = text.replace(/\s+/g, " ").trim().slice(0, 140);
        const t = performance.now();
        r.then(
          () => {
            const e = times.get(key) ?? { n: 0, ms: 0 };
            e.n++;
            e.ms += performance.now() - t;
            times.set(key, e);
          },
          () => {},
        );
      }
      return r;
    };
  }
}

/** Sequential scans and the rows they read so far, per table. */
async function seqScans(db: Db): Promise<Map<string, { scans: number; rows: number }>> {
  await new Promise((r) => setTimeout(r, 600)); // PostgreSQL publishes its statistics every ~0.5 s
  const rows = await db.$queryRawUnsafe<Array<{ relname: string; seq_scan: bigint; seq_tup_read: bigint }>>(
    "SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables",
  );
  return new Map(rows.map((r) => [r.relname, { scans: Number(r.seq_scan), rows: Number(r.seq_tup_read) }]));
}

/**
 * Runs `work` (`units` repetitions of something, e.g. changes) recording statements and sequential
 * scans; answers report lines per unit: the `top` statements by time, then the tables scanned.
 */
export async function statementsDuring(db: Db, units: number, work: () => Promise<void>, top = 15): Promise<string[]> {
  install();
  const before = await seqScans(db);
  times.clear();
  recording = true;
  try {
    await work();
  } finally {
    recording = false;
  }
  const after = await seqScans(db);
  const lines = [...times]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, top)
    .map(([k, v]) => `${(v.ms / units).toFixed(2).padStart(7)} ms ${(v.n / units).toFixed(1).padStart(5)}× ${(v.ms / v.n).toFixed(2).padStart(6)} ms each  ${k}`);
  const scanned = [...after]
    .map(([table, v]) => ({ table, scans: v.scans - (before.get(table)?.scans ?? 0), rows: v.rows - (before.get(table)?.rows ?? 0) }))
    .filter((s) => s.rows > 0)
    .sort((a, b) => b.rows - a.rows)
    .map((s) => `${s.table} ${(s.scans / units).toFixed(1)}× ${Math.round(s.rows / units)} rows`);
  return [...lines, `sequential scans: ${scanned.join(", ") || "none"}`];
}
