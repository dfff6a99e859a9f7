// lbplane-agent (userspace driver) against HAProxy (mode tcp, the same L4 job) on the same backends,
// same machine, same run. Run: npx tsx bench/dataplane-vs-haproxy.ts   (needs haproxy and wrk:
// apt-get install -y haproxy wrk). Backends are separate Node processes on 127.0.5.11/12; the agent
// is a real `lbplane-agent` process configured by the in-repo fake control plane.
// Both proxies get one core: the agent is one event loop, so HAProxy runs with `nbthread 1`.

import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { FakeControlPlane } from "../test/dataplane/fake-control-plane.js";
import { waitUntil } from "../test/kit/wait.js";
import { config, dips, freePort, listener, loadBalancer, tcpProbe } from "../test/dataplane/lab.js";

const DIPS = ["127.0.5.11", "127.0.5.12"];
const AGENT_VIP = "127.10.5.1";
const HAPROXY_VIP = "127.10.5.2";
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const children: ChildProcess[] = [];

const BACKEND = `
const http = require("http"), dgram = require("dgram");
const [host, port, udpPort, name] = process.argv.slice(1);
const server = http.createServer((req, res) => res.end(name));
server.keepAliveTimeout = 60000;
server.listen(+port, host, () => {
  const u = dgram.createSocket("udp4");
  u.on("message", (m, r) => u.send(m, r.port, r.address));
  u.bind(+udpPort, host, () => console.log("ready"));
});`;

function startProcess(cmd: string, args: string[], readyText?: string): Promise<ChildProcess> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  child.once("exit", (code, signal) => signal !== "SIGKILL" && console.error(`${cmd} exited ${code}: ${stderr.slice(-500)}`));
  if (!readyText) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (d) => String(d).includes(readyText) && resolve(child));
    child.once("exit", (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}

const startBackend = (host: string, port: number, udpPort: number, name: string) =>
  startProcess(process.execPath, ["-e", BACKEND, host, String(port), String(udpPort), name], "ready");

interface WrkResult { rps: number; p50ms: number; p99ms: number; errors: number }

function wrk(url: string, connections: number, close: boolean): WrkResult {
  const args = ["-t1", `-c${connections}`, `-d${SECONDS}s`, "--latency", ...(close ? ["-H", "Connection: close"] : []), url];
  const out = execFileSync("wrk", args, { encoding: "utf8" });
  const ms = (label: string) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)`, "m").exec(out);
    if (!m) return NaN;
    return Number(m[1]) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[m[2]!]!;
  };
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(out);
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]),
    p50ms: ms("50"),
    p99ms: ms("99"),
    errors: (errs ? errs.slice(1).reduce((n, x) => n + Number(x), 0) : 0) + (non2xx ? Number(non2xx[1]) : 0),
  };
}

/** Request/response UDP datagrams per second with `clients` sockets in lock-step. */
async function udpRate(host: string, port: number, clients = 32): Promise<number> {
  let replies = 0;
  const until = Date.now() + SECONDS * 1000;
  const payload = Buffer.alloc(64, 1);
  await Promise.all(Array.from({ length: clients }, async () => {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    while (Date.now() < until) {
      const ok = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 200);
        s.once("message", () => { clearTimeout(timer); resolve(true); });
        s.send(payload, port, host);
      });
      if (ok) replies++;
      else s.removeAllListeners("message");
    }
    s.close();
  }));
  return replies / SECONDS;
}

/** Kill one backend under steady new-connection load; time until no flow is sent to it any more. */
async function failover(host: string, port: number, victim: ChildProcess, victimName: string): Promise<number> {
  const log: Array<{ t: number; who: string }> = [];
  let running = true;
  const loop = async () => {
    while (running) {
      const who = await new Promise<string>((resolve) => {
        const req = http.get({ host, port, agent: false, timeout: 1000 }, (res) => {
          let b = "";
          res.on("data", (c) => (b += c)).on("end", () => resolve(b));
        });
        req.on("timeout", () => req.destroy()).on("error", () => resolve("error"));
      });
      log.push({ t: Date.now(), who });
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  await new Promise((r) => setTimeout(r, 1000));
  if (!log.some((e) => e.who === victimName)) throw new Error(`${victimName} got no traffic before the kill`);
  const killedAt = Date.now();
  victim.kill("SIGKILL");
  await new Promise((r) => setTimeout(r, 5000));
  running = false;
  await Promise.all(loops);
  // After the kill, flows hashed to the dead backend fail; the last failure ends the outage.
  const lastBad = log.filter((e) => e.t >= killedAt && (e.who === "error" || e.who === victimName)).at(-1);
  return lastBad ? lastBad.t - killedAt : 0;
}

function haproxyConfig(bind: string, port: number, backendPort: number): string {
  return `global
  nbthread 1
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend vip
  bind ${bind}:${port}
  default_backend pool
backend pool
  balance roundrobin
${DIPS.map((d, i) => `  server dip${i + 1} ${d}:${backendPort} check inter 1s fall 2 rise 1`).join("\n")}
`;
}

const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");

async function main(): Promise<void> {
  for (const tool of ["haproxy", "wrk"]) {
    try {
      execFileSync("which", [tool]);
    } catch {
      throw new Error(`${tool} is not installed: apt-get install -y haproxy wrk`);
    }
  }
  const port = await freePort(DIPS);
  const udpPort = await freePort(DIPS);
  const names = ["DIP1", "DIP2"];
  const backends = await Promise.all(DIPS.map((d, i) => startBackend(d, port, udpPort, names[i]!)));

  const cp = await new FakeControlPlane(1000).start();
  const bin = fileURLToPath(new URL("../bin/lbplane-agent.js", import.meta.url));
  await startProcess(process.execPath, [bin, "--control-plane", cp.url, "--name", "bench", "--location", "westeurope", "--join-token", cp.joinToken, "--log-level", "warn", "--max-connections", "9000"]);
  const agent = await cp.waitForAgent("bench", 20_000);
  const vipPort = await freePort([AGENT_VIP, HAPROXY_VIP]);
  const lb = loadBalancer("bench", "1", [
    listener({ name: "http", frontendIPAddress: AGENT_VIP, frontendPort: vipPort, probe: "p", backends: dips(DIPS, port) }),
    listener({ name: "udp", protocol: "Udp", frontendIPAddress: AGENT_VIP, frontendPort: vipPort, backends: dips(DIPS, udpPort) }),
  ], [tcpProbe("p", port, DIPS, { intervalInSeconds: 1, probeThreshold: 2 })]);
  const ack = await cp.pushOk(agent, config(1, [lb]));
  if (ack.loadBalancers[0]!.state !== "Applied") throw new Error(JSON.stringify(ack));

  const cfgPath = join(tmpdir(), `lbplane-bench-haproxy-${process.pid}.cfg`);
  writeFileSync(cfgPath, haproxyConfig(HAPROXY_VIP, vipPort, port));
  await startProcess("haproxy", ["-f", cfgPath, "-db"]);
  await waitUntil(async () => (await fetch(`http://${HAPROXY_VIP}:${vipPort}/`).then((r) => r.text(), () => "")) !== "", 5000, "haproxy up");

  const targets = { direct: `http://${DIPS[0]}:${port}/`, agent: `http://${AGENT_VIP}:${vipPort}/`, haproxy: `http://${HAPROXY_VIP}:${vipPort}/` };
  const rows: Record<string, { ka: WrkResult; nc: WrkResult }> = {};
  for (const [name, url] of Object.entries(targets)) {
    wrk(url, 10, false); // warm-up (JIT, connection pools)
    rows[name] = { ka: wrk(url, 50, false), nc: wrk(url, 50, true) };
  }
  const udpAgent = await udpRate(AGENT_VIP, vipPort);
  const udpDirect = await udpRate(DIPS[0]!, udpPort);

  const foAgent = await failover(AGENT_VIP, vipPort, backends[1]!, "DIP2");
  backends[1] = await startBackend(DIPS[1]!, port, udpPort, "DIP2");
  await new Promise((r) => setTimeout(r, 3000)); // both proxies' probes mark it Up again
  const foHaproxy = await failover(HAPROXY_VIP, vipPort, backends[1], "DIP2");

  const a = rows.agent!;
  const h = rows.haproxy!;
  const d = rows.direct!;
  console.log(`\nlbplane-agent (userspace) vs HAProxy ${execFileSync("haproxy", ["-v"], { encoding: "utf8" }).split("\n")[0]!.split(" ")[2]} (mode tcp, nbthread 1); wrk -t1 -c50 -d${SECONDS}s; 2 backends\n`);
  console.log("metric                          direct     agent    haproxy   agent/haproxy");
  const line = (label: string, dv: number, av: number, hv: number, digits = 0) =>
    console.log(`${label.padEnd(30)}${fmt(dv, digits).padStart(8)}${fmt(av, digits).padStart(10)}${fmt(hv, digits).padStart(11)}${fmt(av / hv, 2).padStart(15)}`);
  line("HTTP keep-alive req/s", d.ka.rps, a.ka.rps, h.ka.rps);
  line("  p50 latency ms", d.ka.p50ms, a.ka.p50ms, h.ka.p50ms, 2);
  line("  p99 latency ms", d.ka.p99ms, a.ka.p99ms, h.ka.p99ms, 2);
  line("new connections/s (Conn: close)", d.nc.rps, a.nc.rps, h.nc.rps);
  line("  p99 latency ms", d.nc.p99ms, a.nc.p99ms, h.nc.p99ms, 2);
  console.log(`${"UDP req/resp datagrams/s".padEnd(30)}${fmt(udpDirect).padStart(8)}${fmt(udpAgent).padStart(10)}${"n/a".padStart(11)}${"(vs direct " + fmt(udpAgent / udpDirect, 2) + ")"}`);
  console.log(`${"failover ms (1s probe, fall 2)".padEnd(30)}${"".padStart(8)}${fmt(foAgent).padStart(10)}${fmt(foHaproxy).padStart(11)}${fmt(foAgent / foHaproxy, 2).padStart(15)}`);
  console.log(`errors (wrk socket/non-2xx): agent ${a.ka.errors + a.nc.errors}, haproxy ${h.ka.errors + h.nc.errors}`);
  console.log("HAProxy has no generic UDP proxying, so the UDP figure compares the agent with direct traffic.");
  await cp.stop();
}

try {
  await main();
} finally {
  for (const c of children) c.kill("SIGKILL");
}
