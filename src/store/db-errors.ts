// Which failures mean "the database is unavailable" rather than "this request is wrong": a refused or
// reset connection, a pool that could not hand out a connection in time, a query the database did
// not answer in time, a server shutting down or starting up. The error handler turns these into 503
// ServiceUnavailable with Retry-After (the client should come back), never a 500 (a bug of ours).
// They arrive in three shapes: the pg driver's own Error (socket codes, message text), PostgreSQL's
// SQLSTATE, and Prisma's wrappers around either (driver-adapter kinds, P10xx/P2024/P2028 codes).

import { pgErrorCode } from "./pg-errors.js";

/** Socket errors of a connection that could not be made or was cut. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ECONNABORTED"]);
/** SQLSTATEs of an unavailable server: connection exceptions (08), shutdown/startup (57P0x), too many connections, a statement cancelled by statement_timeout. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-4]|53300|57014)$/;
/** Prisma's driver-adapter kinds for the same (see @prisma/adapter-pg convertDriverError). */
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
/** Prisma error codes: can't reach (P1001), timed out (P1002, P1008), server closed (P1017), pool timeout (P2024), transaction could not start/finish in time (P2028). */
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028"]);
/** pg's own errors carry no code, only text. */
const DRIVER_TEXT =
  /timeout exceeded when trying to connect|Connection terminated|Query read timeout|Client has encountered a connection error|Connection ended|the database system is (starting up|shutting down|in recovery mode|not yet accepting connections)|unexpected postmaster exit|DatabaseNotReachable|ConnectionClosed|terminating connection|connect ECONNREFUSED|Client was closed|Cannot use a pool after calling end|Can't reach database server|Server has closed the connection|Timed out fetching a new connection|canceling statement due to statement timeout|No database connection became free within|The transaction did not finish within/i;

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  kind?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
}

/** True when `err` (or anything in its cause chain) says the database could not be reached or did not answer in time. */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err as ErrorLike | undefined, depth = 0; e && typeof e === "object" && depth < 6; depth++) {
    const code = typeof e.code === "string" ? e.code : undefined;
    if (code && (SOCKET_CODES.has(code) || PRISMA_CODES.has(code))) return true;
    const sqlState = pgErrorCode(e);
    if (sqlState && UNAVAILABLE_SQLSTATE.test(sqlState)) return true;
    const kind = e.meta?.driverAdapterError?.cause?.kind ?? e.kind;
    if (typeof kind === "string" && ADAPTER_KINDS.has(kind)) return true;
    if (typeof e.message === "string" && DRIVER_TEXT.test(e.message)) return true;
    e = e.cause as ErrorLike | undefined;
  }
  return false;
}
