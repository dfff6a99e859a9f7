// SNAT port usage of the nftables driver's outbound blocks, for Azure's UsedSnatPorts: how many ports of
// each backend's block open flows hold now. The kernel picks the port (nf_nat, inside the block the
// postrouting SNAT names) and only conntrack remembers it, in the flow's reply tuple: a reply comes
// back to frontend:port. So the driver reads conntrack's table once per report (never per packet) and
// counts, per block, the distinct reply ports of flows from that backend.
//
// The table is read by conntrack.ts (once per report, shared with current flows); this file only
// interprets it:
//   ipv4 2 tcp 6 431999 ESTABLISHED src=DIP dst=R sport=s dport=d src=R dst=FIP sport=d dport=P [ASSURED] …
// TCP flows in TIME_WAIT or CLOSE are not counted: the budget (`ct count`, nf_conncount) does not count
// them either, so "used" and "exhausted" agree. A port may serve flows to different destinations at once
// (the kernel only keeps each 5-tuple unique), so used ports can be fewer than open flows.

import { seriesId, type CounterReading } from "../metrics/counters.js";
import { parseConntrackFlows, type ConntrackFlow } from "./conntrack.js";
import { snatSeriesKey, type SnatBlockSite } from "./render-outbound.js";

/** The reply side of one flow: where the kernel SNATed it to, and who opened it. */
export interface SnatTuple {
  family: "ip" | "ip6";
  protocol: "tcp" | "udp";
  /** Original source: the backend that opened the flow. */
  source: string;
  /** Reply destination and port: the frontend address and the SNAT port. */
  frontend: string;
  port: number;
}

/** The states nf_conncount (the block's `ct count` budget) no longer counts. */
const CLOSED = new Set(["TIME_WAIT", "CLOSE"]);

/** A flow's reply side as a SNAT tuple, or undefined when it holds no port (a closing TCP flow). */
function snatTupleOf(f: ConntrackFlow): SnatTuple | undefined {
  if (f.protocol === "tcp" && f.state !== undefined && CLOSED.has(f.state)) return undefined;
  return { family: f.family, protocol: f.protocol, source: f.original.src, frontend: f.reply.dst, port: f.reply.dport };
}

/** The tuples of TCP and UDP flows that hold a port (closing TCP flows left out), from parsed flows or conntrack's text. */
export function parseConntrack(table: string | ConntrackFlow[]): SnatTuple[] {
  const flows = typeof table === "string" ? parseConntrackFlows(table) : table;
  return flows.flatMap((f) => snatTupleOf(f) ?? []);
}

const siteKey = (family: string, protocol: string, source: string, frontend: string): string => `${family}\n${protocol}\n${source}\n${frontend}`;

/** Distinct ports in use per block (same order as `sites`). */
export function usedPorts(sites: SnatBlockSite[], tuples: SnatTuple[]): number[] {
  const bySource = new Map<string, Array<{ i: number; site: SnatBlockSite; ports: Set<number> }>>();
  sites.forEach((site, i) => {
    const k = siteKey(site.family, site.protocol, site.address, site.frontendIPAddress);
    let list = bySource.get(k);
    if (!list) bySource.set(k, (list = []));
    list.push({ i, site, ports: new Set() });
  });
  for (const t of tuples)
    for (const b of bySource.get(siteKey(t.family, t.protocol, t.source, t.frontend)) ?? [])
      if (t.port >= b.site.portLow && t.port <= b.site.portHigh) b.ports.add(t.port);
  const out = sites.map(() => 0);
  for (const list of bySource.values()) for (const b of list) out[b.i] = b.ports.size;
  return out;
}

/**
 * Each SNAT block's ports into its reading (created when its counters were not read): the block's size, and
 * the ports open flows hold now (`flows`: conntrack's table, read by the caller). Without the table
 * (undefined: it could not be read), used ports go unreported.
 */
export function addSnatPorts(readings: CounterReading[], sites: SnatBlockSite[], flows: ConntrackFlow[] | undefined): void {
  const used = flows ? usedPorts(sites, parseConntrack(flows)) : undefined;
  const byId = new Map(readings.map((r) => [seriesId(r.key), r]));
  sites.forEach((site, i) => {
    const key = snatSeriesKey(site.loadBalancerId, site.rule, site.frontendIPAddress, site.protocol, site.address);
    let r = byId.get(seriesId(key));
    if (!r) {
      r = { key, bytesIn: 0, bytesOut: 0, packetsIn: 0, packetsOut: 0, newFlows: 0 };
      byId.set(seriesId(key), r);
      readings.push(r);
    }
    r.snat = { connections: 0, failedConnections: 0, ...r.snat, allocatedPorts: site.portHigh - site.portLow + 1, usedPorts: used?.[i] };
  });
}
