// IPv6 traffic counters of the nftables driver, in network namespaces (root only; test/helpers/netns.ts
// dual-stacked by test/dataplane/lab6.ts). First the driver alone: TCP flows through an IPv6 DNAT rule and
// an IPv6 floating-IP rule land on the backend that served them, next to an IPv4 rule on the same port.
// Then end to end: a real lbplane and an in-process agent whose nftables driver programs the lab; known
// datagrams through an IPv6 UDP rule come back through the unmodified @azure/arm-monitor SDK exactly
// (IPv6 header 40 + UDP 8 + payload bytes, per direction and backend), and the UDP frontend's Data Path
// Availability (the health of its path, read back from the kernel) drops when its dispatch entry goes.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import type { Agent } from "../../src/dataplane/agent.js";
import type { CounterReading } from "../../src/dataplane/metrics/counters.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { AUTH, NET } from "../helpers/app.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";
import { createResourceGroup, lbPath, pipId, putLb } from "../helpers/seed.js";
import { armLoadBalancer, loadBalancerPath } from "../kit/bodies.js";
import { until } from "../kit/wait.js";
import { ADDR6, addIPv6 } from "../dataplane/lab6.js";
import { seriesBy, startMonitoredLbplane, startNftablesAgent, totalOf, type MonitoredLbplane } from "./monitor-kit.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[IPv6 traffic counters] SKIPPED: ${skipReason}`);

const VIP6 = "2001:db8:f::9"; // a DNAT frontend: routed to the lb namespace by the client's default route
const VIP4 = "203.0.113.3";
const DIPS6 = [ADDR6.vm1, ADDR6.vm2];
const JOIN = "join-token-for-ipv6-metrics-0123456789";
const LB_ID = lbPath("rg1", "dns6");

function rule(name: string, vip: string, dips: readonly string[], o: Partial<CompiledListener> = {}): CompiledListener {
  const floating = o.enableFloatingIP ?? false;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: 80, backendPort: floating ? 80 : 81,
    enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: dips.map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: floating ? 80 : 81 })), ...o,
  };
}

const perBackend = (rs: CounterReading[], ruleName: string): Record<string, CounterReading> =>
  Object.fromEntries(rs.filter((r) => r.key.rule === ruleName).map((r) => [r.key.backendIPAddress, r]));
const servedBy = (bodies: string[]) => ({ [ADDR6.vm1]: bodies.filter((b) => b.startsWith("vm1 ")).length, [ADDR6.vm2]: bodies.filter((b) => b.startsWith("vm2 ")).length });

/** An IPv6 public IP, a UDP rule on it to both VMs' port 81, no probe: the agent has nothing to probe or sample. */
async function putDns6(lbplane: MonitoredLbplane): Promise<void> {
  const app = lbplane.t.app;
  await createResourceGroup(app, "rg1");
  const pip = await app.inject({
    method: "PUT", url: `${pipId("rg1", "vip6")}?${NET}`, headers: AUTH,
    payload: { location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", publicIPAddressVersion: "IPv6", ipAddress: VIP6 } },
  });
  expect(pip.statusCode, pip.body).toBeLessThan(300);
  const body = armLoadBalancer("rg1", "dns6", { frontends: { fe: "vip6" }, backends: { vm1: ADDR6.vm1, vm2: ADDR6.vm2 }, probes: {}, rules: [] });
  const id = loadBalancerPath("rg1", "dns6");
  const loadBalancingRules = [{
    name: "dns",
    properties: {
      frontendIPConfiguration: { id: `${id}/frontendIPConfigurations/fe` }, backendAddressPool: { id: `${id}/backendAddressPools/pool` },
      protocol: "Udp", frontendPort: 5353, backendPort: 81, enableFloatingIP: false,
    },
  }];
  const res = await putLb(app, "rg1", "dns6", { ...body, properties: { ...body.properties, loadBalancingRules } });
  expect(res.statusCode, res.body).toBeLessThan(300);
}

describe.skipIf(skipReason !== undefined)("IPv6 traffic counters of the nftables driver", () => {
  const lab = new Lab("h1v");
  let drv: NftablesDriver | undefined;

  beforeAll(async () => {
    await lab.create();
    await addIPv6(lab);
    for (const [ns, name, dip, dip4] of [[lab.ns.vm1, "vm1", ADDR6.vm1, ADDR.vm1], [lab.ns.vm2, "vm2", ADDR6.vm2, ADDR.vm2]])
      await lab.backend(ns, name, [`${ADDR6.vip1}:80`, `${dip}:81`, `${dip4}:81`]);
    // Neighbour discovery on the fresh links first: a first SYN held while it runs may time out the client.
    for (const dip of DIPS6) await lab.get(dip, 81, 2);
  }, 30_000);
  afterEach(async () => {
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(() => lab.destroy());

  it("counts TCP flows of an IPv6 DNAT rule and an IPv6 floating-IP rule per backend, beside an IPv4 rule on the same port", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "h1_v6" });
    const lb: CompiledLoadBalancer = {
      id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/v6", name: "v6", version: "v1", type: "Public", probes: [],
      listeners: [rule("web6", VIP6, DIPS6), rule("fl6", ADDR6.vip1, DIPS6, { enableFloatingIP: true }), rule("web4", VIP4, [ADDR.vm1, ADDR.vm2])],
    };
    await drv.apply(lb);
    const served = { web6: servedBy(await lab.get(VIP6, 80, 10)), fl6: servedBy(await lab.get(ADDR6.vip1, 80, 10)) };
    const v4 = await lab.get(VIP4, 80, 4);
    const rs = await drv.trafficCounters!();
    for (const name of ["web6", "fl6"] as const) {
      const got = perBackend(rs, name);
      expect(served[name][ADDR6.vm1] + served[name][ADDR6.vm2]).toBe(10);
      for (const dip of DIPS6) {
        expect(got[dip]?.newFlows ?? 0, `${name} ${dip}`).toBe(served[name][dip]);
        if (served[name][dip] > 0) {
          expect(got[dip].packetsIn).toBeGreaterThanOrEqual(served[name][dip] * 4); // SYN, ACK, request, FIN at least
          expect(got[dip].bytesIn).toBeGreaterThanOrEqual(got[dip].packetsIn * 60); // every packet has a 40-byte IPv6 + 20-byte TCP header
        }
      }
    }
    expect(perBackend(rs, "web6")[ADDR6.vm1]?.key).toMatchObject({ frontendIPAddress: VIP6, frontendPort: 80, protocol: "Tcp", backendPort: 81 });
    // The IPv4 rule on the same port counts in its own table, unmixed.
    const web4 = perBackend(rs, "web4");
    expect((web4[ADDR.vm1]?.newFlows ?? 0) + (web4[ADDR.vm2]?.newFlows ?? 0)).toBe(v4.filter((b) => !b.startsWith("ERR")).length);
  });

  it("a removed IPv6 rule's counters stay readable for their grace period, then leave the ip6 table", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "h1_v6", counterGraceMs: 1500 });
    const lb = (version: string, listeners: CompiledListener[]): CompiledLoadBalancer => ({
      id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/v6", name: "v6", version, type: "Public", probes: [], listeners,
    });
    await drv.apply(lb("v1", [rule("web6", VIP6, DIPS6), rule("web4", VIP4, [ADDR.vm1, ADDR.vm2])]));
    expect((await lab.get(VIP6, 80, 4)).every((b) => /^vm[12] /.test(b))).toBe(true);
    const flows = async () => (await drv!.trafficCounters!()).filter((r) => r.key.rule === "web6").reduce((n, r) => n + r.newFlows, 0);
    expect(await flows()).toBe(4);
    await drv.apply(lb("v2", [rule("web4", VIP4, [ADDR.vm1, ADDR.vm2])]));
    expect(await flows()).toBe(4);
    const listed = () => lab.exec(lab.ns.lb, "nft", ["list", "counters", "table", "ip6", "h1_v6"]);
    expect(await listed()).toMatch(/counter x_/);
    await new Promise((r) => setTimeout(r, 1600));
    expect(await flows()).toBe(0);
    await drv.settled();
    expect(await listed()).not.toMatch(/counter x_/);
  });

  describe("through Azure Monitor's API", () => {
    let lbplane: MonitoredLbplane;
    let agent: Agent;
    let driver: NftablesDriver;

    beforeAll(async () => {
      lbplane = await startMonitoredLbplane({ LBPLANE_JOIN_TOKEN: JOIN, LBPLANE_AGENT_LIVENESS_MS: "3000" });
      await putDns6(lbplane);
      ({ agent, driver } = await startNftablesAgent(lbplane, JOIN, lab.ns.lb, "h1_v6e"));
      await until("the IPv6 rule forwards", async () => driver.status().length === 1 && (await lab.udp(VIP6, 5353, 1))[0]?.startsWith("vm"), 20_000, 200);
    }, 60_000);
    afterAll(async () => {
      await agent?.stop(0);
      await lbplane?.close();
    });

    it("datagrams of known size through an IPv6 UDP rule come back exactly in ByteCount, PacketCount and SYNCount", async () => {
      const metric = async (name: string, filter: string) =>
        (await lbplane.monitor.metrics.list(LB_ID, { metricnames: name, timespan: "PT10M", interval: "FULL", aggregation: "Total", filter })).value[0];
      const replies = await lab.udp(VIP6, 5353, 12);
      expect(replies.every((r) => /^vm[12] /.test(r)), JSON.stringify(replies)).toBe(true);
      // Every datagram so far (and the one that proved forwarding): "x" in, "vmN <dip>:81\n" out, each from a fresh socket.
      const n = replies.length + 1;
      const answer = Buffer.byteLength(`${replies[0]}\n`); // both VMs' answers have one length
      const inbound = `FrontendIPAddress eq '${VIP6}' and Direction eq 'Inbound'`;
      await until("the datagrams are reported", async () => totalOf(await metric("PacketCount", inbound)) === n, 10_000, 200);
      expect(totalOf(await metric("ByteCount", inbound))).toBe(n * (40 + 8 + 1));
      expect(totalOf(await metric("ByteCount", `FrontendIPAddress eq '${VIP6}' and Direction eq 'Outbound'`))).toBe(n * (40 + 8 + answer));
      expect(totalOf(await metric("SYNCount", `FrontendIPAddress eq '${VIP6}'`))).toBe(n);
      const perDip = seriesBy(await metric("PacketCount", `${inbound} and BackendIPAddress eq '*' and FrontendPort eq '5353' and ProtocolType eq 'Udp'`), "BackendIPAddress");
      expect(Object.keys(perDip).sort()).toEqual([...DIPS6].sort());
      expect(Object.values(perDip).reduce((s, p) => s + (p?.total ?? 0), 0)).toBe(n);
    });

    it("Data Path Availability of the UDP frontend: 100 while the kernel holds its path, 0 once its dispatch entry is gone", async () => {
      const availability = async (timespan: string) =>
        (await lbplane.monitor.metrics.list(LB_ID, { metricnames: "VipAvailability", timespan, interval: "FULL", aggregation: "Minimum,Maximum", filter: "ProtocolType eq 'Udp'" })).value[0];
      const point = (m: Awaited<ReturnType<typeof availability>>) => seriesBy(m, "ProtocolType").Udp;
      await until("the UDP frontend is reported available", async () => point(await availability("PT5M"))?.maximum === 100, 10_000, 200);

      // Someone deletes the frontend's dispatch entry: datagrams no longer reach a backend …
      const broke = new Date();
      await lab.exec(lab.ns.lb, "nft", ["delete", "element", "ip6", "h1_v6e", "nat_port", `{ ${VIP6} . udp . 5353 }`]);
      expect(await lab.udp(VIP6, 5353, 1)).toEqual(["ERR timeout"]);
      // … and the metric says so, as does the agent's own gauge.
      await until("the broken path is reported", async () => point(await availability(`${broke.toISOString()}/PT5M`))?.minimum === 0, 10_000, 200);
      const text = await (await fetch(`${agent.url}/metrics`)).text();
      expect(text).toContain(`lbplane_agent_data_path_availability_percent{load_balancer="${LB_ID}",frontend_ip="${VIP6}",frontend_port="5353",protocol="Udp"} 0\n`);
    });
  });
});
