// An lbplane with its control loops running and its API listening on loopback, so fake agents can
// reach it over real HTTP, plus helpers to write load balancers and follow their operations.

import type { ControlLoops } from "../../src/agents/control-loops.js";
import { AUTH, startTestLbplane, type TestApp } from "../helpers/app.js";
import { createPublicIp, createResourceGroup, putLb, seedLoadBalancer } from "../helpers/seed.js";
import { until } from "../kit/wait.js";
import { FakeAgent } from "./fake-agent.js";

export { until };

export const JOIN_TOKEN = "join-token-for-tests-0123456789";

export interface Plane extends TestApp {
  url: string;
  loops: ControlLoops;
  agents: FakeAgent[];
  addAgent: (name: string, opts?: { heartbeats?: boolean; location?: string }) => Promise<FakeAgent>;
}

export async function startPlane(env: NodeJS.ProcessEnv = {}, pushLimits: { concurrency?: number; maxLocks?: number } = {}): Promise<Plane> {
  const { lbplane, ...t } = await startTestLbplane({
    env: { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "1500", ...env },
    controlLoops: pushLimits,
  });
  const loops = lbplane.loops!;
  const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
  const agents: FakeAgent[] = [];
  const plane: Plane = {
    ...t,
    url,
    loops,
    agents,
    async addAgent(name, opts = {}) {
      const agent = new FakeAgent(name, url, opts.location);
      await agent.start();
      await agent.register(JOIN_TOKEN);
      if (opts.heartbeats !== false) agent.startHeartbeats();
      agents.push(agent);
      return agent;
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.kill()));
      await t.close();
    },
  };
  return plane;
}

/** A resource group with two public IPs, ready for seed load balancers. */
export async function prepareNetwork(plane: TestApp, rg = "rg1", location = "westeurope"): Promise<void> {
  await createResourceGroup(plane.app, rg, location);
  await createPublicIp(plane.app, rg, "vip1", "65.52.0.1", location);
  await createPublicIp(plane.app, rg, "vip2", "65.52.0.2", location);
}

export function simpleLb(rg: string, name: string, frontendPort: number, vip = "vip1", dips = ["10.0.0.4", "10.0.0.5"]) {
  return seedLoadBalancer(rg, name, {
    frontends: { fe: vip },
    dips,
    rules: [{ name: "web", frontend: "fe", frontendPort, backendPort: frontendPort }],
  });
}

/** PUT a load balancer; returns its operation URL and the generation the write was stamped with. */
export async function writeLb(plane: TestApp, rg: string, name: string, body: unknown) {
  const res = await putLb(plane.app, rg, name, body);
  if (res.statusCode >= 300) throw new Error(`PUT ${name}: ${res.statusCode} ${res.body}`);
  const op = new URL(res.headers["azure-asyncoperation"] as string);
  const row = await plane.db.loadBalancer.findFirstOrThrow({ where: { nameKey: name.toLowerCase() } });
  return { operationUrl: op.pathname + op.search, generation: Number(row.generation), uid: row.id, body: res.json() };
}

export async function operationStatus(plane: TestApp, operationUrl: string) {
  const res = await plane.app.inject({ method: "GET", url: operationUrl, headers: AUTH });
  return res.json() as { status: string; error?: { code: string; message: string } };
}

/** Polls the operation until it leaves InProgress; after the timeout, answers its last status. */
export async function waitForOperation(plane: TestApp, operationUrl: string, timeoutMs = 5000) {
  let last: Awaited<ReturnType<typeof operationStatus>> | undefined;
  await until(`operation ${operationUrl}`, async () => {
    last = await operationStatus(plane, operationUrl);
    return last.status !== "InProgress";
  }, timeoutMs).catch(() => undefined);
  return last!;
}
