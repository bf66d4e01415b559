/**
 * The city's inbox: everything the gateway accepted for the city, in order,
 * paged by cursor; acknowledging an item is idempotent. Applications and
 * stored attachments by id.
 */
import type {} from '@fastify/swagger'; // adds tags, summary, security to route schemas
import type { FastifyInstance } from 'fastify';
import type { ServiceCatalogue } from '../catalogue/types.js';
import { readInboxItem } from '../city/inbox-items.js';
import { APPLICATIONS, ATTACHMENTS, INBOX } from '../city/model.js';
import { write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { Store } from '../store/types.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { applicationSchema, idParams, inboxItemSchema } from '../http/schemas.js';
import { statusQueue, type StatusEvent } from '../flows/inbound-other.js';
import { applicationQueriesFeed, QUERIES } from '../flows/queries.js';
import { contentComponentsDescription } from './service-schemas.js';
import { withFileStates } from '../flows/exchange-files.js';
import { BlobStore } from '../attachments/blob-store.js';

export function registerInboxRoutes(app: FastifyInstance, store: Store, auth: TokenAuth, catalogue?: ServiceCatalogue, blobs?: BlobStore): void {
  const city = auth.require('city');
  const security = [{ bearer: [] }];
  // What the city receives: applications and agencies' queries (their request), answers to the city's queries (their response).
  const received = (catalogue?.services ?? []).filter((s) => s.kind === 'application' || s.kind === 'query');
  const inboxDescription = contentComponentsDescription(
    "Each item's `content` follows the JSON Schema of its `service`:",
    received,
    (s) => (s.kind === 'query' && s.direction === 'outbound' ? 'response' : 'request'),
  );

  app.get<{ Querystring: { after?: string; limit?: number } }>(
    '/api/v1/inbox',
    {
      onRequest: city,
      schema: {
        tags: ['inbox'],
        summary: 'Items accepted for the city, oldest first',
        description: inboxDescription,
        security,
        querystring: {
          type: 'object',
          properties: {
            after: { type: 'string', pattern: '^\\d{1,15}$', description: 'cursor: the `next` of the previous page (default: from the start)' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
          },
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: { $ref: 'InboxItem#' } }, next: { type: 'string', description: 'cursor for the next page (unchanged when there was nothing new)' } },
            required: ['items', 'next'],
          },
        },
      },
    },
    async (request) => {
      const after = Number(request.query.after ?? '0');
      const entries = await store.readFeed(INBOX, after, request.query.limit ?? 50);
      const items = await Promise.all(
        entries.map(async (e) => {
          const item = await readInboxItem(store, e.id);
          return item ? { ...(await withFileStates(store, item)), cursor: String(e.seq) } : null;
        }),
      );
      const next = entries.length > 0 ? String(entries[entries.length - 1]!.seq) : String(after);
      return { items: items.filter((i) => i !== null), next };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/inbox/:id/ack',
    { onRequest: city, schema: { tags: ['inbox'], summary: 'Acknowledge an inbox item (idempotent)', security, params: idParams, response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      const current = await store.getDoc(INBOX, request.params.id);
      if (!current) throw new HttpError(404, 'NOT_FOUND', `no inbox item ${request.params.id}`);
      if (!current.ackedAt) {
        // The sender learns it through GetStatus: its message is now with the city (once per item: the job id).
        const event: StatusEvent = {
          originalMessageId: current.messageId,
          status: current.kind === 'response' ? 'responseIsDelivered' : 'underProcessing',
          details: current.kind === 'response' ? 'Ответ получен городской системой' : 'Принято в работу городской системой',
        };
        // Guarded: of two acks at the same moment only the first writes, so ackedAt is set once.
        const ackedAt = new Date().toISOString();
        await store.commit({
          idempotency: { key: `inbox-ack:${current.id}`, record: { digest: ackedAt, result: null, createdAt: Date.parse(ackedAt) } },
          docs: [write(INBOX, current.id, { ...current, ackedAt })],
          jobs: [jobInput(statusQueue(current.partner), `ack:${current.id}`, event)],
        });
      }
      return reply.status(204).send();
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/applications/:id',
    { onRequest: city, schema: { tags: ['applications'], summary: 'One application with its registration number and status history', security, params: idParams, response: { 200: { $ref: 'Application#' } } } },
    async (request) => {
      const application = await store.getDoc(APPLICATIONS, request.params.id);
      if (!application) throw new HttpError(404, 'NOT_FOUND', `no application ${request.params.id}`);
      // The interagency queries made for it (an append-only feed, so no lost updates).
      const queries = [];
      for (const e of await store.readFeed(applicationQueriesFeed(request.params.id), 0, 500)) {
        const q = await store.getDoc(QUERIES, e.id);
        if (q) queries.push({ id: q.id, service: q.service, state: q.state, createdAt: q.createdAt, answeredAt: q.answeredAt });
      }
      return { ...(await withFileStates(store, application)), queries };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/attachments/:id',
    { onRequest: city, schema: { tags: ['applications'], summary: 'The content of a stored attachment (streamed)', security, params: idParams } },
    async (request, reply) => {
      const stored = await store.getDoc(ATTACHMENTS, request.params.id);
      if (!stored) throw new HttpError(404, 'NOT_FOUND', `no attachment ${request.params.id}`);
      const type = /^[\w.+-]+\/[\w.+-]+$/.test(stored.mimeType) ? stored.mimeType : 'application/octet-stream';
      if (stored.blob) {
        // A file from the exchange's file store: streamed from ATTACHMENT_DIR, never held whole.
        const size = blobs ? await blobs.size(request.params.id) : null;
        if (!blobs || size === null) throw new HttpError(404, 'NOT_FOUND', `attachment ${request.params.id} is recorded but its file is missing from ATTACHMENT_DIR`);
        return reply.type(type).header('content-length', size).send(blobs.read(request.params.id));
      }
      return reply.type(type).send(Buffer.from(stored.base64 ?? '', 'base64'));
    },
  );
}
