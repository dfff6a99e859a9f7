// One log line per request, written when the answer leaves (method, route, status, time), instead
// of fastify's two (request in, response out). Successful reads (GET/HEAD 2xx/3xx) go at debug:
// on a busy region they are most of the traffic and none of the story, and logging them at info
// cost as much CPU as serving them. Writes, every 4xx and every 5xx stay at info/warn/error, so
// the default log still tells who changed what and what failed. LOG_LEVEL=debug shows reads too.

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

function levelOf(request: FastifyRequest, status: number): "debug" | "info" | "warn" | "error" {
  if (status >= 500) return "error";
  if (status >= 400) return "warn";
  return request.method === "GET" || request.method === "HEAD" ? "debug" : "info";
}

export function logEachRequestOnce(app: FastifyInstance): void {
  app.addHook("onResponse", async (request: FastifyRequest, reply: FastifyReply) => {
    const level = levelOf(request, reply.statusCode);
    // pino's isLevelEnabled is not on fastify's logger type; its numeric level is.
    const log = request.log as typeof request.log & { levelVal?: number; levels?: { values: Record<string, number> } };
    if (log.levelVal !== undefined && log.levels && log.levels.values[level] < log.levelVal) return;
    request.log[level](
      { method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 },
      "request",
    );
  });
}
