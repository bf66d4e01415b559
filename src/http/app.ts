/**
 * The HTTP application: fastify with the gateway's plugins and routes. It is
 * built from already-loaded parts (config, store, keys, registry), so tests
 * build it the same way production does and call it over real HTTP.
 *
 * Layers, in order: external plugins (OpenAPI), the app's own cross-cutting
 * concerns (correlation ids, errors), then routes.
 */
import type { Duplex } from 'node:stream';
import swagger, { type SwaggerTransformObject } from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { registerJsonBody } from './json-body.js';
import { buildValidator } from './validators.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { ServerOptions as HttpsOptions } from 'node:https';
import type { Config } from '../config/env.js';
import { trustedProxies } from '../config/trusted-proxies.js';
import type { Logger } from '../log.js';
import { apiSchemas, errorSchema } from './schemas.js';
import { correlationIdFor, registerCorrelation } from './correlation.js';
import { registerErrorHandling, type ErrorBody } from './errors.js';
import { authRolesOf } from './auth.js';
import { documentErrorResponses } from './openapi-errors.js';
import { acceptProxyProtocol } from './proxy-protocol.js';
import type { Role } from '../config/env.js';

export interface AppParts {
  config: Config;
  logger: Logger;
  /** Registers the gateway's routes (health, the transports' endpoints, the city API, operations). */
  routes?: (app: FastifyInstance) => void;
  /** Named JSON Schemas of the services' content for the OpenAPI document (src/api/service-schemas.ts). */
  serviceSchemas?: Record<string, Record<string, unknown>>;
  /** HTTPS instead of HTTP (src/pki/tls-material.ts loadHttpsOptions). */
  https?: HttpsOptions | null;
}

/** A registered route and the roles its token check admits (null: none; public). */
export interface RouteEntry {
  method: string;
  url: string;
  roles: readonly Role[] | null;
}

const routeTables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Every route the app registered, in order (HEAD routes included), for the access audit. */
export function registeredRoutes(app: FastifyInstance): readonly RouteEntry[] {
  return routeTables.get(app) ?? [];
}

export async function buildApp(parts: AppParts): Promise<FastifyInstance> {
  const limits = parts.config.http;
  const trusted = trustedProxies(parts.config.proxies.trusted);
  const options = {
    loggerInstance: parts.logger as FastifyBaseLogger,
    genReqId: correlationIdFor,
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    bodyLimit: parts.config.maxBodyBytes,
    // On close, drop idle keep-alive sockets at once; in-flight requests finish.
    forceCloseConnections: 'idle' as const,
    // While closing, new requests get a 503 with the API's error body (the hook below), not fastify's own.
    return503OnClosing: false,
    // Slow clients (slowloris) and idle connections are cut: a request must arrive whole within
    // requestTimeout, its headers within headersTimeout; Node checks open connections every
    // connectionsCheckingInterval, so that is derived from the shortest limit.
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(limits.headersTimeoutMs / 4))),
    },
    // request.ip: the rightmost X-Forwarded-For address not in TRUSTED_PROXIES (the peer itself when it is not trusted).
    ...(trusted.items.length > 0 ? { trustProxy: (address: string) => trusted.trusts(address) } : {}),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array' as const, allErrors: false } },
    // Bodies are validated without that coercion (src/http/validators.ts).
    schemaController: { compilersFactory: { buildValidator } },
  };
  // An HTTPS instance differs from the HTTP one only in its raw server's type; routes and hooks are the same.
  // HTTPS: the same timeouts apply to the https server (fastify passes `https` options to https.createServer).
  const app = (parts.https
    ? Fastify({ ...options, https: { ...parts.https, ...options.http }, loggerInstance: parts.logger as FastifyBaseLogger })
    : Fastify(options)) as unknown as FastifyInstance;
  // PROXY_PROTOCOL=on: the header from a trusted balancer is read before HTTP (or the TLS handshake) starts.
  if (parts.config.proxies.proxyProtocol) acceptProxyProtocol(app.server, { trusted, timeoutMs: limits.headersTimeoutMs, logger: parts.logger });
  // Before any plugin, so that every route (the OpenAPI UI's too) passes here.
  const routes: RouteEntry[] = [];
  routeTables.set(app, routes);
  app.addHook('onRoute', (route) => {
    const roles = authRolesOf(route.onRequest);
    // The JSON API is never public by accident: a route there without a token check does not start.
    if (route.url.startsWith('/api/') && !roles) throw new Error(`route ${String(route.method)} ${route.url} has no token check (TokenAuth.require as its onRequest hook)`);
    for (const method of [route.method].flat()) routes.push({ method: String(method), url: route.url, roles });
  });
  documentErrorResponses(app, authRolesOf);
  let closing = false;
  // Requests in flight per connection. On close a connection with none is ended at once, also one
  // that Node's own idle check misses (seen: the keep-alive connection that had streamed a file
  // from ATTACHMENT_DIR stayed open until its keep-alive timeout, holding close() up); a connection
  // whose request is still running is ended when its response is sent.
  const inFlight = new Map<Duplex, number>();
  const endIfIdle = (socket: Duplex) => {
    if ((inFlight.get(socket) ?? 0) === 0 && !socket.destroyed) socket.end();
  };
  app.addHook('onRequest', async (request) => {
    const socket = request.raw.socket;
    if (!inFlight.has(socket)) socket.once('close', () => inFlight.delete(socket));
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
  });
  app.addHook('onResponse', async (request) => {
    const socket = request.raw.socket;
    inFlight.set(socket, Math.max(0, (inFlight.get(socket) ?? 1) - 1));
    if (closing) endIfIdle(socket);
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of inFlight.keys()) endIfIdle(socket);
  });
  // Sent here, not thrown: every route (the SOAP endpoint's too, whose error handler answers faults) gets it as is.
  app.addHook('onRequest', async (request, reply) => {
    if (!closing) return;
    const body: ErrorBody = { error: { code: 'SHUTTING_DOWN', message: 'the gateway is shutting down; retry on another instance', correlationId: request.id } };
    return reply.status(503).header('connection', 'close').send(body);
  });
  await app.register(swagger, {
    openapi: {
      // 3.1: its Schema Object is JSON Schema 2020-12, the dialect of the services' derived schemas.
      openapi: '3.1.0',
      info: { title: 'Okno gateway — city API', version: '1', description: 'JSON API for the city document-management system and operations. See README.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    },
    // The services' schemas (half a megabyte with the federal packages) are added to the finished
    // document, not given to the plugin: its schema preparation walked them for 25 s on the first
    // request, and they are already complete OpenAPI components (api/service-schemas.ts).
    transformObject: (document) => {
      const openapi = (document as { openapiObject: { components?: { schemas?: Record<string, unknown> } } }).openapiObject;
      return { ...openapi, components: { ...openapi.components, schemas: { ...(openapi.components?.schemas ?? {}), ...(parts.serviceSchemas ?? {}) } } } as ReturnType<SwaggerTransformObject>;
    },
    // Only the JSON API belongs in the OpenAPI document; the SOAP side has its WSDL.
    hideUntagged: true,
    // Components named by their $id (Error, InboxItem, Application), not def-0, def-1.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.addSchema(errorSchema);
  for (const schema of apiSchemas) app.addSchema(schema);
  if (limits.maxConnections > 0) app.server.maxConnections = limits.maxConnections;
  registerCorrelation(app);
  registerJsonBody(app);
  registerErrorHandling(app);
  parts.routes?.(app);
  return app;
}
