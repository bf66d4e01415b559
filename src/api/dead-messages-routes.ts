/**
 * Pull mode, ops role: the exchange messages the gateway could not process
 * (dead after PULL_MAX_TRIES tries; src/pull/dead-deliveries.ts), and what ops
 * do with them — Ack (the exchange forgets the message) or RequestRejected
 * (the sender is told, then Ack). Both idempotent; both unavailable (409) when
 * the MessageID could not be read.
 */
import type {} from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import type { FlowContext } from '../flows/context.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { idParams } from '../http/schemas.js';
import { errorResponse } from '../http/openapi-errors.js';
import { ackDeadMessage, DeadActionUnavailable, listDeadMessages, rejectDeadMessage, type DeadMessage } from '../pull/dead-deliveries.js';
import { ExchangeError } from '../pull/exchange-client.js';

const nullableString = { type: ['string', 'null'] } as const;

const deadMessageSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    exchange: { type: 'string' },
    operation: { type: 'string', enum: ['GetRequest', 'GetResponse'] },
    kind: { type: 'string', enum: ['request', 'response'] },
    messageId: { ...nullableString, description: 'null: it could not be read (then neither Ack nor RequestRejected is possible)' },
    messageIdFrom: { type: ['string', 'null'], enum: ['envelope', 'salvaged', null], description: 'salvaged: found in bytes that do not parse' },
    replyTo: nullableString,
    version: { type: 'string', enum: ['1.1', '1.2', '1.3'] },
    digest: { type: 'string', description: 'SHA-256 (hex) of the bytes the exchange delivered (the journal record\'s request evidence)' },
    reason: { type: 'string', enum: ['unreadable', 'processing-failed', 'attachment-unavailable'] },
    detail: { type: 'string' },
    tries: { type: 'integer' },
    deadAt: { type: 'string' },
    journalRecordId: { type: 'string', description: 'its journal record; the delivered bytes are its request evidence' },
    redeliveries: { type: 'integer', description: 'deliveries after it went dead (not processed)' },
    lastSeenAt: { type: 'string' },
    state: { type: 'string', enum: ['dead', 'acked', 'rejected'] },
    ackedAt: nullableString,
    rejection: { type: ['object', 'null'], properties: { messageId: { type: 'string' }, queuedAt: { type: 'string' } } },
    actions: {
      type: 'array',
      items: { type: 'object', properties: { action: { type: 'string', enum: ['ack', 'reject'] }, at: { type: 'string' }, role: nullableString, outcome: { type: 'string' } } },
    },
    canAck: { type: 'boolean' },
    canReject: { type: 'boolean' },
  },
} as const;

function view(d: DeadMessage) {
  const open = d.ackedAt === null && d.messageId !== null;
  return { ...d, canAck: open, canReject: open && d.kind === 'request' && d.replyTo !== null };
}

export function registerDeadMessageRoutes(app: FastifyInstance, ctx: FlowContext, auth: TokenAuth): void {
  const ops = auth.require('ops');
  const security = [{ bearer: [] }];

  app.get<{ Querystring: { state: 'dead' | 'all'; limit?: number } }>(
    '/api/v1/ops/exchange-messages',
    {
      onRequest: ops,
      logLevel: 'warn',
      schema: {
        tags: ['operations'],
        summary: `Pull mode: messages the exchange delivered that the gateway could not process (dead after PULL_MAX_TRIES = ${ctx.config.pull.maxTries} tries), newest first; dead: waiting for ops`,
        security,
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: ['dead', 'all'], default: 'dead' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deadMessageSchema } }, required: ['items'] } },
      },
    },
    async (request) => ({ items: (await listDeadMessages(ctx.store, { open: request.query.state !== 'all', limit: request.query.limit ?? 100 })).map(view) }),
  );

  for (const action of ['ack', 'reject'] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/ops/exchange-messages/:id/${action}`,
      {
        onRequest: ops,
        schema: {
          tags: ['operations'],
          summary:
            action === 'ack'
              ? 'Acknowledge a dead exchange message at the exchange (Ack accepted="true"), so it is no longer delivered; again: no change'
              : 'Answer a dead request with RequestRejected (a SendResponse to its ReplyTo through the exchange, queued once), then Ack it; again: no change',
          security,
          params: idParams,
          response: {
            200: deadMessageSchema,
            409: errorResponse('Not possible for this message: its MessageID could not be read (NO_MESSAGE_ID), it is a response (NOT_A_REQUEST), it has no ReplyTo (NO_REPLY_TO), or its exchange is gone (EXCHANGE_GONE)'),
            503: errorResponse('The exchange did not take the Ack (EXCHANGE_UNAVAILABLE); nothing changed, try again'),
          },
        },
      },
      async (request) => {
        const { id } = request.params;
        try {
          const d = action === 'ack' ? await ackDeadMessage(ctx, id, request.role ?? null) : await rejectDeadMessage(ctx, id, request.role ?? null);
          if (!d) throw new HttpError(404, 'NOT_FOUND', `no dead exchange message ${id}`);
          return view(d);
        } catch (error) {
          if (error instanceof DeadActionUnavailable) throw new HttpError(409, error.code, error.message);
          if (error instanceof ExchangeError) throw new HttpError(503, 'EXCHANGE_UNAVAILABLE', `the exchange did not take the Ack: ${error.message}`);
          throw error;
        }
      },
    );
  }
}
