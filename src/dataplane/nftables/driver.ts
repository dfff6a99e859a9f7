// The nftables forwarding driver: the kernel forwards, Node only programs it. It supports what a userspace
// proxy cannot — floating IP (DSR address scheme: the VM receives VIP:port unchanged) — plus default DNAT
// rules, inbound NAT rules and HA ports. See render.ts for the table layout, routing.ts for policy routing.
//
// State model: the driver keeps the set of applied load balancers in memory and renders the WHOLE table
// from it on every apply/remove (one atomic `nft -f` transaction), so the kernel never holds a mix of
// versions. Probe changes only rewrite per-listener slot maps. All kernel calls go through one queue.

import { DriverRefusal, type ForwardingDriver, type ListenerStatus } from "../driver.js";
import type { AgentCapabilities, CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { CommandError, SerialQueue, makeRunner, type Runner } from "./exec.js";
import { MARK_BASE, MAX_MARKS, renderHealthUpdate, renderTable, type RenderContext } from "./render.js";
import { PolicyRoutes } from "./routing.js";

export interface NftablesDriverOptions {
  /** nftables table (family ip); distinct names let several drivers share a host in tests. */
  tableName?: string;
  /** Run nft/ip inside this network namespace (tests, benchmarks). */
  netns?: string;
  /** A function, or a logger object (lbplane-agent passes its Logger; only info is used). */
  log?: ((msg: string) => void) | { info(msg: string): void };
}

export interface NftablesDriver extends ForwardingDriver {
  /** Resolves when every queued kernel update (including setHealth's) has been made. */
  settled(): Promise<void>;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function addressProblem(what: string, a: string): string | undefined {
  if (a.includes(":")) return `${what} ${a} is IPv6; the nftables driver serves IPv4 only (table ip)`;
  // Checked here, not left to nft: nft would try to resolve a non-literal as a host name (DNS lookup).
  if (!IPV4.test(a)) return `${what} "${a}" is not an IPv4 address`;
  return undefined;
}

function listenerProblem(l: CompiledListener): string | undefined {
  const where = `${l.kind} ${l.name}`;
  if (l.frontendPort === 0 && l.protocol !== "All") return `${where}: port 0 is only valid with protocol All (HA ports)`;
  const p = addressProblem(`${where}: frontend`, l.frontendIPAddress);
  if (p) return p;
  for (const b of l.backends) {
    const q = addressProblem(`${where}: backend`, b.address) ?? addressProblem(`${where}: destination`, b.destinationIPAddress);
    if (q) return q;
    if (l.enableFloatingIP && b.destinationIPAddress !== l.frontendIPAddress)
      return `${where}: floating IP delivers to the VIP ${l.frontendIPAddress}, not ${b.destinationIPAddress}`;
  }
  return undefined;
}

const healthKey = (lbId: string, probe: string, address: string): string => `${lbId}\0${probe}\0${address}`;

export function createNftablesDriver(opts: NftablesDriverOptions = {}): NftablesDriver {
  const table = opts.tableName ?? "lbplane";
  const sink = opts.log;
  const log = (msg: string): void => (typeof sink === "function" ? sink(msg) : sink?.info(msg));
  const run: Runner = makeRunner(opts.netns);
  const routes = new PolicyRoutes(run);
  const queue = new SerialQueue();
  const applied = new Map<string, CompiledLoadBalancer>();
  const health = new Map<string, boolean>(); // absent = no probe result yet = up
  let marks = new Map<string, number>(); // DIP → fwmark, stable while the DIP is in use (ct marks point at it)
  let nextMark = 1;
  let started = false;
  let env: Promise<string | undefined> | undefined;

  const capabilities: AgentCapabilities = { driver: "nftables", floatingIP: true, haPorts: true, protocols: ["Tcp", "Udp"] };

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

  /** Marks for every floating-IP DIP of `lbs`; existing DIPs keep theirs so established flows stay put. */
  function allocateMarks(lbs: Iterable<CompiledLoadBalancer>): Map<string, number> {
    const out = new Map<string, number>();
    const taken = new Set(marks.values());
    for (const lb of lbs)
      for (const l of lb.listeners) {
        if (!l.enableFloatingIP) continue;
        for (const b of l.backends) {
          if (out.has(b.address)) continue;
          let m = marks.get(b.address);
          for (let tries = 0; m === undefined; tries++) {
            if (tries >= MAX_MARKS) throw new DriverRefusal(`more than ${MAX_MARKS} floating IP backends on one agent`);
            const candidate = (MARK_BASE | nextMark) >>> 0;
            nextMark = (nextMark % MAX_MARKS) + 1; // rotate, so a freed mark is not reused at once
            if (!taken.has(candidate)) m = candidate;
          }
          taken.add(m);
          out.set(b.address, m);
        }
      }
    return out;
  }

  /** Render and install the full table for `next`; commit in-memory state only when the kernel took it. */
  async function install(next: Map<string, CompiledLoadBalancer>, drain = false): Promise<void> {
    const nextMarks = allocateMarks(next.values());
    const text = renderTable(next.values(), ctx(nextMarks), drain);
    // Make before break: routes for new DIPs exist before any packet can carry their mark.
    const union = new Map([...marks, ...nextMarks]);
    const introduced = [...nextMarks.values()].filter((m) => ![...marks.values()].includes(m));
    try {
      await routes.sync(union);
    } catch (e) {
      await rollback(introduced);
      throw refusal("ip", e);
    }
    const t0 = Date.now();
    try {
      await run("nft", ["-f", "-"], text);
    } catch (e) {
      await rollback(introduced);
      throw refusal("nft", e);
    }
    log(`nftables: table ${table} installed (${next.size} load balancers, ${text.length} bytes) in ${Date.now() - t0} ms`);
    marks = nextMarks;
    applied.clear();
    for (const [id, lb] of next) applied.set(id, lb);
    // Break: drop rules of DIPs no longer used. The new table is already in force, so a failure here only
    // leaves unused rules behind (the next sync or start removes them); it must not fail the apply.
    await routes.sync(marks).catch((e) => log(`nftables: removing unused policy routes failed: ${(e as Error).message}`));
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
    await run("nft", ["-f", "-"], `table ip ${table} {}\ndelete table ip ${table}\n`);
    started = true;
  }

  async function check(lb: CompiledLoadBalancer): Promise<string | undefined> {
    const e = await environment();
    if (e) return e;
    for (const l of lb.listeners) {
      const p = listenerProblem(l);
      if (p) return p;
    }
    try {
      const fwd = (await run("cat", ["/proc/sys/net/ipv4/ip_forward"])).trim();
      if (fwd !== "1") return "net.ipv4.ip_forward is 0 on the agent host; the kernel would not forward load-balanced flows";
    } catch {
      return "cannot read net.ipv4.ip_forward";
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
          const targets = lb.listeners
            .filter((l) => l.probe === probe && l.backends.some((b) => b.address === address))
            .map((listener) => ({ lb, listener }));
          if (targets.length === 0) return;
          await run("nft", ["-f", "-"], renderHealthUpdate(targets, ctx(marks)));
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
          frontend: `${l.frontendIPAddress}:${l.frontendPort}/${l.protocol}`,
          // activeFlows: the kernel's conntrack owns flows; counting them would need a conntrack dump per call.
          backends: l.backends.map((b) => ({
            address: b.address,
            destination: `${b.destinationIPAddress}:${b.destinationPort}`,
            up: c.isUp(lb, l, b),
            activeFlows: 0,
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
          await install(new Map(applied), true).catch((e) => log(`nftables: drain failed: ${(e as Error).message}`));
          await new Promise((r) => setTimeout(r, until - Date.now()));
        }
        await run("nft", ["-f", "-"], `table ip ${table} {}\ndelete table ip ${table}\n`);
        await routes.removeAll();
        applied.clear();
        marks = new Map();
        started = false;
        log(`nftables: table ${table} and policy routes removed`);
      });
    },

    settled: () => queue.idle(),
  };
}
