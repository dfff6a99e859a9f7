// Background work of the control plane: the agent reconciler, the cross-replica change feed, and a
// slow safety-net sweep that catches what notifications miss (an agent turning stale or live, a
// lost NOTIFY, a retry whose backoff expired), settles operations nobody is polling and, every few
// minutes, deletes operations finished longer ago than LBPLANE_OPERATION_RETENTION_HOURS (so the
// table cannot grow forever; a pruned operation's URL answers 404 like any unknown one) and the
// load balancer tombstones every live agent already has (incremental push needs no older ones).

import type { Config } from "../config.js";
import { settleAll } from "../services/operations.service.js";
import { announceChange, ChangeFeed } from "../store/change-feed.js";
import { pruneTombstones, readLocationChanges } from "../store/load-balancer-versions.store.js";
import { pruneTrafficMetrics } from "../store/metrics.store.js";
import { pruneFinishedOperations } from "../store/operations.store.js";
import type { Db } from "../store/prisma.js";
import { openPushPool, PushLockSession } from "../store/push-locks.store.js";
import { AgentClient } from "./agent-client.js";
import { DesiredStateCache } from "./desired-state.js";
import { Reconciler, type ReconcilerLog } from "./reconciler.js";

export interface ControlLoops {
  notifyChange: (location: string) => void;
  stop: () => Promise<void>;
}

/** What the loops log through (the app's pino logger fits). */
export type ControlLoopLog = ReconcilerLog;

export interface ControlLoopOptions {
  config: Config;
  db: Db;
  databaseUrl: string;
  /** The app's pino logger (a child per component), so agent work logs where requests do. */
  log: ControlLoopLog;
  /** Safety-net period (default 1 s). */
  sweepMs?: number;
  /** Least time between two retention prunes (default 5 min); a full batch prunes again next sweep. */
  pruneEveryMs?: number;
  /** Pushes in flight at once (default 128) and push locks held at once (default 1,024): src/agents/reconciler.ts. */
  concurrency?: number;
  maxLocks?: number;
}

export async function startControlLoops(opts: ControlLoopOptions): Promise<ControlLoops> {
  const { config, db } = opts;
  const { log } = opts;
  const concurrency = opts.concurrency ?? 128;
  const livenessMs = config.agentLivenessMs;
  // Push locks are session advisory locks, all held by one connection of this pool (the reconciler's
  // lock session); the others carry NOTIFYs and desired-state reads.
  let stopping = false;
  // An idle connection that fails is simply replaced; the lock session reports its own loss.
  const lockPool = openPushPool(opts.databaseUrl, (err) => stopping || log.warn(`push-lock connection error: ${err.message}`, err));
  const client = new AgentClient({ requestTimeoutMs: Math.max(2_000, livenessMs) });

  // Settling is coalesced per location: 100 ACKs in a burst cost a handful of settle passes.
  const settling = new Map<string, Promise<void>>();
  const pendingSettle = new Set<string>();
  const settleLocation = (location: string) => {
    if (settling.has(location)) {
      pendingSettle.add(location);
      return;
    }
    const run = settleAll(db, { livenessMs, location })
      .then(() => undefined)
      .catch((err) => log.warn(`settling operations in ${location} failed: ${(err as Error).message}`, err))
      .finally(() => {
        settling.delete(location);
        if (pendingSettle.delete(location)) settleLocation(location);
      });
    settling.set(location, run);
  };

  const locks = new PushLockSession(lockPool, (err) => reconciler.sessionLost(err));
  const reconciler: Reconciler = new Reconciler({
    locks,
    client,
    desired: new DesiredStateCache((location, since, known) => readLocationChanges(lockPool, location, since, known)),
    livenessMs,
    concurrency,
    maxLocks: opts.maxLocks,
    onAcked: settleLocation,
    log,
  });
  // A change made here is compiled ahead at once; its own NOTIFY, echoed back a moment later, need
  // not compile it again. Changes announced by other replicas are compiled ahead when they arrive.
  const localChanges = new Map<string, number>();
  const feed = new ChangeFeed(
    opts.databaseUrl,
    (location) => {
      const local = localChanges.get(location);
      if (local !== undefined && performance.now() - local < 1_000) reconciler.wake();
      else reconciler.wake(location || undefined);
    },
    log,
  );
  await feed.start();

  // Retention: the first sweep prunes (a restart catches up at once), then every pruneEveryMs; a
  // full batch means more are due, so the next sweep continues. Every replica may prune: the
  // DELETEs are idempotent and bounded.
  const pruneEveryMs = opts.pruneEveryMs ?? 300_000;
  let nextPruneAt = 0;
  const prune = async () => {
    if (performance.now() < nextPruneAt) return;
    const batch = 1000;
    nextPruneAt = performance.now() + pruneEveryMs; // a failing prune waits its period too
    const deleted = await pruneFinishedOperations(db, config.operationRetentionHours, batch);
    if (deleted > 0) log.info(`pruned ${deleted} operations finished more than ${config.operationRetentionHours} h ago`);
    // Traffic metric minutes past LBPLANE_TRAFFIC_METRICS_RETENTION_DAYS (d2), in larger batches: rows are small and many.
    const expired = await pruneTrafficMetrics(db, config.trafficMetricsRetentionDays, batch * 10);
    if (deleted >= batch || expired >= batch * 10) nextPruneAt = 0;
  };

  // NOTIFYs are coalesced per location: one in flight, and one more after it for everything that
  // changed meanwhile (a NOTIFY says "look at this location", not what changed). One per write or
  // heartbeat took every connection of the small push pool when 1,000 agents came back at once, so
  // the sweep's and the reconciler's statements timed out waiting for a connection.
  const announcing = new Set<string>();
  const announceAgain = new Set<string>();
  const announce = (location: string): void => {
    if (announcing.has(location)) {
      announceAgain.add(location);
      return;
    }
    announcing.add(location);
    announceChange(lockPool, location)
      .catch((err) => log.warn(`NOTIFY failed: ${(err as Error).message}`, err))
      .finally(() => {
        announcing.delete(location);
        if (announceAgain.delete(location) && !stopping) announce(location);
      });
  };

  // The running sweep, if any: one at a time, and stop() waits for it before the pools close.
  let sweeping: Promise<void> | undefined;
  const sweep = () => {
    if (sweeping || stopping) return;
    sweeping = (async () => {
      try {
        reconciler.wake();
        await settleAll(db, { livenessMs });
        // Tombstones are pruned every sweep: one statement that finds nothing when nothing was deleted.
        await pruneTombstones(lockPool, livenessMs);
        await prune();
      } catch (err) {
        log.warn(`sweep failed: ${(err as Error).message}`, err);
      } finally {
        sweeping = undefined;
      }
    })();
  };
  const timer = setInterval(sweep, opts.sweepMs ?? 1_000);
  timer.unref();
  reconciler.wake(); // resume whatever a previous process left unfinished

  return {
    notifyChange(location: string) {
      localChanges.set(location, performance.now());
      if (localChanges.size > 1_000) localChanges.clear();
      reconciler.wake(location);
      // Writes on this replica also concern agents another replica is pushing.
      announce(location);
    },
    async stop() {
      stopping = true;
      clearInterval(timer);
      await sweeping;
      await reconciler.stop();
      await feed.stop();
      await Promise.allSettled([...settling.values()]);
      await client.close();
      await lockPool.end();
    },
  };
}
