// Current flows of the nftables driver, per (load balancer, rule, frontend, backend): the kernel forwards
// without Node, so only conntrack knows which flows are open and where DNAT sent them. A flow belongs to a
// series when its ORIGINAL tuple went to the series' frontend (VIP, port — any port for HA ports —,
// protocol) and conntrack says it went to the series' backend:
//   - DNAT rules: the REPLY tuple's source is the backend's DIP:backendPort (DIP only when the rule keeps
//     the packet's port: HA ports, backendPort 0);
//   - floating IP: nothing is rewritten (the reply comes from VIP:backendPort whichever VM answered), so
//     the backend is the one whose fwmark the flow's conntrack mark holds (render.ts sets `ct mark` from
//     the slot map; routing.ts routes that mark to the DIP).
// The same series keys as the traffic counters (traffic.ts backendSeriesKey), so the gauge rides in the
// counters' reading.
//
// Which flows count: UDP entries until conntrack expires them (a UDP flow has no close); TCP flows in
// every state except the closing ones — FIN_WAIT, CLOSE_WAIT, LAST_ACK (one side has sent its FIN: the
// exchange is over, the rest is teardown), TIME_WAIT and CLOSE (already over; conntrack keeps them up to
// two minutes only to catch stray packets). A flow being opened (SYN_SENT, SYN_RECV) counts: the load
// balancer has already chosen its backend.
//
// One read of the table serves the SNAT port figures and these (conntrack.ts); the status endpoint's
// per-backend activeFlows is the last such reading, never a read of its own.

import type { CompiledBackend, CompiledListener, CompiledLoadBalancer } from "../../domain/agent-protocol.js";
import { seriesId, type CounterReading } from "../metrics/counters.js";
import { ConntrackReader, sameSpelling, type ConntrackFlow } from "./conntrack.js";
import type { Runner } from "./exec.js";
import { keepsPort } from "./render.js";
import { snatBlockSites } from "./render-outbound.js";
import { addSnatPorts } from "./snat-usage.js";
import { backendSeriesKey } from "./traffic.js";

/** TCP states of a flow that is ending or over (see the header). */
export const CLOSING_TCP_STATES: ReadonlySet<string> = new Set(["FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE"]);

export const isCurrent = (f: ConntrackFlow): boolean => f.protocol === "udp" || !CLOSING_TCP_STATES.has(f.state ?? "");

/** How a listener recognises its backend in a flow: by conntrack mark, by reply address, or by reply address and port. */
type Recognise = "mark" | "address" | "address-port";

interface FrontendSite {
  recognise: Recognise;
  /** The backend as `recognise` spells it → its series id. */
  backends: Map<string, string>;
}

const frontendKey = (protocol: string, vip: string, port: number | "*"): string => `${protocol}\n${vip}\n${port}`;

function backendSpelling(recognise: Recognise, address: string, port: number, mark: number | undefined): string {
  if (recognise === "mark") return `m${mark}`;
  return recognise === "address" ? address : `${address}\n${port}`;
}

/**
 * Open flows per series of every listener of `lbs` (0 for a backend with none). `marks`: floating-IP
 * DIP → fwmark, as the driver allocated them.
 */
export function countCurrentFlows(lbs: Iterable<CompiledLoadBalancer>, flows: ConntrackFlow[], marks: ReadonlyMap<string, number>): Map<string, number> {
  const counts = new Map<string, number>();
  const sites = new Map<string, FrontendSite>();
  for (const lb of lbs)
    for (const l of lb.listeners) {
      const keeps = keepsPort(l);
      const recognise: Recognise = l.enableFloatingIP ? "mark" : keeps ? "address" : "address-port";
      const site: FrontendSite = { recognise, backends: new Map() };
      for (const b of l.backends) {
        const id = seriesId(backendSeriesKey(lb, l, b, keeps));
        counts.set(id, 0);
        const spelled = backendSpelling(recognise, sameSpelling(b.destinationIPAddress), b.destinationPort, marks.get(b.address));
        if (!site.backends.has(spelled)) site.backends.set(spelled, id);
      }
      const protocols = l.protocol === "All" ? ["tcp", "udp"] : [l.protocol.toLowerCase()];
      for (const p of protocols) sites.set(frontendKey(p, sameSpelling(l.frontendIPAddress), l.frontendPort === 0 ? "*" : l.frontendPort), site);
    }
  if (sites.size === 0) return counts;
  for (const f of flows) {
    if (!isCurrent(f)) continue;
    // A frontend's own port first, as the dispatch maps do; then an HA-ports rule on the address.
    for (const port of [f.original.dport, "*" as const]) {
      const site = sites.get(frontendKey(f.protocol, f.original.dst, port));
      const id = site?.backends.get(backendSpelling(site.recognise, f.reply.src, f.reply.sport, f.mark));
      if (id === undefined) continue;
      counts.set(id, (counts.get(id) ?? 0) + 1);
      break;
    }
  }
  return counts;
}

/** The load balancers in force and what the driver's table needs read from conntrack. */
export interface FlowScope {
  loadBalancers: CompiledLoadBalancer[];
  marks: ReadonlyMap<string, number>;
  /** Current flows are traffic metrics: counted only while traffic is (`--traffic-counters`). */
  countTraffic: boolean;
}

/**
 * The driver's conntrack figures: one shared read per report fills SNAT blocks' used ports and each
 * traffic series' current flows, and keeps the counts for the status endpoint. An unreadable table is
 * said once (until it is readable again) and leaves both figures absent, never 0.
 */
export class ConntrackFigures {
  private readonly reader: ConntrackReader;
  private last: Map<string, number> | undefined;
  private unreadable: string | undefined;

  constructor(
    run: Runner,
    maxAgeMs: number | undefined,
    private readonly log: (msg: string) => void,
  ) {
    this.reader = new ConntrackReader(run, maxAgeMs);
  }

  /** Adds used SNAT ports and current flows to `readings` (the driver's counter readings). */
  async addTo(readings: CounterReading[], scope: FlowScope): Promise<void> {
    const sites = scope.loadBalancers.flatMap(snatBlockSites);
    const wantsFlows = scope.countTraffic && scope.loadBalancers.some((lb) => lb.listeners.length > 0);
    if (sites.length === 0 && !wantsFlows) return;
    const snapshot = await this.reader.read();
    const flows = "flows" in snapshot ? snapshot.flows : undefined;
    const reason = "unreadable" in snapshot ? snapshot.unreadable : undefined;
    if (reason && !this.unreadable) this.log(`nftables: ${reason}; UsedSnatPorts and current flows are not reported`);
    this.unreadable = reason;
    if (sites.length > 0) addSnatPorts(readings, sites, flows);
    if (!wantsFlows) return;
    this.last = flows ? countCurrentFlows(scope.loadBalancers, flows, scope.marks) : undefined;
    for (const r of readings) if (!r.snat) r.currentFlows = this.last ? (this.last.get(seriesId(r.key)) ?? 0) : undefined;
  }

  /**
   * A backend's open flows as of the last report's read of conntrack (so as old as the last metrics
   * interval); 0 before the first read or when the table cannot be read.
   */
  activeFlows(lb: CompiledLoadBalancer, l: CompiledListener, b: CompiledBackend): number {
    return this.last?.get(seriesId(backendSeriesKey(lb, l, b, keepsPort(l)))) ?? 0;
  }

  clear(): void {
    this.last = undefined;
    this.reader.clear();
  }
}
