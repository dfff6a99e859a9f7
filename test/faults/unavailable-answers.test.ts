// The answers themselves, without processes or signals: a database that refuses connections and
// one that accepts them but never answers (a TCP server that stays silent, like a hung PostgreSQL)
// both turn every API call into 503 ServiceUnavailable with Retry-After within the configured
// bound, /readyz into 503 within 2 s, and leave /healthz at 200. Which errors count as "database
// unavailable" (and which must stay 4xx/500) is pinned here too.

import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { composeLbplane, type Lbplane } from "../../src/lbplane.js";
import { isDatabaseUnavailable } from "../../src/store/db-errors.js";
import { databaseHealthOf } from "../../src/store/db-health.js";
import { TokenStore } from "../../src/store/tokens.js";
import { ADMIN_TOKEN, AUTH, NET } from "../helpers/app.js";
import { loadBalancerPath } from "../kit/bodies.js";

const LB = `${loadBalancerPath("rg1", "lb1")}?${NET}`;
const ACQUIRE_MS = 400;
const STATEMENT_MS = 600;
/** Scheduling slack on a shared CI box: far below a hang (the client's own timeout), far above the bound's noise. */
const SLACK_MS = 3_000;

async function lbplaneOn(databaseUrl: string): Promise<Lbplane> {
  const tokens = new TokenStore();
  tokens.add(ADMIN_TOKEN, { name: "admin" });
  const config = loadConfig({
    LBPLANE_DATA_DIR: "/tmp/lbplane-test-unused",
    LBPLANE_DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_MS),
    LBPLANE_DB_STATEMENT_TIMEOUT_MS: String(STATEMENT_MS),
  });
  return composeLbplane({ config, databaseUrl, tokens, logger: false, poolSize: 2, controlLoops: false });
}

describe.each([
  ["refuses connections", "refused"],
  ["accepts connections and never answers", "silent"],
] as const)("a database that %s", (_, kind) => {
  let lbplane: Lbplane;
  let silent: net.Server | undefined;
  const sockets = new Set<net.Socket>();
  beforeAll(async () => {
    const holder = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const port = (holder.address() as net.AddressInfo).port;
    if (kind === "refused") await new Promise((r) => holder.close(r));
    else silent = holder;
    lbplane = await lbplaneOn(`postgresql://lbplane:secret@127.0.0.1:${port}/lbplane`);
    // The first query of a process loads Prisma's query compiler (seconds on a busy box): not what is measured here.
    await lbplane.app.inject({ method: "GET", url: LB, headers: AUTH });
    await lbplane.app.inject({ method: "GET", url: "/readyz" });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    silent?.close();
    await lbplane.close({ graceMs: 2_000 });
  });

  it("answers reads and writes 503 ServiceUnavailable with Retry-After, within the bound", async () => {
    for (const method of ["GET", "DELETE", "PUT"] as const) {
      const t0 = performance.now();
      const res = await lbplane.app.inject({ method, url: LB, headers: AUTH, ...(method === "PUT" ? { payload: { location: "westeurope", properties: {} } } : {}) });
      const ms = performance.now() - t0;
      expect(res.statusCode, `${method} ${res.body}`).toBe(503);
      expect(res.json().error.code).toBe("ServiceUnavailable");
      expect(res.headers["retry-after"]).toBe("5");
      expect(ms).toBeLessThan(ACQUIRE_MS + STATEMENT_MS + SLACK_MS);
    }
    expect(databaseHealthOf(lbplane.db)?.available).toBe(false);
  });

  it("answers /readyz 503 within 2 s and /healthz 200", async () => {
    const t0 = performance.now();
    const ready = await lbplane.app.inject({ method: "GET", url: "/readyz" });
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(ready.statusCode).toBe(503);
    expect(ready.json().error.code).toBe("ServiceUnavailable");
    expect((await lbplane.app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
  });
});

describe("which errors mean the database is unavailable", () => {
  const socket = (code: string) => Object.assign(new Error(`connect ${code} 127.0.0.1:5432`), { code, errno: -111, syscall: "connect" });
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code, severity: "FATAL" });

  it.each([
    ["a refused connection", socket("ECONNREFUSED")],
    ["a reset connection", socket("ECONNRESET")],
    ["pg's connect timeout", new Error("timeout exceeded when trying to connect")],
    ["pg's query read timeout", new Error("Query read timeout")],
    ["a connection cut by the server", new Error("Connection terminated unexpectedly")],
    ["admin shutdown (57P01)", pgError("57P01", "terminating connection due to administrator command")],
    ["starting up (57P03)", pgError("57P03", "the database system is starting up")],
    ["a loop's warning text during crash recovery", { message: "reconciler pass failed: the database system is not yet accepting connections" }],
    ["statement_timeout (57014)", pgError("57014", "canceling statement due to statement timeout")],
    ["Prisma's pool timeout (P2024)", Object.assign(new Error("Timed out fetching a new connection"), { code: "P2024" })],
    ["Prisma's adapter kind", Object.assign(new Error("x"), { meta: { driverAdapterError: { cause: { kind: "DatabaseNotReachable" } } } })],
    ["a wrapped cause", new Error("write failed", { cause: socket("ECONNREFUSED") })],
  ])("%s: yes", (_, err) => expect(isDatabaseUnavailable(err)).toBe(true));

  it.each([
    ["a unique violation", pgError("23505", "duplicate key value violates unique constraint")],
    ["an exclusion violation", pgError("23P01", "conflicting key value violates exclusion constraint")],
    ["a bug", new TypeError("Cannot read properties of undefined")],
    ["Prisma's record not found", Object.assign(new Error("No record was found"), { code: "P2025" })],
  ])("%s: no", (_, err) => expect(isDatabaseUnavailable(err)).toBe(false));
});
