// Hostile requests (issue 10, finding 4), tried as an attacker would through real sockets against an
// lbplane listening on 127.0.0.1: deep and malformed bodies, slow bodies on many sockets, oversized
// bodies through clients that write before they read, broken HTTP, forged Host headers, and an
// anonymous readiness probe fishing for the database's address. Each case asserts the attack fails,
// the answer is ARM's error shape with an x-ms-request-id, and the victim's resource is unchanged.

import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTH, NET, RGV, SUB, startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { loadBalancerPath } from "../kit/bodies.js";

interface RawResponse {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
  /** Everything the server sent, interim responses included. */
  raw: string;
}

function parseResponse(raw: string): RawResponse {
  // Skip interim (1xx) responses so the final one is parsed; raw keeps them for assertions.
  let rest = raw;
  while (/^HTTP\/1\.1 1\d\d/.test(rest)) rest = rest.slice(rest.indexOf("\r\n\r\n") + 4);
  const end = rest.indexOf("\r\n\r\n");
  const head = end < 0 ? rest : rest.slice(0, end);
  const [statusLine, ...lines] = head.split("\r\n");
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const i = l.indexOf(":");
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
  }
  let body = end < 0 ? "" : rest.slice(end + 4);
  if (headers["transfer-encoding"] === "chunked") {
    let out = "";
    for (let at = 0; ; ) {
      const eol = body.indexOf("\r\n", at);
      const size = Number.parseInt(body.slice(at, eol), 16);
      if (!size) break;
      out += body.slice(eol + 2, eol + 2 + size);
      at = eol + 2 + size + 2;
    }
    body = out;
  }
  return { status: Number(statusLine?.split(" ")[1]), head, headers, body, raw };
}

/** Opens a socket, writes `parts` in order, reads until the server closes (or `waitMs`). */
function exchange(port: number, parts: Array<string | Buffer>, waitMs = 15_000): Promise<RawResponse & { closedBy: "server" | "timeout" }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ...parseResponse(Buffer.concat(chunks).toString("latin1")), closedBy: "timeout" });
    }, waitMs);
    socket.on("data", (c) => chunks.push(c));
    socket.on("error", (err) => {
      if (chunks.length === 0) reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ ...parseResponse(Buffer.concat(chunks).toString("latin1")), closedBy: "server" });
    });
    socket.on("connect", () => {
      for (const p of parts) socket.write(p);
    });
  });
}

function expectArmError(res: RawResponse, status: number, code?: string) {
  expect(res.status, res.raw.slice(0, 400)).toBe(status);
  expect(res.headers["x-ms-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  const body = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(["error"]);
  expect(typeof body.error.message).toBe("string");
  if (code) expect(body.error.code).toBe(code);
  else expect(body.error.code).toMatch(/^[A-Z][A-Za-z]+$/);
  return body.error;
}

const RG_PATH = `/subscriptions/${SUB}/resourcegroups/victim-rg`;
const ADMIN = AUTH.authorization;

function put(path: string, body: string | Buffer, headers: Record<string, string | number> = {}): string[] {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return [
    `PUT ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${bytes.length}\r\n` +
      `${Object.entries({ "Content-Type": "application/json", ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join("")}Connection: close\r\n\r\n`,
    bytes as unknown as string,
  ];
}

const deep = (n: number) => `{"location":"westeurope","tags":${"[".repeat(n)}${"]".repeat(n)}}`;

describe("hostile requests", () => {
  let t: TestLbplane;
  let port: number;
  let victimBefore: string;

  const victimNow = async () => {
    const res = await exchange(port, [`GET ${RG_PATH}?${RGV} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${ADMIN}\r\nConnection: close\r\n\r\n`]);
    expect(res.status).toBe(200);
    return res.body;
  };

  beforeAll(async () => {
    t = await startTestLbplane({
      env: { LBPLANE_REQUEST_TIMEOUT_MS: "2000", LBPLANE_HEADERS_TIMEOUT_MS: "1000", LBPLANE_JOIN_TOKEN: "join-token-0123456789abcdef" },
    });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    port = (t.app.server.address() as { port: number }).port;
    const created = await exchange(port, put(`${RG_PATH}?${RGV}`, JSON.stringify({ location: "westeurope", tags: { owner: "victim" } }), { Authorization: ADMIN }));
    expect(created.status, created.body).toBe(201);
    victimBefore = await victimNow();
  });
  afterAll(() => t.close());

  it("a body nested 10,000 deep is a 400 InvalidRequestFormat, not a stack overflow", async () => {
    for (const n of [10_000, 100_000]) {
      const res = await exchange(port, put(`${RG_PATH}?${RGV}`, deep(n), { Authorization: ADMIN }));
      expect(expectArmError(res, 400, "InvalidRequestFormat").message).toMatch(/nested deeper than 64/);
    }
    // Ordinary nesting still parses.
    const ok = await exchange(port, put(`${RG_PATH}?${RGV}`, JSON.stringify({ location: "westeurope", tags: { owner: "victim" } }), { Authorization: ADMIN }));
    expect(ok.status).toBe(200);
    expect(await victimNow()).toBe(victimBefore);
  });

  it("a deep body sent anonymously to the agent registration route is refused without a 500", async () => {
    const res = await exchange(port, put("/dataplane/v1/agents/register", deep(50_000)));
    expect([400, 401]).toContain(res.status);
    expectArmError(res, res.status);
    const health = await exchange(port, ["GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
    expect(health.status).toBe(200);
  });

  it("an unauthenticated caller's body is never parsed or validated: every body gets the same 401", async () => {
    const bodies = [deep(20_000), "{not json", Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), JSON.stringify({ location: 5 })];
    for (const body of bodies) {
      for (const auth of [{}, { Authorization: "Bearer wrong-token-0123456789" }] as Array<Record<string, string>>) {
        const res = await exchange(port, put(`${RG_PATH}?${RGV}`, body, auth));
        expectArmError(res, 401, "AuthenticationFailed");
      }
    }
    // Declared oversized: still 401 first (authentication precedes the body limit).
    const huge = await exchange(port, [
      `PUT ${RG_PATH}?${RGV} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${64 * 1024 * 1024}\r\nConnection: close\r\n\r\n`,
    ]);
    expectArmError(huge, 401, "AuthenticationFailed");
    expect(await victimNow()).toBe(victimBefore);
  });

  it("invalid UTF-8 in a JSON body is refused with 400 instead of being stored as U+FFFD", async () => {
    const body = Buffer.concat([Buffer.from('{"location":"westeurope","tags":{"owner":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}}')]);
    const res = await exchange(port, put(`${RG_PATH}?${RGV}`, body, { Authorization: ADMIN }));
    expect(expectArmError(res, 400, "InvalidRequestFormat").message).toMatch(/UTF-8/);
    expect(await victimNow()).toBe(victimBefore);
  });

  it("many half-sent bodies are answered 408 and their sockets closed within seconds", async () => {
    const sockets = 200;
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: sockets }, (_, i) =>
        exchange(
          port,
          [`PUT /dataplane/v1/agents/register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"name":"slow-${i}"`],
          12_000,
        ),
      ),
    );
    const elapsed = Date.now() - started;
    expect(results.filter((r) => r.closedBy === "timeout")).toHaveLength(0);
    expect(elapsed).toBeLessThan(8_000);
    for (const r of results) expectArmError(r, 408, "RequestTimeout");
  }, 20_000);

  it("a slow header trickle is cut with 408 too", async () => {
    const res = await exchange(port, [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: a`], 8_000);
    expect(res.closedBy).toBe("server");
    expectArmError(res, 408, "RequestTimeout");
  });

  it("a body declared too large with Expect: 100-continue gets a 413 and no invitation to send it", async () => {
    const res = await exchange(port, [
      `PUT ${RG_PATH}?${RGV} HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${9 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
    ]);
    expect(res.raw).not.toMatch(/100 Continue/);
    expectArmError(res, 413, "RequestEntityTooLarge");
    expect(res.closedBy).toBe("server");
    expect(await victimNow()).toBe(victimBefore);
  });

  it("an oversized body sent by a client that writes everything before reading still reads the 413", async () => {
    const body = Buffer.alloc(9 * 1024 * 1024, 0x20);
    // Raw socket: all bytes written, then the answer read.
    const raw = await exchange(port, put(`${RG_PATH}?${RGV}`, body, { Authorization: ADMIN }));
    expectArmError(raw, 413, "RequestEntityTooLarge");
    // Node's http client, write-then-read like Python's http.client; chunked (no Content-Length) too.
    for (const chunked of [false, true]) {
      const answer = await new Promise<{ status: number; body: string; id: unknown }>((resolve, reject) => {
        const req = httpRequest(
          {
            host: "127.0.0.1",
            port,
            method: "PUT",
            path: `${RG_PATH}?${RGV}`,
            headers: { authorization: ADMIN, "content-type": "application/json", ...(chunked ? {} : { "content-length": body.length }) },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8").on("data", (c) => (text += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body: text, id: res.headers["x-ms-request-id"] }));
          },
        );
        req.on("error", reject);
        if (chunked) {
          for (let i = 0; i < 9; i++) req.write(body.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
          req.end();
        } else req.end(body);
      });
      expect(answer.status).toBe(413);
      expect(answer.id).toBeTruthy();
      expect(JSON.parse(answer.body).error.code).toBe("RequestEntityTooLarge");
    }
    expect(await victimNow()).toBe(victimBefore);
  }, 30_000);

  it("errors from Node's parser and fastify's router come in ARM's shape with a request id", async () => {
    const get = (path: string, extra = "") => `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: ${ADMIN}\r\n${extra}Connection: close\r\n\r\n`;
    // 431: headers over Node's 16 KiB limit (a long URL counts too).
    expectArmError(await exchange(port, [get("/healthz", `X-Big: ${"a".repeat(20_000)}\r\n`)]), 431, "RequestHeaderFieldsTooLarge");
    expectArmError(await exchange(port, [get(`/subscriptions/${"a".repeat(20_000)}?${RGV}`)]), 431, "RequestHeaderFieldsTooLarge");
    // 414: a path parameter longer than any Azure name.
    expectArmError(await exchange(port, [get(`/subscriptions/${SUB}/resourcegroups/${"a".repeat(300)}?${RGV}`)]), 414, "RequestUriTooLong");
    // 400: bad percent-encoding in the path.
    expectArmError(await exchange(port, [get(`/subscriptions/${SUB}/resourcegroups/%zz?${RGV}`)]), 400);
    // 400: a request line Node cannot parse, and a smuggling attempt.
    expectArmError(await exchange(port, ["GARBAGE\r\n\r\n"]), 400, "BadRequest");
    expectArmError(
      await exchange(port, [`POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`]),
      400,
      "BadRequest",
    );
    // 404 and 415 from fastify.
    expectArmError(await exchange(port, [get("/nope")]), 404, "NotFound");
    expectArmError(await exchange(port, put(`${RG_PATH}?${RGV}`, "<location>westeurope</location>", { Authorization: ADMIN, "Content-Type": "application/xml" })), 415, "UnsupportedMediaType");
    expect(await victimNow()).toBe(victimBefore);
  });

  it("a forged Host header is never reflected into nextLink, Location or Azure-AsyncOperation", async () => {
    for (const name of ["host-a", "host-b"]) {
      const r = await exchange(port, put(`/subscriptions/${SUB}/resourcegroups/${name}?${RGV}`, JSON.stringify({ location: "westeurope" }), { Authorization: ADMIN }));
      expect(r.status).toBe(201);
    }
    const forged = (method: string, path: string) =>
      `${method} ${path} HTTP/1.1\r\nHost: evil.example:666\r\nX-Forwarded-Host: evil.example\r\nAuthorization: ${ADMIN}\r\nConnection: close\r\n\r\n`;
    const list = await exchange(port, [forged("GET", `/subscriptions/${SUB}/resourcegroups?${RGV}&$top=1`)]);
    expect(list.status).toBe(200);
    const nextLink = JSON.parse(list.body).nextLink as string;
    expect(nextLink.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);
    const del = await exchange(port, [forged("DELETE", `/subscriptions/${SUB}/resourcegroups/host-b?${RGV}`)]);
    expect(del.status).toBe(202);
    expect(del.headers.location?.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);
    // A load balancer PUT answers with the operation's Azure-AsyncOperation (and Location) URLs.
    const lb = JSON.stringify({ location: "westeurope", sku: { name: "Standard" }, properties: {} });
    const created = await exchange(port, [
      `PUT ${loadBalancerPath("host-a", "lb")}?${NET} HTTP/1.1\r\nHost: evil.example:666\r\nX-Forwarded-Host: evil.example\r\n` +
        `Authorization: ${ADMIN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(lb)}\r\nConnection: close\r\n\r\n${lb}`,
    ]);
    expect(created.status, created.body).toBe(201);
    expect(created.headers["azure-asyncoperation"]?.startsWith(`http://127.0.0.1:${port}/`)).toBe(true);
    expect(created.raw).not.toMatch(/evil\.example/);
    expect(del.raw).not.toMatch(/evil\.example/);
    expect(list.raw).not.toMatch(/evil\.example/);
    expect(await victimNow()).toBe(victimBefore);
  });
});

describe("anonymous readiness probe", () => {
  let t: TestLbplane;
  let port: number;
  const SECRET = "postgresql://lbplane:hunter2@10.9.8.7:5432/lbplane";
  beforeAll(async () => {
    // A database client whose every call fails the way a driver does: naming the address it tried.
    const broken = new Proxy({} as object, {
      get: () => () => Promise.reject(new Error(`connect ECONNREFUSED 10.9.8.7:5432 (${SECRET})`)),
    });
    t = await startTestLbplane({ overrides: { db: broken as never } });
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    port = (t.app.server.address() as { port: number }).port;
  });
  afterAll(() => t.close());

  it("readyz says not ready and nothing about the database's address or the driver's error", async () => {
    const res = await exchange(port, ["GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"]);
    expect(res.status).toBe(503);
    const body = JSON.parse(res.body);
    expect(body.status).toBe("not ready");
    expect(body.error.code).toBe("ServiceUnavailable");
    expect(res.raw).not.toMatch(/10\.9\.8\.7|hunter2|ECONNREFUSED|postgres/i);
  });
});
