// A real lbplane deployment on loopback for end-to-end tests: the control plane as a child process
// (`tsx src/server.ts`) on a fresh test database, lbplane-agent child processes, and an ARM client
// over HTTP that follows long-running operations the way the Azure SDK does.

import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { SUB } from "../helpers/app.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { JOIN_TOKEN } from "../agents/harness.js";
import { api, startServer, type ServerProcess } from "../agents/processes.js";
import { armLoadBalancer, loadBalancerPath, publicIpId, resourceGroupId } from "../kit/bodies.js";
import { waitUntil } from "../kit/wait.js";

const agentBin = fileURLToPath(new URL("../../bin/lbplane-agent.js", import.meta.url));

export { api, waitUntil };

export interface AgentProcess {
  name: string;
  child: ChildProcess;
  stderr: () => string;
  kill: (signal?: NodeJS.Signals) => Promise<void>;
}

export interface Cluster {
  url: string;
  server: ServerProcess;
  database: TestDatabase;
  agents: AgentProcess[];
  startAgent: (name: string, extraArgs?: string[]) => Promise<AgentProcess>;
  /** Everything the processes logged, for a failing test's message. */
  logs: () => string;
  stop: () => Promise<void>;
}

/** lbplane on a fresh database with agent registration on and a short liveness window. */
export async function startCluster(env: NodeJS.ProcessEnv = {}): Promise<Cluster> {
  const database = await createTestDatabase();
  // LOG_LEVEL stays info: startServer reads the listen address from the "lbplane API on" line.
  let server: ServerProcess;
  try {
    server = await startServer(database.url, { LBPLANE_AGENT_LIVENESS_MS: "3000", ...env });
  } catch (err) {
    await database.drop();
    throw err;
  }
  const agents: AgentProcess[] = [];
  const cluster: Cluster = {
    url: server.url,
    server,
    database,
    agents,
    async startAgent(name, extraArgs = []) {
      const agent = spawnAgent(server.url, name, extraArgs);
      agents.push(agent);
      await waitUntil(async () => (await findAgent(server.url, name))?.state === "live", 15_000, `agent ${name} registered`).catch((err) => {
        throw new Error(`${(err as Error).message}\n${agent.stderr()}`);
      });
      return agent;
    },
    logs: () => [server.log.join(""), ...agents.map((a) => `--- agent ${a.name}\n${a.stderr()}`)].join("\n"),
    async stop() {
      await Promise.all(agents.map((a) => a.kill("SIGKILL")));
      await server.kill("SIGKILL");
      await database.drop();
    },
  };
  return cluster;
}

export function spawnAgent(controlPlane: string, name: string, extraArgs: string[]): AgentProcess {
  const child = spawn(
    process.execPath,
    [agentBin, "--control-plane", controlPlane, "--name", name, "--location", "westeurope", "--health-summary-ms", "1000", ...extraArgs],
    { env: { ...process.env, LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_LOG_LEVEL: "warn" }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  return {
    name,
    child,
    stderr: () => stderr,
    kill: (signal = "SIGTERM") =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill(signal);
      }),
  };
}

export interface AgentView {
  id: string;
  name: string;
  state: "live" | "stale";
  capabilities: Record<string, unknown>;
  desiredGeneration: number;
  ackedGeneration: number;
  lastError?: string;
  loadBalancers: { id: string; state: string; generation: number; detail?: string }[];
}

export async function findAgent(base: string, name: string): Promise<AgentView | undefined> {
  const res = await api(base, "GET", "/dataplane/v1/agents");
  if (res.status !== 200) throw new Error(`GET /dataplane/v1/agents: ${res.status} ${JSON.stringify(res.json)}`);
  return (res.json.value as AgentView[]).find((a) => a.name === name);
}

// ---- ARM over HTTP ----

export const NET = "api-version=2026-01-01";
export const rgPath = resourceGroupId;
export const pipPath = publicIpId;
export const lbPath = loadBalancerPath;

async function ok(base: string, method: string, path: string, body?: unknown) {
  const res = await api(base, method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}

export async function createResourceGroup(base: string, rg: string): Promise<void> {
  await ok(base, "PUT", `/subscriptions/${SUB}/resourcegroups/${rg}?api-version=2025-04-01`, { location: "westeurope" });
}

export async function createPublicIp(base: string, rg: string, name: string, ipAddress: string): Promise<void> {
  await ok(base, "PUT", `${pipPath(rg, name)}?${NET}`, {
    location: "westeurope",
    sku: { name: "Standard" },
    properties: { publicIPAllocationMethod: "Static", ipAddress },
  });
}

export interface OperationStatus {
  status: "InProgress" | "Succeeded" | "Failed" | "Canceled";
  error?: { code: string; message: string };
}

/** PUT a load balancer and follow its Azure-AsyncOperation URL until it leaves InProgress. */
export async function putLoadBalancer(base: string, path: string, body: unknown, timeoutMs = 15_000): Promise<OperationStatus> {
  const res = await ok(base, "PUT", `${path}?${NET}`, body);
  const asyncUrl = res.headers.get("azure-asyncoperation");
  if (!asyncUrl) throw new Error(`PUT ${path} answered ${res.status} without Azure-AsyncOperation`);
  return followOperation(base, asyncUrl, timeoutMs);
}

export async function followOperation(base: string, asyncUrl: string, timeoutMs = 15_000): Promise<OperationStatus> {
  const path = asyncUrl.startsWith(base) ? asyncUrl.slice(base.length) : new URL(asyncUrl).pathname + new URL(asyncUrl).search;
  let last: OperationStatus | undefined;
  await waitUntil(async () => {
    last = (await ok(base, "GET", path)).json as OperationStatus;
    return last.status !== "InProgress";
  }, timeoutMs, `operation ${path} to finish`);
  return last!;
}

export interface RuleHealth {
  up: number;
  down: number;
  loadBalancerBackendAddresses: { ipAddress: string; state: string; reason: string }[];
}

/** Azure's rule-health operation: POST, then the Location it answers 202 with. */
export async function ruleHealth(base: string, lbId: string, rule: string): Promise<RuleHealth> {
  const res = await ok(base, "POST", `${lbId}/loadBalancingRules/${rule}/health?${NET}`);
  if (res.status === 200) return res.json as RuleHealth;
  const location = res.headers.get("location");
  if (res.status !== 202 || !location) throw new Error(`rule health answered ${res.status} without Location`);
  return (await ok(base, "GET", new URL(location).pathname + new URL(location).search)).json as RuleHealth;
}

export async function backendStates(base: string, lbId: string, rule: string): Promise<Record<string, string>> {
  const h = await ruleHealth(base, lbId, rule);
  return Object.fromEntries(h.loadBalancerBackendAddresses.map((a) => [a.ipAddress, a.state]));
}

export interface MappingRow {
  rule: string;
  protocol: string;
  frontendIPAddress: string;
  frontendPort: number;
  enableFloatingIP: boolean;
  destinations: { backendAddress: string; destinationIPAddress: string; destinationPort: number; health: string }[];
}

export async function effectiveMappings(base: string, lbId: string): Promise<MappingRow[]> {
  return (await ok(base, "GET", `${lbId}/effectiveMappings?${NET}`)).json.value as MappingRow[];
}

export interface RuleSpec {
  name: string;
  frontend: string;
  protocol?: "Tcp" | "Udp";
  frontendPort: number;
  backendPort: number;
  probe: string;
  loadDistribution?: "Default" | "SourceIP" | "SourceIPProtocol";
  enableFloatingIP?: boolean;
}

/** A public load balancer: frontends (name → public IP name), one pool of VMs, TCP probes, rules. */
export function loadBalancerBody(
  rg: string,
  name: string,
  opts: { frontends: Record<string, string>; vms: Record<string, string>; probes: Record<string, number>; rules: RuleSpec[] },
) {
  return armLoadBalancer(rg, name, {
    frontends: opts.frontends,
    backends: opts.vms,
    probes: Object.fromEntries(Object.entries(opts.probes).map(([probe, port]) => [probe, { port, intervalInSeconds: 5, probeThreshold: 2 }])),
    rules: opts.rules.map((r) => ({ ...r, loadDistribution: r.loadDistribution ?? "Default" })),
  });
}
