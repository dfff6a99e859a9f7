// One probe attempt against one DIP. Every attempt uses a fresh connection (no keep-alive pool):
// a pooled connection could stay healthy while the service stopped accepting new ones.

import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { CompiledProbe } from "../domain/agent-protocol.js";
import { errorText } from "./log.js";

/** Resolves to undefined when the target is up, or a short failure reason. */
export type ProbeCheck = (probe: CompiledProbe, address: string, timeoutMs: number) => Promise<string | undefined>;

export const runProbe: ProbeCheck = (probe, address, timeoutMs) =>
  probe.protocol === "Tcp" ? tcpCheck(address, probe.port, timeoutMs) : httpCheck(probe, address, timeoutMs);

function tcpCheck(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: string | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no TCP connection within ${timeoutMs} ms`), timeoutMs);
    socket.once("connect", () => done(undefined));
    socket.on("error", (err) => done(errorText(err))); // on, not once: a second error must not go unhandled
  });
}

function httpCheck(probe: CompiledProbe, host: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const lib = probe.protocol === "Https" ? https : http;
    // Azure's HTTPS probe does not validate the backend's certificate; neither do we.
    const req = lib.get({
      host,
      port: probe.port,
      path: probe.requestPath ?? "/",
      agent: false,
      rejectUnauthorized: false,
      headers: { "user-agent": "lbplane-agent-probe", connection: "close" },
    });
    let settled = false;
    const done = (result: string | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done(`no HTTP response within ${timeoutMs} ms`), timeoutMs);
    req.once("response", (res) => {
      res.resume();
      done(res.statusCode === 200 ? undefined : `HTTP ${res.statusCode}`);
    });
    req.on("error", (err) => done(errorText(err))); // on, not once: destroy() may add another
  });
}
