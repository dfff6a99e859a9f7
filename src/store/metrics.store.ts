// Traffic metric buckets (table traffic_metrics): one row per (load balancer, minute, metric, dimension
// combination). Every agent report adds into the current minute's rows in ONE statement (the hot path:
// every agent, every report interval), so concurrent agents and replicas sum without reading first.
// Reads aggregate minutes into the caller's time grain and split by the requested dimensions in SQL,
// so a month of one-minute rows never travels to Node. Retention deletes the oldest minutes in batches.
//
// Growth, per load balancer per day: 1,440 minutes × (5 counter rows per active (rule, backend) —
// bytes and packets each direction, new flows — + 1 Health Probe Status row per probed (rule, backend)
// + 1 Data Path Availability row per TCP frontend). Counter rows exist only for minutes with traffic.
// A rule with 2 backends, busy all day: 1,440 × (2 × 6 + 1) = 18,720 rows ≈ 2.6 MB/day; 30 days ≈ 80 MB.
// SNAT (outbound rules): per block and transport, 2 gauge rows (allocated, used ports) every minute the
// agent is up, + 1 or 2 SnatConnectionCount rows (ConnectionState Successful / Failed) in busy minutes.

import type { Dimension, MetricName, MetricSample } from "../domain/metrics-protocol.js";
import { poolOf, type Db } from "./prisma.js";

export interface StoredSample extends MetricSample {
  /** Load balancer uid. */
  loadBalancerUid: string;
  /** How many observations `value` stands for (availability sample counts; 1 otherwise). */
  weight: number;
}

/** Dimension → column; a fixed map, so query text never contains caller input. */
const COLUMN: Record<Dimension, string> = {
  FrontendIPAddress: "frontend_ip",
  FrontendPort: "frontend_port",
  BackendIPAddress: "backend_ip",
  BackendPort: "backend_port",
  ProtocolType: "protocol",
  Direction: "direction",
  ConnectionState: "connection_state",
};

// Duplicate keys within one report are summed first: ON CONFLICT may touch a row only once per statement.
const ADD_SQL = `
  INSERT INTO traffic_metrics AS t (load_balancer_id, minute, metric, frontend_ip, frontend_port, protocol, backend_ip, backend_port, direction, connection_state, total, count, minimum, maximum)
  SELECT u.lb, date_trunc('minute', now()), u.metric, u.fip, u.fport, u.proto, u.bip, u.bport, u.dir, u.state,
         sum(u.value * u.weight), sum(u.weight), min(u.value), max(u.value)
  FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::text[], $10::float8[], $11::float8[])
    AS u(lb, metric, fip, fport, proto, bip, bport, dir, state, value, weight)
  WHERE EXISTS (SELECT 1 FROM load_balancers l WHERE l.id = u.lb)
  GROUP BY u.lb, u.metric, u.fip, u.fport, u.proto, u.bip, u.bport, u.dir, u.state
  ON CONFLICT (load_balancer_id, minute, metric, frontend_ip, frontend_port, protocol, backend_ip, backend_port, direction, connection_state) DO UPDATE SET
    total = t.total + EXCLUDED.total, count = t.count + EXCLUDED.count,
    minimum = LEAST(t.minimum, EXCLUDED.minimum), maximum = GREATEST(t.maximum, EXCLUDED.maximum)`;

/** Adds samples into the current minute (the database's clock). Samples of deleted load balancers are dropped. */
export async function addTrafficSamples(db: Db, samples: StoredSample[]): Promise<void> {
  if (samples.length === 0) return;
  const col = <T>(f: (s: StoredSample) => T): T[] => samples.map(f);
  await poolOf(db).query(ADD_SQL, [
    col((s) => s.loadBalancerUid),
    col((s) => s.metric),
    col((s) => s.frontendIPAddress),
    col((s) => s.frontendPort),
    col((s) => s.protocol),
    col((s) => s.backendIPAddress),
    col((s) => s.backendPort),
    col((s) => s.direction),
    col((s) => s.connectionState),
    col((s) => s.value),
    col((s) => s.weight),
  ]);
}

export interface MetricQuery {
  loadBalancerUid: string;
  metrics: MetricName[];
  from: Date;
  to: Date;
  /** Grain length; undefined = FULL (one point for the whole timespan). */
  grainSeconds?: number;
  /** Dimensions to split series by (`Dim eq '*'` or several values). */
  splitBy: Dimension[];
  /** Dimension → accepted values (compared case-insensitively). */
  filters: Map<Dimension, string[]>;
}

export interface MetricRow {
  metric: MetricName;
  /** Start of the grain the row aggregates. */
  grainStart: Date;
  dimensions: Partial<Record<Dimension, string>>;
  total: number;
  count: number;
  minimum: number;
  maximum: number;
}

/** Aggregated rows per (metric, grain, split dimensions) within [from, to). */
export async function readTrafficMetrics(db: Db, q: MetricQuery): Promise<MetricRow[]> {
  const params: unknown[] = [q.loadBalancerUid, q.metrics, q.from, q.to];
  const where = ["load_balancer_id = $1::uuid", "metric = ANY($2::text[])", "minute >= $3", "minute < $4"];
  for (const [dim, values] of q.filters) {
    params.push(values.map((v) => v.toLowerCase()));
    where.push(`lower(${COLUMN[dim]}::text) = ANY($${params.length}::text[])`);
  }
  let grain = "$3::timestamptz";
  if (q.grainSeconds !== undefined) {
    params.push(q.grainSeconds);
    const g = `$${params.length}::float8`;
    grain = `to_timestamp(extract(epoch from $3::timestamptz) + floor((extract(epoch from minute) - extract(epoch from $3::timestamptz)) / ${g}) * ${g})`;
  }
  const split = q.splitBy.map((d, i) => `${COLUMN[d]}::text AS d${i}`);
  const groupBy = ["metric", "grain", ...q.splitBy.map((_, i) => `d${i}`)];
  const sql = `
    SELECT metric, ${grain} AS grain, ${[...split, ""].join(", ")}
           sum(total) AS total, sum(count) AS count, min(minimum) AS minimum, max(maximum) AS maximum
    FROM traffic_metrics WHERE ${where.join(" AND ")}
    GROUP BY ${groupBy.join(", ")} ORDER BY grain`;
  const { rows } = await poolOf(db).query<Record<string, unknown>>(sql, params);
  return rows.map((r) => ({
    metric: r.metric as MetricName,
    grainStart: r.grain as Date,
    dimensions: Object.fromEntries(q.splitBy.map((d, i) => [d, String(r[`d${i}`])])),
    total: Number(r.total),
    count: Number(r.count),
    minimum: Number(r.minimum),
    maximum: Number(r.maximum),
  }));
}

/** Deletes up to `batch` rows older than `retentionDays`; returns how many. */
export async function pruneTrafficMetrics(db: Db, retentionDays: number, batch: number): Promise<number> {
  const { rowCount } = await poolOf(db).query(
    `DELETE FROM traffic_metrics WHERE ctid IN (
       SELECT ctid FROM traffic_metrics WHERE minute < now() - make_interval(days => $1) ORDER BY minute LIMIT $2)`,
    [retentionDays, batch],
  );
  return rowCount ?? 0;
}
