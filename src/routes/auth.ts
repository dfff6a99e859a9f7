// Bearer-token authentication for the management API, and subscription scoping: a token limited to
// some subscriptions gets 403 AuthorizationFailed outside them, as ARM's RBAC would.

import type { FastifyRequest } from "fastify";
import type { TokenGrant, TokenStore } from "../store/tokens.js";
import { ArmError } from "../errors.js";

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
    throw new ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.");
  }
  const grant = tokens.lookup(token);
  if (!grant) {
    throw new ArmError(401, "AuthenticationFailed", "Authentication failed. The access token is invalid.");
  }
  if (mode === "admin" && grant.subscriptions) {
    throw new ArmError(403, "AuthorizationFailed", `The token '${grant.name}' is not an operator (admin) token.`);
  }
  const subscription = (request.params as Record<string, string> | undefined)?.subscriptionId;
  if (subscription && grant.subscriptions && !grant.subscriptions.includes(subscription.toLowerCase())) {
    throw new ArmError(
      403,
      "AuthorizationFailed",
      `The client '${grant.name}' does not have authorization to perform this action over scope '/subscriptions/${subscription}'.`,
    );
  }
  request.grant = grant;
}
