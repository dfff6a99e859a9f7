// Test lab on loopback: backend services on DIPs (127.0.N.x), VIPs (127.10.N.x), config builders and
// an in-process agent wired to the fake control plane. Each test file uses its own N so files can run
// in parallel without fighting over addresses.

import dgram from "node:dgram";
import http from "node:http";
import net from "node:net";
import type { AgentConfig, CompiledListener, CompiledLoadBalancer, CompiledProbe } from "../../src/domain/agent-protocol.js";
import { Agent } from "../../src/dataplane/agent.js";
import { silentLogger } from "../../src/dataplane/log.js";
import { UserspaceDriver, type UserspaceDriverOptions } from "../../src/dataplane/userspace/driver.js";
import type { FakeControlPlane, FakeAgentRecord } from "./fake-control-plane.js";

/** A port free on every one of `hosts` (TCP and UDP), so one backend port can serve several DIPs. */
export async function freePort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, hosts[0], r));
    const port = (probe.address() as net.AddressInfo).port;
    probe.close();
    const ok = await Promise.all(hosts.map((h) => canBind(h, port)));
    if (ok.every(Boolean)) return port;
  }
  throw new Error("no common free port");
}

async function canBind(host: string, port: number): Promise<boolean> {
  const tcp = await new Promise<boolean>((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
  if (!tcp) return false;
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4").once("error", () => resolve(false));
    s.bind(port, host, () => s.close(() => resolve(true)));
  });
}

export interface Backend {
  name: string;
  host: string;
  port: number;
  served: number;
  server: http.Server;
  close(): Promise<void>;
  restart(): Promise<void>;
}

/** An HTTP backend answering its own name, e.g. "127.0.1.11:80-ish". */
export async function startHttpBackend(host: string, port: number, name = `${host}:${port}`): Promise<Backend> {
  const b: Backend = {
    name, host, port, served: 0,
    server: undefined as unknown as http.Server,
    async close() {
      b.server.closeAllConnections();
      await new Promise<void>((r) => b.server.close(() => r()));
    },
    async restart() {
      b.server = makeServer();
      await new Promise<void>((r) => b.server.listen(port, host, r));
    },
  };
  const makeServer = () =>
    http.createServer((req, res) => {
      b.served++;
      res.end(name);
    });
  await b.restart();
  return b;
}

export async function startUdpEcho(host: string, port: number, name: string): Promise<dgram.Socket> {
  const s = dgram.createSocket("udp4");
  s.on("message", (msg, r) => s.send(`${name}:${msg}`, r.port, r.address));
  await new Promise<void>((r) => s.bind(port, host, r));
  return s;
}

/** One HTTP GET on a fresh connection (a new flow each time). */
export function get(host: string, port: number, opts: { localAddress?: string; timeoutMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: "/", agent: false, localAddress: opts.localAddress, timeout: opts.timeoutMs ?? 2000 }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}

/** `get` that resolves to "error" instead of throwing (refused/reset flows). */
export const tryGet = (host: string, port: number, opts?: { localAddress?: string; timeoutMs?: number }) =>
  get(host, port, opts).catch(() => "error");

export function udpAsk(host: string, port: number, msg: string, socket?: dgram.Socket, timeoutMs = 1000): Promise<string> {
  const s = socket ?? dgram.createSocket("udp4");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error("udp timeout")), timeoutMs);
    const onMsg = (m: Buffer) => done(undefined, m.toString());
    const done = (err?: Error, value?: string) => {
      clearTimeout(timer);
      s.off("message", onMsg);
      if (!socket) s.close();
      if (err) reject(err);
      else resolve(value!);
    };
    s.on("message", onMsg);
    s.send(msg, port, host);
  });
}

export function listener(p: Partial<CompiledListener> & Pick<CompiledListener, "name" | "frontendIPAddress" | "frontendPort" | "backends">): CompiledListener {
  return {
    kind: "LoadBalancingRule", protocol: "Tcp", backendPort: p.backends[0]?.destinationPort ?? 0, enableFloatingIP: false,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, ...p,
  };
}

export const dips = (hosts: string[], port: number) => hosts.map((h) => ({ address: h, destinationIPAddress: h, destinationPort: port }));

export function tcpProbe(name: string, port: number, targets: string[], extra: Partial<CompiledProbe> = {}): CompiledProbe {
  return { name, protocol: "Tcp", port, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets, ...extra };
}

export function loadBalancer(name: string, version: string, listeners: CompiledListener[], probes: CompiledProbe[] = []): CompiledLoadBalancer {
  return { id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/${name}`, name, version, type: "Public", listeners, probes };
}

/** A full-state push (protocol 2) of these load balancers at `generation`. */
export const config = (generation: number, loadBalancers: CompiledLoadBalancer[]): AgentConfig =>
  ({ protocolVersion: 2, location: "westeurope", fromGeneration: "full", generation, upserts: loadBalancers, removals: [] });

export interface InProcessAgent {
  agent: Agent;
  driver: UserspaceDriver;
  record: FakeAgentRecord;
  stop(): Promise<void>;
}

export async function startAgent(cp: FakeControlPlane, name: string, opts: { probeIntervalMs?: number; driver?: Partial<UserspaceDriverOptions> } = {}): Promise<InProcessAgent> {
  const driver = new UserspaceDriver({ log: silentLogger, ...opts.driver });
  const agent = new Agent({
    controlPlaneUrl: cp.url, name, location: "westeurope", joinToken: cp.joinToken, listenHost: "127.0.0.1", listenPort: 0,
    driver, log: silentLogger, probeIntervalMs: opts.probeIntervalMs ?? 100, healthSummaryIntervalMs: 500,
  });
  await agent.start();
  const record = await cp.waitForAgent(name);
  return { agent, driver, record, stop: () => agent.stop(0) };
}

/** Count which backend answered each of `n` fresh connections. */
export async function spread(host: string, port: number, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const who = await tryGet(host, port);
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}
