// Who is asking, and what they may see and link — ARM's linked authorization. A token scoped to some
// subscriptions passes the route's path check for its own subscription, but a body can still name
// resources elsewhere (a public IP, a subnet, a gateway load balancer). ARM refuses such a write
// with 403 LinkedAuthorizationFailed unless the caller also holds the `join` action on every linked
// scope; lbplane's only permission is "this subscription", so a reference is allowed exactly when
// its subscription is one the token covers.
//
// The check looks only at the ids as sent, before any lookup: the answer for another tenant's
// resource is the same whether it exists, is in use, or was never created (no existence oracle).
// And no answer names a resource of a subscription the caller cannot read: such a name is replaced
// by a phrase ("a load balancer in another subscription"), as the uniqueness law already does.

import { Errors } from "../errors.js";

/** The caller's reach: a token's name and its lower-cased subscriptions (undefined = admin = all). */
export interface CallerScope {
  name: string;
  subscriptions?: readonly string[];
}

/** What an unreadable load balancer reference is shown as. */
export const HIDDEN_LOAD_BALANCER = "a load balancer in another subscription";

const SUBSCRIPTION_OF = /^\/subscriptions\/([^/]+)(?:\/|$)/i;
const PROVIDER_PATH = /\/providers\/([^/]+)\/(.+)$/i;
/** Far deeper than any load balancer body; the walk must not recurse without bound. */
const MAX_DEPTH = 32;

/** The subscription an ARM id names (lower-cased), or undefined when it names none. */
export function subscriptionOf(id: string): string | undefined {
  return SUBSCRIPTION_OF.exec(id)?.[1].toLowerCase();
}

/** Whether the caller may read (and link) resources of this subscription. */
export function canReach(caller: CallerScope, subscriptionId: string): boolean {
  return !caller.subscriptions || caller.subscriptions.includes(subscriptionId.toLowerCase());
}

/** `id` when the caller may read its subscription, else `hidden` (ids naming no subscription are shown). */
export function visibleId(caller: CallerScope, id: string, hidden = HIDDEN_LOAD_BALANCER): string {
  const sub = subscriptionOf(id);
  return sub === undefined || canReach(caller, sub) ? id : hidden;
}

/**
 * Throws 403 LinkedAuthorizationFailed when `body` references (any `id` member, at any depth) a
 * resource in a subscription the caller does not cover. `action` and `scope` describe the write
 * the caller is allowed to make (its path passed authentication).
 */
export function requireLinkedAccess(caller: CallerScope, action: string, scope: string, body: unknown): void {
  if (!caller.subscriptions) return;
  const denied = [...new Set(referencedIds(body).filter((id) => {
    const sub = subscriptionOf(id);
    return sub !== undefined && !canReach(caller, sub);
  }))];
  if (!denied.length) return;
  const actions = [...new Set(denied.map(joinActionOf))];
  throw Errors.linkedAuthorizationFailed(caller.name, action, scope, actions, denied);
}

/** ARM's join action for a linked resource: its resource type path plus /join/action. */
function joinActionOf(id: string): string {
  const m = PROVIDER_PATH.exec(id);
  if (!m) return "Microsoft.Resources/subscriptions/resourceGroups/read";
  const segments = m[2].split("/");
  const types = segments.filter((_, i) => i % 2 === 0);
  return `${m[1]}/${types.join("/")}/join/action`;
}

/** Every string `id` member of a JSON value, depth-bounded (deeper parts are refused, not skipped). */
function referencedIds(value: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (v === null || typeof v !== "object") return;
    // Fail closed: a body too deep to inspect cannot be proven to stay in scope.
    if (depth > MAX_DEPTH) throw Errors.invalidRequestFormat(`The request is nested deeper than ${MAX_DEPTH} levels.`);
    if (Array.isArray(v)) {
      for (const item of v) walk(item, depth + 1);
      return;
    }
    for (const [key, member] of Object.entries(v)) {
      if (key.toLowerCase() === "id" && typeof member === "string") out.push(member);
      else walk(member, depth + 1);
    }
  };
  walk(value, 0);
  return out;
}
