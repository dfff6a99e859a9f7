// One log line per request: a write (and every failure) at info or above when the answer leaves,
// a successful read or heartbeat only at debug (src/routes/request-log.ts). Nothing else per request.

import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, RGV, SUB, createTestApp, type TestApp } from "../helpers/app.js";

const JOIN = "request-log-join-token-0123456789";

describe("request log", () => {
  let t: TestApp;
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  beforeAll(async () => {
    t = await createTestApp({ logger: { level: "info", stream } }, { LBPLANE_JOIN_TOKEN: JOIN });
  });
  afterAll(() => t.close());

  const requestLines = () => lines.filter((l) => l.msg === "request" || l.msg === "incoming request" || l.msg === "request completed");

  it("logs a write once, with its status and time, and a successful read not at all at info", async () => {
    lines.length = 0;
    const put = await t.app.inject({ method: "PUT", url: `/subscriptions/${SUB}/resourcegroups/logged?${RGV}`, headers: AUTH, payload: { location: "westeurope" } });
    expect(put.statusCode).toBe(201);
    const get = await t.app.inject({ method: "GET", url: `/subscriptions/${SUB}/resourcegroups/logged?${RGV}`, headers: AUTH });
    expect(get.statusCode).toBe(200);
    await new Promise((r) => setImmediate(r));
    expect(requestLines()).toEqual([expect.objectContaining({ msg: "request", method: "PUT", status: 201, level: 30 })]);
    expect(typeof requestLines()[0].ms).toBe("number");
  });

  it("logs a failed read at warn", async () => {
    lines.length = 0;
    const res = await t.app.inject({ method: "GET", url: `/subscriptions/${SUB}/resourcegroups/missing?${RGV}`, headers: AUTH });
    expect(res.statusCode).toBe(404);
    await new Promise((r) => setImmediate(r));
    expect(requestLines()).toEqual([expect.objectContaining({ method: "GET", status: 404, level: 40 })]);
  });

  it("logs an agent's successful heartbeat only at debug, and a refused one at warn", async () => {
    const reg = await t.app.inject({
      method: "POST", url: "/dataplane/v1/agents/register", headers: { authorization: `Bearer ${JOIN}` },
      payload: { name: "logged-agent", location: "westeurope", url: "http://127.0.0.1:9", capabilities: { driver: "userspace", floatingIP: true, haPorts: true, protocols: ["Tcp"] }, protocolVersions: [2] },
    });
    expect(reg.statusCode, reg.body).toBe(200);
    const { agentId, credential } = reg.json();
    lines.length = 0;
    const beat = (token: string) =>
      t.app.inject({ method: "POST", url: `/dataplane/v1/agents/${agentId}/heartbeat`, headers: { authorization: `Bearer ${token}` }, payload: { appliedGeneration: 0 } });
    expect((await beat(credential)).statusCode).toBe(200);
    expect((await beat("not-the-credential")).statusCode).toBe(401);
    await new Promise((r) => setImmediate(r));
    expect(requestLines()).toEqual([expect.objectContaining({ method: "POST", status: 401, level: 40 })]);
  });
});
