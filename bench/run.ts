// `npm run bench`: the benchmarks by name. Each one measures lbplane against a baseline in the same
// run (GET vs PUT, 1/10 vs full Azure limits, HAProxy vs the agent...) and prints its figures; this
// runner only finds them, runs them one after another as child processes (so each starts from a
// clean process, as its numbers assume), and says which ones failed.
//
//   npm run bench                      list the benchmarks
//   npm run bench -- put-latency 200   run one, with its own arguments
//   npm run bench -- all [--short]     run every benchmark this machine can run; --short = small samples

import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Benchmark {
  name: string;
  what: string;
  /** Arguments for `all --short`: enough samples to see the shape, not to quote the numbers. */
  shortArgs: string[];
  needsRoot?: boolean;
  /** Programs the baseline needs (e.g. haproxy, wrk). */
  needs?: string[];
}

const BENCHMARKS: Benchmark[] = [
  { name: "uniqueness-scale", what: "validate+compile+store at Standard limits vs 1/10 (linearity), and the HTTP PUT", shortArgs: [] },
  { name: "put-latency", what: "small load balancer PUT vs GET: p50/p99 and CPU per request", shortArgs: ["50"] },
  { name: "reads", what: "GET of a small load balancer vs a bare fastify route with the same body (autocannon)", shortArgs: ["2", "20"] },
  { name: "convergence", what: "PUT → every agent acknowledged, 1/10/100 fake agents, p50/p99", shortArgs: ["10"] },
  { name: "location-size", what: "one-LB change with 1/1,000/10,000 LBs in the location, 100 agents: converge p50/p99, bytes per push", shortArgs: ["1,200", "10", "20"] },
  { name: "fill-location", what: "PUT 10,000 small LBs into one location with 3 agents: p50/p99 of the first vs the last thousand (goal ≤ 1.5×)", shortArgs: ["1000", "3", "250"] },
  { name: "heartbeat-cpu", what: "CPU of one heartbeat: 1,000 agents beating lbplane vs a bare fastify route, same rate (goal ≤ 0.27 ms)", shortArgs: ["200", "3"] },
  { name: "fleet", what: "1,000 agents on one lbplane: idle CPU, CPU per heartbeat vs bare fastify, one change to all p50/p99", shortArgs: ["100", "5", "5"] },
  { name: "dataplane-vs-haproxy", what: "userspace agent vs HAProxy on loopback", shortArgs: [], needs: ["haproxy", "wrk"] },
  { name: "snat-vs-dnat", what: "nftables outbound SNAT vs inbound DNAT new-connection rate in network namespaces", shortArgs: ["--seconds", "2"], needsRoot: true, needs: ["nft", "ip"] },
  { name: "counters-cost", what: "nftables forwarding rate with traffic counters on vs off, in network namespaces (target < 5 %)", shortArgs: ["--seconds", "1", "--rounds", "1"], needsRoot: true, needs: ["nft", "ip"] },
  { name: "conntrack-read", what: "one read of conntrack's table (UsedSnatPorts, current flows) with ~1,000 flows vs an empty table, in network namespaces", shortArgs: ["--flows", "200", "--rounds", "3"], needsRoot: true, needs: ["nft", "ip"] },
  { name: "nftables-vs-userspace", what: "nftables vs userspace vs HAProxy in network namespaces", shortArgs: ["--seconds", "2"], needsRoot: true, needs: ["haproxy", "nft", "ip"] },
];

const here = dirname(fileURLToPath(import.meta.url));
const has = (program: string) => spawnSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" }).status === 0;
const isRoot = process.getuid?.() === 0;

/** Why this machine cannot run `b`, or undefined when it can. */
function unavailable(b: Benchmark): string | undefined {
  if (b.needsRoot && !isRoot) return "needs root";
  const missing = (b.needs ?? []).filter((p) => !has(p));
  return missing.length ? `needs ${missing.join(", ")}` : undefined;
}

function run(b: Benchmark, args: string[]): boolean {
  process.stdout.write(`\n=== ${b.name}: ${b.what}\n`);
  const result = spawnSync(process.execPath, ["--import", "tsx", join(here, `${b.name}.ts`), ...args], { stdio: "inherit" });
  return result.status === 0;
}

function list(): void {
  process.stdout.write("Benchmarks (npm run bench -- <name> [args] | all [--short]):\n");
  for (const b of BENCHMARKS) {
    const why = unavailable(b);
    process.stdout.write(`  ${b.name.padEnd(24)} ${b.what}${why ? `  [${why}]` : ""}\n`);
  }
}

const [name, ...rest] = process.argv.slice(2);
if (!name) {
  list();
} else if (name === "all") {
  const short = rest.includes("--short");
  const failed: string[] = [];
  for (const b of BENCHMARKS) {
    const why = unavailable(b);
    if (why) {
      process.stdout.write(`\n=== ${b.name}: skipped (${why})\n`);
      continue;
    }
    if (!run(b, short ? b.shortArgs : [])) failed.push(b.name);
  }
  if (failed.length) {
    process.stderr.write(`\nfailed: ${failed.join(", ")}\n`);
    process.exit(1);
  }
} else {
  const b = BENCHMARKS.find((x) => x.name === name);
  if (!b) {
    process.stderr.write(`unknown benchmark "${name}"\n`);
    list();
    process.exit(2);
  }
  process.exit(run(b, rest) ? 0 : 1);
}
