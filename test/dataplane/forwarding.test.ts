// Userspace forwarding behaviour: affinity, UDP, health steering, idle timeouts, bad backends and
// the connection budget. In-process agent, real sockets on 127.0.3.x / 127.10.3.x.

import http from "node:http";
import net from "node:net";
import dgram from "node:dgram";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeServer, openConn, startEchoBackend } from "./echo.js";
import { FakeControlPlane, waitUntil } from "./fake-control-plane.js";
import { config, dips, freePort, listener, loadBalancer, startAgent, startHttpBackend, startUdpEcho, tcpProbe, tryGet, udpAsk, type Backend, type InProcessAgent } from "./lab.js";

const VIP = "127.10.3.1";
const DIP1 = "127.0.3.11";
const DIP2 = "127.0.3.12";

describe("userspace forwarding", () => {
  const cp = new FakeControlPlane();
  let a: InProcessAgent;
  let port: number;
  let gen = 0;
  const web: Backend[] = [];
  let echo: Array<Awaited<ReturnType<typeof startEchoBackend>>> = [];
  let echoPort: number;
  let nextVipPort: () => Promise<number>;

  beforeAll(async () => {
    await cp.start();
    // Idle timeouts are minutes in Azure; here one "minute" is 300 ms so the test stays fast.
    a = await startAgent(cp, "fwd", { driver: { maxConnections: 40, minuteMs: 300, connectTimeoutMs: 500 } });
    port = await freePort([DIP1, DIP2]);
    echoPort = await freePort([DIP1, DIP2]);
    web.push(await startHttpBackend(DIP1, port, "DIP1"), await startHttpBackend(DIP2, port, "DIP2"));
    echo = [await startEchoBackend(DIP1, echoPort, "DIP1"), await startEchoBackend(DIP2, echoPort, "DIP2")];
    nextVipPort = () => freePort([VIP]);
  });
  afterAll(async () => {
    await a.stop();
    await Promise.all(web.map((b) => b.close()));
    await Promise.all(echo.map((s) => closeServer(s)));
    await cp.stop();
  });

  const push = async (...lbs: ReturnType<typeof loadBalancer>[]) => {
    const ack = await cp.pushOk(a.record, config(++gen, lbs));
    expect(ack.loadBalancers.every((o) => o.state === "Applied"), JSON.stringify(ack)).toBe(true);
  };

  it("SourceIP keeps every connection of one client on one backend, and spreads clients", async () => {
    const vp = await nextVipPort();
    await push(loadBalancer("aff", "1", [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, loadDistribution: "SourceIP", backends: dips([DIP1, DIP2], port) })]));
    const byClient = new Map<string, Set<string>>();
    for (let c = 1; c <= 16; c++) {
      const src = `127.0.3.${100 + c}`;
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) seen.add(await tryGet(VIP, vp, { localAddress: src }));
      byClient.set(src, seen);
    }
    for (const seen of byClient.values()) expect(seen.size).toBe(1);
    const used = new Set([...byClient.values()].flatMap((s) => [...s]));
    expect([...used].sort()).toEqual(["DIP1", "DIP2"]);
  });

  it("forwards a UDP rule, one backend per client flow, replies from the VIP", async () => {
    const vp = await nextVipPort();
    const udpPort = await freePort([DIP1, DIP2]);
    const servers = [await startUdpEcho(DIP1, udpPort, "DIP1"), await startUdpEcho(DIP2, udpPort, "DIP2")];
    await push(loadBalancer("udp", "1", [listener({ name: "dns", protocol: "Udp", frontendIPAddress: VIP, frontendPort: vp, backends: dips([DIP1, DIP2], udpPort) })]));
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const client = dgram.createSocket("udp4");
      await new Promise<void>((r) => client.bind(0, "127.0.0.1", r));
      const first = await udpAsk(VIP, vp, "q1", client);
      const second = await udpAsk(VIP, vp, "q2", client);
      expect(second.split(":")[0]).toBe(first.split(":")[0]); // same flow, same backend
      seen.add(first.split(":")[0]!);
      client.close();
    }
    expect([...seen].sort()).toEqual(["DIP1", "DIP2"]);
    expect(a.driver.status().find((l) => l.frontend.endsWith(`${vp}/Udp`))!.backends.reduce((n, b) => n + b.activeFlows, 0)).toBeGreaterThan(0);
    servers.forEach((s) => s.close());
  });

  it("keeps an established connection on a backend that goes Down, while new flows avoid it", async () => {
    const vp = await nextVipPort();
    const healthPort = await freePort([DIP1, DIP2]);
    const health = [await startHttpBackend(DIP1, healthPort, "ok"), await startHttpBackend(DIP2, healthPort, "ok")];
    const probe = tcpProbe("hp", healthPort, [DIP1, DIP2]);
    await push(loadBalancer("sticky", "1", [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, probe: "hp", backends: dips([DIP1, DIP2], echoPort) })], [probe]));
    await waitUntil(() => cp.lastReported(loadBalancer("sticky", "", []).id, "hp", DIP1) === "Up", 3000, "DIP1 Up");
    let conn = await openConn(VIP, vp);
    while ((await conn.ask("who")).startsWith("DIP2")) {
      conn.socket.destroy();
      conn = await openConn(VIP, vp);
    }
    await health[0]!.close(); // DIP1's probe fails; its service (echo) still works
    await waitUntil(() => cp.lastReported(loadBalancer("sticky", "", []).id, "hp", DIP1) === "Down", 3000, "DIP1 Down");
    expect(await conn.ask("still")).toBe("DIP1:still");
    for (let i = 0; i < 10; i++) {
      const c = await openConn(VIP, vp);
      expect(await c.ask("new")).toBe("DIP2:new");
      c.socket.destroy();
    }
    conn.socket.destroy();
    await health[1]!.close();
  });

  it("HTTP probes GET requestPath on the DIP and count only 200 as up", async () => {
    const vp = await nextVipPort();
    const probePort = await freePort([DIP1]);
    let status = 200;
    const paths: string[] = [];
    const prober = http.createServer((req, res) => {
      paths.push(req.url!);
      res.writeHead(status).end();
    });
    await new Promise<void>((r) => prober.listen(probePort, DIP1, r));
    const lb = loadBalancer("httpprobe", "1", [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, probe: "h", backends: dips([DIP1], port) })],
      [{ ...tcpProbe("h", probePort, [DIP1], { probeThreshold: 2 }), protocol: "Http", requestPath: "/healthz" }]);
    await push(lb);
    await waitUntil(() => cp.lastReported(lb.id, "h", DIP1) === "Up", 3000, "Up");
    status = 503;
    await waitUntil(() => cp.lastReported(lb.id, "h", DIP1) === "Down", 3000, "Down on 503");
    expect(paths.every((p) => p === "/healthz")).toBe(true);
    expect(a.agent.status().probes.find((p) => p.probe === "h")).toMatchObject({ state: "Down", reason: "HTTP 503" });
    expect(await tryGet(VIP, vp)).toBe("error");
    prober.closeAllConnections();
    prober.close();
  });

  it("AllProbedDown drops new flows when no backend is up; AllProbedUp uses them all", async () => {
    const vp = await nextVipPort();
    const deadPort = await freePort([DIP1, DIP2]); // nothing listens here: every probe fails
    const lb = (version: string, behavior: "AllProbedDown" | "AllProbedUp") =>
      loadBalancer("nohealthy", version, [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, probe: "p", backends: dips([DIP1, DIP2], port) })],
        [tcpProbe("p", deadPort, [DIP1, DIP2], { noHealthyBackendsBehavior: behavior })]);
    await push(lb("1", "AllProbedDown"));
    await waitUntil(() => cp.lastReported(lb("", "AllProbedDown").id, "p", DIP2) === "Down", 3000, "all Down");
    expect(await tryGet(VIP, vp)).toBe("error");
    await push(lb("2", "AllProbedUp"));
    expect(["DIP1", "DIP2"]).toContain(await tryGet(VIP, vp));
  });

  it("closes idle TCP flows, with RST when enableTcpReset is set", async () => {
    const vp = await nextVipPort();
    const vp2 = await nextVipPort();
    await push(loadBalancer("idle", "1", [
      listener({ name: "rst", frontendIPAddress: VIP, frontendPort: vp, idleTimeoutInMinutes: 1, enableTcpReset: true, backends: dips([DIP1], echoPort) }),
      listener({ name: "quiet", frontendIPAddress: VIP, frontendPort: vp2, idleTimeoutInMinutes: 1, backends: dips([DIP1], echoPort) }),
    ]));
    const withReset = await openConn(VIP, vp);
    const without = await openConn(VIP, vp2);
    const started = Date.now();
    expect(await withReset.ended).toBe("reset");
    expect(await without.ended).toBe("end");
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it("does not let a backend that accepts and hangs stall other flows", async () => {
    const vp = await nextVipPort();
    const vp2 = await nextVipPort();
    const hangPort = await freePort([DIP2]);
    const hanging = net.createServer(() => {}); // accepts, never reads or answers
    await new Promise<void>((r) => hanging.listen(hangPort, DIP2, r));
    await push(loadBalancer("hang", "1", [
      listener({ name: "stuck", frontendIPAddress: VIP, frontendPort: vp, backends: dips([DIP2], hangPort) }),
      listener({ name: "fine", frontendIPAddress: VIP, frontendPort: vp2, backends: dips([DIP1], port) }),
    ]));
    const stuck = await Promise.all(Array.from({ length: 10 }, () => openConn(VIP, vp)));
    stuck.forEach((c) => c.socket.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    const t = Date.now();
    for (let i = 0; i < 10; i++) expect(await tryGet(VIP, vp2)).toBe("DIP1");
    expect(Date.now() - t).toBeLessThan(2000);
    stuck.forEach((c) => c.socket.destroy());
    hanging.close();
  });

  it("resets a flow whose backend never completes the handshake (connect timeout)", async () => {
    const vp = await nextVipPort();
    const full = net.createServer(() => {});
    const fullPort = await freePort([DIP2]);
    // backlog 0 and a paused accept queue: SYNs beyond it are dropped, so connect() never completes
    await new Promise<void>((r) => full.listen({ port: fullPort, host: DIP2, backlog: 0 }, r));
    full.on("connection", () => {});
    await push(loadBalancer("syn", "1", [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, backends: dips([DIP2], fullPort) })]));
    const r = await tryGet(VIP, vp, { timeoutMs: 3000 });
    expect(r === "error" || r === "").toBe(true);
    full.close();
  });

  it("refuses connections beyond --max-connections instead of exhausting descriptors", async () => {
    const vp = await nextVipPort();
    await push(loadBalancer("flood", "1", [listener({ name: "r", frontendIPAddress: VIP, frontendPort: vp, backends: dips([DIP1], echoPort) })]));
    await waitUntil(() => a.driver.stats().activeFlows === 0, 3000, "earlier flows gone");
    const held = await Promise.all(Array.from({ length: 40 }, () => openConn(VIP, vp)));
    await Promise.all(held.map((c) => c.ask("x")));
    const refusedBefore = a.driver.stats().refusedFlows;
    // The reset can beat the client's own connect callback (same event loop), so accept either form.
    const extra = await openConn(VIP, vp).then((c) => c.ended, (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" ? "reset" : err.code));
    expect(extra).toBe("reset");
    expect(a.driver.stats()).toMatchObject({ activeFlows: 40, maxConnections: 40, refusedFlows: refusedBefore + 1 });
    held[0]!.socket.destroy();
    await waitUntil(() => a.driver.stats().activeFlows < 40, 2000, "slot freed");
    const after = await openConn(VIP, vp);
    expect(await after.ask("y")).toBe("DIP1:y");
    [after, ...held].forEach((c) => c.socket.destroy());
  });
});
