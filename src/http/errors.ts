/**
 * One error handler for the HTTP side: a client error answers with its status
 * and a message that names the problem (a flow's DomainError is mapped to its
 * status here, the one place that knows); anything else is logged with the
 * correlation id and answered with a generic 500 that carries the same id —
 * never a stack trace or an internal message.
 */
import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { DomainError, type DomainErrorKind } from '../flows/errors.js';
import { StoreReplicationError } from '../store/types.js';

export interface ErrorBody {
  error: { code: string; message: string; correlationId: string };
}

/** An error a route throws on purpose, with the status and message the client should see. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** A flow's refusal as the JSON API answers it. */
const STATUS_OF: Record<DomainErrorKind, number> = { 'not-found': 404, conflict: 409, invalid: 400, forbidden: 403, unprocessable: 422 };

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((thrown: FastifyError | HttpError | DomainError, request, reply) => {
    if (thrown instanceof StoreReplicationError) {
      // Stored on the primary, not confirmed by its replicas (REDIS_WAIT_REPLICAS): not a success, retry.
      request.log.warn({ err: thrown }, 'request refused: store replication not confirmed');
      const body: ErrorBody = { error: { code: 'STORE_NOT_REPLICATED', message: `${thrown.message}; the change is not confirmed: read its state or retry later`, correlationId: request.id } };
      return reply.status(503).header('retry-after', '1').send(body);
    }
    const error = thrown instanceof DomainError ? new HttpError(STATUS_OF[thrown.kind], thrown.code, thrown.message) : thrown;
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err: error }, 'request failed');
      const body: ErrorBody = { error: { code: 'INTERNAL', message: 'internal error; quote the correlation id to operations', correlationId: request.id } };
      return reply.status(500).send(body);
    }
    if (status === 415 && !(error instanceof HttpError)) {
      // Fastify's own message ("Unsupported Media Type: text/plain") does not say what to send.
      const sent = request.headers['content-type'];
      const body: ErrorBody = { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: `${sent ? `Content-Type ${sent} is not accepted` : 'the body has no Content-Type'}; send Content-Type: application/json`, correlationId: request.id } };
      return reply.status(415).send(body);
    }
    const code = error instanceof HttpError ? error.code : (error.code ?? 'BAD_REQUEST');
    const message = 'validation' in error && error.validation ? `invalid request: ${error.message}${validationDetails(error.validation)}` : error.message;
    const body: ErrorBody = { error: { code, message, correlationId: request.id } };
    return reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body: ErrorBody = { error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}`, correlationId: request.id } };
    return reply.status(404).send(body);
  });
}

/**
 * What Ajv's messages leave out and the client needs: additionalProperties does not say which
 * property, enum ("must be equal to one of the allowed values") does not say which values.
 */
function validationDetails(validation: FastifySchemaValidationError[]): string {
  const names = validation.flatMap((v) => (v.keyword === 'additionalProperties' && typeof v.params.additionalProperty === 'string' ? [`"${v.params.additionalProperty}"`] : []));
  const allowed = validation.flatMap((v) => (v.keyword === 'enum' && Array.isArray(v.params.allowedValues) ? [`: ${v.params.allowedValues.map((x) => JSON.stringify(x)).join(', ')}`] : []));
  return `${names.length > 0 ? ` ${names.join(', ')}` : ''}${allowed.slice(0, 1).join('')}`;
}
