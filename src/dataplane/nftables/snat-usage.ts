// SNAT port usage of the nftables driver's outbound blocks, for Azure's UsedSnatPorts: how many ports of
// each backend's block open flows hold now. The kernel picks the port (nf_nat, inside the block the
// postrouting SNAT names) and only conntrack remembers it, in the flow's reply tuple: a reply comes
// back to frontend:port. So the driver reads conntrack's table once per report (never per packet) and
// counts, per block, the distinct reply ports of flows from that backend.
//
// Where from: /proc/net/nf_conntrack (the reading process's network namespace: the driver runs `cat`
// where it runs nft), else `conntrack -L -o extended` (Debian package conntrack) on kernels built
// without the proc file; both print one flow per line in the same format:
//   ipv4 2 tcp 6 431999 ESTABLISHED src=DIP dst=R sport=s dport=d src=R dst=FIP sport=d dport=P [ASSURED] …
// TCP flows in TIME_WAIT or CLOSE are not counted: the budget (`ct count`, nf_conncount) does not count
// them either, so "used" and "exhausted" agree. A port may serve flows to different destinations at once
// (the kernel only keeps each 5-tuple unique), so used ports can be fewer than open flows.
//
// Cost: one read of the whole table per report (and Prometheus scrape), only while SNAT blocks exist:
// about 2.5 µs a line in Node (100,000 flows, 18 MB of text: 0.25 s per read on a shared 2-CPU host).

import { seriesId, type CounterReading } from "../metrics/counters.js";
import type { Runner } from "./exec.js";
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

const CLOSED = new Set(["TIME_WAIT", "CLOSE"]);

/** conntrack prints IPv6 unabbreviated (2001:0db8:0000:…); the compiled model uses RFC 5952's form. */
export function sameSpelling(address: string): string {
  return address.includes(":") ? new URL(`http://[${address}]/`).hostname.slice(1, -1) : address;
}

/** The tuples of TCP and UDP flows that hold a port (closing TCP flows left out), from conntrack's text. */
export function parseConntrack(text: string): SnatTuple[] {
  const out: SnatTuple[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(/\s+/);
    const family = f[0] === "ipv4" ? "ip" : f[0] === "ipv6" ? "ip6" : undefined;
    const protocol = f[2] === "tcp" || f[2] === "udp" ? f[2] : undefined;
    if (!family || !protocol) continue;
    if (protocol === "tcp" && CLOSED.has(f[5])) continue;
    const src: string[] = [];
    const dst: string[] = [];
    const dport: string[] = [];
    for (const t of f) {
      if (t.startsWith("src=")) src.push(t.slice(4));
      else if (t.startsWith("dst=")) dst.push(t.slice(4));
      else if (t.startsWith("dport=")) dport.push(t.slice(6));
    }
    if (src.length < 2 || dst.length < 2 || dport.length < 2) continue;
    out.push({ family, protocol, source: sameSpelling(src[0]), frontend: sameSpelling(dst[1]), port: Number(dport[1]) });
  }
  return out;
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

/** conntrack's table as text, from the proc file or the conntrack tool; why neither works, as an error. */
export async function readConntrack(run: Runner): Promise<string> {
  try {
    return await run("cat", ["/proc/net/nf_conntrack"]);
  } catch (proc) {
    try {
      return await run("conntrack", ["-L", "-o", "extended"]);
    } catch {
      throw new Error(`cannot read conntrack's table for UsedSnatPorts: ${(proc as Error).message.trim()}; and no conntrack tool (Debian package conntrack)`);
    }
  }
}

/**
 * Each SNAT block's ports into its reading (created when its counters were not read): the block's size, and
 * the ports open flows hold now (one read of conntrack's table). When the table cannot be read, used ports
 * go unreported and the reason is returned.
 */
export async function addSnatPorts(run: Runner, readings: CounterReading[], sites: SnatBlockSite[]): Promise<string | undefined> {
  let used: number[] | undefined;
  let unreadable: string | undefined;
  try {
    used = usedPorts(sites, parseConntrack(await readConntrack(run)));
  } catch (e) {
    unreadable = (e as Error).message;
  }
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
  return unreadable;
}
