// The whole lbplane stack inside network namespaces (root only), for the floating IP end-to-end test:
// the Lab topology of test/helpers/netns.ts (client, lb, vm1, vm2) with, in the lb namespace, a real
// lbplane process (`node --import tsx src/server.ts`, default embedded PostgreSQL in a temporary data
// folder — `npm start`'s path) and a real `lbplane-agent --driver nftables` process that reaches lbplane
// on the namespace's own 127.0.0.1. The test process (host namespace) cannot reach that loopback, so the
// ARM API is driven through `ip netns exec <lb> node …` (apiInNetns).

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeRunner } from "../../src/dataplane/nftables/exec.js";
import { Lab } from "../helpers/netns.js";

export const ADMIN_TOKEN = "netns-admin-token-0123456789";
export const JOIN_TOKEN = "netns-join-token-0123456789";
export const API_PORT = 8080; // free by construction: the lb namespace is new
export const LIVENESS_MS = 3000;

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  json: any;
}

/** One HTTP request made from inside a namespace; prints {status, headers, text} as one JSON line. */
const FETCH = `
const [method, url, token, body] = process.argv.slice(1);
const res = await fetch(url, { method, headers: { authorization: "Bearer " + token,
  ...(body ? { "content-type": "application/json" } : {}) }, body: body || undefined, signal: AbortSignal.timeout(10000) });
console.log(JSON.stringify({ status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() }));`;

interface Proc {
  child: ChildProcess;
  out: string[];
}

function spawnIn(ns: string, argv: string[], env: NodeJS.ProcessEnv): Proc {
  const child = spawn("ip", ["netns", "exec", ns, ...argv], { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const out: string[] = [];
  child.stdout!.on("data", (c: Buffer) => out.push(c.toString()));
  child.stderr!.on("data", (c: Buffer) => out.push(c.toString()));
  return { child, out };
}

function waitFor(p: Proc, what: string, ok: (log: string) => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!ok(p.out.join(""))) return;
      cleanup();
      resolve();
    };
    const onExit = (code: number | null, signal: string | null) => {
      cleanup();
      reject(new Error(`${what} exited (${code ?? signal}) before it was ready:\n${p.out.join("")}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${what} not ready after ${timeoutMs} ms:\n${p.out.join("")}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      p.child.stdout!.off("data", check);
      p.child.stderr!.off("data", check);
      p.child.off("exit", onExit);
    };
    p.child.stdout!.on("data", check);
    p.child.stderr!.on("data", check);
    p.child.once("exit", onExit);
    check();
  });
}

/** Signal a process and wait for it to exit; SIGKILL after `graceMs`. */
function stopProc(p: Proc | undefined, signal: NodeJS.Signals, graceMs: number): Promise<number | null> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return Promise.resolve(p?.child.exitCode ?? null);
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
    p.child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    p.child.kill(signal);
  });
}

export class NetnsStack {
  readonly lab = new Lab("lbf");
  readonly base = `http://127.0.0.1:${API_PORT}`;
  private readonly dataDir = mkdtempSync(join(tmpdir(), "lbplane-netns-data-"));
  private server: Proc | undefined;
  private agent: Proc | undefined;

  get ns() {
    return this.lab.ns;
  }

  /** Namespaces, then lbplane (embedded PostgreSQL), then the nftables agent, registered and live. */
  async start(agentName = "a1"): Promise<void> {
    await this.lab.create();
    // Answer unroutable flows with ICMP at once instead of rate-limiting it (per namespace): "no longer
    // answered" then shows as ENETUNREACH, not as a client timeout.
    await this.lab.exec(this.ns.lb, "sysctl", ["-qw", "net.ipv4.icmp_ratelimit=0"]);
    this.server = spawnIn(this.ns.lb, [process.execPath, "--import", "tsx", "src/server.ts"], {
      DATABASE_URL: "", // the default path: embedded PostgreSQL in LBPLANE_DATA_DIR
      LBPLANE_DATA_DIR: this.dataDir,
      HOST: "127.0.0.1",
      PORT: String(API_PORT),
      LBPLANE_TOKEN: ADMIN_TOKEN,
      LBPLANE_JOIN_TOKEN: JOIN_TOKEN,
      LBPLANE_AGENT_LIVENESS_MS: String(LIVENESS_MS),
      LOG_LEVEL: "info",
    });
    await waitFor(this.server, "lbplane", (l) => l.includes("lbplane API on"), 60_000);
    this.agent = spawnIn(this.ns.lb, [
      process.execPath, "bin/lbplane-agent.js", "--driver", "nftables", "--control-plane", this.base, "--name", agentName,
      "--location", "westeurope", "--join-token", JOIN_TOKEN, "--probe-interval-ms", "200", "--health-summary-ms", "1000",
      "--drain-timeout-ms", "500", "--log-level", "info",
    ], {});
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await this.api("GET", "/dataplane/v1/agents");
      const a = (res.json?.value as Array<{ name: string; state: string }> | undefined)?.find((x) => x.name === agentName);
      if (a?.state === "live") return;
      if (this.agent.child.exitCode !== null) throw new Error(`agent exited (${this.agent.child.exitCode}):\n${this.agent.out.join("")}`);
      if (Date.now() > deadline) throw new Error(`agent ${agentName} did not become live:\n${this.logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** An ARM/agents API call made from inside the lb namespace (where lbplane listens on 127.0.0.1). */
  async api(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const url = path.startsWith("http") ? path : this.base + path;
    const args = ["--input-type=module", "-e", FETCH, method, url, ADMIN_TOKEN, body === undefined ? "" : JSON.stringify(body)];
    const out = await makeRunner(this.ns.lb)(process.execPath, args);
    const r = JSON.parse(out) as { status: number; headers: Record<string, string>; text: string };
    return { status: r.status, headers: r.headers, json: r.text ? JSON.parse(r.text) : undefined };
  }

  nft(args: string[]): Promise<string> {
    return this.lab.exec(this.ns.lb, "nft", args);
  }

  agentRunning(): boolean {
    return !!this.agent && this.agent.child.exitCode === null && this.agent.child.signalCode === null;
  }

  /** SIGTERM the agent (its nftables driver removes its table and routes); resolves with its exit code. */
  stopAgent(): Promise<number | null> {
    return stopProc(this.agent, "SIGTERM", 10_000);
  }

  logs(): string {
    return `--- lbplane\n${this.server?.out.join("") ?? ""}\n--- agent\n${this.agent?.out.join("") ?? ""}`;
  }

  /** Everything goes, even after a failure: processes (lbplane stops its PostgreSQL), namespaces, data. */
  async destroy(): Promise<void> {
    await stopProc(this.agent, "SIGTERM", 5_000);
    await stopProc(this.server, "SIGTERM", 15_000);
    // Whatever still runs in our namespaces (e.g. PostgreSQL after a SIGKILLed lbplane) is ours: end it by pid.
    for (const ns of Object.values(this.ns)) {
      const pids = await makeRunner()("ip", ["netns", "pids", ns]).catch(() => "");
      for (const pid of pids.split(/\s+/).filter(Boolean).map(Number)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          /* gone */
        }
      }
    }
    await this.lab.destroy();
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
