// What the agent benchmarks (convergence, location-size, fleet) share: an lbplane with its control
// loops on a bench database, an ARM client for it, a load balancer body of a given size, and the fake
// agent fleet in processes of its own (bench/fake-fleet.ts) so the agents' HTTP servers do not share an
// event loop with the control plane they are measuring.

import { fork, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadConfig, type Config } from "../src/config.js";
import { composeLbplane, type Lbplane } from "../src/lbplane.js";
import { TokenStore } from "../src/store/tokens.js";
import { benchDatabase } from "./database.js";

export const TOKEN = "bench-admin-token-0123456789";
export const JOIN = "bench-join-token-0123456789";
export const SUB = "00000000-0000-0000-0000-0000000000b1";
export const NET = "api-version=2026-01-01";
export const RG = `/subscriptions/${SUB}/resourceGroups/bench`;

export const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
export const ms = (n: number) => `${n.toFixed(1)} ms`;
export const epoch = () => performance.timeOrigin + performance.now();

export interface BenchPlane {
  lbplane: Lbplane;
  config: Config;
  url: string;
  /** The bench database's connection string. */
  databaseUrl: string;
  call: (method: string, path: string, body?: unknown) => Promise<unknown>;
  generation: () => Promise<number>;
  /** 503 answers retried so far. */
  retries: () => number;
  close: () => Promise<void>;
}

/**
 * An lbplane on a bench database. `concurrency`: pushes in flight at once; BENCH_PUSH_LOCKS: push
 * locks held at once (both default to the control loops' defaults).
 */
export async function startBenchPlane(env: NodeJS.ProcessEnv = {}, concurrency?: number): Promise<BenchPlane> {
  const db0 = await benchDatabase();
  const config = loadConfig({ LBPLANE_JOIN_TOKEN: JOIN, LBPLANE_DATA_DIR: "/tmp/lbplane-bench-unused", ...env });
  const tokens = new TokenStore();
  tokens.add(TOKEN, { name: "bench" });
  // Warnings of the control loops (failed pushes) reach stderr; the figures go to stdout.
  const lbplane = await composeLbplane({
    config, databaseUrl: db0.url, tokens, poolSize: 20,
    logger: { level: "warn", stream: process.stderr },
    controlLoops: { concurrency, maxLocks: process.env.BENCH_PUSH_LOCKS ? Number(process.env.BENCH_PUSH_LOCKS) : undefined },
  });
  const url = await lbplane.app.listen({ host: "127.0.0.1", port: 0 });
  // A 503 (the database did not answer in time on an overloaded host) is retried as a client
  // would, after a short wait, up to three times: every write here is an idempotent PUT or DELETE.
  // Each retry is counted and said on stderr, so a figure taken through retries is known as such.
  let retried = 0;
  const call = async (method: string, path: string, body?: unknown): Promise<unknown> => {
    for (let attempt = 0; ; attempt++) {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status === 503 && attempt < 3) {
        retried++;
        console.error(`bench: ${method} ${path} answered 503; retrying (${retried} retries so far)`);
        await new Promise((r) => setTimeout(r, 1_000));
        continue;
      }
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return text ? JSON.parse(text) : undefined;
    }
  };
  await call("PUT", `/subscriptions/${SUB}/resourcegroups/bench?api-version=2025-04-01`, { location: "westeurope" });
  const generation = async () =>
    Number((await lbplane.db.locationGeneration.findUnique({ where: { location: "westeurope" } }))?.generation ?? 0n);
  return {
    lbplane, config, url, call, generation, databaseUrl: db0.url,
    /** 503 answers retried so far. */
    retries: () => retried,
    close: async () => {
      await lbplane.close();
      await db0.stop();
    },
  };
}

/** The `n`th backend address of the benches: 250 per /24 (no .0, .1 or .255), 62,500 per /16 of 172.16.0.0/12. */
const dipOf = (n: number) => `172.${16 + Math.floor(n / 62_500)}.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`;

/**
 * An internal load balancer (frontend 10.x.y.z, no public IP to create first) with `backends` DIPs,
 * one TCP probe and one rule on `port`; `index` keeps frontends and backends of different load
 * balancers apart (172.16.0.0/12, 32 addresses per index, up to 30,000 indexes): load balancers of one location
 * sharing DIPs would measure the cost of DIP contention, not of the location's size.
 */
export function internalLbBody(name: string, index: number, port: number, backends = 20) {
  const id = `${RG}/providers/Microsoft.Network/loadBalancers/${name}`;
  const vip = `10.${100 + Math.floor(index / 65_000)}.${Math.floor(index / 250) % 256}.${(index % 250) + 2}`;
  return {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: {
      frontendIPConfigurations: [{ name: "fe", properties: { privateIPAddress: vip, privateIPAllocationMethod: "Static", subnet: { id: `${RG}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/lb` } } }],
      backendAddressPools: [{
        name: "pool",
        properties: { loadBalancerBackendAddresses: Array.from({ length: backends }, (_, i) => ({ name: `vm${i}`, properties: { ipAddress: dipOf(index * 32 + i) } })) },
      }],
      probes: [{ name: "probe", properties: { protocol: "Tcp", port: 9000 } }],
      loadBalancingRules: [{
        name: "web",
        properties: {
          frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` }, backendAddressPool: { id: `${id}/backendAddressPools/pool` },
          probe: { id: `${id}/probes/probe` }, protocol: "Tcp", frontendPort: port, backendPort: port,
        },
      }],
    },
  };
}

export const lbPath = (name: string) => `${RG}/providers/Microsoft.Network/loadBalancers/${name}?${NET}`;

/** What the fleet process reports after a change reached every agent. */
export interface Reached {
  generation: number;
  first: number;
  last: number;
  bytes: number;
}

/** What the fleet knows of an agent that did not get a generation in time. */
export interface LateAgent {
  name: string;
  applied: number;
  pushes: number;
  lastPushAt: number | null;
  beats: number;
}

export class LateAgents extends Error {
  constructor(
    readonly generation: number,
    readonly late: LateAgent[],
  ) {
    super(`${late.length} agent(s) did not apply generation ${generation} within 60 s: ${late.slice(0, 5).map((a) => `${a.name} (has ${a.applied}, ${a.pushes} pushes)`).join(", ")}`);
  }
}

/**
 * lbplane's side of late agents: their rows (acknowledged generation, failures, next attempt, last
 * error, last heartbeat), printed to stderr so a failed run says why.
 */
export async function explainLate(plane: BenchPlane, err: unknown): Promise<void> {
  if (!(err instanceof LateAgents)) return;
  const rows = await plane.lbplane.db.agent.findMany({ where: { name: { in: err.late.map((a) => a.name) } } });
  for (const a of err.late) {
    const r = rows.find((x) => x.name === a.name);
    const age = (t: Date | null | undefined) => (t ? `${Date.now() - t.getTime()} ms ago` : "never");
    console.error(
      `late ${a.name}: fleet says applied ${a.applied}, ${a.pushes} pushes (last ${a.lastPushAt ? `${Math.round(epoch() - a.lastPushAt)} ms ago` : "never"}), ${a.beats} beats; ` +
        (r
          ? `lbplane says acked ${r.ackedGeneration}, failures ${r.consecutiveFailures}, next attempt ${r.nextAttemptAt ? `in ${r.nextAttemptAt.getTime() - Date.now()} ms` : "-"}, last heartbeat ${age(r.lastHeartbeatAt)}, last push ${age(r.lastPushAt)}, last error ${r.lastError ?? "-"}`
          : "lbplane has no row"),
    );
  }
}

/** One fake-fleet process, driven over IPC (one question at a time per process). */
class FleetProcess {
  private readonly child: ChildProcess;
  private readonly replies: Array<(m: any) => void> = [];

  constructor() {
    this.child = fork(join(dirname(fileURLToPath(import.meta.url)), "fake-fleet.ts"), [], { execArgv: ["--import", "tsx"] });
    this.child.on("message", (m) => this.replies.shift()?.(m));
  }

  ask(m: unknown): Promise<any> {
    return new Promise<any>((resolve) => {
      this.replies.push(resolve);
      if (m) this.child.send(m as object);
    });
  }

  /** CPU time (user + system) this process has used so far, ms. */
  cpuMs(): number {
    return processCpuMs(this.child.pid!);
  }

  stop(): void {
    this.child.send({ cmd: "stop" });
  }
}

/** /proc/<pid>/stat's fields after the command name (field 3 onwards), or undefined. */
function statOf(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // not Linux, or the process is gone
  }
}

/** CPU time (user + system) of process `pid` so far, ms, from /proc (clock ticks of 10 ms); with `reaped`, also its waited-for children's. */
function processCpuMs(pid: number | string, reaped = false): number {
  const f = statOf(pid);
  if (!f) return 0;
  return (Number(f[11]) + Number(f[12]) + (reaped ? Number(f[13]) + Number(f[14]) : 0)) * 10;
}

/**
 * CPU time the bench's PostgreSQL has used so far (postmaster, its backends, and backends that
 * ended), ms: 0 when it cannot be found on this machine (DATABASE_URL elsewhere, not Linux).
 */
export async function postgresCpuMs(plane: BenchPlane): Promise<() => number> {
  const [row] = await plane.lbplane.db.$queryRaw<Array<{ dir: string }>>`SELECT current_setting('data_directory') AS dir`;
  let postmaster: number;
  try {
    postmaster = Number(readFileSync(join(row.dir, "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return () => 0;
  }
  return () => {
    let total = processCpuMs(postmaster, true);
    for (const pid of readdirSync("/proc")) if (/^\d+$/.test(pid) && statOf(pid)?.[1] === String(postmaster)) total += processCpuMs(pid);
    return total;
  };
}

/**
 * The fake agents, in processes of their own, at most `perProcess` agents each: one Node process
 * cannot answer the pushes of 1,000 agents and send their heartbeats in time on a busy machine (its
 * push answers then exceed lbplane's timeout, and the bench measures the fakes).
 */
export class Fleet {
  private readonly processes: FleetProcess[] = [];
  private size = 0;

  private constructor(private readonly perProcess: number) {}

  static async start(perProcess = Number(process.env.BENCH_AGENTS_PER_PROCESS ?? 250)): Promise<Fleet> {
    return new Fleet(Math.max(1, perProcess));
  }

  /** Grows to `size` agents, filling each process before forking the next. */
  async grow(size: number, url: string): Promise<void> {
    while (this.size < size) {
      const index = Math.floor(this.size / this.perProcess); // the process with room
      if (index === this.processes.length) {
        const fresh = new FleetProcess();
        await fresh.ask(null); // ready
        this.processes.push(fresh);
      }
      const inProcess = Math.min(size, (index + 1) * this.perProcess) - index * this.perProcess;
      // Names are unique across processes: an agent registers by name.
      await this.processes[index].ask({ cmd: "grow", size: inProcess, url, join: JOIN, firstIndex: index * this.perProcess });
      this.size = index * this.perProcess + inProcess;
    }
  }

  /**
   * Every agent has `generation`: the earliest and latest receipt across processes, bytes summed;
   * rejects naming the agents (of every process) that did not within 60 s.
   */
  async reach(generation: number): Promise<Reached> {
    const all: Array<Reached & { late?: LateAgent[] }> = await Promise.all(this.processes.map((p) => p.ask({ cmd: "wait", generation })));
    const late = all.flatMap((r) => r.late ?? []);
    if (late.length > 0) throw new LateAgents(generation, late);
    return {
      generation,
      first: Math.min(...all.map((r) => r.first)),
      last: Math.max(...all.map((r) => r.last)),
      bytes: all.reduce((n, r) => n + r.bytes, 0),
    };
  }

  /** Heartbeats the fleet has sent so far. */
  async beats(): Promise<number> {
    const all = await Promise.all(this.processes.map((p) => p.ask({ cmd: "beats" })));
    return all.reduce((n, r) => n + r.beats, 0);
  }

  /** `rate` POSTs per second of a heartbeat body to `url` for `seconds` (a baseline's load), spread over the processes. */
  async blast(url: string, rate: number, seconds: number): Promise<{ sent: number }> {
    const all = await Promise.all(this.processes.map((p) => p.ask({ cmd: "blast", url, rate: rate / this.processes.length, seconds })));
    return { sent: all.reduce((n, r) => n + r.sent, 0) };
  }

  /** CPU time the fleet's processes have used so far, ms. */
  cpuMs(): number {
    return this.processes.reduce((n, p) => n + p.cpuMs(), 0);
  }

  stop(): void {
    for (const p of this.processes) p.stop();
  }
}
