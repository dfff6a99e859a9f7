// Data Path Availability of the frontends no synthetic flow can prove — UDP and HA ports — by the health
// of the path, with a real userspace driver on loopback (unprivileged): a UDP frontend the driver serves
// with a backend taking new flows is available; with every backend probed Down it is not (unless the
// probe says AllProbedUp, when Azure sends flows to all of them); a frontend the data path no longer
// holds is not; and an HA-ports frontend follows the same rule through the driver's own word.

import { afterEach, describe, expect, it } from "vitest";
import type { CompiledListener, CompiledLoadBalancer } from "../../src/domain/agent-protocol.js";
import type { ListenerStatus } from "../../src/dataplane/driver.js";
import { AvailabilitySampler } from "../../src/dataplane/metrics/availability.js";
import { silentLogger } from "../../src/dataplane/log.js";
import { createUserspaceDriver, type UserspaceDriver } from "../../src/dataplane/userspace/driver.js";
import { freePort } from "../dataplane/lab.js";

const VIP = "127.10.43.1";
const DIPS = ["127.0.43.11", "127.0.43.12"];
const ID = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/loadBalancers/udp-dpa";

function udpLb(port: number, behavior: "AllProbedDown" | "AllProbedUp" = "AllProbedDown"): CompiledLoadBalancer {
  const dns: CompiledListener = {
    kind: "LoadBalancingRule", name: "dns", frontendIPAddress: VIP, protocol: "Udp", frontendPort: port, backendPort: 53,
    enableFloatingIP: false, loadDistribution: "Default", idleTimeoutInMinutes: 4, enableTcpReset: false, probe: "hp",
    backends: DIPS.map((d) => ({ address: d, destinationIPAddress: d, destinationPort: 53 })),
  };
  return {
    id: ID, name: "udp-dpa", version: behavior, type: "Public", listeners: [dns],
    probes: [{ name: "hp", protocol: "Tcp", port: 9, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: behavior, targets: DIPS }],
  };
}

/** One round's Data Path Availability samples, by frontend. */
async function vipSamples(sampler: AvailabilitySampler): Promise<Record<string, number>> {
  await sampler.sample();
  return Object.fromEntries(sampler.take().filter((s) => s.kind === "Vip").map((s) => [`${s.frontendIPAddress}:${s.frontendPort}/${s.protocol}`, s.up]));
}

describe("Data Path Availability of UDP and HA-ports frontends (health of the path)", () => {
  let driver: UserspaceDriver | undefined;
  afterEach(async () => {
    await driver?.close(0);
    driver = undefined;
  });

  it("a UDP frontend is available while the driver serves it and a backend takes new flows", async () => {
    driver = createUserspaceDriver({ log: silentLogger });
    const port = await freePort([VIP]);
    let lbs = [udpLb(port)];
    const d = driver;
    const sampler = new AvailabilitySampler({ loadBalancers: () => lbs, probeReports: () => [], listeners: () => d.status(), connect: async () => expect.fail("no synthetic flow for UDP") });
    const key = `${VIP}:${port}/Udp`;
    expect(await vipSamples(sampler)).toEqual({ [key]: 0 }); // configured, but no listener serves it yet
    await d.apply(lbs[0]);
    expect(await vipSamples(sampler)).toEqual({ [key]: 1 }); // no probe verdict yet: both take flows
    d.setHealth(ID, "hp", DIPS[0], false);
    expect(await vipSamples(sampler)).toEqual({ [key]: 1 });
    d.setHealth(ID, "hp", DIPS[1], false);
    expect(await vipSamples(sampler)).toEqual({ [key]: 0 });
    // Azure's AllProbedUp: with every probe down, flows go to all backends — the path still carries them.
    lbs = [udpLb(port, "AllProbedUp")];
    expect(await vipSamples(sampler)).toEqual({ [key]: 1 });
    d.setHealth(ID, "hp", DIPS[1], true);
    lbs = [udpLb(port)];
    expect(await vipSamples(sampler)).toEqual({ [key]: 1 });
  });

  it("a frontend the data path no longer holds is unavailable, whatever the driver's memory says", async () => {
    const port = 5353;
    const lb = udpLb(port);
    const status: ListenerStatus[] = [{ loadBalancerId: ID, listener: "dns", frontend: `${VIP}:${port}/Udp`, backends: DIPS.map((d) => ({ address: d, destination: `${d}:53`, up: true, activeFlows: 0 })) }];
    let inForce = new Set([`${ID}\n${VIP}:${port}/Udp`]);
    const sampler = new AvailabilitySampler({ loadBalancers: () => [lb], probeReports: () => [], listeners: () => status, frontendsInForce: async () => inForce });
    expect(await vipSamples(sampler)).toEqual({ [`${VIP}:${port}/Udp`]: 1 });
    inForce = new Set();
    expect(await vipSamples(sampler)).toEqual({ [`${VIP}:${port}/Udp`]: 0 });
  });

  it("an HA-ports frontend (All, port 0) is sampled by the same rule, a TCP one still by a synthetic flow", async () => {
    const ha: CompiledListener = { ...udpLb(0).listeners[0], name: "ha", protocol: "All", frontendPort: 0, backendPort: 0, probe: undefined };
    const web: CompiledListener = { ...ha, name: "web", protocol: "Tcp", frontendPort: 80, backendPort: 80 };
    const lb: CompiledLoadBalancer = { ...udpLb(0), listeners: [ha, web], probes: [] };
    const status = (up: boolean): ListenerStatus[] => [{ loadBalancerId: ID, listener: "ha", frontend: `${VIP}:0/All`, backends: DIPS.map((d) => ({ address: d, destination: d, up, activeFlows: 0 })) }];
    let up = true;
    const tried: string[] = [];
    const sampler = new AvailabilitySampler({
      loadBalancers: () => [lb], probeReports: () => [], listeners: () => status(up),
      connect: async (host, port) => (tried.push(`${host}:${port}`), true),
    });
    expect(await vipSamples(sampler)).toEqual({ [`${VIP}:0/All`]: 1, [`${VIP}:80/Tcp`]: 1 });
    expect(tried).toEqual([`${VIP}:80`]);
    up = false;
    expect(await vipSamples(sampler)).toEqual({ [`${VIP}:0/All`]: 0, [`${VIP}:80/Tcp`]: 1 });
  });
});
