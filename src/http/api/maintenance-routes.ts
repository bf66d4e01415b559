/**
 * The maintenance switch (role ops): while it is on, GET /ready answers 503
 * with a failing `maintenance` check, so load balancers send no new work to
 * this process; it still serves every request that reaches it and finishes
 * the work in flight (queue deliveries go on). Switch it on, wait for the
 * balancer to drain, then stop or upgrade the process. The switch lives in
 * the process's memory: a restart starts with it off.
 */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../../ops/readiness.js';
import type { TokenAuth } from '../auth.js';

const stateSchema = {
  type: 'object',
  properties: {
    on: { type: 'boolean' },
    since: { type: ['string', 'null'], description: 'when it was switched on' },
  },
  required: ['on', 'since'],
} as const;

export function registerMaintenanceRoutes(app: FastifyInstance, readiness: Readiness, auth: TokenAuth): void {
  const security = [{ bearer: [] }];
  const ops = auth.require('ops');

  app.get(
    '/api/v1/ops/maintenance',
    { onRequest: ops, schema: { tags: ['ops'], summary: 'Whether the maintenance switch is on', security, response: { 200: stateSchema } } },
    async () => readiness.maintenance,
  );

  app.post<{ Body: { on: boolean } }>(
    '/api/v1/ops/maintenance',
    {
      onRequest: ops,
      schema: {
        tags: ['ops'],
        summary: 'Switch maintenance on (GET /ready answers 503 while work in flight finishes) or off',
        security,
        body: { type: 'object', properties: { on: { type: 'boolean' } }, required: ['on'], additionalProperties: false },
        response: { 200: stateSchema },
      },
    },
    async (request) => {
      const before = readiness.maintenance.on;
      const state = readiness.setMaintenance(request.body.on);
      if (state.on !== before) {
        request.log.warn({ maintenance: state.on }, state.on ? 'maintenance on: /ready answers 503; work in flight goes on' : 'maintenance off: /ready reports the checks again');
      }
      return state;
    },
  );
}
