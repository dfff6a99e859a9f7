// lbplane's side of traffic metrics with fake agents (real HTTP, real PostgreSQL): who may report, what
// counts, how two agents' reports add up in one minute, how Azure Monitor's query reads the buckets
// (grains, splits, filters, weighted availability), retention, and a deleted load balancer's rows.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RegisterResponse } from "../../src/domain/agent-protocol.js";
import type { TrafficReport } from "../../src/domain/metrics-protocol.js";
import { pruneTrafficMetrics } from "../../src/store/metrics.store.js";
import { AUTH } from "../helpers/app.js";
import { lbPath } from "../helpers/seed.js";
import type { FakeAgent } from "../agents/fake-agent.js";
import { JOIN_TOKEN, prepareNetwork, simpleLb, startPlane, writeLb, type Plane } from "../agents/harness.js";

const LB = lbPath("rg1", "web");
const OTHER = lbPath("rg1", "nope"); // no such load balancer (another location's are refused the same way)
const key = { loadBalancerId: LB, rule: "web", frontendIPAddress: "65.52.0.1", frontendPort: 80, protocol: "Tcp" as const, backendPort: 80 };
const MON = "api-version=2024-02-01";

interface Point { timeStamp: string; total?: number; average?: number; minimum?: number; maximum?: number; count?: number }
interface Series { metadatavalues: Array<{ name: { value: string }; value: string }>; data: Point[] }
interface MetricsBody { timespan: string; value: Array<{ id: string; timeseries: Series[] }>; error?: { code: string; message: string; target?: string } }

describe("traffic metric reports and Azure Monitor queries", () => {
  let plane: Plane;
  const agents: Array<{ agent: FakeAgent; reg: RegisterResponse }> = [];
  let lbUid: string;

  const report = (i: number, body: TrafficReport | string) => agents[i].agent.call("POST", `/dataplane/v1/agents/${agents[i].reg.agentId}/metrics`, agents[i].reg.credential, body);
  const query = async (q: string) => {
    const res = await plane.app.inject({ method: "GET", url: `${LB}/providers/Microsoft.Insights/metrics?${MON}&timespan=PT5M&${q}`, headers: AUTH });
    return { status: res.statusCode, json: res.json() as MetricsBody };
  };

  beforeAll(async () => {
    plane = await startPlane();
    await prepareNetwork(plane);
    lbUid = (await writeLb(plane, "rg1", "web", simpleLb("rg1", "web", 80))).uid;
    for (const name of ["m1", "m2"]) {
      const agent = await plane.addAgent(name);
      agents.push({ agent, reg: await agent.register(JOIN_TOKEN) }); // re-registering as the holder hands us its credential
    }
  }, 30_000);
  afterAll(() => plane?.close());

  it("adds two agents' deltas into the minute; figures about unknown load balancers are ignored", async () => {
    const a = await report(0, {
      series: [
        { ...key, backendIPAddress: "10.0.0.4", bytesIn: 1000, bytesOut: 3000, packetsIn: 10, packetsOut: 12, newFlows: 2 },
        { ...key, loadBalancerId: OTHER, backendIPAddress: "10.0.0.4", bytesIn: 5 },
      ],
      availability: [{ kind: "Vip", loadBalancerId: LB, frontendIPAddress: "65.52.0.1", frontendPort: 80, protocol: "Tcp", up: 3, samples: 3 }],
    });
    expect(a).toEqual({ status: 200, json: { accepted: 6, ignored: 1 } });
    const b = await report(1, {
      series: [{ ...key, backendIPAddress: "10.0.0.5", bytesIn: 500, newFlows: 1 }],
      availability: [{ kind: "Vip", loadBalancerId: LB, frontendIPAddress: "65.52.0.1", frontendPort: 80, protocol: "Tcp", up: 0, samples: 1 }],
    });
    expect(b.json).toEqual({ accepted: 3, ignored: 0 });

    const bytes = await query("metricnames=ByteCount&interval=FULL&$filter=Direction eq '*'");
    expect(bytes.status).toBe(200);
    const byDir = Object.fromEntries(bytes.json.value[0].timeseries.map((s) => [s.metadatavalues[0].value, s.data[0].total]));
    expect(byDir).toEqual({ Inbound: 1500, Outbound: 3000 });
    const rolled = await query("metricnames=ByteCount&interval=FULL&$filter=Direction eq 'Inbound' or Direction eq 'Outbound'&rollupby=Direction");
    expect(rolled.json.value[0].timeseries).toEqual([{ metadatavalues: [], data: [expect.objectContaining({ total: 4500 })] }]);
    const syn = await query("metricnames=SYNCount&interval=FULL&$filter=BackendIPAddress eq '10.0.0.5'");
    expect(syn.json.value[0].timeseries).toEqual([{ metadatavalues: [{ name: { value: "backendipaddress", localizedValue: "BackendIPAddress" }, value: "10.0.0.5" }], data: [expect.objectContaining({ total: 1 })] }]);
    // Availability is weighted by samples: 3 good of 3, then 0 of 1 → 75 %.
    const vip = await query("metricnames=VipAvailability&interval=FULL&aggregation=Average,Minimum,Maximum,Count");
    expect(vip.json.value[0].timeseries[0].data[0]).toMatchObject({ average: 75, minimum: 0, maximum: 100, count: 4 });
  });

  it("answers a point per grain over the timespan, Total 0 where nothing was reported, and Azure's envelope", async () => {
    const res = await query("metricnames=PacketCount,SYNCount&interval=PT1M");
    expect(res.json).toMatchObject({ cost: 0, interval: "PT1M", namespace: "Microsoft.Network/loadBalancers", resourceregion: "westeurope" });
    expect(res.json.value.map((m) => m.id)).toEqual([`${LB}/providers/Microsoft.Insights/metrics/PacketCount`, `${LB}/providers/Microsoft.Insights/metrics/SYNCount`]);
    const points = res.json.value[0].timeseries[0].data;
    expect(points.length).toBeGreaterThanOrEqual(5);
    expect(points.reduce((n, p) => n + (p.total ?? 0), 0)).toBe(22);
    expect(points.filter((p) => p.total === 0).length).toBeGreaterThanOrEqual(points.length - 2);
    const [from, to] = res.json.timespan.split("/").map(Date.parse);
    expect((to - from) / 60_000).toBe(points.length);
  });

  it("refuses what Azure Monitor refuses, with its codes", async () => {
    expect((await query("metricnames=CpuPercent")).json.error).toMatchObject({ code: "BadRequest", message: expect.stringContaining("Valid metrics: VipAvailability,") });
    expect((await query("metricnames=ByteCount&interval=PT10S")).json.error).toMatchObject({ code: "BadRequest", target: "interval" });
    expect((await query("metricnames=ByteCount&$filter=Color eq 'x'")).json.error).toMatchObject({ code: "BadRequest", target: "$filter" });
    const ns = await query("metricnames=ByteCount&metricnamespace=Microsoft.Compute/virtualMachines");
    expect(ns.status).toBe(400);
    const old = await plane.app.inject({ method: "GET", url: `${LB}/providers/Microsoft.Insights/metrics?api-version=2017-01-01`, headers: AUTH });
    expect(old.statusCode).toBe(400);
    const anon = await plane.app.inject({ method: "GET", url: `${LB}/providers/Microsoft.Insights/metrics?${MON}` });
    expect(anon.statusCode).toBe(401);
  });

  it("accepts reports only from a live agent with its own credential, and only well-formed, bounded ones", async () => {
    const { agent, reg } = agents[0];
    const path = `/dataplane/v1/agents/${reg.agentId}/metrics`;
    const ok = { series: [], availability: [] };
    expect((await agent.call("POST", path, "wrong", ok)).status).toBe(401);
    expect((await agent.call("POST", `/dataplane/v1/agents/${agents[1].reg.agentId}/metrics`, reg.credential, ok)).status).toBe(401);
    expect((await report(0, { series: [{ ...key, backendIPAddress: "10.0.0.4", bytesIn: -1 }], availability: [] })).status).toBe(400);
    expect((await report(0, { series: [{ ...key, backendIPAddress: "10.0.0.4", colour: "red" } as never], availability: [] })).status).toBe(400);
    const huge = await report(0, JSON.stringify({ series: [], availability: [], pad: "x".repeat(6 * 1024 * 1024) }));
    expect(huge).toMatchObject({ status: 400, json: { error: { code: "InvalidRequestFormat" } } });
    agents[1].agent.stopHeartbeats();
    await new Promise((r) => setTimeout(r, 1700)); // the plane's liveness window is 1.5 s
    expect((await report(1, ok)).json.error.code).toBe("AgentNotLive");
  });

  it("prunes minutes older than the retention period; a deleted load balancer takes its rows along", async () => {
    await plane.db.$executeRawUnsafe(
      `INSERT INTO traffic_metrics (load_balancer_id, minute, metric, frontend_ip, frontend_port, protocol, backend_ip, backend_port, direction, total, count, minimum, maximum)
       VALUES ($1::uuid, date_trunc('minute', now()) - interval '31 days', 'ByteCount', '65.52.0.1', 80, 'Tcp', '10.0.0.4', 80, 'Inbound', 1, 1, 1, 1)`,
      lbUid,
    );
    const count = async () => Number((await plane.db.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM traffic_metrics`))[0].n);
    const before = await count();
    expect(await pruneTrafficMetrics(plane.db, 30, 1000)).toBe(1);
    expect(await count()).toBe(before - 1);
    expect(await pruneTrafficMetrics(plane.db, 30, 1000)).toBe(0);
    const del = await plane.app.inject({ method: "DELETE", url: `${LB}?api-version=2026-01-01`, headers: AUTH });
    expect(del.statusCode).toBeLessThan(300);
    await expect.poll(count, { timeout: 5000 }).toBe(0);
  });
});
