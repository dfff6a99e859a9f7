// The seed's rule type #2 (Floating IP, backend port reuse) through the WHOLE stack, as root, in network
// namespaces this test creates and removes: a real lbplane process (embedded PostgreSQL, as `npm start`)
// and a real `lbplane-agent --driver nftables` process in the lb namespace, everything configured through
// the ARM API, real TCP traffic from a client namespace to two VMs holding VIP1 and VIP2 on loopback.
//
//   client 192.0.2.2 ── [lb: lbplane + agent + nftables] ── vm1 198.51.100.2 (lo: VIP1, VIP2)
//                                                       └── vm2 198.51.100.6 (lo: VIP1, VIP2)
//
//   rule1  VIP1:80 → VIP1:80 on vm1 and vm2   (floating)     the seed's table for rule type #2
//   rule2  VIP2:80 → VIP2:80 on vm1 and vm2   (floating)
//   rule3  VIP1:8080 → DIP:81                 (default; added later: both rule types mixed)
//
// The probe is TCP on DIP:9000, served by its own process per VM, so it can be stopped and restarted.

import type { ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADDR, netnsUnavailable } from "../helpers/netns.js";
import type { MappingRow } from "./cluster.js";
import { NetnsStack } from "./netns-stack.js";
import { armLoadBalancer, loadBalancerPath, publicIpId, SUB } from "../kit/bodies.js";
import { until } from "../kit/wait.js";

const skipReason = netnsUnavailable();
if (skipReason) console.warn(`[floating IP end-to-end in network namespaces] SKIPPED: ${skipReason}`);

const NET = "api-version=2026-01-01";
const RG = "floating";
const PIP = (n: string) => publicIpId(RG, n);
const LB = loadBalancerPath(RG, "seed2");
const VMS = { vm1: ADDR.vm1, vm2: ADDR.vm2 } as const;
const PROBE_PORT = 9000;
const PROBE_INTERVAL_MS = 200; // the agent's --probe-interval-ms; probeThreshold 2 → Down after 2 failures

interface Rule {
  name: string;
  frontend: "fe1" | "fe2";
  frontendPort: number;
  backendPort: number;
  floating: boolean;
}
const FLOATING_RULES: Rule[] = [
  { name: "rule1", frontend: "fe1", frontendPort: 80, backendPort: 80, floating: true },
  { name: "rule2", frontend: "fe2", frontendPort: 80, backendPort: 80, floating: true },
];
const DEFAULT_RULE: Rule = { name: "rule3", frontend: "fe1", frontendPort: 8080, backendPort: 81, floating: false };

function lbBody(rules: Rule[]) {
  return armLoadBalancer(RG, "seed2", {
    frontends: { fe1: "vip1", fe2: "vip2" },
    backends: VMS,
    probes: { tcp: { port: PROBE_PORT, intervalInSeconds: 5, probeThreshold: 2 } },
    rules: rules.map((r) => ({ ...r, probe: "tcp", enableFloatingIP: r.floating })),
  });
}

/** The kit's poll, at this suite's pace (probes run commands in namespaces). */
const waitUntil = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>) => until(what, probe, timeoutMs, 100);

const vmsOf = (bodies: string[]) => [...new Set(bodies.map((b) => b.split(" ")[0]))].sort();
const destsOf = (bodies: string[]) => [...new Set(bodies.map((b) => b.split(" ")[1]))].sort();

describe.skipIf(skipReason !== undefined)("the seed's rule type #2 (floating IP) through lbplane + lbplane-agent --driver nftables", () => {
  let stack: NetnsStack; // created in beforeAll: a skipped suite makes no temporary folders
  const probeServers: Partial<Record<keyof typeof VMS, ChildProcess>> = {};

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await stack.api(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res;
  };
  /** Follow an Azure-AsyncOperation URL until it leaves InProgress. */
  const operation = (url: string) =>
    waitUntil("the long-running operation", 15_000, async () => {
      const op = (await api("GET", url)).json as { status: string; error?: unknown };
      return op.status === "InProgress" ? undefined : op;
    });
  const mappings = async () => (await api("GET", `${LB}/effectiveMappings?${NET}`)).json.value as MappingRow[];
  const health = async () => {
    const out: Record<string, string> = {};
    for (const row of await mappings()) for (const d of row.destinations) out[`${row.rule} ${d.backendAddress}`] = d.health;
    return out;
  };
  const allHealth = (h: Record<string, string>, rules: string[], vm1: string, vm2: string) =>
    rules.every((r) => h[`${r} ${VMS.vm1}`] === vm1 && h[`${r} ${VMS.vm2}`] === vm2);
  const startProbe = async (vm: keyof typeof VMS) => {
    probeServers[vm] = await stack.lab.backend(stack.ns[vm], `${vm}-probe`, [`${VMS[vm]}:${PROBE_PORT}`]);
  };
  const stopProbe = (vm: keyof typeof VMS) =>
    new Promise<void>((resolve) => {
      const c = probeServers[vm]!;
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  const putLb = async (rules: Rule[]) => {
    const res = await api("PUT", `${LB}?${NET}`, lbBody(rules));
    expect(res.headers["azure-asyncoperation"]).toBeTruthy();
    return operation(res.headers["azure-asyncoperation"]);
  };

  beforeAll(async () => {
    stack = new NetnsStack();
    try {
      await stack.start();
      for (const vm of ["vm1", "vm2"] as const) {
        // One service per VIP on the same port (backend port reuse), plus DIP:81 for the default rule.
        await stack.lab.backend(stack.ns[vm], vm, [`${ADDR.vip1}:80`, `${ADDR.vip2}:80`, `${VMS[vm]}:81`]);
        await startProbe(vm);
      }
      await api("PUT", `/subscriptions/${SUB}/resourcegroups/${RG}?api-version=2025-04-01`, { location: "westeurope" });
      for (const [name, ipAddress] of [["vip1", ADDR.vip1], ["vip2", ADDR.vip2]]) {
        await api("PUT", `${PIP(name)}?${NET}`, {
          location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress },
        });
      }
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${stack.logs()}`);
    }
  }, 75_000);

  afterAll(async () => {
    await stack?.destroy();
  }, 40_000);

  it("PUT of the two floating IP rules succeeds once the nftables agent acknowledged them", async () => {
    expect(await putLb(FLOATING_RULES)).toMatchObject({ status: "Succeeded" });
    const agents = (await api("GET", "/dataplane/v1/agents")).json.value as Array<{
      name: string; capabilities: { driver: string; floatingIP: boolean }; loadBalancers: { id: string; state: string }[];
    }>;
    const a1 = agents.find((a) => a.name === "a1")!;
    expect(a1.capabilities).toMatchObject({ driver: "nftables", floatingIP: true });
    expect(a1.loadBalancers.map((l) => [l.id.toLowerCase(), l.state])).toEqual([[LB.toLowerCase(), expect.stringMatching(/applied/i)]]);
    expect(await stack.nft(["list", "table", "ip", "lbplane"])).toContain(ADDR.vip2);
  });

  it("VIP1:80 and VIP2:80 reach both VMs, each VM seeing the VIP it was addressed to as destination", async () => {
    for (const vip of [ADDR.vip1, ADDR.vip2]) {
      const bodies = await stack.lab.get(vip, 80, 24);
      expect(bodies.filter((b) => b.startsWith("ERR"))).toEqual([]);
      expect(destsOf(bodies)).toEqual([`${vip}:80`]); // VIP kept: the service bound to VIP:80 answered
      expect(vmsOf(bodies)).toEqual(["vm1", "vm2"]);
    }
  });

  it("effective mappings: destination = VIP:80 (the seed's 'same as VIP'), both VMs Up", async () => {
    await waitUntil("both VMs Up", 10_000, async () => allHealth(await health(), ["rule1", "rule2"], "Up", "Up"));
    const rows = await mappings();
    expect(rows.map((r) => [r.rule, r.frontendIPAddress, r.frontendPort, r.enableFloatingIP]).sort()).toEqual([
      ["rule1", ADDR.vip1, 80, true],
      ["rule2", ADDR.vip2, 80, true],
    ]);
    for (const r of rows) {
      expect(r.destinations.map((d) => [d.backendAddress, d.destinationIPAddress, d.destinationPort, d.health]).sort()).toEqual([
        [VMS.vm1, r.frontendIPAddress, 80, "Up"],
        [VMS.vm2, r.frontendIPAddress, 80, "Up"],
      ]);
    }
  });

  it("vm1's probe down → Down within the probe window, new flows only to vm2; back up → Up and used again", async () => {
    await stopProbe("vm1");
    const t0 = Date.now();
    await waitUntil("vm1 Down", 5_000, async () => allHealth(await health(), ["rule1", "rule2"], "Down", "Up"));
    const downMs = Date.now() - t0;
    // Down after probeThreshold (2) failed probes 200 ms apart, plus the report to lbplane and our polling.
    expect(downMs).toBeLessThan(2 * PROBE_INTERVAL_MS + 2_000);
    for (const vip of [ADDR.vip1, ADDR.vip2]) {
      const bodies = await stack.lab.get(vip, 80, 16);
      expect(bodies).toEqual(Array(16).fill(`vm2 ${vip}:80`));
    }

    await startProbe("vm1");
    await waitUntil("vm1 Up again", 5_000, async () => allHealth(await health(), ["rule1", "rule2"], "Up", "Up"));
    for (const vip of [ADDR.vip1, ADDR.vip2]) {
      const bodies = await stack.lab.get(vip, 80, 24);
      expect(destsOf(bodies)).toEqual([`${vip}:80`]);
      expect(vmsOf(bodies)).toEqual(["vm1", "vm2"]);
    }
  });

  it("mix: a default rule VIP1:8080 → DIP:81 added by PUT serves the DIPs while the floating rules keep working", async () => {
    expect(await putLb([...FLOATING_RULES, DEFAULT_RULE])).toMatchObject({ status: "Succeeded" });
    const viaDefault = await stack.lab.get(ADDR.vip1, 8080, 24);
    for (const b of viaDefault) expect([`vm1 ${VMS.vm1}:81`, `vm2 ${VMS.vm2}:81`]).toContain(b);
    expect(vmsOf(viaDefault)).toEqual(["vm1", "vm2"]);
    for (const vip of [ADDR.vip1, ADDR.vip2]) {
      const bodies = await stack.lab.get(vip, 80, 16);
      expect(destsOf(bodies)).toEqual([`${vip}:80`]);
      expect(vmsOf(bodies)).toEqual(["vm1", "vm2"]);
    }
    await waitUntil("rule3 Up on both VMs", 10_000, async () => allHealth(await health(), ["rule1", "rule2", "rule3"], "Up", "Up"));
    const rule3 = (await mappings()).find((r) => r.rule === "rule3")!;
    expect(rule3).toMatchObject({ frontendIPAddress: ADDR.vip1, frontendPort: 8080, enableFloatingIP: false });
    expect(rule3.destinations.map((d) => [d.backendAddress, d.destinationIPAddress, d.destinationPort]).sort()).toEqual([
      [VMS.vm1, VMS.vm1, 81],
      [VMS.vm2, VMS.vm2, 81],
    ]);
  });

  it("DELETE of the load balancer: the agent removes its rules and VIP1 is no longer answered", async () => {
    const res = await api("DELETE", `${LB}?${NET}`);
    if (res.status === 202) expect(await operation(res.headers["azure-asyncoperation"])).toMatchObject({ status: "Succeeded" });
    else expect(res.status).toBe(200);
    await waitUntil("the agent to drop the load balancer", 10_000, async () => {
      const a1 = ((await api("GET", "/dataplane/v1/agents")).json.value as Array<{ name: string; loadBalancers: unknown[] }>)
        .find((a) => a.name === "a1")!;
      return a1.loadBalancers.length === 0;
    });
    const table = await stack.nft(["list", "table", "ip", "lbplane"]);
    expect(table).not.toContain(ADDR.vip1);
    expect(table).not.toContain(ADDR.vip2);
    for (const port of [80, 8080]) {
      const bodies = await stack.lab.get(ADDR.vip1, port, 3);
      expect(bodies.every((b) => b.startsWith("ERR"))).toBe(true);
    }
    expect((await stack.api("GET", `${LB}?${NET}`)).status).toBe(404);
  });

  it("SIGTERM to the agent: it exits cleanly and its nftables table and policy routes are gone", async () => {
    expect(stack.agentRunning()).toBe(true);
    expect(await stack.nft(["list", "tables"])).toContain("lbplane");
    expect(await stack.stopAgent()).toBe(0);
    expect(await stack.nft(["list", "tables"])).not.toMatch(/\blbplane\b/);
    const rules = await stack.lab.exec(stack.ns.lb, "ip", ["rule", "show"]);
    expect(rules).not.toMatch(/^20050:/m);
  });
});
