/**
 * The HTTP application: fastify with the gateway's plugins and routes. It is
 * built from already-loaded parts (config, store, keys, registry), so tests
 * build it the same way production does and call it over real HTTP.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/env.js';
import type { Logger } from '../log.js';
import { registerHealthRoutes } from '../ops/health-routes.js';
import type { Readiness } from '../ops/readiness.js';
import { correlationIdFor, registerCorrelation } from './correlation.js';
import { registerErrorHandling } from './errors.js';

export interface AppParts {
  config: Config;
  logger: Logger;
  readiness: Readiness;
}

export function buildApp(parts: AppParts): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: parts.logger as FastifyBaseLogger,
    genReqId: correlationIdFor,
    requestIdLogLabel: 'correlationId',
    bodyLimit: parts.config.maxBodyBytes,
    // On close, drop idle keep-alive sockets at once; in-flight requests finish.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    disableRequestLogging: false,
  });
  registerCorrelation(app);
  registerErrorHandling(app);
  registerHealthRoutes(app, parts.readiness);
  return app;
}
