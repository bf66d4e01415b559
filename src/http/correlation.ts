/**
 * Correlation ids: every request gets one (taken from X-Correlation-Id or
 * X-Request-Id when the caller sends a sane one, else a fresh UUID). Fastify
 * puts it on every log line of the request as `correlationId`, and the reply
 * carries it back in X-Correlation-Id, so a caller, a log line and a journal
 * record can be matched.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance } from 'fastify';

export const CORRELATION_HEADER = 'x-correlation-id';
const SANE = /^[A-Za-z0-9._:-]{1,128}$/;

export function correlationIdFor(req: IncomingMessage): string {
  const given = req.headers[CORRELATION_HEADER] ?? req.headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  return value && SANE.test(value) ? value : randomUUID();
}

export function registerCorrelation(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    reply.header(CORRELATION_HEADER, request.id);
  });
}
