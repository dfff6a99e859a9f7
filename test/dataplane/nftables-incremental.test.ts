// Incremental updates of the nftables driver, end to end in network namespaces (root only; see
// test/helpers/netns.ts): a change is sent as a diff, established flows keep their backend, new rules
// forward at once, a refused diff leaves the old rules forwarding, and a kernel that no longer holds what
// the driver recorded is re-synced from the driver's model.

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import { DriverRefusal } from "../../src/dataplane/driver.js";
import { createNftablesDriver, type NftablesDriver } from "../../src/dataplane/nftables/driver.js";
import { listenerKey } from "../../src/dataplane/nftables/render.js";
import { ADDR, Lab, netnsUnavailable } from "../helpers/netns.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[nftables incremental update tests] SKIPPED: ${skipReason}`);

const TABLE = "lbplane_i";
const VIP3 = "203.0.113.3"; // default rules only (not on the VMs' loopback)
const DIPS = [ADDR.vm1, ADDR.vm2];

function rule(name: string, vip: string, port: number, o: Partial<CompiledListener> = {}): CompiledListener {
  const floating = o.enableFloatingIP ?? false;
  const backendPort = floating ? port : 81;
  return {
    kind: "LoadBalancingRule", name, frontendIPAddress: vip, protocol: "Tcp", frontendPort: port, backendPort,
    enableFloatingIP: floating, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, probe: "probe80",
    backends: DIPS.map((d) => ({ address: d, destinationIPAddress: floating ? vip : d, destinationPort: backendPort })),
    ...o,
  };
}
const ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/inc";
const lb = (version: string, listeners: CompiledListener[]): CompiledLoadBalancer => ({
  id: ID, name: "inc", version, type: "Public", listeners,
  probes: [{ name: "probe80", protocol: "Tcp", port: 81, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets: DIPS }],
});
const base = (): CompiledListener[] => [rule("fl", ADDR.vip1, 80, { enableFloatingIP: true }), rule("dn", VIP3, 80), rule("dn2", VIP3, 8081)];

const vmsOf = (bodies: string[]): Set<string> => new Set(bodies.map((b) => b.split(" ")[0]));

describe.skipIf(skipReason !== undefined)("nftables driver: incremental updates in network namespaces", () => {
  const lab = new Lab("lbi");
  let drv: NftablesDriver | undefined;
  let logs: string[] = [];
  const newDriver = (): NftablesDriver => {
    logs = [];
    return (drv = createNftablesDriver({ netns: lab.ns.lb, tableName: TABLE, log: (m) => logs.push(m) }));
  };
  const listing = (handles = false): Promise<string> => lab.exec(lab.ns.lb, "nft", [...(handles ? ["-a"] : []), "list", "table", "ip", TABLE]);
  /** "chain NAME { # handle N" lines: a chain that was not re-created keeps its handle. */
  const chainHandles = (s: string, names: string[]): string[] =>
    s.split("\n").filter((x) => names.some((n) => x.includes(`chain ${n} {`)) || /^table /.test(x)).map((x) => x.trim());

  beforeAll(async () => {
    await lab.create();
    for (const [ns, name, dip] of [[lab.ns.vm1, "vm1", ADDR.vm1], [lab.ns.vm2, "vm2", ADDR.vm2]] as const)
      await lab.backend(ns, name, [`${ADDR.vip1}:80`, `${ADDR.vip2}:80`, `${dip}:81`]);
  }, 30_000);
  afterEach(async () => {
    await drv?.close(0);
    drv = undefined;
  });
  afterAll(() => lab.destroy());

  it("changes, adds and removes rules by diff: flows on unchanged rules keep their backend, a new rule forwards at once", async () => {
    const d = newDriver();
    await d.apply(lb("v1", base()));
    expect(logs.at(-1)).toMatch(/replaced/); // the first apply renders the whole table
    const conns = [lab.hold(ADDR.vip1, 80), lab.hold(VIP3, 80)];
    const first = await Promise.all(conns.map((c) => c.ask()));
    for (const f of first) expect(f).toMatch(/^vm[12] /);
    const stable = ["mangle", "nat", `c_${listenerKey(ID, "fl")}`, `c_${listenerKey(ID, "dn")}`];
    const before = chainHandles(await listing(true), stable);

    // dn2 gets another hash (its chain and map are rebuilt); two rules are added, one of them floating.
    const v2 = [...base(), rule("new", VIP3, 8082), rule("fl2", ADDR.vip2, 80, { enableFloatingIP: true })];
    v2[2] = { ...v2[2], loadDistribution: "SourceIP" };
    await d.apply(lb("v2", v2));
    expect(logs.at(-1)).toMatch(/updated incrementally \(\d+ statements\)/);
    expect(await Promise.all(conns.map((c) => c.ask()))).toEqual(first);
    expect(chainHandles(await listing(true), stable)).toEqual(before); // untouched objects were not re-created
    expect(vmsOf(await lab.get(VIP3, 8082, 12))).toEqual(new Set(["vm1", "vm2"]));
    const viaFl2 = await lab.get(ADDR.vip2, 80, 12);
    expect(new Set(viaFl2.map((b) => b.split(" ")[1]))).toEqual(new Set([`${ADDR.vip2}:80`]));
    expect(vmsOf(await lab.get(VIP3, 8081, 8)).size).toBeGreaterThan(0);

    // Remove the added rules again: they stop answering, the held flows do not notice.
    await d.apply(lb("v3", base()));
    expect(logs.at(-1)).toMatch(/updated incrementally/);
    expect(await lab.get(VIP3, 8082, 1)).toEqual([expect.stringMatching(/^ERR/)]);
    expect(await Promise.all(conns.map((c) => c.ask()))).toEqual(first);
    // Its chains and maps are gone; its traffic counters stay readable for a grace period (final totals).
    const withoutCounters = (await listing()).split("\n").filter((line) => !/^\s*counter /.test(line)).join("\n");
    expect(withoutCounters).not.toContain(listenerKey(ID, "new"));
    for (const c of conns) c.close();
  });

  it("refuses an incremental change nft refuses, with nft's message, and the old rules keep forwarding", async () => {
    const d = newDriver();
    await d.apply(lb("v1", base()));
    const held = lab.hold(VIP3, 80);
    const answer = await held.ask();
    const snapshot = await listing();
    const err = await d.apply(lb("v2", [...base(), rule("bad", VIP3, 70000)])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverRefusal);
    expect((err as Error).message).toMatch(/^nft refused the configuration: .*70000/s);
    expect(await listing()).toBe(snapshot);
    expect(await held.ask()).toBe(answer);
    expect(vmsOf(await lab.get(VIP3, 80, 12))).toEqual(new Set(["vm1", "vm2"]));
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 12))).toEqual(new Set(["vm1", "vm2"]));
    expect(d.status().map((s) => s.listener)).toEqual(["fl", "dn", "dn2"]);
    // The driver still trusts its record of the kernel: the next good change is a diff again.
    await d.apply(lb("v3", [...base(), rule("good", VIP3, 8083)]));
    expect(logs.at(-1)).toMatch(/updated incrementally/);
    expect(vmsOf(await lab.get(VIP3, 8083, 8)).size).toBeGreaterThan(0);
    held.close();
  });

  it("re-syncs the whole table from its model when the kernel lost what it recorded (apply and probe paths)", async () => {
    const d = newDriver();
    await d.apply(lb("v1", base()));
    await lab.exec(lab.ns.lb, "nft", ["delete", "table", "ip", TABLE]); // e.g. an operator's `nft flush ruleset`
    await d.apply(lb("v2", [...base(), rule("new", VIP3, 8082)]));
    expect(logs.join("\n")).toMatch(/incremental update refused .*re-rendering the whole table/s);
    expect(logs.at(-1)).toMatch(/replaced/);
    for (const [vip, port] of [[ADDR.vip1, 80], [VIP3, 80], [VIP3, 8082]] as const)
      expect(vmsOf(await lab.get(vip, port, 12))).toEqual(new Set(["vm1", "vm2"]));

    await lab.exec(lab.ns.lb, "nft", ["delete", "table", "ip", TABLE]);
    d.setHealth(ID, "probe80", ADDR.vm1, false);
    await d.settled();
    expect(logs.join("\n")).toMatch(/health update refused .*re-syncing the whole table/s);
    expect(vmsOf(await lab.get(VIP3, 8082, 12))).toEqual(new Set(["vm2"]));
    expect(vmsOf(await lab.get(ADDR.vip1, 80, 12))).toEqual(new Set(["vm2"]));
  });
});
