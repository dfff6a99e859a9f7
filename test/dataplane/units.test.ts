// Pure pieces of the agent: flow hashing, the probe state machine, CLI parsing, config checks.

import { describe, expect, it } from "vitest";
import type { CompiledProbe, ProbeReport } from "../../src/domain/agent-protocol.js";
import { CliError, parseCli, parseListen } from "../../src/dataplane/cli-options.js";
import { checkEnvelope, checkProtocolVersion, checkLoadBalancer } from "../../src/dataplane/config-validate.js";
import { silentLogger } from "../../src/dataplane/log.js";
import { Prober } from "../../src/dataplane/prober.js";
import { flowKey, hashString, rendezvous } from "../../src/dataplane/userspace/flow-hash.js";
import { config, dips, listener, loadBalancer, tcpProbe } from "./lab.js";

const backends = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `10.0.0.${i}:80`, seed: hashString(`10.0.0.${i}:80`) }));
const keys = Array.from({ length: 4000 }, (_, i) => `192.168.${i >> 8}.${i & 255}|${1024 + i}|10.1.1.1|80|Tcp`);

describe("rendezvous flow hashing", () => {
  it("spreads flows evenly over backends", () => {
    const counts = new Map<string, number>();
    for (const k of keys) {
      const id = rendezvous(k, backends(4))!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const c of counts.values()) expect(c).toBeGreaterThan(800); // ≈1000 each
  });

  it("moves only the flows of a removed backend", () => {
    const before = keys.map((k) => rendezvous(k, backends(4))!.id);
    const after = keys.map((k) => rendezvous(k, backends(4).slice(0, 3))!.id);
    const moved = keys.filter((_, i) => before[i] !== after[i]);
    expect(keys.every((_, i) => before[i] === "10.0.0.3:80" || before[i] === after[i])).toBe(true);
    expect(moved.length).toBeLessThan(keys.length * 0.35);
  });

  it("hashes the 5-, 2- and 3-tuple per loadDistribution", () => {
    const t = { srcIP: "1.1.1.1", srcPort: 5000, dstIP: "2.2.2.2", dstPort: 80, protocol: "Tcp" as const };
    expect(flowKey("Default", t)).not.toBe(flowKey("Default", { ...t, srcPort: 5001 }));
    expect(flowKey("SourceIP", t)).toBe(flowKey("SourceIP", { ...t, srcPort: 5001, protocol: "Udp" }));
    expect(flowKey("SourceIPProtocol", t)).toBe(flowKey("SourceIPProtocol", { ...t, srcPort: 5001 }));
    expect(flowKey("SourceIPProtocol", t)).not.toBe(flowKey("SourceIPProtocol", { ...t, protocol: "Udp" }));
  });
});

describe("probe state machine (Azure: Down after probeThreshold failures, Up after one success)", () => {
  const run = async (results: boolean[], threshold: number) => {
    const transitions: ProbeReport[] = [];
    let i = 0;
    const done = new Promise<void>((resolve) => {
      const prober = new Prober({
        log: silentLogger, intervalOverrideMs: 1, onTransition: (r) => transitions.push(r),
        check: async () => {
          if (i >= results.length) {
            prober.stop();
            resolve();
            return undefined;
          }
          return results[i++] ? undefined : "refused";
        },
      });
      const lb = loadBalancer("p", "1", [], [tcpProbe("p", 80, ["10.0.0.1"], { probeThreshold: threshold })]);
      prober.sync([lb]);
    });
    await done;
    return transitions.map((t) => t.state);
  };

  it("treats the first result as a transition from Unknown", async () => {
    expect(await run([false], 3)).toEqual(["Down"]);
    expect(await run([true], 3)).toEqual(["Up"]);
  });

  it("needs probeThreshold consecutive failures to go Down, one success to come back", async () => {
    expect(await run([true, false, false, true, false, false, false, true], 3)).toEqual(["Up", "Down", "Up"]);
  });
});

describe("lbplane-agent CLI", () => {
  const required = ["--control-plane", "http://127.0.0.1:8080", "--name", "a1", "--location", "westeurope", "--join-token", "t"];

  it("takes flags, falls back to env, and flags win", () => {
    const opts = parseCli(["--name", "flag-name", "--probe-interval-ms", "150"], {
      LBPLANE_CONTROL_PLANE: "http://cp:8080", LBPLANE_AGENT_NAME: "env-name", LBPLANE_LOCATION: "westeurope",
      LBPLANE_JOIN_TOKEN: "tok", LBPLANE_AGENT_LISTEN: "127.0.0.1:7070", LBPLANE_MAX_CONNECTIONS: "50",
    });
    expect(opts).toMatchObject({ controlPlane: "http://cp:8080", name: "flag-name", listenHost: "127.0.0.1", listenPort: 7070, probeIntervalMs: 150, maxConnections: 50, driver: "userspace" });
  });

  it("defaults to a free port on loopback and explains what is missing or wrong", () => {
    expect(parseCli(required, {})).toMatchObject({ listenHost: "127.0.0.1", listenPort: 0, maxConnections: 10_000 });
    expect(() => parseCli(["--name", "a"], {})).toThrow(/--control-plane \(or LBPLANE_CONTROL_PLANE\) is required/);
    expect(() => parseCli([...required, "--driver", "ebpf"], {})).toThrow(CliError);
    expect(() => parseCli([...required, "--max-connections", "lots"], {})).toThrow(/integer/);
    expect(parseListen("[::1]:9000")).toEqual({ listenHost: "::1", listenPort: 9000 });
    expect(parseListen(":9000")).toEqual({ listenHost: "127.0.0.1", listenPort: 9000 });
  });
});

describe("config checks", () => {
  it("rejects an unusable envelope as a whole", () => {
    expect(checkEnvelope(config(1, []))).toBeUndefined();
    expect(checkProtocolVersion(config(1, []))).toBeUndefined();
    expect(checkProtocolVersion({ ...config(1, []), protocolVersion: 1 })).toMatch(/protocol version 1; this agent speaks 2/);
    expect(checkEnvelope({ ...config(1, []), fromGeneration: 2 })).toMatch(/fromGeneration 2 is after generation 1/);
    const lb = loadBalancer("a", "1", []);
    expect(checkEnvelope(config(1, [lb, lb]))).toMatch(/duplicate id/);
  });

  it("names the rule or probe that makes one load balancer unusable", () => {
    const ok = loadBalancer("a", "1", [listener({ name: "r", frontendIPAddress: "127.10.0.1", frontendPort: 80, probe: "p", backends: dips(["127.0.0.11"], 80) })], [tcpProbe("p", 80, ["127.0.0.11"])]);
    expect(checkLoadBalancer(ok)).toBeUndefined();
    expect(checkLoadBalancer({ ...ok, probes: [] })).toBe("rule 'r': probe 'p' is not defined");
    const http: CompiledProbe = { ...tcpProbe("p", 80, ["127.0.0.11"]), protocol: "Http" };
    expect(checkLoadBalancer({ ...ok, probes: [http] })).toBe("probe 'p': Http probes need a requestPath starting with /");
    expect(checkLoadBalancer({ ...ok, listeners: [ok.listeners[0]!, { ...ok.listeners[0]!, name: "twin" }] })).toMatch(/rule 'twin': frontend .* is used by two rules/);
  });
});
