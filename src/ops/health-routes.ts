import type { FastifyInstance } from 'fastify';
import type { Readiness } from './readiness.js';

/** GET /health (the process serves) and GET /ready (it can do its job). */
export function registerHealthRoutes(app: FastifyInstance, readiness: Readiness): void {
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await readiness.run();
    return reply.status(report.status === 'ready' ? 200 : 503).send(report);
  });
}
