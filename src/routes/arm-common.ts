// Behaviour every ARM route shares: name checks, ETag preconditions, absolute URLs for
// async-operation headers and list paging. The shared schemas are in schemas/arm.schema.ts.

import type { Page, PageKey, PageRequest } from "../store/paging.js";
import type { FastifyReply, FastifyRequest } from "fastify";
import { Errors } from "../errors.js";
import { isValidResourceName } from "../domain/ids.js";

/** Azure's naming rule for the resource a path names (InvalidResourceName otherwise). */
export function checkName(name: string, kind: "loadBalancer" | "child" | "publicIPAddress"): void {
  if (!isValidResourceName(name, kind)) throw Errors.invalidResourceName(name);
}

/** The ARM id the request addresses (its path). */
export function resourcePath(request: FastifyRequest): string {
  return request.url.split("?")[0];
}

/** ARM's ETag table for PUT/PATCH/DELETE (RPC Addendum). `current` undefined = resource absent. */
export function checkPreconditions(request: FastifyRequest, current: string | undefined, id: string): void {
  const ifMatch = request.headers["if-match"];
  const ifNoneMatch = request.headers["if-none-match"];
  if (typeof ifMatch === "string" && ifMatch !== "") {
    if (current === undefined || (ifMatch.trim() !== "*" && !etagMatches(ifMatch, current))) {
      throw Errors.preconditionFailed(ifMatch, current, id);
    }
  }
  if (typeof ifNoneMatch === "string" && ifNoneMatch.trim() === "*" && current !== undefined) {
    throw Errors.resourceAlreadyExists(id);
  }
}

function etagMatches(header: string, current: string): boolean {
  const strip = (t: string) => t.trim().replace(/^W\//, "");
  return header.split(",").some((t) => strip(t) === strip(current));
}

/**
 * Absolute base URL for Location / Azure-AsyncOperation / nextLink (ARM requires absolute URIs):
 * LBPLANE_PUBLIC_URL, else the local address the connection arrived at. Never the Host header: a
 * client could forge it and have lbplane hand its URLs (and a polling client's token) elsewhere.
 */
export function baseUrl(request: FastifyRequest): string {
  const configured = request.server.deps.config.publicUrl;
  if (configured) return configured;
  let address = request.raw.socket?.localAddress;
  let port = request.raw.socket?.localPort;
  if (!address || !port) {
    const listening = request.server.server.address();
    if (listening && typeof listening === "object") ({ address, port } = listening);
  }
  if (!address || !port) return `${request.protocol}://localhost`;
  address = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  if (address.includes(":")) address = `[${address}]`;
  return `${request.protocol}://${address}:${port}`;
}

/** Page a list by offset: `$skipToken` is the offset of the next page. */
export function pageOf<T>(request: FastifyRequest, items: T[], pageSize = 100): { value: T[]; nextLink?: string } {
  const q = request.query as { $skipToken?: string; $top?: string };
  const start = Math.max(0, Number.parseInt(q.$skipToken ?? "0", 10) || 0);
  const top = q.$top ? Math.min(pageSize, Math.max(1, Number.parseInt(q.$top, 10) || pageSize)) : pageSize;
  const value = items.slice(start, start + top);
  if (start + top >= items.length) return { value };
  const url = new URL(request.url, baseUrl(request));
  url.searchParams.set("$skipToken", String(start + top));
  return { value, nextLink: `${baseUrl(request)}${url.pathname}${url.search}` };
}

/** Most items one page of a database-paged list carries ($top may ask for fewer). */
export const LIST_PAGE_CAP = 100;

/**
 * The page a list request asks for: `$top` (1…cap) and the opaque `$skipToken` of the previous
 * page's nextLink — base64url of the last (name key, id) listed. A token that does not decode is
 * the client's error (400), never a 500 and never silently the first page.
 */
export function pageRequestOf(request: FastifyRequest, cap = LIST_PAGE_CAP): PageRequest {
  const q = request.query as { $skipToken?: string; $top?: string };
  let limit = cap;
  if (q.$top !== undefined) {
    const top = Number(q.$top);
    if (!Number.isInteger(top) || top < 1) throw Errors.invalidParameter(`$top must be a positive integer; got '${q.$top}'.`, "$top");
    limit = Math.min(top, cap);
  }
  return { limit, after: q.$skipToken === undefined ? undefined : decodeSkipToken(q.$skipToken) };
}

function decodeSkipToken(token: string): PageKey {
  try {
    const key = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(key) && key.length === 2 && key.every((k) => typeof k === "string" && k.length <= 1024)) {
      return { nameKey: key[0], id: key[1] };
    }
  } catch {
    // fall through: not base64url JSON
  }
  throw Errors.invalidParameter("The $skipToken is not valid: use the nextLink of the previous page as it is.", "$skipToken");
}

/** A database page as ARM's list shape, with a nextLink that continues after its last item. */
export function listAnswer<R, T>(request: FastifyRequest, page: Page<R>, render: (row: R) => T): { value: T[]; nextLink?: string } {
  const value = page.items.map(render);
  if (!page.next) return { value };
  const url = new URL(request.url, baseUrl(request));
  url.searchParams.set("$skipToken", Buffer.from(JSON.stringify([page.next.nameKey, page.next.id]), "utf8").toString("base64url"));
  return { value, nextLink: `${baseUrl(request)}${url.pathname}${url.search}` };
}

/** Status-only answers (HEAD, 202 Accepted, ARM's DELETE): no body, not even "null". */
export function sendStatusOnly(reply: FastifyReply, status: number): FastifyReply {
  return reply.code(status).send();
}

export function setEtagHeader(reply: FastifyReply, etag: string): void {
  reply.header("etag", etag);
}
