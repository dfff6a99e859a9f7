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
    ["LOG_LEVEL", "chatty"],
    ["LBPLANE_AGENT_LIVENESS_MS", "10"],
    ["LBPLANE_PUBLIC_URL", "https://example.test/with/path"],
  ])("%s=%s stops the start with a message naming the variable", (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
