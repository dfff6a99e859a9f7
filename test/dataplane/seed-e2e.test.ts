// The seed's rule type #1 through a real lbplane-agent process: VIP1:p → DIP1:80-ish, DIP2:80-ish and
// VIP2:p → DIP1:81-ish, DIP2:81-ish (high ports: tests run unprivileged).

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeControlPlane, waitUntil, type FakeAgentRecord } from "./fake-control-plane.js";
import { config, dips, freePort, listener, loadBalancer, spread, startHttpBackend, tcpProbe, type Backend } from "./lab.js";

const VIP1 = "127.10.1.1";
const VIP2 = "127.10.1.2";
const DIP1 = "127.0.1.11";
const DIP2 = "127.0.1.12";
const bin = fileURLToPath(new URL("../../bin/lbplane-agent.js", import.meta.url));

describe("seed rule type #1 through an lbplane-agent process", () => {
  const cp = new FakeControlPlane(100);
  let child: ChildProcess;
  let stderr = "";
  let agent: FakeAgentRecord;
  let vipPort: number;
  let port80: number;
  let port81: number;
  const backends: Record<string, Backend> = {};
  let lb: ReturnType<typeof loadBalancer>;

  beforeAll(async () => {
    await cp.start();
    port80 = await freePort([DIP1, DIP2]);
    port81 = await freePort([DIP1, DIP2]);
    vipPort = await freePort([VIP1, VIP2]);
    for (const [dip, n] of [[DIP1, "DIP1"], [DIP2, "DIP2"]] as const) {
      backends[`${n}:80`] = await startHttpBackend(dip, port80, `${n}:80`);
      backends[`${n}:81`] = await startHttpBackend(dip, port81, `${n}:81`);
    }
    child = spawn(process.execPath, [bin, "--control-plane", cp.url, "--name", "e2e", "--location", "westeurope", "--probe-interval-ms", "100"], {
      env: { ...process.env, LBPLANE_JOIN_TOKEN: cp.joinToken, LBPLANE_LOG_LEVEL: "info" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    child.stderr!.on("data", (c) => (stderr += c));
    agent = await cp.waitForAgent("e2e", 15_000);
    lb = loadBalancer("seed", "v1", [
      listener({ name: "rule1", frontendIPAddress: VIP1, frontendPort: vipPort, backends: dips([DIP1, DIP2], port80), probe: "probe80" }),
      listener({ name: "rule2", frontendIPAddress: VIP2, frontendPort: vipPort, backends: dips([DIP1, DIP2], port81), probe: "probe81" }),
    ], [tcpProbe("probe80", port80, [DIP1, DIP2], { probeThreshold: 2 }), tcpProbe("probe81", port81, [DIP1, DIP2], { probeThreshold: 2 })]);
  }, 30_000);

  afterAll(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await Promise.all(Object.values(backends).map((b) => b.close().catch(() => {})));
    await cp.stop();
  });

  it("registers with its name, location, URL and the userspace driver's capabilities", () => {
    expect(agent).toMatchObject({ location: "westeurope", appliedGeneration: -1, capabilities: { driver: "userspace", floatingIP: false } });
    expect(agent.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("applies the push and delivers each VIP to its own backend port, spread over both DIPs", async () => {
    const ack = await cp.pushOk(agent, config(1, [lb]));
    expect(ack).toEqual({ generation: 1, loadBalancers: [{ id: lb.id, version: "v1", state: "Applied" }] });
    const vip1 = await spread(VIP1, vipPort, 30);
    const vip2 = await spread(VIP2, vipPort, 30);
    expect(Object.keys(vip1).sort()).toEqual(["DIP1:80", "DIP2:80"]);
    expect(Object.keys(vip2).sort()).toEqual(["DIP1:81", "DIP2:81"]);
  });

  it("reports every DIP Up to the control plane", async () => {
    await waitUntil(() => [DIP1, DIP2].every((d) => cp.lastReported(lb.id, "probe80", d) === "Up" && cp.lastReported(lb.id, "probe81", d) === "Up"), 5000, "all Up");
  });

  it("takes a killed backend out of rotation after the probe window and reports it Down", async () => {
    await backends["DIP2:80"]!.close();
    const killedAt = Date.now();
    await waitUntil(() => cp.lastReported(lb.id, "probe80", DIP2) === "Down", 5000, "DIP2 Down reported");
    expect(Date.now() - killedAt).toBeLessThan(2000); // 2 × 100 ms probes, plus scheduling slack
    expect(await spread(VIP1, vipPort, 20)).toEqual({ "DIP1:80": 20 });
    // The other rule's probe targets port 81, which is still up on DIP2.
    expect(Object.keys(await spread(VIP2, vipPort, 20)).sort()).toEqual(["DIP1:81", "DIP2:81"]);
  });

  it("brings the backend back once its probe succeeds again", async () => {
    await backends["DIP2:80"]!.restart();
    await waitUntil(() => cp.lastReported(lb.id, "probe80", DIP2) === "Up", 5000, "DIP2 Up reported");
    expect(Object.keys(await spread(VIP1, vipPort, 30)).sort()).toEqual(["DIP1:80", "DIP2:80"]);
  });

  it("shows generation, listeners and backend health on /v1/status", async () => {
    const body = (await (await fetch(`${agent.url}/v1/status`)).json()) as any;
    expect(body).toMatchObject({ appliedGeneration: 1, driver: "userspace", loadBalancers: [{ id: lb.id, appliedVersion: "v1" }] });
    expect(body.listeners.map((l: { frontend: string }) => l.frontend).sort()).toEqual([`${VIP1}:${vipPort}/Tcp`, `${VIP2}:${vipPort}/Tcp`]);
    expect(body.listeners[0].backends.every((b: { up: boolean }) => b.up)).toBe(true);
  });

  it("deregisters and exits 0 on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(cp.deregistered).toContain(agent.agentId);
    expect(stderr).toContain('"msg":"shutting down"');
  });
});
