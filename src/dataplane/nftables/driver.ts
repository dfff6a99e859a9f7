// The nftables forwarding driver: the kernel forwards, Node only programs it. It supports what a userspace
// proxy cannot — floating IP (DSR address scheme: the VM receives VIP:port unchanged) — plus default DNAT
// rules, inbound NAT rules and HA ports, IPv4 and IPv6 (tables ip and ip6 of one name), outbound rules
// (SNAT port blocks, render-outbound.ts) and the Standard-SKU outbound rule. See render.ts for the table
// layout, routing.ts for policy routing, traffic.ts and current-flows.ts for traffic metrics.
//
// State model: the driver keeps the applied load balancers in memory, plus `kernel`: the rendered objects
// (render.ts TableState) it knows the kernel holds. Every change renders the desired state and sends only
// the difference (diff.ts) as ONE atomic `nft -f` transaction, so a one-rule change to a 1,500-rule load
// balancer costs milliseconds and a probe change touches only the maps of listeners using that probe.
// The whole table is rendered and replaced (also one transaction) when the kernel's content is not known:
// first apply after start (which removes a killed run's leftovers), and after an incremental transaction
// failed — then the driver re-syncs from its in-memory model rather than trust its record of the kernel.
// All kernel calls go through one queue.

import { DriverRefusal, frontendOf, type ForwardingDriver, type ListenerStatus } from "../driver.js";
import type { AgentCapabilities, CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { CommandError, SerialQueue, makeRunner, type Runner } from "./exec.js";
import { renderDiff } from "./diff.js";
import { fullTableText, hostPort, listenerKey, renderListener, renderState, type RenderContext, type TableState } from "./render.js";
import { PolicyRoutes, allocateMarks } from "./routing.js";
import { snatBlockSites, snatCounter, type SnatBlockSite } from "./render-outbound.js";
import { ConntrackFigures } from "./current-flows.js";
import { frontendsInForce } from "./in-force.js";
import { OrphanCounters, readCounters, readingsOf, type CounterValues } from "./traffic.js";
import { loadBalancerProblem } from "./validate.js";

export interface NftablesDriverOptions {
  /** nftables table name (families ip and ip6); distinct names let several drivers share a host in tests. */
  tableName?: string;
  /** Run nft/ip inside this network namespace (tests, benchmarks). */
  netns?: string;
  /** A function, or a logger object (lbplane-agent passes its Logger; only info is used). */
  log?: ((msg: string) => void) | { info(msg: string): void };
  /** Kernel traffic counters per (listener, backend) for traffic metrics (default true; traffic.ts). */
  countTraffic?: boolean;
  /** How long counters of a removed rule or backend stay readable before they are deleted (default 2 min). */
  counterGraceMs?: number;
  /** A read of conntrack's table (used SNAT ports, current flows) serves every reader for this long (default 1 s). */
  conntrackMaxAgeMs?: number;
}

export interface NftablesDriver extends ForwardingDriver {
  /** Resolves when every queued kernel update (including setHealth's) has been made. */
  settled(): Promise<void>;
  /** Every SNAT block in force, with the new flows it refused because the block was exhausted. */
  outboundStatus(): Promise<OutboundStatus[]>;
  /** Frontends the kernel's dispatch maps lead to now (in-force.ts). */
  frontendsInForce(): Promise<Set<string>>;
}

export interface OutboundStatus extends Omit<SnatBlockSite, "budgetChain"> {
  /** New-flow packets dropped because every port of the block was in use (retransmissions included). */
  exhaustedDrops: number;
}

const healthKey = (lbId: string, probe: string, address: string): string => `${lbId}\0${probe}\0${address}`;

export function createNftablesDriver(opts: NftablesDriverOptions = {}): NftablesDriver {
  const table = opts.tableName ?? "lbplane";
  const countTraffic = opts.countTraffic ?? true;
  const orphans = new OrphanCounters(opts.counterGraceMs);
  const countersOf = (s: TableState | undefined) => [...(s?.values() ?? [])].flatMap((o) => o.counters ?? []);
  const sink = opts.log;
  const log = (msg: string): void => (typeof sink === "function" ? sink(msg) : sink?.info(msg));
  const run: Runner = makeRunner(opts.netns);
  const routes = new PolicyRoutes(run);
  const queue = new SerialQueue();
  const applied = new Map<string, CompiledLoadBalancer>();
  const health = new Map<string, boolean>(); // absent = no probe result yet = up
  let marks = new Map<string, number>(); // DIP → fwmark, stable while the DIP is in use (ct marks point at it)
  let kernel: TableState | undefined; // what our table holds; undefined = unknown, next change replaces it whole
  let draining = false; // close() emptied the slot maps; probe changes must not refill them
  const markCursor = { next: 1 };
  let started = false;
  let env: Promise<string | undefined> | undefined;
  const conntrack = new ConntrackFigures(run, opts.conntrackMaxAgeMs, log);

  const capabilities: AgentCapabilities = { driver: "nftables", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"], outbound: true, ipv6: true };
  const dropTables = `table ip ${table} {}\ndelete table ip ${table}\ntable ip6 ${table} {}\ndelete table ip6 ${table}\n`;

  /** Host prerequisites, probed once: root, nft and ip present. */
  function environment(): Promise<string | undefined> {
    env ??= (async () => {
      if (process.platform !== "linux") return "the nftables driver needs Linux";
      if (process.getuid?.() !== 0) return "the nftables driver needs root (CAP_NET_ADMIN) to program nftables and routes";
      for (const [tool, pkg] of [["nft", "nftables"], ["ip", "iproute2"]] as const) {
        try {
          await run(tool, ["-V"]);
        } catch (e) {
          return `${tool} is not usable (${(e as Error).message}); install the Debian package ${pkg}`;
        }
      }
      return undefined;
    })();
    return env;
  }

  function rawUp(lbId: string, l: CompiledListener, b: CompiledBackend): boolean {
    return l.probe === undefined || health.get(healthKey(lbId, l.probe, b.address)) !== false;
  }

  const ctx = (markMap: Map<string, number>): RenderContext => ({
    tableName: table,
    countTraffic,
    isUp(lb, l, b) {
      if (rawUp(lb.id, l, b)) return true;
      // Azure's noHealthyBackendsBehavior: AllProbedUp sends flows to everyone when every probe is down.
      const probe = lb.probes.find((p) => p.name === l.probe);
      return probe?.noHealthyBackendsBehavior === "AllProbedUp" && l.backends.every((x) => !rawUp(lb.id, l, x));
    },
    markOf(dip) {
      const m = markMap.get(dip);
      if (m === undefined) throw new Error(`no fwmark allocated for ${dip}`);
      return m;
    },
  });

  const sameMarks = (a: Map<string, number>, b: Map<string, number>): boolean =>
    a.size === b.size && [...a].every(([dip, m]) => b.get(dip) === m);

  /**
   * Make the kernel serve `next`: the difference against `kernel` in one transaction, or the whole table when
   * the kernel's content is unknown or the difference was refused. Commits in-memory state only on success.
   */
  async function install(next: Map<string, CompiledLoadBalancer>, drain = false): Promise<void> {
    const nextMarks = allocateMarks(marks, next.values(), markCursor);
    let state: TableState;
    try {
      state = renderState(next.values(), ctx(nextMarks), drain, kernel);
    } catch (e) {
      throw new DriverRefusal((e as Error).message);
    }
    const routesChange = !sameMarks(marks, nextMarks);
    // Make before break: routes for new DIPs exist before any packet can carry their mark.
    const introduced = [...nextMarks.values()].filter((m) => ![...marks.values()].includes(m));
    if (routesChange)
      try {
        await routes.sync(new Map([...marks, ...nextMarks]));
      } catch (e) {
        await rollback(introduced);
        throw refusal("ip", e);
      }
    const t0 = Date.now();
    let how = "unchanged";
    const countersBefore = countersOf(kernel);
    try {
      how = await transact(state);
    } catch (e) {
      if (routesChange) await rollback(introduced);
      throw e;
    }
    log(`nftables: table ${table} ${how} (${next.size} load balancers) in ${Date.now() - t0} ms`);
    if (how.startsWith("replaced")) orphans.clear();
    else orphans.update(countersBefore, countersOf(state));
    marks = nextMarks;
    applied.clear();
    for (const [id, lb] of next) applied.set(id, lb);
    // Break: drop rules of DIPs no longer used. The new rules are already in force, so a failure here only
    // leaves unused rules behind (the next sync or start removes them); it must not fail the apply.
    // Unchanged marks skip this (two `ip` calls per apply), except after a whole-table re-sync: then the
    // kernel was in doubt, so its policy routes are reconciled too.
    if (routesChange || how.startsWith("replaced")) await routes.sync(marks).catch((e) => log(`nftables: removing unused policy routes failed: ${(e as Error).message}`));
  }

  /** Sends `state` to the kernel (diff or whole table); on success `kernel` is `state`. Returns what it did. */
  async function transact(state: TableState): Promise<string> {
    if (kernel) {
      const diff = renderDiff(kernel, state, table);
      if (!diff) return "unchanged";
      try {
        await run("nft", ["-f", "-"], diff);
        kernel = state;
        return `updated incrementally (${diff.split("\n").length - 1} statements)`;
      } catch (e) {
        // Nothing of it applied. Either the configuration is bad, or the kernel no longer holds what we think
        // (someone flushed the table): the whole-table render below tells the two apart and heals the latter.
        log(`nftables: incremental update refused (${(e as Error).message.trim()}); re-rendering the whole table`);
      }
    }
    const previous = kernel;
    kernel = undefined;
    const counts = await counterValuesFor(state);
    const text = fullTableText(state, table, countTraffic, counts);
    try {
      await run("nft", ["-f", "-"], text);
    } catch (e) {
      // Refused for real. The kernel still holds what it held; re-sync it from the in-memory model so the
      // previous version is in force exactly, whatever the failed diff suggested about the kernel's content.
      if (previous) await resync(previous);
      throw refusal("nft", e);
    }
    kernel = state;
    return `replaced (${text.length} bytes)`;
  }

  /** Re-install `state` (the previous, accepted one) as a whole table; best effort, the caller is failing. */
  async function resync(state: TableState): Promise<void> {
    try {
      await run("nft", ["-f", "-"], fullTableText(state, table, countTraffic, await counterValuesFor(state)));
      kernel = state;
    } catch (e) {
      log(`nftables: re-sync of the previous table failed (${(e as Error).message.trim()}); the next change replaces it`);
    }
  }

  /** The kernel's counter values, for a whole-table replacement to declare `state`'s counters with (none to keep: none read). */
  async function counterValuesFor(state: TableState): Promise<CounterValues | undefined> {
    return countersOf(state).length > 0 ? readCounters(run, table).catch(() => undefined) : undefined;
  }

  /** Orphan counters past their grace period leave the kernel (from the table of their family), off the change path. */
  function deleteCounters(expired: string[], values: CounterValues): void {
    if (expired.length === 0) return;
    const statements = expired.map((n) => `delete counter ${values.get(n)?.family ?? "ip"} ${table} ${n}`);
    void queue
      .run(() => run("nft", ["-f", "-"], statements.join("\n") + "\n"))
      .catch((e) => log(`nftables: removing ${expired.length} unused traffic counters failed: ${(e as Error).message.trim()}`));
  }

  async function rollback(introduced: number[]): Promise<void> {
    await routes.sync(marks).catch((e) => log(`nftables: route rollback failed: ${(e as Error).message}`));
    await routes.flushTables(introduced);
  }

  function refusal(tool: string, e: unknown): Error {
    if (e instanceof CommandError) return new DriverRefusal(`${tool} refused the configuration: ${e.stderr.trim()}`);
    return e as Error;
  }

  /**
   * First kernel touch of this process: forget whatever an earlier (possibly killed) run left. The table
   * itself is replaced by the first install's atomic transaction; stale ip rules/tables are removed here.
   */
  async function start(): Promise<void> {
    if (started) return;
    await routes.removeAll();
    await run("nft", ["-f", "-"], dropTables);
    started = true;
  }

  async function check(lb: CompiledLoadBalancer): Promise<string | undefined> {
    const e = await environment();
    if (e) return e;
    const p = loadBalancerProblem(lb);
    if (p) return p;
    const v6 = lb.listeners.some((l) => l.frontendIPAddress.includes(":")) || (lb.outboundRules ?? []).some((o) => o.blocks.some((b) => b.address.includes(":")));
    const sysctls = [["net.ipv4.ip_forward", "/proc/sys/net/ipv4/ip_forward"], ...(v6 ? [["net.ipv6.conf.all.forwarding", "/proc/sys/net/ipv6/conf/all/forwarding"]] : [])];
    for (const [name, path] of sysctls) {
      try {
        const fwd = (await run("cat", [path])).trim();
        if (fwd !== "1") return `${name} is 0 on the agent host; the kernel would not forward load-balanced flows`;
      } catch {
        return `cannot read ${name}`;
      }
    }
    return undefined;
  }

  return {
    name: "nftables",
    capabilities,
    check,

    apply(lb) {
      return queue.run(async () => {
        const problem = await check(lb);
        if (problem) throw new DriverRefusal(problem);
        await start();
        const next = new Map(applied);
        next.set(lb.id, lb);
        await install(next);
      });
    },

    remove(loadBalancerId) {
      return queue.run(async () => {
        if (!applied.has(loadBalancerId)) return;
        const next = new Map(applied);
        next.delete(loadBalancerId);
        await install(next);
        for (const k of health.keys()) if (k.startsWith(`${loadBalancerId}\0`)) health.delete(k);
      });
    },

    setHealth(loadBalancerId, probe, address, up) {
      const key = healthKey(loadBalancerId, probe, address);
      if ((health.get(key) ?? true) === up && health.has(key)) return;
      health.set(key, up);
      void queue
        .run(async () => {
          const lb = applied.get(loadBalancerId);
          if (!lb) return; // recorded; the next apply renders it
          // Only the listeners using this probe and backend: their slot maps are the only objects that change.
          const targets = lb.listeners.filter((l) => l.probe === probe && l.backends.some((b) => b.address === address));
          if (targets.length === 0) return;
          if (!kernel) return install(new Map(applied), draining); // kernel content unknown: re-sync it whole
          const c = ctx(marks);
          const next = new Map(kernel);
          for (const l of targets) next.set(listenerKey(lb.id, l.name, l.kind), renderListener(lb, l, c, draining));
          const diff = renderDiff(kernel, next, table);
          if (!diff) return;
          try {
            await run("nft", ["-f", "-"], diff);
            kernel = next;
          } catch (e) {
            // Only map elements were touched, so a refusal means the kernel is not what we recorded.
            log(`nftables: health update refused (${(e as Error).message.trim()}); re-syncing the whole table`);
            kernel = undefined;
            return install(new Map(applied), draining);
          }
          log(`nftables: ${address} ${up ? "up" : "down"} for probe ${probe} (${targets.length} listener maps)`);
        })
        .catch((e) => log(`nftables: health update failed: ${(e as Error).message}`));
    },

    status(): ListenerStatus[] {
      const c = ctx(marks);
      return [...applied.values()].flatMap((lb) =>
        lb.listeners.map((l) => ({
          loadBalancerId: lb.id,
          listener: l.name,
          frontend: frontendOf(l),
          backends: l.backends.map((b) => ({
            address: b.address,
            destination: hostPort(b.destinationIPAddress, b.destinationPort),
            up: c.isUp(lb, l, b),
            // From the last metrics read of conntrack (as old as the last report or scrape): a status call
            // never reads the table itself, which can hold 100,000s of flows.
            activeFlows: conntrack.activeFlows(lb, l, b),
          })),
        })),
      );
    },

    close(deadlineMs) {
      return queue.run(async () => {
        if (!started) return;
        // Accepts either an absolute epoch deadline or a duration; kernel flows cannot be counted cheaply,
        // so draining = no new flows (empty slot maps) while conntrack keeps NAT/marks until the deadline.
        const until = deadlineMs > 1e12 ? deadlineMs : Date.now() + deadlineMs;
        if (applied.size > 0 && until > Date.now()) {
          draining = true;
          await install(new Map(applied), true).catch((e) => log(`nftables: drain failed: ${(e as Error).message}`));
          await new Promise((r) => setTimeout(r, until - Date.now()));
        }
        await run("nft", ["-f", "-"], dropTables);
        await routes.removeAll();
        applied.clear();
        marks = new Map();
        kernel = undefined;
        draining = false;
        orphans.clear();
        conntrack.clear();
        started = false;
        log(`nftables: table ${table} and policy routes removed`);
      });
    },

    async trafficCounters() {
      if (!started) return [];
      // Listener counters exist only when counting; SNAT blocks always have theirs (outboundStatus reads them too).
      const expired = orphans.expire();
      const counters = [...countersOf(kernel), ...orphans.list()];
      const values = counters.length + expired.length > 0 ? await readCounters(run, table).catch(() => new Map() as CounterValues) : new Map();
      deleteCounters(expired, values);
      const readings = readingsOf(counters, values);
      // SNAT blocks' used ports and the series' current flows, from one read of conntrack's table.
      await conntrack.addTo(readings, { loadBalancers: [...applied.values()], marks, countTraffic });
      return readings;
    },

    frontendsInForce: () => frontendsInForce(run, table, applied.values()),

    settled: () => queue.idle(),

    async outboundStatus() {
      const sites = [...applied.values()].flatMap(snatBlockSites);
      if (sites.length === 0) return [];
      const values = await readCounters(run, table);
      return sites.map(({ budgetChain, ...site }) => ({ ...site, exhaustedDrops: values.get(snatCounter(budgetChain, "failed"))?.packets ?? 0 }));
    },
  };
}
