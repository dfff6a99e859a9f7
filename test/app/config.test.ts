// Configuration is checked once at start; a bad value names its variable.

import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("configuration from the environment", () => {
  it("defaults: 127.0.0.1:8080, embedded database in .lbplane, a public IP pool", () => {
    const c = loadConfig({});
    expect([c.host, c.port, c.databaseUrl, c.logLevel]).toEqual(["127.0.0.1", 8080, undefined, "info"]);
    expect(c.dataDir).toMatch(/\.lbplane$/);
    expect(c.publicIpPool).toBe("198.18.0.0/15");
  });

  it.each([
    ["PORT", "eighty"],
    ["PORT", "70000"],
    ["HOST", "not a host"],
    ["DATABASE_URL", "mysql://x"],
    ["LBPLANE_PUBLIC_IP_POOL", "10.0.0.0/40"],
    ["LBPLANE_TOKEN", "short"],
    ["LBPLANE_JOIN_TOKEN", "join-secret"],
    ["LBPLANE_OPERATION_RETENTION_HOURS", "0"],
    ["LBPLANE_OPERATION_RETENTION_HOURS", "a day"],
    ["LOG_LEVEL", "chatty"],
    ["LBPLANE_AGENT_LIVENESS_MS", "10"],
    ["LBPLANE_PUBLIC_URL", "https://example.test/with/path"],
    ["LBPLANE_REQUEST_TIMEOUT_MS", "soon"],
    ["LBPLANE_REQUEST_TIMEOUT_MS", "0"],
    ["LBPLANE_HEADERS_TIMEOUT_MS", "-1"],
    ["LBPLANE_HEADERS_TIMEOUT_MS", "70000"],
    ["LBPLANE_KEEP_ALIVE_TIMEOUT_MS", "1.5"],
    ["LBPLANE_CONNECTION_TIMEOUT_MS", "99999999"],
    ["LBPLANE_AGENT_NETWORKS", "10.0.0.0/33"],
    ["LBPLANE_AGENT_NETWORKS", "10.0.0.0/8,agents.example"],
  ])("%s=%s stops the start with a message naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });

  it("a join token of 16 characters or more is accepted; finished operations are kept 24 h unless configured", () => {
    expect(loadConfig({ LBPLANE_JOIN_TOKEN: "join-secret-0123456789" }).joinToken).toBe("join-secret-0123456789");
    expect(loadConfig({}).operationRetentionHours).toBe(24);
    expect(loadConfig({ LBPLANE_OPERATION_RETENTION_HOURS: "168" }).operationRetentionHours).toBe(168);
  });

  it("server timeouts default to request 10 s, headers 5 s, keep-alive 72 s, no socket idle limit", () => {
    expect(loadConfig({}).timeouts).toEqual({ requestMs: 10_000, headersMs: 5_000, keepAliveMs: 72_000, connectionMs: 0 });
  });

  it("server timeouts come from the environment; the headers limit may not exceed the request limit", () => {
    const c = loadConfig({
      LBPLANE_REQUEST_TIMEOUT_MS: "30000",
      LBPLANE_HEADERS_TIMEOUT_MS: "5000",
      LBPLANE_KEEP_ALIVE_TIMEOUT_MS: "65000",
      LBPLANE_CONNECTION_TIMEOUT_MS: "120000",
    });
    expect(c.timeouts).toEqual({ requestMs: 30_000, headersMs: 5_000, keepAliveMs: 65_000, connectionMs: 120_000 });
    expect(() => loadConfig({ LBPLANE_REQUEST_TIMEOUT_MS: "4000" })).toThrow("LBPLANE_HEADERS_TIMEOUT_MS");
  });

  it("agent networks: unset means any host; a list is parsed into IPv4 networks", () => {
    expect(loadConfig({}).agentNetworks).toBeUndefined();
    expect(loadConfig({ LBPLANE_AGENT_NETWORKS: "10.0.0.0/8, 192.168.1.0/24" }).agentNetworks).toEqual([
      { cidr: "10.0.0.0/8", base: 10 * 2 ** 24, bits: 8 },
      { cidr: "192.168.1.0/24", base: (192 * 256 + 168) * 65536 + 256, bits: 24 },
    ]);
  });
});
