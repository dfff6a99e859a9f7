// The kernel's word on which frontends it forwards (nftables frontendsInForce, the base of Data Path
// Availability for UDP and HA-ports frontends), in network namespaces (root only): every kind of
// dispatch entry — a UDP DNAT rule (nat_port), HA ports (nat_any), floating HA ports (fip_any), a
// floating TCP rule (fip_port) — is read back; an entry deleted from outside, or the whole table
// gone, takes its frontends out, whatever the driver's memory says.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { frontendOf } from "../../src/dataplane/driver.js";
import { AvailabilitySampler } from "../../src/dataplane/metrics/availability.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables frontends in force] SKIPPED: ${skipReason}`);

const ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/h1inforce";

function rule(name: string, vip: string, o: Partial<CompiledListener>): CompiledListener {
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Udp", frontendPort: 53, backendPort: 53, enableFloatingIP: false,
    loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: [ADDR.vm1, ADDR.vm2].map((d) => ({ address: d, destinationIPAddress: o.enableFloatingIP ? vip : d, destinationPort: o.backendPort ?? 53 })), ...o,
  };
}
const listeners = [
  rule("dns", "203.0.113.3", {}),
  rule("ha", "203.0.113.4", { protocol: "All", frontendPort: 0, backendPort: 0 }),
  rule("haf", ADDR.vip2, { protocol: "All", frontendPort: 0, backendPort: 0, enableFloatingIP: true }),
  rule("web", ADDR.vip1, { protocol: "Tcp", frontendPort: 80, backendPort: 80, enableFloatingIP: true }),
];
const lb: CompiledLoadBalancer = { id: ID, name: "h1inforce", version: "v1", type: "Public", listeners, probes: [] };
const all = listeners.map((l) => `${ID}\n${frontendOf(l)}`);

describe.skipIf(skipReason !== undefined)("frontends the nftables kernel table forwards, read back", () => {
  const lab = new Lab("h1f");
  let drv: NftablesDriver;

  beforeAll(async () => {
    await lab.create();
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "h1_inforce" });
    await drv.apply(lb);
  }, 30_000);
  afterAll(async () => {
    await drv?.close(0);
    await lab.destroy();
  });

  it("reads back every kind of dispatch entry; a deleted one takes its frontend out, and so does a lost table", async () => {
    expect([...(await drv.frontendsInForce())].sort()).toEqual([...all].sort());

    await lab.exec(lab.ns.lb, "nft", ["delete", "element", "ip", "h1_inforce", "nat_any", "{ 203.0.113.4 . udp }"]);
    // HA ports has two entries (tcp, udp): one left still forwards TCP, so the frontend stays in force.
    expect(await drv.frontendsInForce()).toContain(all[1]);
    await lab.exec(lab.ns.lb, "nft", ["delete", "element", "ip", "h1_inforce", "nat_any", "{ 203.0.113.4 . tcp }"]);
    await lab.exec(lab.ns.lb, "nft", ["delete", "element", "ip", "h1_inforce", "nat_port", "{ 203.0.113.3 . udp . 53 }"]);
    expect([...(await drv.frontendsInForce())].sort()).toEqual([all[2], all[3]].sort());

    // Data Path Availability follows: the UDP and HA-ports frontends whose entries went are unavailable.
    const sampler = new AvailabilitySampler({
      loadBalancers: () => [lb], probeReports: () => [], listeners: () => drv.status(), frontendsInForce: () => drv.frontendsInForce(), connect: async () => true,
    });
    await sampler.sample();
    const vip = Object.fromEntries(sampler.take().map((s) => [`${s.frontendIPAddress}:${s.frontendPort}/${s.protocol}`, s.up]));
    expect(vip).toEqual({ "203.0.113.3:53/Udp": 0, "203.0.113.4:0/All": 0, [`${ADDR.vip2}:0/All`]: 1, [`${ADDR.vip1}:80/Tcp`]: 1 });

    await lab.exec(lab.ns.lb, "nft", ["delete", "table", "ip", "h1_inforce"]);
    expect(await drv.frontendsInForce()).toEqual(new Set());
  });
});
