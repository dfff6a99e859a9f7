// The Azure SDK's own rule-health call (loadBalancerLoadBalancingRules.health, a long-running POST)
// against lbplane over TLS, returning what fake agents reported; and the majority rule.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NetworkManagementClient } from "@azure/arm-network";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, SUB, createTestApp, type TestApp } from "../helpers/app.js";
import { getJson, lbPath } from "../helpers/seed.js";
import { FakeAgent } from "./fake-agent.js";
import { JOIN_TOKEN, prepareNetwork, simpleLb, writeLb } from "./harness.js";

function selfSignedCert(): { key: string; cert: string } {
  const dir = mkdtempSync(join(tmpdir(), "lbplane-tls-"));
  try {
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("rule health from agent reports", () => {
  let t: TestApp;
  let sdk: NetworkManagementClient;
  const agents: FakeAgent[] = [];
  const DIPS = ["10.0.0.4", "10.0.0.5", "10.0.0.6"];

  beforeAll(async () => {
    const tls = selfSignedCert();
    t = await createTestApp({ https: tls }, { LBPLANE_JOIN_TOKEN: JOIN_TOKEN, LBPLANE_AGENT_LIVENESS_MS: "3000" });
    const url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    await prepareNetwork(t);
    await writeLb(t, "rg1", "web", simpleLb("rg1", "web", 80, "vip1", DIPS));
    for (const name of ["h1", "h2", "h3"]) {
      const a = new FakeAgent(name, url);
      await a.start();
      agents.push(a);
    }
    const credential = { getToken: async () => ({ token: ADMIN_TOKEN, expiresOnTimestamp: Date.now() + 3_600_000 }) };
    sdk = new NetworkManagementClient(credential, SUB, { endpoint: url, tlsOptions: { ca: tls.cert } } as never);
    // The fake agents call lbplane with fetch, over https here, so they need the test CA too.
    const { Agent, setGlobalDispatcher } = await import("undici");
    setGlobalDispatcher(new Agent({ connect: { ca: tls.cert } }));
    for (const a of agents) await a.register(JOIN_TOKEN);
  });
  afterAll(async () => {
    for (const a of agents) await a.kill();
    await t.close();
  });

  const reportAll = async (votes: Record<string, Record<string, "Up" | "Down">>) => {
    for (const a of agents) {
      const mine = votes[a.name];
      if (!mine) continue;
      await a.heartbeat();
      const res = await a.reportHealth({
        full: true,
        reports: Object.entries(mine).map(([dip, state]) => ({
          loadBalancerId: lbPath("rg1", "web"), probe: "probe", backendAddress: dip, state,
          reason: state === "Up" ? "TCP connect succeeded" : "TCP connect refused", since: new Date().toISOString(),
        })),
      });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }
  };

  it("the SDK's loadBalancerLoadBalancingRules.health returns the majority of live agents' reports", async () => {
    await reportAll({
      h1: { "10.0.0.4": "Up", "10.0.0.5": "Down", "10.0.0.6": "Down" },
      h2: { "10.0.0.4": "Up", "10.0.0.5": "Up", "10.0.0.6": "Down" },
      h3: { "10.0.0.4": "Down", "10.0.0.6": "Up" },
    });
    const poller = sdk.loadBalancerLoadBalancingRules.health("rg1", "web", "web", { updateIntervalInMs: 10 });
    const result = await poller.pollUntilDone();
    const byIp = Object.fromEntries((result.loadBalancerBackendAddresses ?? []).map((a) => [a.ipAddress, a]));
    expect(byIp["10.0.0.4"]).toMatchObject({ state: "Up", reason: "TCP connect succeeded" }); // 2 of 3
    expect(byIp["10.0.0.5"].state).toBe("Unknown"); // 1 up, 1 down: a tie
    expect(byIp["10.0.0.6"]).toMatchObject({ state: "Down", reason: "TCP connect refused" }); // 2 of 3
    expect(result.up).toBe(1);
    expect(result.down).toBe(1);
  });

  it("effective mappings carry the same health", async () => {
    const res = await t.app.inject({ method: "GET", url: `${lbPath("rg1", "web")}/effectiveMappings?api-version=2026-01-01`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const health = Object.fromEntries(res.json().value[0].destinations.map((d: any) => [d.backendAddress, d.health]));
    expect(health).toEqual({ "10.0.0.4": "Up", "10.0.0.5": "Unknown", "10.0.0.6": "Down" });
  });

  it("a stale agent's reports stop counting", async () => {
    // h3 stops heartbeating; h1 and h2 stay live.
    await new Promise((r) => setTimeout(r, 3100));
    await reportAll({ h1: { "10.0.0.4": "Up", "10.0.0.5": "Down", "10.0.0.6": "Down" }, h2: { "10.0.0.4": "Up", "10.0.0.5": "Up", "10.0.0.6": "Up" } });
    const result = await sdk.loadBalancerLoadBalancingRules.health("rg1", "web", "web", { updateIntervalInMs: 10 }).pollUntilDone();
    const byIp = Object.fromEntries((result.loadBalancerBackendAddresses ?? []).map((a) => [a.ipAddress, a.state]));
    expect(byIp).toEqual({ "10.0.0.4": "Up", "10.0.0.5": "Unknown", "10.0.0.6": "Unknown" });
  });

  it("an unknown rule is a 404 through the SDK", async () => {
    await expect(sdk.loadBalancerLoadBalancingRules.health("rg1", "web", "nope").pollUntilDone()).rejects.toMatchObject({ statusCode: 404 });
  });

  it("the POST answers 202 with a Location the result is read from", async () => {
    const res = await t.app.inject({
      method: "POST", url: `${lbPath("rg1", "web")}/loadBalancingRules/web/health?api-version=2026-01-01`, headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(202);
    const location = new URL(res.headers.location as string);
    const result = await getJson(t.app, location.pathname + location.search);
    expect(result.statusCode).toBe(200);
    expect(result.json().loadBalancerBackendAddresses).toHaveLength(3);
  });
});
