import type { FastifyInstance } from 'fastify';
import type { GatewayMetrics } from './metrics.js';
import type { Readiness } from './readiness.js';

/** GET /health (the process serves) and GET /ready (it can do its job). */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness): void {
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await readiness.run();
    return reply
      .status(report.status === 'ready' ? 200 : 503)
      .header('cache-control', 'no-store')
      .send(report);
  });
}

/**
 * GET /metrics in the Prometheus text format (0.0.4).
 *
 * No token: Prometheus scrapers are usually configured without bearer tokens,
 * and nothing here is personal or secret — counts, latencies, queue depths,
 * the ids of partners and services from the registry and catalogue, and the
 * subjects of organisations' certificates. No message, application or
 * registration number ever becomes a label. Where even that should stay
 * inside, expose the port to the monitoring network only (as with /ready).
 */
export function registerMetricsRoute(app: FastifyInstance, metrics: GatewayMetrics): void {
  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    const text = await metrics.text();
    return reply.status(200).type(metrics.contentType).header('cache-control', 'no-store').send(text);
  });
}
