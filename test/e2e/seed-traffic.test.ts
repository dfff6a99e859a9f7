// The seed's rule type #1 end to end: a real lbplane process, a real lbplane-agent process, backend
// services on loopback, everything created through the ARM API over HTTP.
//
//   VIP1:P → DIP1:A, DIP2:A        (the seed's VIP1:80 → DIP:80)
//   VIP2:P → DIP1:A+1, DIP2:A+1    (the seed's VIP2:80 → DIP:81)
//
// P, A and A+1 are free high ports (unprivileged); as root (CI) the same LB also carries the seed's
// own ports, VIP1:80 → DIP:80 and VIP2:80 → DIP:81.

import type dgram from "node:dgram";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openConn, type Conn } from "../dataplane/echo.js";
import { freePort, get, spread, startHttpBackend, startUdpEcho, tryGet, udpAsk, type Backend } from "../dataplane/lab.js";
import {
  backendStates,
  createPublicIp,
  createResourceGroup,
  effectiveMappings,
  findAgent,
  lbPath,
  loadBalancerBody,
  putLoadBalancer,
  startCluster,
  waitUntil,
  type Cluster,
  type RuleSpec,
} from "./cluster.js";

const VIP1 = "127.10.9.1";
const VIP2 = "127.10.9.2";
const VIP3 = "127.10.9.3"; // the floating IP load balancer's
const VMS = { vm1: "127.0.9.11", vm2: "127.0.9.12" } as const;
const DIPS = Object.values(VMS);
const RG = "seed";
const SEED = lbPath(RG, "seed");
const FLOATING = lbPath(RG, "floating");
const PROBE_INTERVAL_MS = 200; // the agent's --probe-interval-ms; probes mark Down after 2 failures

async function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer().once("error", () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

const names = (seen: Record<string, number>) => Object.keys(seen).sort();

describe("the seed's rule type #1 through a real lbplane and a real lbplane-agent", () => {
  let cluster: Cluster;
  let P: number; // frontend port of both VIPs
  let A: number; // VIP1's backend service port on each VM; A2 is VIP2's
  let A2: number;
  let seed80 = false; // root and ports 80/81 free: the seed's own ports too
  const http: Record<string, Backend> = {};
  const udp: dgram.Socket[] = [];
  const conns: Conn[] = [];
  let seedRules: RuleSpec[];
  let seedProbes: Record<string, number>;

  const seedBody = () =>
    loadBalancerBody(RG, "seed", { frontends: { fe1: "vip1", fe2: "vip2" }, vms: VMS, probes: seedProbes, rules: seedRules });

  /** A backend service answering "vm1 svcA"; keep-alive long enough to outlive a test. */
  async function startService(vm: keyof typeof VMS, port: number, service: string) {
    const b = await startHttpBackend(VMS[vm], port, `${vm} ${service}`);
    const restart = b.restart.bind(b);
    const tune = () => (b.server.keepAliveTimeout = 60_000);
    b.restart = async () => {
      await restart();
      tune();
    };
    tune();
    http[`${vm} ${service}`] = b;
  }

  beforeAll(async () => {
    P = await freePort([VIP1, VIP2, VIP3]);
    A = await freePort(DIPS);
    A2 = await freePort(DIPS);
    seed80 = process.getuid?.() === 0 && (await Promise.all([...[VIP1, VIP2].map((v) => canListen(v, 80)), ...DIPS.flatMap((d) => [canListen(d, 80), canListen(d, 81)])])).every(Boolean);
    for (const vm of ["vm1", "vm2"] as const) {
      await startService(vm, A, "svcA");
      await startService(vm, A2, "svcA+1");
      udp.push(await startUdpEcho(VMS[vm], A, `${vm} udpA`), await startUdpEcho(VMS[vm], A2, `${vm} udpA+1`));
      if (seed80) {
        await startService(vm, 80, "svc80");
        await startService(vm, 81, "svc81");
      }
    }
    seedProbes = { probeA: A, probeA2: A2, ...(seed80 ? { probe80: 80, probe81: 81 } : {}) };
    seedRules = [
      { name: "vip1", frontend: "fe1", frontendPort: P, backendPort: A, probe: "probeA" },
      { name: "vip2", frontend: "fe2", frontendPort: P, backendPort: A2, probe: "probeA2" },
      // The seed's first table: VIP #3 is the same IP as VIP #1 with UDP on the same port.
      { name: "vip1-udp", frontend: "fe1", protocol: "Udp", frontendPort: P, backendPort: A, probe: "probeA" },
      ...(seed80
        ? [
            { name: "vip1-80", frontend: "fe1", frontendPort: 80, backendPort: 80, probe: "probe80" },
            { name: "vip2-80", frontend: "fe2", frontendPort: 80, backendPort: 81, probe: "probe81" },
          ]
        : []),
    ];

    cluster = await startCluster();
    await cluster.startAgent("a1", ["--probe-interval-ms", String(PROBE_INTERVAL_MS)]);
    await createResourceGroup(cluster.url, RG);
    await createPublicIp(cluster.url, RG, "vip1", VIP1);
    await createPublicIp(cluster.url, RG, "vip2", VIP2);
    await createPublicIp(cluster.url, RG, "vip3", VIP3);
  }, 60_000);

  afterAll(async () => {
    for (const c of conns) c.socket.destroy();
    await cluster?.stop();
    await Promise.all(Object.values(http).map((b) => b.close().catch(() => {})));
    for (const s of udp) s.close();
  });

  /** Fails with everything the processes logged, so a red CI run says why. */
  async function explain<T>(p: Promise<T>): Promise<T> {
    try {
      return await p;
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${cluster.logs()}`);
    }
  }

  it("the agent registers live, with the userspace driver's capabilities", async () => {
    expect(await findAgent(cluster.url, "a1")).toMatchObject({ state: "live", capabilities: { driver: "userspace", floatingIP: false } });
  });

  it("the PUT's Azure-AsyncOperation completes Succeeded once the agent acknowledged it", async () => {
    const op = await explain(putLoadBalancer(cluster.url, SEED, seedBody()));
    expect(op).toMatchObject({ status: "Succeeded" });
    const agent = await findAgent(cluster.url, "a1");
    expect(agent!.ackedGeneration).toBe(agent!.desiredGeneration);
    expect(agent!.loadBalancers).toEqual([expect.objectContaining({ id: expect.stringMatching(/\/loadBalancers\/seed$/i), state: "Applied" })]);
  });

  it("VIP1 reaches service A and VIP2 reaches service A+1 on the same frontend port, spread over both VMs", async () => {
    // Probes start Unknown; wait until the agent has seen every DIP up.
    await waitUntil(async () => names(await spread(VIP1, P, 10)).length === 2, 5000, "VIP1 spread over both VMs");
    expect(names(await spread(VIP1, P, 30))).toEqual(["vm1 svcA", "vm2 svcA"]);
    expect(names(await spread(VIP2, P, 30))).toEqual(["vm1 svcA+1", "vm2 svcA+1"]);
  });

  it("the UDP rule on VIP1's address and port reaches the VMs' UDP service", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await udpAsk(VIP1, P, "hi")).replace(/:hi$/, ""));
    expect([...seen].sort()).toEqual(["vm1 udpA", "vm2 udpA"]);
  });

  it("lbplane's health API says Up for every backend of every rule", async () => {
    await waitUntil(async () => {
      const [r1, r2] = [await backendStates(cluster.url, SEED, "vip1"), await backendStates(cluster.url, SEED, "vip2")];
      return [r1, r2].every((r) => DIPS.every((d) => r[d] === "Up"));
    }, 5000, "rule health Up");
    const rows = await effectiveMappings(cluster.url, SEED);
    const vip2 = rows.find((r) => r.rule === "vip2")!;
    expect(vip2).toMatchObject({ protocol: "Tcp", frontendIPAddress: VIP2, frontendPort: P, enableFloatingIP: false });
    expect(vip2.destinations).toEqual(
      DIPS.map((d) => ({ backendAddress: d, destinationIPAddress: d, destinationPort: A2, health: "Up" })),
    );
  });

  it.runIf(process.getuid?.() === 0)("as root, the seed's own ports: VIP1:80 → DIP:80 and VIP2:80 → DIP:81", async () => {
    expect(seed80, "ports 80/81 are taken on the test addresses").toBe(true);
    await waitUntil(async () => names(await spread(VIP1, 80, 10)).length === 2, 5000, "VIP1:80 spread over both VMs");
    expect(names(await spread(VIP1, 80, 30))).toEqual(["vm1 svc80", "vm2 svc80"]);
    expect(names(await spread(VIP2, 80, 30))).toEqual(["vm1 svc81", "vm2 svc81"]);
  });

  it("a PUT changing one rule leaves established connections on the other rules intact", async () => {
    const conn = await openConn(VIP1, P);
    conns.push(conn);
    const request = "GET / HTTP/1.1\r\nHost: vip1\r\n\r\n";
    const first = (await conn.ask(request)).split("\r\n\r\n")[1];
    expect(first).toMatch(/^vm[12] svcA$/);

    seedRules = seedRules.map((r) => (r.name === "vip2" ? { ...r, loadDistribution: "SourceIP" } : r));
    expect(await explain(putLoadBalancer(cluster.url, SEED, seedBody()))).toMatchObject({ status: "Succeeded" });

    expect((await conn.ask(request)).split("\r\n\r\n")[1]).toBe(first);
    expect(conn.socket.destroyed).toBe(false);
  });

  it("SourceIP affinity: every flow from one client address goes to one VM; addresses spread over both", async () => {
    const vmsSeen = new Set<string>();
    for (let i = 0; i < 16; i++) {
      const localAddress = `127.0.9.${100 + i}`;
      const answers = new Set<string>();
      for (let j = 0; j < 5; j++) answers.add(await get(VIP2, P, { localAddress }));
      expect([...answers], `flows from ${localAddress}`).toHaveLength(1);
      vmsSeen.add([...answers][0]!);
    }
    expect([...vmsSeen].sort()).toEqual(["vm1 svcA+1", "vm2 svcA+1"]);
  });

  it("a killed backend gets no new flows after the probe window, and the health API says Down", async () => {
    await http["vm2 svcA"]!.close();
    const killedAt = Date.now();
    // The window: 2 failed probes at PROBE_INTERVAL_MS; allow scheduling slack, not a fixed sleep.
    await waitUntil(async () => Object.keys(await spread(VIP1, P, 10)).join() === "vm1 svcA", 5000, "VIP1 only on vm1");
    expect(Date.now() - killedAt).toBeLessThan(2 * PROBE_INTERVAL_MS + 2000);
    expect(await spread(VIP1, P, 30)).toEqual({ "vm1 svcA": 30 });
    // VIP2's service on vm2 is another port, its probe still up (VIP2 is SourceIP by now).
    expect(names(await spreadFromSources(VIP2, P))).toEqual(["vm1 svcA+1", "vm2 svcA+1"]);

    await waitUntil(async () => (await backendStates(cluster.url, SEED, "vip1"))[VMS.vm2] === "Down", 5000, "vip1 health Down on vm2");
    expect(await backendStates(cluster.url, SEED, "vip1")).toEqual({ [VMS.vm1]: "Up", [VMS.vm2]: "Down" });
    expect(await backendStates(cluster.url, SEED, "vip2")).toEqual({ [VMS.vm1]: "Up", [VMS.vm2]: "Up" });
    const health = Object.fromEntries((await effectiveMappings(cluster.url, SEED)).map((r) => [r.rule, r.destinations.map((d) => d.health)]));
    expect(health).toMatchObject({ vip1: ["Up", "Down"], vip2: ["Up", "Up"] });
  });

  it("the restarted backend comes back Up and is used again", async () => {
    await http["vm2 svcA"]!.restart();
    await waitUntil(async () => (await backendStates(cluster.url, SEED, "vip1"))[VMS.vm2] === "Up", 5000, "vip1 health Up on vm2");
    await waitUntil(async () => names(await spread(VIP1, P, 10)).length === 2, 5000, "VIP1 back on both VMs");
    expect(names(await spread(VIP1, P, 30))).toEqual(["vm1 svcA", "vm2 svcA"]);
    expect((await effectiveMappings(cluster.url, SEED)).find((r) => r.rule === "vip1")!.destinations.map((d) => d.health)).toEqual(["Up", "Up"]);
  });

  it("a load balancer with a floating IP rule is refused by the userspace agent; its operation fails with the reason", async () => {
    const body = loadBalancerBody(RG, "floating", {
      frontends: { fe3: "vip3" },
      vms: VMS,
      probes: { probeA: A },
      rules: [{ name: "dsr", frontend: "fe3", frontendPort: P, backendPort: P, probe: "probeA", enableFloatingIP: true }],
    });
    const op = await explain(putLoadBalancer(cluster.url, FLOATING, body));
    expect(op).toMatchObject({ status: "Failed", error: { code: "AgentRefusedConfiguration" } });
    expect(op.error!.message).toMatch(/Agent 'a1' refused load balancer .*floating: rule 'dsr': floating IP .*--driver nftables/);
    expect(await tryGet(VIP3, P, { timeoutMs: 500 })).toBe("error");
  });

  it("the agent keeps serving the other load balancer, including later changes to it", async () => {
    expect(names(await spread(VIP1, P, 20))).toEqual(["vm1 svcA", "vm2 svcA"]);
    // A later change: VIP2 gets UDP too.
    seedRules = [...seedRules, { name: "vip2-udp", frontend: "fe2", protocol: "Udp", frontendPort: P, backendPort: A2, probe: "probeA2" }];
    expect(await explain(putLoadBalancer(cluster.url, SEED, seedBody()))).toMatchObject({ status: "Succeeded" });
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add((await udpAsk(VIP2, P, "hi")).replace(/:hi$/, ""));
    expect([...seen].sort()).toEqual(["vm1 udpA+1", "vm2 udpA+1"]);
    expect(names(await spread(VIP1, P, 20))).toEqual(["vm1 svcA", "vm2 svcA"]);
  });

  it("GET /dataplane/v1/agents shows the agent live and up to date, and the per-load-balancer refusal", async () => {
    const agent = (await findAgent(cluster.url, "a1"))!;
    expect(agent).toMatchObject({ state: "live" });
    expect(agent.ackedGeneration).toBe(agent.desiredGeneration);
    const byName = Object.fromEntries(agent.loadBalancers.map((lb) => [lb.id.split("/").pop()!.toLowerCase(), lb]));
    expect(byName.seed).toMatchObject({ state: "Applied" });
    expect(byName.floating).toMatchObject({ state: "Refused", detail: expect.stringMatching(/floating IP.*nftables/) });
  });
});

/** SourceIP rules hash the client address: spread over flows from several client addresses. */
async function spreadFromSources(host: string, port: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < 16; i++) {
    const who = await tryGet(host, port, { localAddress: `127.0.9.${100 + i}` });
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}
