/**
 * The maintenance switch (role ops): while it is on, GET /ready answers 503
 * with a failing `maintenance` check, so load balancers send no new work to
 * this process; it still serves every request that reaches it and finishes
 * the work in flight (queue deliveries go on). Switch it on, wait for the
 * balancer to drain, then stop or upgrade the process. The switch lives in
 * the process's memory: a restart starts with it off.
 *
 * POST /api/v1/maintenance/reload-keys (role ops) reloads the gateway's key
 * and certificate from the configured files, as SIGHUP does (README "Keys",
 * "Renewal"): 200 with the old and the new certificate; 422 naming the
 * problem when the new key is refused (the key in use stays).
 */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { KeyReloadReport } from '../ops/key-reload.js';
import type { Readiness } from '../ops/readiness.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { errorResponse } from '../http/openapi-errors.js';

const stateSchema = {
  type: 'object',
  properties: {
    on: { type: 'boolean' },
    since: { type: ['string', 'null'], description: 'when it was switched on' },
  },
  required: ['on', 'since'],
} as const;

const certificateSchema = {
  type: 'object',
  properties: {
    subject: { type: 'string' },
    serial: { type: 'string', description: 'hex' },
    notAfter: { type: 'string' },
    fingerprint: { type: 'string', description: 'SHA-256 of the DER, hex' },
    algorithm: { type: 'string' },
    source: { type: 'string' },
  },
  required: ['subject', 'serial', 'notAfter', 'fingerprint', 'algorithm', 'source'],
} as const;

const reloadSchema = {
  type: 'object',
  properties: {
    changed: { type: 'boolean', description: 'false when the files held the certificate already in use' },
    previous: certificateSchema,
    current: certificateSchema,
    threads: { type: 'integer', description: 'large-message threads of this process that reloaded too' },
    otherProcesses: { type: 'boolean', description: 'with WORKERS > 1: the other worker processes were asked to reload (they log the outcome)' },
    partners: {
      type: ['object', 'null'],
      description: 'PARTNERS_FILE, read again with the key: whether its certificates or names changed, and how many partners it has',
      properties: { changed: { type: 'boolean' }, partners: { type: 'integer' } },
      required: ['changed', 'partners'],
    },
  },
  required: ['changed', 'previous', 'current', 'threads', 'otherProcesses'],
} as const;

export interface KeyReloadRoute {
  reloadKeys(): Promise<KeyReloadReport>;
  /** True when other processes (WORKERS > 1) are asked to reload as well. */
  clustered?: boolean;
}

export function registerMaintenanceRoutes(app: FastifyInstance, readiness: Readiness, auth: TokenAuth, keys?: KeyReloadRoute): void {
  const security = [{ bearer: [] }];
  const ops = auth.require('ops');

  app.get(
    '/api/v1/ops/maintenance',
    { onRequest: ops, schema: { tags: ['operations'], summary: 'Whether the maintenance switch is on', security, response: { 200: stateSchema } } },
    async () => readiness.maintenance,
  );

  app.post<{ Body: { on: boolean } }>(
    '/api/v1/ops/maintenance',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
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

  if (!keys) return;
  app.post(
    '/api/v1/maintenance/reload-keys',
    {
      onRequest: ops,
      schema: {
        tags: ['operations'],
        summary: "Reload the gateway's key and certificate, and PARTNERS_FILE, from the configured files (as SIGHUP); a refused key or registry keeps both in use (422)",
        security,
        response: { 200: reloadSchema, 422: errorResponse('The new key or registry was refused; the ones in use stay'), 500: errorResponse('Internal error, or some large-message threads kept the old key (KEY_RELOAD_PARTIAL)') },
      },
    },
    async (request, reply) => {
      const report = await keys.reloadKeys();
      if (!report.ok && report.refused === 'registry') throw new HttpError(422, 'REGISTRY_RELOAD_FAILED', `the partner registry or trust anchors were refused; nothing was reloaded, they and the key in use stay ("${report.current.subject}", serial ${report.current.serial}): ${report.problem}`);
      if (!report.ok) throw new HttpError(422, 'KEY_RELOAD_FAILED', `the new key was refused; the key in use stays ("${report.current.subject}", serial ${report.current.serial}): ${report.problem}`);
      const failed = report.threads.filter((t) => !t.ok);
      if (failed.length > 0) {
        // The event loop signs with the new key, some threads with the old one: say so (not the generic 500).
        return reply.status(500).send({ error: { code: 'KEY_RELOAD_PARTIAL', message: `the key was reloaded, but ${failed.length} large-message thread(s) kept the old one: ${failed[0]!.problem}`, correlationId: request.id } });
      }
      return { changed: report.changed, previous: report.previous, current: report.current, threads: report.threads.length, otherProcesses: keys.clustered === true, partners: report.partners };
    },
  );
}
