// Network-namespace lab for data-plane tests and benchmarks (root only). Topology, as in
// /work/shared/reference/floating-ip-netns-sketch.sh, documentation ranges only:
//
//   client 192.0.2.2 ── 192.0.2.1 [lb] 198.51.100.1 ── 198.51.100.2 vm1   (vm1, vm2: lo holds VIP1, VIP2)
//                                      198.51.100.5 ── 198.51.100.6 vm2
//
// Client and VMs route everything via lb, so replies of DNAT'd and floating flows return through it.
// Backends are one Node process per VM serving HTTP and UDP on every requested address:port; the reply
// names the VM and the local address:port it saw as destination — what floating IP is about.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRunner } from "../../src/dataplane/nftables/exec.js";

export const ADDR = {
  client: "192.0.2.2",
  lbClientSide: "192.0.2.1",
  vm1: "198.51.100.2",
  vm2: "198.51.100.6",
  vip1: "203.0.113.1",
  vip2: "203.0.113.2",
} as const;

/** Why netns tests cannot run here, or undefined. Printed by the tests when they skip. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces need Linux";
  if (process.getuid?.() !== 0) return "not root: creating network namespaces needs CAP_SYS_ADMIN/CAP_NET_ADMIN";
  const bins = ["/usr/sbin/ip", "/usr/sbin/nft", "/sbin/ip", "/sbin/nft", "/usr/bin/ip"];
  if (!bins.some((b) => b.endsWith("/ip") && existsSync(b))) return "ip (iproute2) is not installed";
  if (!bins.some((b) => b.endsWith("/nft") && existsSync(b))) return "nft is not installed (apt-get install nftables)";
  return undefined;
}

const BACKEND = `
import http from "node:http"; import dgram from "node:dgram";
const [name, ...binds] = process.argv.slice(2); let pending = binds.length * 2;
const done = () => { if (--pending === 0) console.log("ready"); };
for (const b of binds) {
  const i = b.lastIndexOf(":"); const host = b.slice(0, i), port = Number(b.slice(i + 1));
  const srv = http.createServer((req, res) => {
    const body = name + " " + req.socket.localAddress + ":" + req.socket.localPort + "\\n";
    res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) }); res.end(body);
  });
  srv.keepAliveTimeout = 120000; srv.listen(port, host, done);
  const u = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  u.on("message", (m, r) => u.send(name + " " + host + ":" + port + "\\n", r.port, r.address)); u.bind(port, host, done);
}`;

const CLIENT = `
import http from "node:http"; import dgram from "node:dgram"; import net from "node:net"; import readline from "node:readline";
const [mode, host, port, count] = process.argv.slice(2);
const get = () => new Promise((ok) => {
  const r = http.get({ host, port: Number(port), agent: false, timeout: 1500 }, (res) => {
    let b = ""; res.setEncoding("utf8").on("data", (d) => (b += d)).on("end", () => ok(b.trim()));
  });
  r.on("timeout", () => r.destroy(new Error("timeout"))); r.on("error", (e) => ok("ERR " + e.message));
});
const udp = () => new Promise((ok) => {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4"); const t = setTimeout(() => { s.close(); ok("ERR timeout"); }, 1500);
  s.on("message", (m) => { clearTimeout(t); s.close(); ok(m.toString().trim()); }); s.send("x", Number(port), host);
});
if (mode === "get" || mode === "udp") {
  const out = []; for (let i = 0; i < Number(count); i++) out.push(await (mode === "get" ? get() : udp()));
  console.log(JSON.stringify(out));
} else if (mode === "load") {
  // count = "conns:seconds": closed-loop load, one new TCP connection per request; latency per request.
  const [conns, secs] = count.split(":").map(Number); const end = Date.now() + secs * 1000; const lat = []; let errors = 0;
  const worker = async () => { while (Date.now() < end) { const t = process.hrtime.bigint(); const b = await get();
    if (b.startsWith("ERR")) errors++; else lat.push(Number(process.hrtime.bigint() - t) / 1e6); } };
  const t0 = Date.now(); await Promise.all(Array.from({ length: conns }, worker)); lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  console.log(JSON.stringify({ rps: lat.length / ((Date.now() - t0) / 1000), p50: q(0.5), p99: q(0.99), errors }));
} else if (mode === "hold") {
  // One TCP connection kept open; every stdin line sends a request on it and prints the body.
  const sock = net.connect(Number(port), host); let buf = "";
  sock.setEncoding("utf8").on("data", (d) => { buf += d; const m = buf.match(/\\r\\n\\r\\n([^\\n]*\\n)/); if (m) { console.log(m[1].trim()); buf = ""; } });
  sock.on("error", (e) => console.log("ERR " + e.message)); sock.on("close", () => console.log("CLOSED"));
  readline.createInterface({ input: process.stdin }).on("line", () => sock.write("GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")).on("close", () => sock.end());
}`;

export class Lab {
  readonly ns: { client: string; lb: string; vm1: string; vm2: string };
  private readonly dir = mkdtempSync(join(tmpdir(), "lbplane-netns-"));
  private readonly children: ChildProcess[] = [];

  constructor(prefix = "lbt") {
    const id = `${prefix}${process.pid % 100000}${Math.random().toString(36).slice(2, 6)}`;
    this.ns = { client: `${id}-c`, lb: `${id}-lb`, vm1: `${id}-vm1`, vm2: `${id}-vm2` };
    writeFileSync(join(this.dir, "backend.mjs"), BACKEND);
    writeFileSync(join(this.dir, "client.mjs"), CLIENT);
  }

  exec(ns: string, cmd: string, args: string[], input?: string): Promise<string> {
    return makeRunner(ns)(cmd, args, input);
  }

  async create(): Promise<void> {
    const { client, lb, vm1, vm2 } = this.ns;
    const ip = (...a: string[]): Promise<string> => makeRunner()("ip", a);
    for (const n of [client, lb, vm1, vm2]) {
      await ip("netns", "add", n);
      await ip("-n", n, "link", "set", "lo", "up");
    }
    // veths are created directly inside the namespaces, so fixed names never clash between runs.
    await ip("link", "add", "c0", "netns", client, "type", "veth", "peer", "name", "lbc", "netns", lb);
    await ip("link", "add", "v1", "netns", vm1, "type", "veth", "peer", "name", "lb1", "netns", lb);
    await ip("link", "add", "v2", "netns", vm2, "type", "veth", "peer", "name", "lb2", "netns", lb);
    const batch = (n: string, lines: string[]): Promise<string> => makeRunner(n)("ip", ["-batch", "-"], lines.join("\n") + "\n");
    await batch(client, ["addr add 192.0.2.2/24 dev c0", "link set c0 up", "route add default via 192.0.2.1"]);
    await batch(lb, [
      "addr add 192.0.2.1/24 dev lbc", "link set lbc up",
      "addr add 198.51.100.1/30 dev lb1", "link set lb1 up",
      "addr add 198.51.100.5/30 dev lb2", "link set lb2 up",
    ]);
    for (const [n, dev, addr, gw] of [[vm1, "v1", ADDR.vm1, "198.51.100.1"], [vm2, "v2", ADDR.vm2, "198.51.100.5"]]) {
      await batch(n, [
        `addr add ${addr}/30 dev ${dev}`, `link set ${dev} up`, `route add default via ${gw}`,
        // The guest-OS side of floating IP (the seed's "loopback interface with the VIP").
        `addr add ${ADDR.vip1}/32 dev lo`, `addr add ${ADDR.vip2}/32 dev lo`,
      ]);
    }
    await this.exec(lb, "sysctl", ["-qw", "net.ipv4.ip_forward=1"]);
  }

  /** Start an HTTP+UDP backend in `ns` bound to each "ip:port"; resolves once every socket listens. */
  async backend(ns: string, name: string, binds: string[]): Promise<ChildProcess> {
    const child = spawn("ip", ["netns", "exec", ns, process.execPath, join(this.dir, "backend.mjs"), name, ...binds], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.children.push(child);
    await new Promise<void>((ok, fail) => {
      child.stdout!.setEncoding("utf8").on("data", (d: string) => d.includes("ready") && ok());
      child.on("exit", (c) => fail(new Error(`backend ${name} exited with ${c}`)));
    });
    return child;
  }

  /** `count` HTTP GETs from the client, each on a new connection (new source port → new hash). */
  async get(host: string, port: number, count: number): Promise<string[]> {
    return JSON.parse(await this.exec(this.ns.client, process.execPath, [join(this.dir, "client.mjs"), "get", host, String(port), String(count)]));
  }

  async udp(host: string, port: number, count: number): Promise<string[]> {
    return JSON.parse(await this.exec(this.ns.client, process.execPath, [join(this.dir, "client.mjs"), "udp", host, String(port), String(count)]));
  }

  /** A long-lived TCP connection from the client; ask() sends one request on it and returns the body. */
  hold(host: string, port: number): { ask: () => Promise<string>; close: () => void } {
    const child = spawn("ip", ["netns", "exec", this.ns.client, process.execPath, join(this.dir, "client.mjs"), "hold", host, String(port)], {
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.children.push(child);
    const lines: string[] = [];
    const waiters: Array<(s: string) => void> = [];
    let buf = "";
    child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const w = waiters.shift();
        if (w) w(line); else lines.push(line);
      }
    });
    return {
      ask: () => {
        const p = new Promise<string>((ok) => (lines.length ? ok(lines.shift()!) : waiters.push(ok)));
        child.stdin!.write("go\n");
        return Promise.race([p, new Promise<string>((ok) => setTimeout(() => ok("ERR no answer"), 3000))]);
      },
      close: () => child.stdin!.end(),
    };
  }

  /** Closed-loop load from the client (or `from`): `conns` loops, each request on a new connection, for `seconds`. */
  async load(host: string, port: number, conns: number, seconds: number, from = this.ns.client): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
    const args = [join(this.dir, "client.mjs"), "load", host, String(port), `${conns}:${seconds}`];
    return JSON.parse(await this.exec(from, process.execPath, args));
  }

  async destroy(): Promise<void> {
    for (const c of this.children) if (c.exitCode === null) c.kill("SIGKILL");
    for (const n of Object.values(this.ns)) await makeRunner()("ip", ["netns", "del", n]).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
