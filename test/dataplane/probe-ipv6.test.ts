// Probes of IPv6 backends (on ::1, the IPv6 loopback): the agent probes DIPs of either family with the
// same TCP and HTTP checks, and an HTTP probe's Host header carries the bracketed address.

import http from "node:http";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CompiledProbe } from "../../src/domain/agent-protocol.js";
import { runProbe } from "../../src/dataplane/probe-checks.js";

const probe = (o: Partial<CompiledProbe>): CompiledProbe => ({
  name: "p", protocol: "Tcp", port: 1, intervalInSeconds: 5, probeThreshold: 1, noHealthyBackendsBehavior: "AllProbedDown", targets: ["::1"], ...o,
});

describe("probes of IPv6 DIPs", () => {
  let hostHeader = "";
  const server = http.createServer((req, res) => {
    hostHeader = req.headers.host ?? "";
    res.writeHead(req.url === "/healthz" ? 200 : 503).end();
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, "::1", r));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("a TCP probe of [::1]:port is Up while it listens and Down on a closed port", async () => {
    expect(await runProbe(probe({ port }), "::1", 1000)).toBeUndefined();
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "::1", r));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    expect(await runProbe(probe({ port: closedPort }), "::1", 1000)).toMatch(/ECONNREFUSED/);
  });

  it("an HTTP probe of an IPv6 DIP needs 200 on its path and sends Host: [::1]:port", async () => {
    expect(await runProbe(probe({ protocol: "Http", port, requestPath: "/healthz" }), "::1", 1000)).toBeUndefined();
    expect(hostHeader).toBe(`[::1]:${port}`);
    expect(await runProbe(probe({ protocol: "Http", port, requestPath: "/other" }), "::1", 1000)).toBe("HTTP 503");
  });
});
