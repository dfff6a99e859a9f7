// One log line per request, written when the answer leaves (method, route, status, time), instead
// of fastify's two (request in, response out). Successful reads (GET/HEAD 2xx/3xx) go at debug:
// on a busy region they are most of the traffic and none of the story, and logging them at info
// cost as much CPU as serving them. Writes, every 4xx and every 5xx stay at info/warn/error, so
// the default log still tells who changed what and what failed. LOG_LEVEL=debug shows reads too.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Successful answers are routine traffic that changes nothing an operator follows: logged at debug. */
    routine?: boolean;
  }
}

function levelOf(request: FastifyRequest, status: number): "debug" | "info" | "warn" | "error" {
  if (status >= 500) return "error";
  if (status >= 400) return "warn";
  const routine = request.method === "GET" || request.method === "HEAD" || request.routeOptions.config.routine === true;
  return routine ? "debug" : "info";
}

export function logEachRequestOnce(app: FastifyInstance): void {
  // The callback form: an async hook would cost every request a promise, even when nothing is logged.
  app.addHook("onResponse", (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
    const level = levelOf(request, reply.statusCode);
    // pino's isLevelEnabled is not on fastify's logger type; its numeric level is.
    const log = request.log as typeof request.log & { levelVal?: number; levels?: { values: Record<string, number> } };
    if (log.levelVal === undefined || !log.levels || log.levels.values[level] >= log.levelVal) {
      request.log[level](
        { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
        "request",
      );
    }
    done();
  });
}
