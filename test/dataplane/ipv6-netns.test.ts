// IPv6 end to end in network namespaces (root only): the seed's rule type #1 (two VIPs, one frontend port,
// default rules to two backend ports) and #2 (two floating IP rules on port 80, VIP kept as destination)
// over IPv6 with real traffic through the nftables driver, type #1 through the userspace driver (which
// refuses floating IP), and an IPv4 and an IPv6 rule on the same port side by side.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";
import { ADDR6, addIPv6, runUserspaceInNetns } from "./lab6.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[IPv6 netns tests] SKIPPED: ${skipReason}`);

const rule = (name: string, vip: string, dips: string[], o: Partial<CompiledListener> = {}): CompiledListener => {
  const floating = o.enableFloatingIP ?? false;
  const backendPort = o.backendPort ?? 80;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: 80, backendPort,
    enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false,
    backends: dips.map((dip) => ({ address: dip, destinationIPAddress: floating ? vip : dip, destinationPort: backendPort })), ...o,
  };
};
const lb = (name: string, listeners: CompiledListener[]): CompiledLoadBalancer => ({
  id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/${name}`, name, version: "v1",
  type: "Internal", sku: "Standard", listeners, probes: [],
});
const DIPS6 = [ADDR6.vm1, ADDR6.vm2];
/** Rule type #1 on two VIPs: VIP1:80 → service A (DIP:81), VIP2:80 → service A+1 (DIP:82), same VMs. */
const seed1 = (vip1: string, vip2: string) => lb("seed1v6", [rule("a", vip1, DIPS6, { backendPort: 81 }), rule("b", vip2, DIPS6, { backendPort: 82 })]);

const ok = (bodies: string[]) => bodies.every((b) => !b.startsWith("ERR"));

/**
 * Waits until `vip`:80 answers once: the first IPv6 flow after an apply may wait on neighbour
 * discovery in the namespaces longer than one request's timeout on a loaded machine (seen in CI).
 * The assertions then run on a path that is up, as the IPv4 tests' paths are after their probes.
 */
async function reachable(lab: Lab, vip: string): Promise<void> {
  for (let i = 0; i < 10; i++) if (ok(await lab.get(vip, 80, 1))) return;
  throw new Error(`${vip}:80 never answered`);
}
const vmsOf = (bodies: string[]) => new Set(bodies.map((b) => b.split(" ")[0]));
const destsOf = (bodies: string[]) => new Set(bodies.map((b) => b.split(" ")[1]));

describe.skipIf(skipReason !== undefined)("IPv6 dual stack with real traffic", () => {
  const lab = new Lab("d1v6");
  const dir = mkdtempSync(join(tmpdir(), "lbplane-d1v6-"));
  let drv: NftablesDriver | undefined;

  beforeAll(async () => {
    await lab.create();
    await addIPv6(lab);
    for (const [ns, name, dip, dip4] of [[lab.ns.vm1, "vm1", ADDR6.vm1, ADDR.vm1], [lab.ns.vm2, "vm2", ADDR6.vm2, ADDR.vm2]]) {
      await lab.backend(ns, name, [`${ADDR6.vip1}:80`, `${ADDR6.vip2}:80`, `${dip}:81`, `${dip}:82`, `${dip4}:81`]);
    }
  }, 30_000);
  afterEach(async () => {
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(async () => {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("nftables: the seed's rule type #1 over IPv6 — VIP1 reaches service A, VIP2 service A+1, over both VMs", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_v6" });
    await drv.apply(seed1(ADDR6.vip1, ADDR6.vip2));
    await reachable(lab, ADDR6.vip1);
    await reachable(lab, ADDR6.vip2);
    const a = await lab.get(ADDR6.vip1, 80, 16);
    const b = await lab.get(ADDR6.vip2, 80, 16);
    expect(ok(a) && ok(b), JSON.stringify([a, b])).toBe(true);
    expect(destsOf(a)).toEqual(new Set([`${ADDR6.vm1}:81`, `${ADDR6.vm2}:81`]));
    expect(destsOf(b)).toEqual(new Set([`${ADDR6.vm1}:82`, `${ADDR6.vm2}:82`]));
  });

  it("nftables: the seed's rule type #2 over IPv6 — two floating IP rules on port 80, VIP kept as destination", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_v6" });
    await drv.apply(lb("seed2v6", [rule("r1", ADDR6.vip1, DIPS6, { enableFloatingIP: true }), rule("r2", ADDR6.vip2, DIPS6, { enableFloatingIP: true })]));
    for (const vip of [ADDR6.vip1, ADDR6.vip2]) {
      const bodies = await lab.get(vip, 80, 16);
      expect(ok(bodies), JSON.stringify(bodies)).toBe(true);
      expect(destsOf(bodies)).toEqual(new Set([`${vip}:80`]));
      expect(vmsOf(bodies)).toEqual(new Set(["vm1", "vm2"]));
    }
  });

  it("nftables: an IPv4 and an IPv6 rule on the same port coexist, UDP included", async () => {
    drv = createNftablesDriver({ netns: lab.ns.lb, tableName: "d1_v6" });
    const v4 = "203.0.113.3";
    const dns6 = rule("dns6", ADDR6.vip1, DIPS6, { protocol: "Udp", frontendPort: 53, backendPort: 81 });
    await drv.apply(lb("dual", [
      rule("web4", v4, [ADDR.vm1, ADDR.vm2], { backendPort: 81 }), rule("web6", ADDR6.vip1, DIPS6, { backendPort: 81 }), dns6,
    ]));
    expect(destsOf(await lab.get(v4, 80, 16))).toEqual(new Set([`${ADDR.vm1}:81`, `${ADDR.vm2}:81`]));
    await reachable(lab, ADDR6.vip1);
    // 16 requests: both backends answer unless the hash sends all to one (2^-15, not 8 requests' 2^-7).
    expect(destsOf(await lab.get(ADDR6.vip1, 80, 16))).toEqual(new Set([`${ADDR6.vm1}:81`, `${ADDR6.vm2}:81`]));
    const udp = await lab.udp(ADDR6.vip1, 53, 16);
    expect(ok(udp), JSON.stringify(udp)).toBe(true);
    expect(destsOf(udp)).toEqual(new Set([`${ADDR6.vm1}:81`, `${ADDR6.vm2}:81`]));
  });

  it("userspace: the seed's rule type #1 over IPv6 with real traffic", async () => {
    const us = await runUserspaceInNetns(lab.ns.lb, dir, [seed1(ADDR6.userspaceVip1, ADDR6.userspaceVip2)]);
    try {
      const a = await lab.get(ADDR6.userspaceVip1, 80, 12);
      const b = await lab.get(ADDR6.userspaceVip2, 80, 12);
      expect(ok(a) && ok(b), JSON.stringify([a, b])).toBe(true);
      expect(destsOf(a)).toEqual(new Set([`${ADDR6.vm1}:81`, `${ADDR6.vm2}:81`]));
      expect(destsOf(b)).toEqual(new Set([`${ADDR6.vm1}:82`, `${ADDR6.vm2}:82`]));
    } finally {
      us.stop();
    }
  });
});
