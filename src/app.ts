// The application factory: one buildApp(deps) used by the server and by every test, so both run
// with the same options, hooks and routes.

import { logEachRequestOnce } from "./routes/request-log.js";
import Fastify, { type FastifyInstance, type FastifyServerOptions, LogController } from "fastify";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { TypeBoxValidatorCompiler, type TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { randomUUID } from "node:crypto";
import type { ServerTimeouts } from "./config.js";
import type { ServiceDeps } from "./services/deps.js";
import type { TokenStore } from "./store/tokens.js";
import { shapeRequestForVersion, shapeResponseForVersion } from "./routes/api-version-shapes.js";
import { checkApiVersion } from "./routes/api-versions.js";
import { authenticate } from "./routes/auth.js";
import { handleError } from "./routes/error-handler.js";
import { answerExpectContinue, clientErrorHandler, frameworkErrors } from "./routes/http-edge.js";
import { registerJsonParser } from "./routes/json-body.js";
import { Errors } from "./errors.js";
import { registerRoutes } from "./routes/index.js";
import { rejectUnstorableText } from "./routes/storable-text.js";
import { finishOpenApiDocument, openApiFrame, servedToSwaggerUi } from "./routes/schemas/openapi-document.js";
import { SWAGGER_UI_CONFIG } from "./routes/schemas/swagger-ui.js";

export interface AppDeps extends ServiceDeps {
  tokens: TokenStore;
  logger?: FastifyServerOptions["logger"];
  /** TLS for the API (the Azure SDKs refuse bearer tokens over plain http). */
  https?: { key: string | Buffer; cert: string | Buffer };
  /** HTTP server limits (composeLbplane passes config.timeouts); unset = Node's and fastify's defaults. */
  timeouts?: ServerTimeouts;
}

declare module "fastify" {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export type App = FastifyInstance;

/** The version the OpenAPI document states (package.json's). */
const LBPLANE_VERSION = "0.1.0";

/** Largest accepted request body: a load balancer at Standard limits is ~3 MB of JSON. */
export const BODY_LIMIT = 8 * 1024 * 1024;

/** How often Node looks for requests past their request/headers deadline. */
const CONNECTIONS_CHECK_MS = 1000;

export async function buildApp(deps: AppDeps): Promise<App> {
  const app = Fastify({
    logger: deps.logger ?? false,
    // One line per request instead, from src/routes/request-log.ts.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: BODY_LIMIT,
    // ARM compares path segments case-insensitively (arm-resources even sends "resourcegroups"), and
    // collapses "//": @azure/arm-monitor builds "/{+resourceUri}/providers/…" from an id that starts with "/".
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true },
    genReqId: () => randomUUID(),
    // Node checks request and header deadlines only this often (30 s by default): a slow body must
    // be cut within seconds of its limit, not up to half a minute later.
    http: { connectionsCheckingInterval: CONNECTIONS_CHECK_MS },
    ...(deps.https ? { https: { ...deps.https, connectionsCheckingInterval: CONNECTIONS_CHECK_MS } } : {}),
    // Errors no route sees (Node's parser, the router) leave in ARM's shape too.
    clientErrorHandler,
    frameworkErrors,
    ...(deps.timeouts
      ? {
          requestTimeout: deps.timeouts.requestMs,
          keepAliveTimeout: deps.timeouts.keepAliveMs,
          connectionTimeout: deps.timeouts.connectionMs,
        }
      : {}),
  } as FastifyServerOptions).withTypeProvider<TypeBoxTypeProvider>();
  // fastify has no option for it; Node reads it from the server when a request starts.
  if (deps.timeouts) app.server.headersTimeout = deps.timeouts.headersMs;
  answerExpectContinue(app.server, BODY_LIMIT);
  app.setValidatorCompiler(TypeBoxValidatorCompiler);
  logEachRequestOnce(app);
  app.decorate("deps", deps);

  // The hooks every request runs are synchronous, so they take fastify's callback form: an async
  // hook costs a promise and a microtask per request for nothing (a throw is an error either way).
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-ms-request-id", request.id);
    const correlation = request.headers["x-ms-correlation-request-id"];
    reply.header("x-ms-correlation-request-id", typeof correlation === "string" ? correlation : request.id);
    const clientId = request.headers["x-ms-client-request-id"];
    if (typeof clientId === "string") reply.header("x-ms-client-request-id", clientId);
    done();
  });
  // Authentication first (no information for anonymous callers), then api-version, then the schema.
  app.addHook("onRequest", (request, _reply, done) => {
    authenticate(request, deps.tokens);
    done();
  });
  app.addHook("preValidation", (request, _reply, done) => {
    checkApiVersion(request);
    rejectUnstorableText(request);
    shapeRequestForVersion(request);
    done();
  });
  // Each api-version answers in its own shape (properties it does not know are left out).
  app.addHook("onSend", (request, _reply, payload, done) => done(null, shapeResponseForVersion(request, payload)));
  // Runs after the onRequest hooks: an anonymous caller's body is never read past the limit check.
  registerJsonParser(app);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((request, reply) => {
    const err = Errors.noRoute(request.method, request.url.split("?")[0]);
    return reply.code(404).send(err.toBody());
  });

  await app.register(swagger, { openapi: openApiFrame(LBPLANE_VERSION), transformObject: finishOpenApiDocument });
  await app.register(swaggerUi, { routePrefix: "/docs", uiConfig: SWAGGER_UI_CONFIG, transformSpecification: servedToSwaggerUi });

  await registerRoutes(app);
  return app;
}
