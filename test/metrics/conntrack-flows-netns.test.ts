// Current flows of the nftables driver, in network namespaces (root only; test/helpers/netns.ts): TCP
// connections held open through a DNAT rule, a floating-IP rule and an IPv6 DNAT rule are counted for the
// backend that serves each (the driver's readings and its status' activeFlows), and no longer once they
// close; through a whole agent they appear on its Prometheus endpoint and in the reports it sends to the
// control plane (here the fake one, which records them), and fall to 0 in both when the clients close.
// Counting needs conntrack's table: tests skip, saying why in their name's note, where it cannot be read.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { Agent } from "../../src/dataplane/agent.js";
import { silentLogger } from "../../src/dataplane/log.js";
import type { CounterReading } from "../../src/dataplane/metrics/counters.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";
import { until } from "../kit/wait.js";
import { FakeControlPlane } from "../dataplane/fake-control-plane.js";
import { ADDR6, addIPv6 } from "../dataplane/lab6.js";
import { conntrackUnreadable } from "../dataplane/outbound-lab.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[conntrack current flows] SKIPPED: ${skipReason}`);

const VIP3 = "203.0.113.3";
const VIP6 = "2001:db8:f::9"; // a DNAT frontend: routed to the lb namespace by the client's default route
const ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/ct4";

function rule(name: string, vip: string, dips: readonly string[], o: Partial<CompiledListener> = {}): CompiledListener {
  const floating = o.enableFloatingIP ?? false;
  const port = floating ? 80 : 81;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: 80, backendPort: port, enableFloatingIP: floating,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: dips.map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: port })), ...o,
  };
}
const LB: CompiledLoadBalancer = {
  id: ID, name: "ct4", version: "v1", type: "Public", probes: [],
  listeners: [
    rule("web", VIP3, [ADDR.vm1, ADDR.vm2]),
    rule("fl", ADDR.vip1, [ADDR.vm1, ADDR.vm2], { enableFloatingIP: true }),
    rule("web6", VIP6, [ADDR6.vm1, ADDR6.vm2]),
  ],
};
/** The VM's DIP of the rule's family, from its answer "vmN <address>:<port>". */
const dipOf = (answer: string, v6: boolean): string => {
  const vm = answer.split(" ")[0] as "vm1" | "vm2";
  return v6 ? ADDR6[vm] : ADDR[vm];
};

/** Current flows per backend of one rule, as the driver read them. */
const flowsOf = (rs: CounterReading[], ruleName: string): Record<string, number | undefined> =>
  Object.fromEntries(rs.filter((r) => r.key.rule === ruleName).map((r) => [r.key.backendIPAddress, r.currentFlows]));

describe.skipIf(skipReason !== undefined)("current flows of the nftables driver from conntrack, in network namespaces", () => {
  const lab = new Lab("ct4");
  let drv: NftablesDriver | undefined;
  const held: Array<{ close: () => void }> = [];

  /** `n` connections held open to vip:80; resolves with the backend DIPs that answered, one per connection. */
  async function hold(vip: string, n: number): Promise<string[]> {
    const dips: string[] = [];
    for (let i = 0; i < n; i++) {
      const c = lab.hold(vip, 80);
      held.push(c);
      const answer = await c.ask();
      expect(answer, `connection ${i} to ${vip}`).toMatch(/^vm[12] /);
      dips.push(dipOf(answer, vip.includes(":")));
    }
    return dips;
  }
  const closeAll = () => held.splice(0).forEach((c) => c.close());
  /** Every backend of `all`, with how many of `dips` it is (0 for one that served none). */
  const expected = (all: readonly string[], dips: string[]) => Object.fromEntries(all.map((d) => [d, dips.filter((x) => x === d).length]));

  beforeAll(async () => {
    await lab.create();
    await addIPv6(lab);
    for (const [ns, name, vm] of [[lab.ns.vm1, "vm1", "vm1"], [lab.ns.vm2, "vm2", "vm2"]] as const)
      await lab.backend(ns, name, [`${ADDR[vm]}:81`, `${ADDR.vip1}:80`, `${ADDR6[vm]}:81`]);
    // Neighbour discovery on the fresh IPv6 links first: a first SYN held while it runs may time out the client.
    for (const dip of [ADDR6.vm1, ADDR6.vm2]) await lab.get(dip, 81, 1);
  }, 30_000);
  afterEach(async () => {
    closeAll();
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(() => lab.destroy());

  it("N connections held open are counted for the backends that serve them (DNAT, floating IP, IPv6), in readings and status; closed, they are not (skipped where conntrack's table cannot be read)", async (ctx) => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "ct4_t", conntrackMaxAgeMs: 0 });
    await drv.apply(LB);
    const unreadable = await conntrackUnreadable(lab.ns.lb);
    if (unreadable) ctx.skip(`current flows unreadable here: ${unreadable}`);

    const before = await drv.trafficCounters!();
    expect(flowsOf(before, "web")).toEqual({ [ADDR.vm1]: 0, [ADDR.vm2]: 0 }); // readable and empty: 0, not absent

    const web = await hold(VIP3, 4);
    const fl = await hold(ADDR.vip1, 3);
    const web6 = await hold(VIP6, 3);
    const rs = await drv.trafficCounters!();
    expect(flowsOf(rs, "web")).toEqual(expected([ADDR.vm1, ADDR.vm2], web));
    expect(flowsOf(rs, "fl")).toEqual(expected([ADDR.vm1, ADDR.vm2], fl));
    expect(flowsOf(rs, "web6")).toEqual(expected([ADDR6.vm1, ADDR6.vm2], web6));

    // The status endpoint's per-backend activeFlows: the same reading, not a read of its own.
    const status = Object.fromEntries(drv.status().map((l) => [l.listener, Object.fromEntries(l.backends.map((b) => [b.address, b.activeFlows]))]));
    expect(status).toEqual({ web: flowsOf(rs, "web"), fl: flowsOf(rs, "fl"), web6: flowsOf(rs, "web6") });

    closeAll();
    const after = await until("the closed connections are no longer current", async () => {
      const r = await drv!.trafficCounters!();
      return ["web", "fl", "web6"].every((n) => Object.values(flowsOf(r, n)).every((c) => c === 0)) ? r : undefined;
    }, 8000, 100);
    // Closed flows linger in conntrack (TIME_WAIT) but are not current; their traffic stays counted.
    expect(after.filter((r) => r.key.rule === "web").reduce((n, r) => n + r.newFlows, 0)).toBe(4);
  });

  it("through an agent: its Prometheus endpoint and its reports to the control plane carry each backend's current flows, and their fall to 0 (skipped where conntrack's table cannot be read)", async (ctx) => {
    const cp = await new FakeControlPlane().start();
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "ct4_a" });
    // The agent runs in this (host) namespace: no probes in the load balancer and no availability samples,
    // so none of its own packets leave the host.
    const agent = new Agent({
      controlPlaneUrl: cp.url, name: "ct4-agent", location: "westeurope", joinToken: cp.joinToken, listenHost: "127.0.0.1", listenPort: 0,
      driver: drv, log: silentLogger, trafficReportIntervalMs: 250, availabilitySampleMs: 3_600_000,
    });
    try {
      await agent.start();
      const record = await cp.waitForAgent("ct4-agent");
      const lb = { ...LB, listeners: LB.listeners.filter((l) => l.name === "web") };
      await cp.pushOk(record, { protocolVersion: 2, location: "westeurope", fromGeneration: "full", generation: 1, upserts: [lb], removals: [] });
      const unreadable = await conntrackUnreadable(lab.ns.lb);
      if (unreadable) ctx.skip(`current flows unreadable here: ${unreadable}`);

      const want = expected([ADDR.vm1, ADDR.vm2], await hold(VIP3, 5));
      /** The latest reported currentFlows per backend of the web rule (reports carry a gauge only while it matters). */
      const reported = () => {
        const out: Record<string, number> = {};
        for (const r of cp.trafficReports)
          for (const s of r.series) if (s.rule === "web" && s.currentFlows !== undefined) out[s.backendIPAddress] = s.currentFlows;
        return out;
      };
      const prometheus = async () => {
        const text = await (await fetch(`${agent.url}/metrics`)).text();
        return Object.fromEntries([ADDR.vm1, ADDR.vm2].map((d) => {
          const m = new RegExp(`^lbplane_agent_traffic_current_flows\\{load_balancer="${ID}",rule="web",frontend_ip="${VIP3}",frontend_port="80",protocol="Tcp",backend_ip="${d}",backend_port="81"\\} (\\d+)$`, "m").exec(text);
          return [d, m ? Number(m[1]) : undefined];
        }));
      };
      const nonZero = (t: Record<string, number | undefined>) => Object.fromEntries(Object.entries(t).filter(([, n]) => n));
      await until("the reports carry the open flows", async () => JSON.stringify(reported()) === JSON.stringify(nonZero(want)), 8000, 100);
      expect(await prometheus()).toEqual(want);

      closeAll();
      await until("the reports carry the fall to 0", async () => Object.values(reported()).every((n) => n === 0), 8000, 100);
      expect(await prometheus()).toEqual({ [ADDR.vm1]: 0, [ADDR.vm2]: 0 });
    } finally {
      await agent.stop(0);
      await cp.stop();
    }
  });
});
