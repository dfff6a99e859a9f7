// Bearer-token authentication for the management API, and subscription scoping: a token limited to
// some subscriptions gets 403 AuthorizationFailed outside them, as ARM's RBAC would.

import type { FastifyRequest } from "fastify";
import type { CallerScope } from "../services/caller-scope.js";
import type { TokenGrant, TokenStore } from "../store/tokens.js";
import { Errors } from "../errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** "management" (default for ARM routes), "admin" (operator-only), or "none". */
    auth?: "management" | "admin" | "none";
  }
  interface FastifyRequest {
    grant?: TokenGrant;
  }
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

export function authenticate(request: FastifyRequest, tokens: TokenStore): void {
  const mode = request.routeOptions.config.auth ?? (request.routeOptions.config.apiVersions ? "management" : "none");
  if (mode === "none") return;
  const token = bearerToken(request);
  if (!token) {
    throw Errors.authorizationHeaderMissing();
  }
  const grant = tokens.lookup(token);
  if (!grant) {
    throw Errors.accessTokenInvalid();
  }
  if (mode === "admin" && grant.subscriptions) {
    throw Errors.notAnOperatorToken(grant.name);
  }
  const subscription = (request.params as Record<string, string> | undefined)?.subscriptionId;
  if (subscription && grant.subscriptions && !grant.subscriptions.includes(subscription.toLowerCase())) {
    throw Errors.subscriptionNotAuthorized(grant.name, subscription);
  }
  request.grant = grant;
}

/**
 * The caller's scope for a use case (services never see fastify): the token's grant. A request
 * without one (a route that needs no token) reaches no subscription: fail closed.
 */
export function callerScope(request: FastifyRequest): CallerScope {
  return request.grant ?? { name: "anonymous", subscriptions: [] };
}
