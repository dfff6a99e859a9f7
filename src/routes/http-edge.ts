// What the HTTP server answers where no route runs: requests Node's parser refuses (431, 400, the
// 408 of a request that arrived too slowly), URLs the router refuses (400, 414), and a body declared
// too large before it is sent (`Expect: 100-continue`). Each answer is ARM's error body with an
// x-ms-request-id, like any route's — fastify's and Node's defaults answer in their own shapes.

import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { type ArmError, Errors } from "../errors.js";
import { handleError } from "./error-handler.js";

function armResponseHead(err: ArmError): { body: string; headers: Record<string, string | number> } {
  const body = JSON.stringify(err.toBody());
  return {
    body,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
      "x-ms-request-id": randomUUID(),
      connection: "close",
    },
  };
}

/** The ARM error for a socket-level failure Node reports as `clientError`. */
function clientErrorOf(err: NodeJS.ErrnoException): ArmError {
  if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") return Errors.requestTimeout();
  if (err.code === "HPE_HEADER_OVERFLOW") return Errors.requestHeaderFieldsTooLarge();
  return Errors.malformedHttpRequest();
}

/**
 * fastify's clientErrorHandler: writes the answer on the raw socket (no request object exists) and
 * destroys it, unless a response has already started on it (then there is nothing valid to add).
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const arm = clientErrorOf(err);
    const { body, headers } = armResponseHead(arm);
    const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}`);
    socket.write(`HTTP/1.1 ${arm.statusCode} ${arm.code}\r\n${lines.join("\r\n")}\r\n\r\n${body}`);
    socket.end();
    // end() flushes the answer; destroy after a moment whatever the client does not close itself.
    setTimeout(() => socket.destroy(), 1000).unref();
    return;
  }
  socket.destroy(err);
}

/**
 * `Expect: 100-continue` with a Content-Length over the limit: answer 413 instead of inviting the
 * body (Node sends `100 Continue` by itself unless someone listens to checkContinue).
 */
export function answerExpectContinue(server: Server, bodyLimit: number): void {
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > bodyLimit) {
      const { body, headers } = armResponseHead(Errors.requestEntityTooLarge());
      res.writeHead(413, headers);
      res.end(body);
      return;
    }
    res.writeContinue();
    server.emit("request", req, res);
  });
}

/** fastify's frameworkErrors: router refusals (bad percent-encoding, over-long parameter) in ARM's shape. */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  reply.header("x-ms-request-id", request.id);
  return handleError(error, request, reply);
}
