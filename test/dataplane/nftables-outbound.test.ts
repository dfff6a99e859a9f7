// Outbound rules with SNAT through the nftables driver, with real flows in network namespaces (root
// only): VMs open TCP and UDP flows to a host outside (the client namespace), which reports the source
// address and port it saw. Lab topology: test/helpers/netns.ts; documentation ranges only.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer, CompiledOutboundRule } from "../../src/domain/agent-protocol.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";
import { OutboundLab, parseSeen } from "./outbound-lab.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables outbound tests] SKIPPED: ${skipReason}`);

const OUT_IP = "203.0.113.9"; // the outbound rule's frontend address (nobody holds it: only SNAT uses it)
let peerPort = 7000; // one per test (see OutboundLab.peer)

const block = (address: string, portLow: number, size: number) => ({ address, frontendIPAddress: OUT_IP, portLow, portHigh: portLow + size - 1 });
const egress = (o: Partial<CompiledOutboundRule> = {}): CompiledOutboundRule => ({
  kind: "OutboundRule", name: "egress", protocol: "All", frontendIPAddresses: [OUT_IP], allocatedOutboundPorts: 8,
  idleTimeoutInMinutes: 4, enableTcpReset: false, blocks: [block(ADDR.vm1, 1024, 8), block(ADDR.vm2, 1032, 8)], ...o,
});
const floatingWeb: CompiledListener = {
  kind: "LoadBalancingRule", name: "web", frontendIPAddress: ADDR.vip1, protocol: "Tcp", frontendPort: 80, backendPort: 80,
  enableFloatingIP: true, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
  backends: [ADDR.vm1, ADDR.vm2].map((dip) => ({ address: dip, destinationIPAddress: ADDR.vip1, destinationPort: 80 })),
};
const lb = (o: Partial<CompiledLoadBalancer>): CompiledLoadBalancer => ({
  id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/out", name: "out", version: "v1",
  type: "Public", listeners: [floatingWeb], probes: [], sku: "Standard", outboundRules: [egress()], ...o,
});

describe.skipIf(skipReason !== undefined)("outbound rules (SNAT) through the nftables driver", () => {
  const lab = new Lab("d1o");
  const out = new OutboundLab();
  let drv: NftablesDriver | undefined;
  const apply = async (config: CompiledLoadBalancer): Promise<NftablesDriver> => {
    drv ??= createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_out" });
    await drv.apply(config);
    return drv;
  };

  beforeAll(async () => {
    await lab.create();
    await out.peer(lab.ns.client, ADDR.client, [7001, 7002, 7003, 7004, 7005, 7006, 7007]);
    for (const [ns, name] of [[lab.ns.vm1, "vm1"], [lab.ns.vm2, "vm2"]]) await lab.backend(ns, name, [`${ADDR.vip1}:80`]);
  }, 30_000);
  beforeEach(() => {
    peerPort++;
  });
  afterEach(async () => {
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(async () => {
    out.destroy();
    await lab.destroy();
  });

  it("a VM's outbound TCP and UDP flows reach the host outside from the outbound rule's address, ports inside the VM's block", async () => {
    await apply(lb({}));
    for (const [ns, low] of [[lab.ns.vm1, 1024], [lab.ns.vm2, 1032]] as const) {
      for (const mode of ["tcp", "udp"] as const) {
        const seen = (await out.dial(ns, mode, ADDR.client, peerPort, 4)).map(parseSeen);
        expect(seen.every((s) => s?.address === OUT_IP), `${ns} ${mode}: ${JSON.stringify(seen)}`).toBe(true);
        for (const s of seen) expect(s!.port).toBeGreaterThanOrEqual(low), expect(s!.port).toBeLessThanOrEqual(low + 7);
        expect(new Set(seen.map((s) => s!.port)).size).toBe(4); // concurrent flows, distinct ports
      }
    }
  });

  it("exhausting a VM's block fails its new flows, counts them, and leaves the other VM's block alone", async () => {
    const d = await apply(lb({}));
    const tcp = await out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 10); // 8 ports in the block, 10 flows held
    expect(tcp.slice(0, 8).every((l) => parseSeen(l)?.address === OUT_IP)).toBe(true);
    expect(tcp.slice(8)).toEqual(["ERR timeout", "ERR timeout"]);
    const udp = await out.dial(lab.ns.vm1, "udp", ADDR.client, peerPort, 9);
    expect(udp.filter((l) => l.startsWith("ERR"))).toHaveLength(1); // UDP has its own 8 ports
    const vm1 = (await d.outboundStatus()).filter((s) => s.address === ADDR.vm1);
    expect(vm1.map((s) => [s.protocol, s.portLow, s.portHigh])).toEqual([["tcp", 1024, 1031], ["udp", 1024, 1031]]);
    expect(vm1.find((s) => s.protocol === "tcp")!.exhaustedDrops).toBeGreaterThanOrEqual(2);
    expect(vm1.find((s) => s.protocol === "udp")!.exhaustedDrops).toBeGreaterThanOrEqual(1);
    // The neighbour's block is untouched by vm1's exhaustion.
    expect((await out.dial(lab.ns.vm2, "tcp", ADDR.client, peerPort, 2)).every((l) => parseSeen(l)?.address === OUT_IP)).toBe(true);
  });

  it("a floating-IP VM whose application binds the VIP cannot go out (the seed's limitation); using the DIP it can", async () => {
    await apply(lb({}));
    expect(await out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 1, ADDR.vip1)).toEqual(["ERR timeout"]);
    expect(await out.dial(lab.ns.vm1, "udp", ADDR.client, peerPort, 1, ADDR.vip1)).toEqual(["ERR timeout"]);
    const viaDip = (await out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 1, ADDR.vm1)).map(parseSeen);
    expect(viaDip[0]?.address).toBe(OUT_IP);
    // And inbound floating-IP traffic still flows while outbound rules are in force.
    expect((await lab.get(ADDR.vip1, 80, 6)).every((b) => !b.startsWith("ERR"))).toBe(true);
  });

  it("Standard SKU: a backend without an outbound rule gets no outbound connectivity; Basic leaves it alone", async () => {
    await apply(lb({ outboundRules: [egress({ blocks: [block(ADDR.vm1, 1024, 8)] })] }));
    expect(await out.dial(lab.ns.vm2, "tcp", ADDR.client, peerPort, 1)).toEqual(["ERR timeout"]);
    expect(parseSeen((await out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 1))[0])?.address).toBe(OUT_IP);
    await apply(lb({ version: "v2", sku: "Basic", outboundRules: [] }));
    expect(parseSeen((await out.dial(lab.ns.vm2, "tcp", ADDR.client, peerPort, 1))[0])?.address).toBe(ADDR.vm2);
  });

  it("an outbound flow gets the rule's idle timeout in conntrack (7 minutes, not the kernel's 5 days for TCP)", async () => {
    await apply(lb({ outboundRules: [egress({ idleTimeoutInMinutes: 7 })] }));
    const held = out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 1, undefined, 8000);
    let table = "";
    let entry: string | undefined;
    for (let tries = 0; !entry && tries < 40; tries++) {
      await new Promise((r) => setTimeout(r, 200)); // the dialer is a fresh Node process: give it time to connect
      table = await lab.exec(lab.ns.lb, "cat", ["/proc/net/nf_conntrack"]);
      entry = table.split("\n").find((l) => l.includes(`src=${ADDR.vm1}`) && l.includes(`dport=${peerPort}`) && l.includes("ESTABLISHED"));
    }
    expect(entry, table).toBeDefined();
    const seconds = Number(/\btcp\s+6\s+(\d+)/.exec(entry!)?.[1]);
    expect(seconds).toBeGreaterThan(7 * 60 - 30);
    expect(seconds).toBeLessThanOrEqual(7 * 60);
    expect(parseSeen((await held)[0])?.address).toBe(OUT_IP);
  });

  it("a Tcp-only outbound rule SNATs TCP; the VM's UDP is not let out", async () => {
    await apply(lb({ outboundRules: [egress({ protocol: "Tcp" })] }));
    expect(parseSeen((await out.dial(lab.ns.vm1, "tcp", ADDR.client, peerPort, 1))[0])?.address).toBe(OUT_IP);
    expect(await out.dial(lab.ns.vm1, "udp", ADDR.client, peerPort, 1)).toEqual(["ERR timeout"]);
  });
});
