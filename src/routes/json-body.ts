// The JSON body parser every route shares, anonymous ones included. Two checks run on the raw bytes
// before JSON.parse, because what comes after is recursive (schema validation, the unstorable-text
// walk) and a body nested 10,000 deep overflowed the stack there (a 500):
//   - the bytes must be UTF-8: a lenient decode stored U+FFFD in place of what the client sent;
//   - nesting is measured iteratively, and anything deeper than any ARM resource needs is a 400.
// ARM accepts a POST action (e.g. rule health) with no body even when the client, like most curl
// invocations, sends Content-Type: application/json, so an empty body parses to undefined.

import type { FastifyInstance, FastifyRequest } from "fastify";
import { Errors } from "../errors.js";

/** Deepest accepted nesting of objects and arrays; a load balancer body is about 8 deep. */
export const MAX_JSON_DEPTH = 64;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Deepest object/array nesting in `text`, stopping as soon as it exceeds `limit` (no recursion). */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

export function registerJsonParser(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (request: FastifyRequest, body, done) => {
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(Errors.invalidRequestFormat("The request body is not valid UTF-8."), undefined);
    }
    if (text.trim() === "") return done(null, undefined);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return done(Errors.invalidRequestFormat(`The JSON body is nested deeper than ${MAX_JSON_DEPTH} levels.`), undefined);
    }
    return parseJson(request, text, done);
  });
}
