// Configuration fails closed (issue 10, finding 5). Each case is the attack as it happened on a
// running instance: a misspelt scope in tokens.json made a tenant's token an admin token, a token
// listed twice let the last (wider) grant win, a world-readable file showed every token to every local
// user, a short join token could be guessed, and the operations table grew with every write forever.
// Now the real loader and the real server (`tsx src/server.ts`) refuse to start on each, naming the
// entry and never echoing a token; the lbplane that does start from a correct file keeps tenant A out
// of tenant B over real HTTP; and finished operations disappear after the retention.

import { spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlLoops } from "../../src/agents/control-loops.js";
import { pruneFinishedOperations } from "../../src/store/operations.store.js";
import { loadTokens } from "../../src/store/tokens.js";
import { startTestLbplane, type TestLbplane } from "../helpers/app.js";
import { seedLoadBalancer } from "../helpers/seed.js";
import { until } from "../kit/wait.js";

const SUB_A = "00000000-0000-0000-0000-00000000000a";
const SUB_B = "00000000-0000-0000-0000-00000000000b";
const ADMIN = "operator-admin-token-0123456789";
const TENANT_A = "tenant-a-token-0123456789abcdef";
const TENANT_B = "tenant-b-token-0123456789abcdef";
const NET = "api-version=2026-01-01";
const RGV = "api-version=2025-04-01";

const admin = { name: "operator", token: ADMIN };
const tenantA = { name: "tenant-a", token: TENANT_A, subscriptions: [SUB_A] };
const tenantB = { name: "tenant-b", token: TENANT_B, subscriptions: [SUB_B] };

/** A data folder whose tokens.json holds `content` with `mode` (0600 = as it should be). */
function dataDir(content: unknown, mode = 0o600): string {
  const d = mkdtempSync(join(tmpdir(), "lbplane-security-"));
  const file = join(d, "tokens.json");
  writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
  chmodSync(file, mode);
  return d;
}

/** `npm start` on `dir`: resolves with its exit code and stderr (killed after 90 s if it keeps running). */
function startServer(dir: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("LBPLANE_") && k !== "DATABASE_URL"));
  const child = spawn(join(process.cwd(), "node_modules/.bin/tsx"), ["src/server.ts"], {
    env: {
      ...clean,
      LBPLANE_DATA_DIR: dir,
      // Nothing listens there: a start that got past the checks fails fast instead of embedding PostgreSQL.
      DATABASE_URL: "postgresql://127.0.0.1:9/nowhere",
      PORT: "0",
      LOG_LEVEL: "silent",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr += c));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    }),
  );
}

describe("tokens.json: a mistake stops the start, it never widens a grant", () => {
  let t: TestLbplane;
  let url: string;
  const rgB = `/subscriptions/${SUB_B}/resourcegroups/victim`;
  const call = (method: string, path: string, token: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });

  beforeAll(async () => {
    // The lbplane that starts from the operator's correct file: tenant B owns a resource group.
    const loaded = loadTokens(dataDir({ tokens: [admin, tenantA, tenantB] }), undefined);
    t = await startTestLbplane({ overrides: { tokens: loaded.store } });
    url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const res = await call("PUT", `${rgB}?${RGV}`, TENANT_B, { location: "westeurope", tags: { owner: "b" } });
    expect(res.status).toBe(201);
  }, 30_000);
  afterAll(() => t?.close());

  /** The victim's resource group, as tenant B reads it. */
  const victimState = async () => (await (await call("GET", `${rgB}?${RGV}`, TENANT_B)).json()) as { tags?: unknown };

  it("tenant A's token, correctly scoped, cannot touch tenant B's resource group over HTTP", async () => {
    const before = await victimState();
    expect((await call("PUT", `${rgB}?${RGV}`, TENANT_A, { location: "westeurope", tags: { owner: "a" } })).status).toBe(403);
    expect((await call("DELETE", `${rgB}?${RGV}`, TENANT_A)).status).toBe(403);
    expect(await victimState()).toEqual(before);
    expect(before.tags).toEqual({ owner: "b" });
  });

  // Each file would have given tenant A (or anyone holding its token) more than subscription A.
  const badFiles: Array<[string, unknown, RegExp]> = [
    ['a misspelt "subscription" key (the token would have had no scope: admin)',
      { tokens: [admin, { name: "tenant-a", token: TENANT_A, subscription: [SUB_A] }] },
      /tokens\[1\]: unknown key "subscription" \(allowed: name, token, subscriptions\)/],
    ["the tenant's token listed again without a scope (the last entry would have won: admin)",
      { tokens: [tenantA, { name: "ops", token: TENANT_A }] },
      /tokens\[1\]\.token is the same as tokens\[0\]\.token/],
    ["two entries with one name (logs could not tell them apart)",
      { tokens: [admin, { ...tenantB, name: "tenant-a" }, tenantA] },
      /tokens\[2\]\.name "tenant-a" is already used by tokens\[1\]/],
    ["an empty scope (nothing, or everything?)",
      { tokens: [admin, { ...tenantA, subscriptions: [] }] },
      /tokens\[1\]\.subscriptions must be a non-empty array/],
    ["a null scope",
      { tokens: [admin, { ...tenantA, subscriptions: null }] },
      /tokens\[1\]\.subscriptions must be a non-empty array/],
    ["a scope that is not a subscription id",
      { tokens: [admin, { ...tenantA, subscriptions: [SUB_A, "tenant-b"] }] },
      /tokens\[1\]\.subscriptions\[1\] must be a subscription id/],
    ["an empty subscription id",
      { tokens: [admin, { ...tenantA, subscriptions: [""] }] },
      /tokens\[1\]\.subscriptions\[0\] must be a subscription id/],
    ["an unknown top-level key (a misspelt \"tokens\")",
      { token: [tenantA] },
      /unknown key "token" \(allowed: tokens\)/],
    ["an entry that is not an object",
      { tokens: [admin, TENANT_A] },
      /tokens\[1\] must be an object/],
  ];

  it.each(badFiles)("a tokens.json with %s is refused at start, naming the entry", async (_what, content, message) => {
    const before = await victimState();
    let error: Error | undefined;
    try {
      loadTokens(dataDir(content), undefined);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).toContain("tokens.json");
    for (const secret of [ADMIN, TENANT_A, TENANT_B]) expect(error?.message).not.toContain(secret);
    expect(await victimState()).toEqual(before);
  });

  it("a tokens.json entry repeating LBPLANE_TOKEN with a scope is refused (it would have narrowed or widened the admin)", () => {
    expect(() => loadTokens(dataDir({ tokens: [{ name: "x", token: ADMIN, subscriptions: [SUB_A] }] }), ADMIN)).toThrow(
      /tokens\[0\]\.token is the same as LBPLANE_TOKEN/,
    );
  });

  it.each([
    ["world-readable (0644, root-owned when run as root)", 0o644],
    ["group-readable (0640)", 0o640],
    ["group-writable (0620)", 0o620],
    ["world-writable (0602)", 0o602],
  ])("a %s tokens.json is refused, saying how to fix it", (_what, mode) => {
    const d = dataDir({ tokens: [admin, tenantA] }, mode);
    expect(() => loadTokens(d, undefined)).toThrow(`mode ${mode.toString(8).padStart(4, "0")}`);
    expect(() => loadTokens(d, undefined)).toThrow(`run chmod 600 ${join(d, "tokens.json")}`);
    chmodSync(join(d, "tokens.json"), 0o600);
    expect(loadTokens(d, undefined).store.lookup(TENANT_A)?.subscriptions).toEqual([SUB_A]);
  });

  it.skipIf(process.getuid?.() !== 0)("a tokens.json owned by another user (who could rewrite it) is refused", () => {
    const d = dataDir({ tokens: [admin, tenantA] });
    chownSync(join(d, "tokens.json"), 4242, 4242);
    expect(() => loadTokens(d, undefined)).toThrow(/owned by uid 4242/);
  });

  it("the real server exits non-zero on a misspelt scope, a world-readable file and a short join token", async () => {
    const [typo, readable, weakJoin] = await Promise.all([
      startServer(dataDir({ tokens: [admin, { name: "tenant-a", token: TENANT_A, subscription: [SUB_A] }] })),
      startServer(dataDir({ tokens: [admin, tenantA] }, 0o644)),
      startServer(dataDir({ tokens: [admin] }), { LBPLANE_JOIN_TOKEN: "join-secret" }),
    ]);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/tokens\[1\]: unknown key "subscription"/);
    expect(readable.code).toBe(1);
    expect(readable.stderr).toMatch(/chmod 600/);
    expect(weakJoin.code).toBe(1);
    expect(weakJoin.stderr).toContain("LBPLANE_JOIN_TOKEN must be at least 16 characters");
    for (const r of [typo, readable, weakJoin]) expect(r.stderr).not.toContain(TENANT_A);
  }, 120_000);
});

describe("operation retention: a client writing in a loop cannot grow the operations table forever", () => {
  let t: TestLbplane;
  let url: string;
  const SUB = "00000000-0000-0000-0000-000000000001";
  const auth = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const rg = `/subscriptions/${SUB}/resourceGroups/rg1`;

  beforeAll(async () => {
    const loaded = loadTokens(dataDir({ tokens: [admin] }), undefined);
    t = await startTestLbplane({ overrides: { tokens: loaded.store }, env: { LBPLANE_OPERATION_RETENTION_HOURS: "24" } });
    url = await t.app.listen({ host: "127.0.0.1", port: 0 });
    const put = (path: string, api: string, body: unknown) => fetch(`${url}${path}?${api}`, { method: "PUT", headers: auth, body: JSON.stringify(body) });
    expect((await put(rg, RGV, { location: "westeurope" })).status).toBe(201);
    const pip = { location: "westeurope", sku: { name: "Standard" }, properties: { publicIPAllocationMethod: "Static", ipAddress: "65.52.0.1" } };
    expect((await put(`${rg}/providers/Microsoft.Network/publicIPAddresses/vip1`, NET, pip)).status).toBe(201);
  }, 30_000);
  afterAll(() => t?.close());

  /** One write of the client's loop over HTTP (the same load balancer, a new tag); returns its operation's path. */
  async function write(tag: string): Promise<string> {
    const body = { ...seedLoadBalancer("rg1", "lb1", { frontends: { fe: "vip1" }, dips: ["10.0.0.4"], rules: [] }), tags: { write: tag } };
    const res = await fetch(`${url}${rg}/providers/Microsoft.Network/loadBalancers/lb1?${NET}`, { method: "PUT", headers: auth, body: JSON.stringify(body) });
    expect(res.status).toBeLessThan(202);
    const op = new URL(res.headers.get("azure-asyncoperation")!);
    return `${op.pathname}${op.search}`;
  }
  const poll = (path: string) => fetch(`${url}${path}`, { headers: auth });
  const opId = (path: string) => new URL(path, "http://x").pathname.split("/").pop()!;
  /** Makes an operation look `hours` old (started and, if finished, ended then). */
  const age = (path: string, hours: number, status?: string) =>
    t.db.$executeRawUnsafe(
      `UPDATE operations SET start_time = now() - make_interval(hours => $2::int),
              end_time = CASE WHEN coalesce($3, status) = 'InProgress' THEN NULL ELSE now() - make_interval(hours => $2::int) END,
              status = coalesce($3, status)
       WHERE id = $1::uuid`,
      opId(path), hours, status ?? null,
    );
  const exists = async (path: string) =>
    Number((await t.db.$queryRawUnsafe<Array<{ n: bigint }>>(`SELECT count(*) AS n FROM operations WHERE id = $1::uuid`, opId(path)))[0].n) === 1;

  it("operations finished longer ago than the retention answer 404 and are deleted by the sweep; recent ones stay", async () => {
    const old = await write("lb-old");
    const oldFailed = await write("lb-old-failed");
    const recent = await write("lb-recent");
    const justInside = await write("lb-inside");
    expect((await poll(old)).status).toBe(200);
    await age(old, 25);
    await age(oldFailed, 30, "Failed");
    await age(justInside, 23);

    const loops = await startControlLoops({
      config: t.app.deps.config,
      db: t.db,
      databaseUrl: t.database.url,
      log: { info: () => {}, warn: () => {} },
      sweepMs: 50,
      pruneEveryMs: 60_000,
    });
    try {
      await until("the sweep to prune the old operations", async () => !(await exists(old)) && !(await exists(oldFailed)), 10_000);
    } finally {
      await loops.stop();
    }
    const gone = await poll(old);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe("NotFound");
    expect((await poll(oldFailed)).status).toBe(404);
    for (const kept of [recent, justInside]) {
      const res = await poll(kept);
      expect(res.status).toBe(200);
      expect(((await res.json()) as { status: string }).status).toBe("Succeeded");
    }
    // The load balancers themselves are untouched: only the operation history is pruned.
    const lb = await fetch(`${url}${rg}/providers/Microsoft.Network/loadBalancers/lb1?${NET}`, { headers: auth });
    expect(lb.status).toBe(200);
  }, 30_000);

  it("an operation still in progress is never pruned, however long ago it started; a pass is a bounded batch", async () => {
    const stuck = await write("lb-stuck");
    await age(stuck, 48, "InProgress");
    const many = [await write("b1"), await write("b2"), await write("b3")];
    for (const p of many) await age(p, 48);
    expect(await pruneFinishedOperations(t.db, 24, 2)).toBe(2);
    expect(await pruneFinishedOperations(t.db, 24, 2)).toBe(1);
    expect(await pruneFinishedOperations(t.db, 24, 2)).toBe(0);
    expect(await exists(stuck)).toBe(true);
    for (const p of many) expect(await exists(p)).toBe(false);
  });
});
