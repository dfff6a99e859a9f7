// Flows with nowhere to go, through the nftables driver in network namespaces (root only): a new TCP
// flow to a rule whose backends are all Down is reset at once; a UDP flow whose backend goes Down moves
// to a healthy one with its next datagram, while an established TCP flow stays where it is (Azure keeps
// established flows on a backend that fails its probe). Lab topology: test/helpers/netns.ts.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";
import { OutboundLab } from "./outbound-lab.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables reset/failover tests] SKIPPED: ${skipReason}`);

const VIP = "203.0.113.3";
const VMS = [ADDR.vm1, ADDR.vm2];
const rule = (name: string, protocol: "Tcp" | "Udp", frontendPort: number): CompiledListener => ({
  kind: "LoadBalancingRule", name, frontendIPAddress: VIP, protocol, frontendPort, backendPort: 81,
  enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, probe: "p",
  backends: VMS.map((dip) => ({ address: dip, destinationIPAddress: dip, destinationPort: 81 })),
});
const LB: CompiledLoadBalancer = {
  id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/resets", name: "resets", version: "v1",
  type: "Internal", sku: "Standard", listeners: [rule("web", "Tcp", 80), rule("dns", "Udp", 53)],
  probes: [{ name: "p", protocol: "Tcp", port: 81, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets: VMS }],
};
const vmOf = (body: string): string => body.split(" ")[0];

describe.skipIf(skipReason !== undefined)("resets and UDP failover through the nftables driver", () => {
  const lab = new Lab("d1r");
  const flows = new OutboundLab();
  let d: NftablesDriver;
  const setHealth = async (dip: string, up: boolean) => {
    d.setHealth(LB.id, "p", dip, up);
    await d.settled();
  };

  beforeAll(async () => {
    await lab.create();
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", ADDR.vm1], [lab.ns.vm2, "vm2", ADDR.vm2]]) await lab.backend(ns, name, [`${dip}:81`]);
  }, 30_000);
  afterEach(async () => {
    await d?.close(0);
  });
  afterAll(async () => {
    flows.destroy();
    await lab.destroy();
  });

  it("a new TCP flow to a rule with every backend Down is reset within milliseconds; with one Up it connects", async () => {
    d = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_rst" });
    await d.apply(LB);
    expect((await flows.connect(lab.ns.client, VIP, 80)).result).toBe("connected");
    for (const dip of VMS) await setHealth(dip, false);
    const refused = await flows.connect(lab.ns.client, VIP, 80);
    expect(refused.result).toBe("ECONNREFUSED");
    expect(refused.ms).toBeLessThan(250); // a dropped SYN would wait for the connect timeout (3 s here)
    console.log(`[resets] RST for a rule with every backend down after ${refused.ms.toFixed(1)} ms`);
    await setHealth(ADDR.vm2, true);
    expect((await flows.connect(lab.ns.client, VIP, 80)).result).toBe("connected");
  });

  it("a UDP flow moves to a healthy backend after its backend goes Down; an established TCP flow stays", async () => {
    d = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_udp" });
    await d.apply(LB);
    const udp = flows.udpFlow(lab.ns.client, VIP, 53);
    const tcp = lab.hold(VIP, 80);
    try {
      const first = vmOf(await udp.ask());
      expect(["vm1", "vm2"]).toContain(first);
      expect(vmOf(await udp.ask())).toBe(first); // one flow, one backend
      const tcpVm = vmOf(await tcp.ask());
      const dip = (vm: string) => (vm === "vm1" ? ADDR.vm1 : ADDR.vm2);

      await setHealth(dip(first), false);
      const moved = vmOf(await udp.ask());
      expect(moved).not.toBe(first);
      expect(vmOf(await udp.ask())).toBe(moved); // and stays on its new backend

      await setHealth(dip(tcpVm), false);
      expect(vmOf(await tcp.ask())).toBe(tcpVm); // TCP: established flows stay on a backend that fails probes
    } finally {
      udp.close();
      tcp.close();
    }
  });
});
