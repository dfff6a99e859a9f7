// Flows for the netns lab (test/helpers/netns.ts) that its client helpers do not make: a "host outside"
// in the client namespace that tells every caller which source address:port it saw, a dialer that runs
// inside a VM and opens several TCP or UDP flows to it at once (all held open, so they all hold a SNAT
// port together), a timed TCP connect, and one long-lived UDP flow (one socket, one source port).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRunner } from "../../src/dataplane/nftables/exec.js";
import { readConntrack } from "../../src/dataplane/nftables/conntrack.js";

const PEER = `
import net from "node:net"; import dgram from "node:dgram";
const [host, ...ports] = process.argv.slice(2); let pending = 2 * ports.length;
const done = () => { if (--pending === 0) console.log("ready"); };
const fam = host.includes(":") ? "udp6" : "udp4";
for (const port of ports.map(Number)) {
  net.createServer((s) => { s.on("error", () => {}); s.write(s.remoteAddress + " " + s.remotePort + "\\n"); }).listen(port, host, done);
  const u = dgram.createSocket(fam); u.on("message", (m, r) => u.send(r.address + " " + r.port + "\\n", r.port, r.address)); u.bind(port, host, done);
}`;

const DIAL = `
import net from "node:net"; import dgram from "node:dgram";
const [mode, host, port, count, local, holdMs] = process.argv.slice(2);
const localAddress = local === "-" ? undefined : local;
const open = [];
const tcp = () => new Promise((ok) => {
  const s = net.connect({ host, port: Number(port), localAddress }); open.push(s);
  const t = setTimeout(() => { s.destroy(); ok("ERR timeout"); }, 1500);
  s.setEncoding("utf8").once("data", (d) => { clearTimeout(t); ok(d.trim()); });
  s.on("error", (e) => { clearTimeout(t); ok("ERR " + e.code); });
});
const udp = () => new Promise((ok) => {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4"); open.push(s);
  const t = setTimeout(() => ok("ERR timeout"), 1500);
  s.once("message", (m) => { clearTimeout(t); ok(m.toString().trim()); });
  s.bind({ address: localAddress }, () => s.send("x", Number(port), host));
});
const out = [];
for (let i = 0; i < Number(count); i++) out.push(await (mode === "tcp" ? tcp() : udp()));
console.log(JSON.stringify(out));
await new Promise((r) => setTimeout(r, Number(holdMs ?? 0)));
for (const s of open) (s.destroy ?? s.close).call(s);
process.exit(0);`;

const CONNECT = `
import net from "node:net";
const [host, port] = process.argv.slice(2); const t0 = performance.now();
const s = net.connect({ host, port: Number(port) });
const done = (what) => { console.log(JSON.stringify({ result: what, ms: performance.now() - t0 })); s.destroy(); process.exit(0); };
s.setTimeout(3000, () => done("timeout")); s.on("connect", () => done("connected")); s.on("error", (e) => done(e.code));`;

const UDP_FLOW = `
import dgram from "node:dgram"; import readline from "node:readline";
const [host, port] = process.argv.slice(2);
const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
s.on("message", (m) => console.log(m.toString().trim()));
readline.createInterface({ input: process.stdin }).on("line", () => s.send("x", Number(port), host)).on("close", () => s.close());`;

/**
 * Why UsedSnatPorts cannot be read in namespace `ns` — neither /proc/net/nf_conntrack (a kernel without
 * CONFIG_NF_CONNTRACK_PROCFS) nor the conntrack tool (Debian package conntrack) — or undefined. Ask after
 * a table with conntrack expressions is in force there (it loads conntrack).
 */
export async function conntrackUnreadable(ns: string): Promise<string | undefined> {
  return readConntrack(makeRunner(ns)).then(() => undefined, (e: Error) => e.message);
}

/** What the host outside saw: "address port", or "ERR …" for a flow that did not get through. */
export interface Seen {
  address: string;
  port: number;
}

export const parseSeen = (line: string): Seen | undefined => {
  const [address, port] = line.split(" ");
  return line.startsWith("ERR") ? undefined : { address, port: Number(port) };
};

export class OutboundLab {
  private readonly dir = mkdtempSync(join(tmpdir(), "lbplane-outbound-"));
  private readonly children: ChildProcess[] = [];

  constructor() {
    writeFileSync(join(this.dir, "peer.mjs"), PEER);
    writeFileSync(join(this.dir, "dial.mjs"), DIAL);
    writeFileSync(join(this.dir, "connect.mjs"), CONNECT);
    writeFileSync(join(this.dir, "udp-flow.mjs"), UDP_FLOW);
  }

  /** One TCP connect from `ns`, timed inside the namespace: "connected", an errno code, or "timeout". */
  async connect(ns: string, host: string, port: number): Promise<{ result: string; ms: number }> {
    return JSON.parse(await makeRunner(ns)(process.execPath, [join(this.dir, "connect.mjs"), host, String(port)]));
  }

  /** One UDP flow (fixed source port) from `ns`; ask() sends a datagram and returns the answer, or "ERR no answer". */
  udpFlow(ns: string, host: string, port: number): { ask: () => Promise<string>; close: () => void } {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(this.dir, "udp-flow.mjs"), host, String(port)], { stdio: ["pipe", "pipe", "inherit"] });
    this.children.push(child);
    const waiters: Array<(s: string) => void> = [];
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        waiters.shift()?.(line);
      }
    });
    return {
      ask: () =>
        new Promise<string>((ok) => {
          const answer = (line: string) => {
            clearTimeout(timer);
            ok(line);
          };
          // An unanswered datagram must not leave its waiter behind to take the next answer.
          const timer = setTimeout(() => {
            waiters.splice(waiters.indexOf(answer), 1);
            ok("ERR no answer");
          }, 1500);
          waiters.push(answer);
          child.stdin!.write("go\n");
        }),
      close: () => child.stdin!.end(),
    };
  }

  /**
   * The host outside: answers TCP and UDP on host:port for each port with the caller's address and port.
   * Tests use a fresh port each: conntrack entries of earlier flows (UDP ones live 30 s) still hold their
   * SNAT ports towards the port they went to, and the kernel does not reuse a port for the same 5-tuple.
   */
  async peer(ns: string, host: string, ports: number[]): Promise<void> {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(this.dir, "peer.mjs"), host, ...ports.map(String)], { stdio: ["ignore", "pipe", "inherit"] });
    this.children.push(child);
    await new Promise<void>((ok, fail) => {
      child.stdout!.setEncoding("utf8").on("data", (d: string) => d.includes("ready") && ok());
      child.on("exit", (c) => fail(new Error(`peer exited with ${c}`)));
    });
  }

  /**
   * `count` flows from `ns` to host:port opened one after another and held together (for `holdMs` more
   * after the last answer); one line per flow.
   */
  async dial(ns: string, mode: "tcp" | "udp", host: string, port: number, count: number, localAddress?: string, holdMs = 0): Promise<string[]> {
    const args = [join(this.dir, "dial.mjs"), mode, host, String(port), String(count), localAddress ?? "-", String(holdMs)];
    return JSON.parse(await makeRunner(ns)(process.execPath, args));
  }

  destroy(): void {
    for (const c of this.children) if (c.exitCode === null) c.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }
}
