// PostgreSQL's text and jsonb cannot hold U+0000 or an unpaired UTF-16 surrogate, yet JSON escapes
// (\u0000, \ud800) and percent-encoded paths (%00) can carry both. Refusing them here turns what
// would be a database error (a 500) into the 400 any other bad input gets.

import type { FastifyRequest } from "fastify";
import { Errors } from "../errors.js";

const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Path (as an error target) of the first string, or object key, in `value` PostgreSQL cannot store. */
export function unstorableAt(value: unknown, path = ""): string | undefined {
  if (typeof value === "string") return UNSTORABLE.test(value) ? path : undefined;
  if (value === null || typeof value !== "object") return undefined;
  const isArray = Array.isArray(value);
  for (const [k, v] of Object.entries(value)) {
    const at = isArray ? `${path}[${k}]` : path ? `${path}.${k}` : k;
    if (!isArray && UNSTORABLE.test(k)) return at;
    const found = unstorableAt(v, at);
    if (found !== undefined) return found;
  }
  return undefined;
}

export function rejectUnstorableText(request: FastifyRequest): void {
  const param = unstorableAt(request.params);
  if (param !== undefined) {
    throw Errors.invalidParameter(`The path segment '${param}' contains a NUL character or an unpaired surrogate.`, param);
  }
  const field = unstorableAt(request.body);
  if (field !== undefined) {
    throw Errors.invalidRequestFormat(
      `The value at '${field}' contains a NUL character or an unpaired surrogate, which cannot be stored.`,
      field,
    );
  }
}
