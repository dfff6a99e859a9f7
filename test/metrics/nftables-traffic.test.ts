// Traffic counters of the nftables driver, in network namespaces (root only; test/helpers/netns.ts):
// datagrams of known size through a UDP rule are counted exactly (IP length, both directions, one new
// flow each) per backend; TCP flows through a DNAT rule and a floating-IP rule land on the backend that
// served them; counts survive an incremental change and a whole-table re-sync, and a removed rule's last totals stay readable for a grace period; and the agent's synthetic
// flow, started on the load balancer host itself, reaches a backend through the local path — until the
// VIP path breaks.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { AvailabilitySampler } from "../../src/dataplane/metrics/availability.js";
import type { CounterReading } from "../../src/dataplane/metrics/counters.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { listenerKey } from "../../src/dataplane/nftables/render.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables traffic counter tests] SKIPPED: ${skipReason}`);

const VIP3 = "203.0.113.3";
const DIPS = [ADDR.vm1, ADDR.vm2];
const ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/d2";

function rule(name: string, vip: string, port: number, o: Partial<CompiledListener> = {}): CompiledListener {
  const floating = o.enableFloatingIP ?? false;
  const backendPort = floating ? port : 81;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: port, backendPort, enableFloatingIP: floating,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: DIPS.map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: backendPort })), ...o,
  };
}
const lb = (version: string, listeners: CompiledListener[]): CompiledLoadBalancer => ({ id: ID, name: "d2", version, type: "Public", listeners, probes: [] });
const base = () => [rule("udp", VIP3, 5353, { protocol: "Udp" }), rule("web", VIP3, 80), rule("fl", ADDR.vip1, 80, { enableFloatingIP: true })];

/** Readings of one rule, per backend DIP. */
const perBackend = (rs: CounterReading[], ruleName: string): Record<string, CounterReading> =>
  Object.fromEntries(rs.filter((r) => r.key.rule === ruleName).map((r) => [r.key.backendIPAddress, r]));
const vmCounts = (bodies: string[]) => ({ [ADDR.vm1]: bodies.filter((b) => b.startsWith("vm1 ")).length, [ADDR.vm2]: bodies.filter((b) => b.startsWith("vm2 ")).length });

describe.skipIf(skipReason !== undefined)("nftables traffic counters in network namespaces", () => {
  const lab = new Lab("d2n");
  let drv: NftablesDriver;

  beforeAll(async () => {
    await lab.create();
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", ADDR.vm1], [lab.ns.vm2, "vm2", ADDR.vm2]] as const)
      await lab.backend(ns, name, [`${dip}:81`, `${ADDR.vip1}:80`]);
    // The load balancer host's own route toward its frontends (normally its default route): the local path.
    await lab.exec(lab.ns.lb, "ip", ["route", "add", "203.0.113.0/24", "dev", "lbc"]);
  }, 30_000);
  afterEach(async () => {
    await drv?.close(0);
  });
  afterAll(() => lab.destroy());

  it("counts datagrams of known size through a UDP rule exactly, per backend and direction", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_t" });
    await drv.apply(lb("v1", base()));
    const replies = await lab.udp(VIP3, 5353, 12); // "x" each; the backend answers "vmN <dip>:81\n" (20 bytes)
    expect(replies.every((r) => /^vm[12] /.test(r))).toBe(true);
    const got = perBackend(await drv.trafficCounters!(), "udp");
    const served = vmCounts(replies);
    for (const dip of DIPS) {
      const n = served[dip];
      const r = got[dip] ?? { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, newFlows: 0 };
      // IPv4 (20) + UDP (8) headers + payload, as the kernel counts at the forward hook.
      expect(r, dip).toMatchObject({ packetsIn: n, bytesIn: n * (28 + 1), packetsOut: n, bytesOut: n * (28 + 20), newFlows: n });
    }
    expect(got[ADDR.vm1]?.key).toMatchObject({ loadBalancerId: ID, rule: "udp", frontendIPAddress: VIP3, frontendPort: 5353, protocol: "Udp", backendPort: 81 });
  });

  it("attributes TCP flows of a DNAT rule and a floating-IP rule to the backend that served them", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_t" });
    await drv.apply(lb("v1", base()));
    const web = vmCounts(await lab.get(VIP3, 80, 10));
    const fl = vmCounts(await lab.get(ADDR.vip1, 80, 10));
    const rs = await drv.trafficCounters!();
    for (const [name, served] of [["web", web], ["fl", fl]] as const) {
      const got = perBackend(rs, name);
      for (const dip of DIPS) {
        expect(got[dip]?.newFlows ?? 0, `${name} ${dip}`).toBe(served[dip]);
        if (served[dip] > 0) {
          expect(got[dip].packetsIn).toBeGreaterThanOrEqual(served[dip] * 4); // SYN, ACK, request, FIN at least
          expect(got[dip].bytesOut).toBeGreaterThan(served[dip] * 60); // the answer and its headers came back
        }
      }
    }
  });

  it("keeps counting across an incremental change and a whole-table re-sync", async () => {
    const logs: string[] = [];
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_t", log: (m) => logs.push(m), counterGraceMs: 1500 });
    await drv.apply(lb("v1", base()));
    await lab.udp(VIP3, 5353, 6);
    const flows = () => drv.trafficCounters!().then((rs) => rs.filter((r) => r.key.rule === "udp").reduce((n, r) => n + r.newFlows, 0));
    expect(await flows()).toBe(6);
    await drv.apply(lb("v2", [...base(), rule("more", VIP3, 8080)])); // a diff: the udp rule is untouched
    expect(await flows()).toBe(6);
    // Someone meddles with the table: the next diff (which deletes that element) fails …
    await lab.exec(lab.ns.lb, "nft", ["delete", "element", "ip", "d2_t", "nat_port", `{ ${VIP3} . tcp . 8080 }`]);
    await drv.apply(lb("v3", base())); // … and the driver re-renders the whole table, counters declared with their values
    expect(logs.filter((l) => /table d2_t (replaced|updated)/.test(l)).map((l) => l.split(" ")[3])).toEqual(["replaced", "updated", "replaced"]);
    expect(await flows()).toBe(6);
    await lab.udp(VIP3, 5353, 2);
    expect(await flows()).toBe(8);
    // The rule goes; its counters stay, unreferenced, for the grace period: their totals are still read …
    const udpCounters = async () => (await lab.exec(lab.ns.lb, "nft", ["list", "counters", "table", "ip", "d2_t"])).includes(listenerKey(ID, "udp"));
    await drv.apply(lb("v4", base().filter((l) => l.name !== "udp")));
    expect(await flows()).toBe(8);
    expect(await udpCounters()).toBe(true);
    // … and once it is over, a read deletes them from the kernel.
    await new Promise((r) => setTimeout(r, 1600));
    expect(await flows()).toBe(0);
    await drv.settled();
    expect(await udpCounters()).toBe(false);
  });

  it("a synthetic flow from the load balancer host reaches a backend through the local path until the VIP path breaks", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d2_t" });
    await drv.apply(lb("v1", base()));
    // The agent's sampler, with its TCP flows started inside the lb namespace (where the agent would run).
    const connect = (host: string, port: number) =>
      lab.exec(lab.ns.lb, "timeout", ["1", "bash", "-c", `exec 3<>/dev/tcp/${host}/${port}`]).then(() => true, () => false);
    const sampler = new AvailabilitySampler({ loadBalancers: () => [lb("v1", base())], probeReports: () => [], connect });
    await sampler.sample();
    const vip = (s: ReturnType<AvailabilitySampler["take"]>) => Object.fromEntries(s.map((x) => [`${x.frontendIPAddress}:${x.frontendPort}`, x.up]));
    expect(vip(sampler.take())).toEqual({ [`${VIP3}:80`]: 1, [`${ADDR.vip1}:80`]: 1 });

    // The frontend is blackholed on the host (before any load balancing): the data path is broken.
    await lab.exec(lab.ns.lb, "nft", ["-f", "-"], `table ip d2_break {\n chain out { type filter hook output priority -300; ip daddr ${VIP3} drop; }\n}\n`);
    try {
      await sampler.sample();
      expect(vip(sampler.take())).toEqual({ [`${VIP3}:80`]: 0, [`${ADDR.vip1}:80`]: 1 });
    } finally {
      await lab.exec(lab.ns.lb, "nft", ["delete", "table", "ip", "d2_break"]);
    }
  });
});
