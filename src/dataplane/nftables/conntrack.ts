// The kernel's conntrack table, read and parsed once for every figure the nftables driver takes from it:
// SNAT ports in use (snat-usage.ts) and current flows per rule and backend (current-flows.ts). Only
// conntrack knows either — the kernel forwards without Node — and the table can be large, so it is read
// at most once per `maxAgeMs` (the agent's report and Prometheus scrapes share a read) and never per
// status call or per packet.
//
// Where from: /proc/net/nf_conntrack (the reading process's network namespace: the driver runs `cat`
// where it runs nft), else `conntrack -L -o extended` (Debian package conntrack) on kernels built
// without the proc file; both print one flow per line in the same format, the original tuple first,
// then the reply tuple; a TCP flow's state is the field after the timeout:
//   ipv4 2 tcp 6 431999 ESTABLISHED src=C dst=VIP sport=s dport=80 src=DIP dst=C sport=81 dport=s [ASSURED] mark=0 zone=0 use=2
// conntrack prints IPv6 unabbreviated (2001:0db8:0000:…); addresses are returned in RFC 5952's form,
// as the compiled model spells them.
//
// Cost in Node: about 6 µs a line parsed and counted (100,000 flows, 18 MB of text: 0.6 s at load average
// 4.8 on the shared 2-CPU host; the SNAT-only parse before it: 0.3–0.5 s in the same run); the kernel's
// printing of the table costs more than that (bench/conntrack-read.ts).

import type { Runner } from "./exec.js";

export interface Tuple {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** One TCP or UDP flow of the table (other protocols are left out: no rule forwards them). */
export interface ConntrackFlow {
  family: "ip" | "ip6";
  protocol: "tcp" | "udp";
  /** TCP only: conntrack's state (ESTABLISHED, TIME_WAIT, …). */
  state?: string;
  original: Tuple;
  reply: Tuple;
  /** The connection mark (floating-IP flows carry their backend's fwmark here). */
  mark: number;
}

const spellings = new Map<string, string>();

/** conntrack prints IPv6 unabbreviated (2001:0db8:0:…); the compiled model uses RFC 5952's form. */
export function sameSpelling(address: string): string {
  if (!address.includes(":")) return address;
  let s = spellings.get(address);
  if (s === undefined) {
    if (spellings.size >= 100_000) spellings.clear(); // bounded: clients' addresses come and go
    s = new URL(`http://[${address}]/`).hostname.slice(1, -1);
    spellings.set(address, s);
  }
  return s;
}

/**
 * The value of the first ` key=` at or after `from` in `line` (to the next space), and where it ends; the
 * tokens of a line come in a fixed order (original tuple, optional counters and flags, reply tuple, mark),
 * so a scan with indexOf is enough and costs about half of splitting every line into tokens.
 */
function valueAfter(line: string, key: string, from: number): [string, number] | undefined {
  const at = line.indexOf(key, from);
  if (at < 0) return undefined;
  const start = at + key.length;
  const end = line.indexOf(" ", start);
  const stop = end < 0 ? line.length : end;
  return [line.slice(start, stop), stop];
}

/** One tuple (src, dst, sport, dport, in that order) from `from` on, and where it ends. */
function tupleAfter(line: string, from: number): [Tuple, number] | undefined {
  const src = valueAfter(line, " src=", from);
  const dst = src && valueAfter(line, " dst=", src[1]);
  const sport = dst && valueAfter(line, " sport=", dst[1]);
  const dport = sport && valueAfter(line, " dport=", sport[1]);
  if (!dport) return undefined;
  return [{ src: sameSpelling(src[0]), dst: sameSpelling(dst[0]), sport: Number(sport[0]), dport: Number(dport[0]) }, dport[1]];
}

/** The TCP and UDP flows of conntrack's text (either source's format), every state included. */
export function parseConntrackFlows(text: string): ConntrackFlow[] {
  const out: ConntrackFlow[] = [];
  for (const line of text.split("\n")) {
    const family = line.startsWith("ipv4") ? "ip" : line.startsWith("ipv6") ? "ip6" : undefined;
    if (!family) continue;
    const first = line.indexOf(" src=");
    // The head: family, its number, protocol, its number, timeout, and a TCP flow's state.
    const head = line.slice(0, first).split(/\s+/);
    const protocol = head[2] === "tcp" || head[2] === "udp" ? head[2] : undefined;
    if (!protocol) continue;
    const original = tupleAfter(line, first);
    const reply = original && tupleAfter(line, original[1]);
    if (!reply) continue;
    const mark = valueAfter(line, " mark=", reply[1]);
    out.push({ family, protocol, state: protocol === "tcp" ? head[5] : undefined, original: original[0], reply: reply[0], mark: mark ? Number(mark[0]) : 0 });
  }
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
      throw new Error(`cannot read conntrack's table: ${(proc as Error).message.trim()}; and no conntrack tool (Debian package conntrack)`);
    }
  }
}

/** One read of the table: its flows, or why it could not be read. */
export type ConntrackSnapshot = { flows: ConntrackFlow[]; at: number } | { unreadable: string; at: number };

/**
 * Reads of the table shared by everyone who asks within `maxAgeMs` (the agent's report and a Prometheus
 * scrape landing together cost one read); callers asking while a read is under way wait for that one.
 */
export class ConntrackReader {
  private last: ConntrackSnapshot | undefined;
  private pending: Promise<ConntrackSnapshot> | undefined;

  constructor(
    private readonly run: Runner,
    private readonly maxAgeMs = 1000,
  ) {}

  read(now = Date.now()): Promise<ConntrackSnapshot> {
    if (this.last && now - this.last.at < this.maxAgeMs) return Promise.resolve(this.last);
    this.pending ??= readConntrack(this.run)
      .then((text): ConntrackSnapshot => ({ flows: parseConntrackFlows(text), at: Date.now() }))
      .catch((e: Error): ConntrackSnapshot => ({ unreadable: e.message, at: Date.now() }))
      .then((s) => {
        this.last = s;
        this.pending = undefined;
        return s;
      });
    return this.pending;
  }

  /** Forget the last read (the driver closed: a restart must not see the previous run's flows). */
  clear(): void {
    this.last = undefined;
  }
}
