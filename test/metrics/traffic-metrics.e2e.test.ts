// Traffic metrics end to end, unprivileged: a real lbplane (control loops, PostgreSQL) and an in-process
// lbplane-agent with the userspace driver on loopback addresses. Traffic of known size goes through a
// rule; the unmodified @azure/arm-monitor SDK reads it back over HTTPS (ByteCount, PacketCount,
// SYNCount with their dimensions), the agent's Prometheus endpoint shows the same figures, Data Path
// Availability drops when the VIP path breaks (the application port dies while the probe port lives),
// and Health Probe Status drops for the backend whose probe port dies.
//
//   VIP 127.10.42.1:P ──rule "web"──▶ DIP1 127.0.42.11:A, DIP2 127.0.42.12:A   probe "hp" on port B

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent } from "../../src/dataplane/agent.js";
import { silentLogger } from "../../src/dataplane/log.js";
import { createUserspaceDriver } from "../../src/dataplane/userspace/driver.js";
import { createPublicIp, createResourceGroup, lbPath, putLb } from "../helpers/seed.js";
import { armLoadBalancer } from "../kit/bodies.js";
import { until } from "../kit/wait.js";
import { freePort } from "../dataplane/lab.js";
import { seriesBy, startMonitoredLbplane, totalOf, type MonitoredLbplane } from "./monitor-kit.js";

const VIP = "127.10.42.1";
const DIP1 = "127.0.42.11";
const DIP2 = "127.0.42.12";
const JOIN = "join-token-for-metrics-0123456789";
const LB_ID = lbPath("rg1", "metrics");
const SENT = 100_000; // bytes each client flow sends
const ANSWER = 40_000; // bytes each backend answers

/** A TCP service that reads a flow to its end and answers ANSWER bytes, if anything was sent. */
function startSink(host: string, port: number): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let got = 0;
    s.on("data", (c) => (got += c.length));
    s.on("end", () => (got > 0 ? s.end(Buffer.alloc(ANSWER, 0x61)) : s.end()));
    s.on("error", () => {});
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

const stop = (s: net.Server) => new Promise<void>((r) => { s.close(() => r()); (s as net.Server & { closeAllConnections?: () => void }).closeAllConnections?.(); });

/** One flow through the VIP: send SENT bytes, half-close, read the whole answer. */
function flow(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ host: VIP, port, allowHalfOpen: true }, () => c.end(Buffer.alloc(SENT, 0x62)));
    let got = 0;
    c.on("data", (d) => (got += d.length));
    c.on("end", () => resolve(got));
    c.on("error", reject);
  });
}

describe("traffic metrics through Azure Monitor's API and the agent's Prometheus endpoint", () => {
  let lbplane: MonitoredLbplane;
  let agent: Agent;
  let P: number;
  let A: number;
  let B: number;
  const app: Record<string, net.Server> = {};
  const probePorts: Record<string, net.Server> = {};

  const metric = async (name: string, opts: { filter?: string; aggregation?: string } = {}) => {
    const res = await lbplane.monitor.metrics.list(LB_ID, { metricnames: name, timespan: "PT10M", interval: "FULL", ...opts });
    return res.value[0];
  };

  beforeAll(async () => {
    lbplane = await startMonitoredLbplane({ LBPLANE_JOIN_TOKEN: JOIN, LBPLANE_AGENT_LIVENESS_MS: "3000" });
    const { t, url } = lbplane;

    P = await freePort([VIP]);
    A = await freePort([DIP1, DIP2]);
    B = await freePort([DIP1, DIP2]);
    for (const d of [DIP1, DIP2]) {
      app[d] = await startSink(d, A);
      probePorts[d] = await startSink(d, B);
    }
    await createResourceGroup(t.app, "rg1");
    await createPublicIp(t.app, "rg1", "vip", VIP);
    const body = armLoadBalancer("rg1", "metrics", {
      frontends: { fe: "vip" },
      backends: { vm1: DIP1, vm2: DIP2 },
      // Three failures mark a backend down: one probe slowed by a busy host must not flip it.
      probes: { hp: { port: B, intervalInSeconds: 5, probeThreshold: 3 } },
      rules: [{ name: "web", frontend: "fe", frontendPort: P, backendPort: A, probe: "hp" }],
    });
    expect((await putLb(t.app, "rg1", "metrics", body)).statusCode).toBeLessThan(300);

    agent = new Agent({
      controlPlaneUrl: url, name: "metrics-agent", location: "westeurope", joinToken: JOIN, listenHost: "127.0.0.1", listenPort: 0,
      driver: createUserspaceDriver({ log: silentLogger }), log: silentLogger,
      probeIntervalMs: 100, trafficReportIntervalMs: 250, availabilitySampleMs: 150,
    });
    await agent.start();
    await until("the rule forwards", async () => (await flow(P).catch(() => 0)) === ANSWER, 15_000, 100);
  }, 60_000);

  afterAll(async () => {
    await agent?.stop(0);
    for (const s of [...Object.values(app), ...Object.values(probePorts)]) await stop(s).catch(() => {});
    await lbplane?.close();
  });

  it("lists the load balancer's metric definitions through metricDefinitions.list", async () => {
    const defs = [];
    for await (const d of lbplane.monitor.metricDefinitions.list(LB_ID)) defs.push(d);
    expect(defs.map((d) => d.name?.value)).toEqual([
      "VipAvailability", "DipAvailability", "ByteCount", "PacketCount", "SYNCount", "SnatConnectionCount", "AllocatedSnatPorts", "UsedSnatPorts",
    ]);
    expect(defs.find((d) => d.name?.value === "ByteCount")).toMatchObject({ unit: "Bytes", primaryAggregationType: "Total", namespace: "Microsoft.Network/loadBalancers" });
    expect(defs.find((d) => d.name?.value === "ByteCount")?.dimensions?.map((x) => x.value)).toContain("Direction");
  });

  it("traffic of known size appears in ByteCount per direction and backend, and in PacketCount and SYNCount", async () => {
    const before = totalOf(await metric("ByteCount", { filter: "Direction eq 'Inbound'" }));
    const flows = 6;
    for (let i = 0; i < flows; i++) expect(await flow(P)).toBe(ANSWER);
    await until("the bytes are reported", async () => totalOf(await metric("ByteCount", { filter: "Direction eq 'Inbound'" })) >= before + flows * SENT, 10_000, 100);

    const byDirection = seriesBy(await metric("ByteCount", { filter: "Direction eq '*'" }), "Direction");
    // Every flow so far (the one that proved forwarding, and these six) sent SENT and got ANSWER; synthetic flows carry no bytes.
    const total = flows + 1;
    expect(byDirection).toEqual({ Inbound: expect.objectContaining({ total: total * SENT }), Outbound: expect.objectContaining({ total: total * ANSWER }) });

    const byBackend = await metric("ByteCount", { filter: `FrontendIPAddress eq '${VIP}' and FrontendPort eq '${P}' and BackendIPAddress eq '*' and Direction eq 'Inbound'` });
    const perDip = seriesBy(byBackend, "BackendIPAddress");
    expect(Object.keys(perDip).sort()).toEqual([DIP1, DIP2]); // five-tuple hashing spread seven flows over both
    expect(Object.values(perDip).reduce((n, d) => n + (d?.total ?? 0), 0)).toBe(total * SENT);
    const dims = byBackend.timeseries?.[0]?.metadatavalues?.map((v) => v.name?.value).sort();
    expect(dims).toEqual(["backendipaddress", "direction", "frontendipaddress", "frontendport"]);

    expect(totalOf(await metric("PacketCount", { filter: "Direction eq 'Inbound'" }))).toBeGreaterThanOrEqual(total * 2); // ≥ 1 read per 64 KiB
    expect(totalOf(await metric("SYNCount"))).toBeGreaterThanOrEqual(total); // plus the synthetic flows
  });

  it("the agent's Prometheus endpoint shows the same bytes with the rule's dimensions", async () => {
    const res = await fetch(`${agent.url}/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const sum = (direction: string) =>
      [...text.matchAll(/^lbplane_agent_traffic_bytes_total\{([^}]*)\} (\d+)$/gm)]
        .filter((m) => m[1].includes(`direction="${direction}"`))
        .reduce((n, m) => {
          expect(m[1]).toContain(`load_balancer="${LB_ID}",rule="web",frontend_ip="${VIP}",frontend_port="${P}",protocol="Tcp",backend_ip="`);
          expect(m[1]).toMatch(new RegExp(`backend_port="${A}"`));
          return n + Number(m[2]);
        }, 0);
    expect(sum("in")).toBe(7 * SENT);
    expect(sum("out")).toBe(7 * ANSWER);
    const vip = new RegExp(`^lbplane_agent_data_path_availability_percent\\{load_balancer="${LB_ID}",frontend_ip="${VIP}",frontend_port="${P}",protocol="Tcp"\\} 100$`, "m");
    await until("a synthetic flow has been sampled", async () => vip.test(await (await fetch(`${agent.url}/metrics`)).text()), 5000, 50);
  });

  it("Data Path Availability drops when the VIP path breaks; Health Probe Status stays up", async () => {
    const avg = async (name: string, timespan: string) => {
      const m = await lbplane.monitor.metrics.list(LB_ID, { metricnames: name, timespan, interval: "FULL", aggregation: "Average,Minimum,Maximum" });
      return m.value[0].timeseries?.[0]?.data?.[0];
    };
    // Both are sampled by the agent, but not necessarily reported together: wait for each.
    await until("availability is reported", async () => (await avg("VipAvailability", "PT5M"))?.maximum === 100, 10_000, 100);
    await until("probe status is reported", async () => (await avg("DipAvailability", "PT5M"))?.maximum === 100, 10_000, 100);

    for (const d of [DIP1, DIP2]) await stop(app[d]); // the application dies; its probe port lives on
    const broke = new Date();
    await until("a failed synthetic flow is reported", async () => (await avg("VipAvailability", `${broke.toISOString()}/PT5M`))?.minimum === 0, 10_000, 100);
    const since = await avg("VipAvailability", `${new Date(Date.now() - 60_000).toISOString()}/PT5M`);
    expect(since?.average).toBeLessThan(100);
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    expect(text).toMatch(/^lbplane_agent_data_path_availability_percent\{[^}]*\} 0$/m);
    expect((await avg("DipAvailability", "PT5M"))?.minimum).toBe(100);
    for (const d of [DIP1, DIP2]) app[d] = await startSink(d, A);
  });

  it("Health Probe Status drops for the backend whose probe fails, per BackendIPAddress", async () => {
    await stop(probePorts[DIP2]);
    const died = Date.now();
    const perDip = async () =>
      seriesBy(
        (await lbplane.monitor.metrics.list(LB_ID, { metricnames: "DipAvailability", timespan: `${new Date(died).toISOString()}/PT5M`, interval: "FULL", aggregation: "Minimum,Maximum", filter: "BackendIPAddress eq '*'" })).value[0],
        "BackendIPAddress",
      );
    const seen = await until("DIP2's probe failures are reported", async () => {
      const s = await perDip();
      return s[DIP2]?.minimum === 0 ? s : undefined;
    }, 10_000, 100);
    expect(seen[DIP1]).toMatchObject({ minimum: 100, maximum: 100 });
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    expect(text).toMatch(new RegExp(`^lbplane_agent_health_probe_status_percent\\{[^}]*backend_ip="${DIP2}"[^}]*\\} 0$`, "m"));
    expect(text).toMatch(new RegExp(`^lbplane_agent_health_probe_status_percent\\{[^}]*backend_ip="${DIP1}"[^}]*\\} 100$`, "m"));
  });

  it("answers Azure Monitor's errors for an unknown metric and a bad filter", async () => {
    await expect(lbplane.monitor.metrics.list(LB_ID, { metricnames: "CpuPercentage" })).rejects.toMatchObject({ statusCode: 400 });
    await expect(lbplane.monitor.metrics.list(LB_ID, { metricnames: "ByteCount", filter: "Colour eq 'red'" })).rejects.toMatchObject({ statusCode: 400 });
    await expect(lbplane.monitor.metrics.list(lbPath("rg1", "nope"), { metricnames: "ByteCount" })).rejects.toMatchObject({ statusCode: 404 });
  });
});
