// Property: whatever a token's scope and whatever its request references, nothing outside the scope
// is shown or changed. Three tenants (plus a subscription that has nothing) share one lbplane over
// real HTTP; an admin has linked some of them across subscriptions. fast-check picks a token scope
// (admin, none, or any set of the subscriptions) and one ARM request — load balancer PUT/GET/DELETE,
// child PUT, public IP PUT/GET/DELETE, lists, resource group PUT/DELETE — on any subscription,
// whose body references public IPs and virtual networks of any subscription, existing or not.
// Each answer must be: 403 AuthorizationFailed outside the path's scope, 403 LinkedAuthorizationFailed
// for a body reaching outside it, never a 5xx, never a name from a subscription out of scope that
// the request did not itself carry; and every subscription out of scope reads exactly as before.

import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ADMIN_TOKEN, SUB_A, SUB_B, SUB_C, lbBody, lbPath, pipBody, pipPath, rgPath, seedTenant, snapshot, startPlane, vnetPath,
  type Plane,
} from "./tenants-kit.js";

const SUB_D = "dddddddd-0000-0000-0000-00000000000d"; // exists for no one
const TENANTS = [SUB_A, SUB_B, SUB_C];
const ALL_SUBS = [...TENANTS, SUB_D];
/** Each subscription's resource names carry its letter, so a leak of any of them is visible in text. */
const letter = (sub: string) => sub[0];
const rgOf = (sub: string) => `rg-${letter(sub)}`;
const lbOf = (sub: string, n = "") => `lb-${letter(sub)}${n}`;

type Scope = string[] | undefined;

interface Request {
  method: string;
  path: string;
  body?: unknown;
}

const sub = fc.constantFrom(...ALL_SUBS);
const pipRef = fc.record({ sub, name: fc.constantFrom("ip", "ip2", "ghost") }).map(({ sub: s, name }) => pipPath(s, rgOf(s), name));
const vnetRef = sub.map((s) => vnetPath(s, rgOf(s), "vnet"));

const request: fc.Arbitrary<Request> = fc.oneof(
  fc.record({ p: sub, n: fc.constantFrom("", "2", "new"), refs: fc.array(pipRef, { minLength: 1, maxLength: 2 }) })
    .map(({ p, n, refs }) => ({ method: "PUT", path: lbPath(p, rgOf(p), lbOf(p, n)), body: lbBody(refs) })),
  fc.record({ p: sub, n: fc.constantFrom("", "2"), vnet: vnetRef }).map(({ p, n, vnet }) => ({
    method: "PUT", path: `${lbPath(p, rgOf(p), lbOf(p, n))}/backendAddressPools/pool`, body: { properties: { virtualNetwork: { id: vnet } } },
  })),
  fc.record({ p: sub, n: fc.constantFrom("", "2", "new"), m: fc.constantFrom("GET", "DELETE") })
    .map(({ p, n, m }) => ({ method: m, path: lbPath(p, rgOf(p), lbOf(p, n)) })),
  fc.record({ p: sub, name: fc.constantFrom("ip", "ip2"), m: fc.constantFrom("GET", "DELETE", "PUT") })
    .map(({ p, name, m }) => ({ method: m, path: pipPath(p, rgOf(p), name), body: m === "PUT" ? pipBody() : undefined })),
  fc.record({ p: sub, kind: fc.constantFrom("publicIPAddresses", "loadBalancers") })
    .map(({ p, kind }) => ({ method: "GET", path: `/subscriptions/${p}/providers/Microsoft.Network/${kind}` })),
  fc.record({ p: sub, m: fc.constantFrom("PUT", "PUT", "DELETE") })
    .map(({ p, m }) => ({ method: m, path: rgPath(p, rgOf(p)), body: m === "PUT" ? { location: "westeurope" } : undefined })),
);

const scope: fc.Arbitrary<Scope> = fc.oneof(fc.constant(undefined), fc.subarray(ALL_SUBS));

const outside = (s: Scope) => (s === undefined ? [] : ALL_SUBS.filter((x) => !s.includes(x)));
const subscriptionOfPath = (path: string) => path.split("/")[2];

/** Every subscription a body names (the ids the caller itself sent). */
function referencedSubs(body: unknown): string[] {
  const text = JSON.stringify(body ?? {});
  return ALL_SUBS.filter((s) => text.includes(s));
}

/**
 * A subscription's state as the admin reads it, less what a tenant in scope may legitimately change
 * there: the back-reference from its public IPs to the in-scope tenant's own load balancers (deleting
 * your load balancer frees the other tenant's IP it used, as in Azure).
 */
function stateOutside(state: any, s: Scope): unknown {
  const inScope = (id: string) => s?.some((x) => id.includes(x)) === true;
  const pips = (state.pips?.value ?? []).map((p: any) => {
    const cfg = p.properties?.ipConfiguration?.id;
    if (cfg && inScope(cfg)) {
      const { ipConfiguration: _dropped, ...rest } = p.properties;
      return { ...p, properties: rest };
    }
    return p;
  });
  return { ...state, pips: { ...state.pips, value: pips } };
}

/**
 * The answer less the references a load balancer stores (frontends' public IPs, pools' virtual networks): a load balancer the caller
 * may read shows its own configuration, including a cross-subscription link an admin made (as
 * Azure shows a reference you cannot follow). Everything else must stay in scope.
 */
function withoutOwnReferences(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutOwnReferences);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    // A load balancer's own references (its frontends' public IPs, its pools' virtual networks) were
    // written by a caller allowed to link them; showing a stored reference to a reader of the load
    // balancer is what ARM does, not a leak (an earlier run of the property may have stored one).
    Object.entries(value).filter(([k]) => k !== "publicIPAddress" && k !== "virtualNetwork").map(([k, v]) => [k, withoutOwnReferences(v)]),
  );
}

describe("no token reaches outside its scope, whatever its request references", () => {
  let plane: Plane;
  const tokens = new Map<string, string>();
  const tokenFor = (s: Scope): string => {
    if (s === undefined) return ADMIN_TOKEN;
    const key = [...s].sort().join(",");
    let token = tokens.get(key);
    if (!token) {
      token = `scope-${tokens.size}-token-0123456789`;
      tokens.set(key, token);
      plane.addToken(token, `scoped-${tokens.size}`, s);
    }
    return token;
  };

  /** Each tenant: a group with two public IPs and a load balancer on the first; admins link A→B and B→C. */
  async function seedWorld() {
    for (const s of TENANTS) {
      await seedTenant(plane, s, rgOf(s), ["ip", "ip2"]);
      await plane.call(ADMIN_TOKEN, "PUT", lbPath(s, rgOf(s), lbOf(s)), lbBody([pipPath(s, rgOf(s), "ip")]));
    }
    await plane.call(ADMIN_TOKEN, "PUT", lbPath(SUB_A, rgOf(SUB_A), lbOf(SUB_A, "2")), lbBody([pipPath(SUB_B, rgOf(SUB_B), "ip2")]));
    await plane.call(ADMIN_TOKEN, "PUT", lbPath(SUB_B, rgOf(SUB_B), lbOf(SUB_B, "2")), lbBody([pipPath(SUB_C, rgOf(SUB_C), "ip2")]));
  }

  beforeAll(async () => {
    plane = await startPlane();
    await seedWorld();
  });
  afterAll(() => plane?.close());

  it("a random token scope and random references never yield data or effects outside the scope", async () => {
    await fc.assert(
      fc.asyncProperty(scope, request, async (s, req) => {
        const hidden = outside(s);
        const before = await Promise.all(hidden.map(async (x) => stateOutside(await snapshot(plane, x), s)));
        const res = await plane.call(tokenFor(s), req.method, req.path, req.body);

        expect(res.status, res.text).toBeLessThan(500);
        const pathSub = subscriptionOfPath(req.path);
        if (hidden.includes(pathSub)) {
          expect(res.status).toBe(403);
          expect(res.json.error.code).toBe("AuthorizationFailed");
        } else if (referencedSubs(req.body).some((x) => hidden.includes(x))) {
          expect(res.status).toBe(403);
          expect(res.json.error.code).toBe("LinkedAuthorizationFailed");
        }
        // No subscription out of scope, nor any of its resource names, appears in the answer unless
        // the caller sent it.
        const sent = `${req.path} ${JSON.stringify(req.body ?? {})}`;
        const shown = res.json === undefined ? res.text : JSON.stringify(withoutOwnReferences(res.json));
        for (const x of hidden) {
          for (const mark of [x, `${rgOf(x)}`, `${lbOf(x)}`]) {
            if (!sent.includes(mark)) expect(shown, `${req.method} ${req.path} leaked ${mark}`).not.toContain(mark);
          }
        }
        const after = await Promise.all(hidden.map(async (x) => stateOutside(await snapshot(plane, x), s)));
        expect(after).toEqual(before);
      }),
      { numRuns: 120 },
    );
  }, 240_000);
});
