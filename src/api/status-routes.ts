/**
 * The city changes an application's status (which goes to the portal as a
 * signed ELK message) and follows each delivery; operations staff list dead
 * deliveries and replay or discard them.
 */
import type {} from '@fastify/swagger';
import { exchangeStatusesOf } from '../pull/exchange-status.js';
import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../city/lifecycle.js';
import type { FlowContext } from '../flows/context.js';
import { changeStatus, DELIVERIES, STATUS_QUEUE, type Delivery } from '../flows/status-reporting.js';
import { recordDeliveryAction } from '../ops/delivery-actions.js';
import { write } from '../store/collection.js';
import type { Job } from '../store/types.js';
import type { TokenAuth } from '../http/auth.js';
import { HttpError } from '../http/errors.js';
import { idParams } from '../http/schemas.js';
import { errorResponse } from '../http/openapi-errors.js';

const deliverySchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    applicationId: { type: 'string' },
    registrationNumber: { type: 'string' },
    code: { type: 'string' },
    elkCode: { type: 'integer' },
    files: {
      type: 'array',
      description: 'the files the status carries, as every attempt sends them',
      items: { type: 'object', properties: { id: { type: 'string' }, fileName: { type: 'string' }, mimeType: { type: 'string' }, size: { type: 'integer' }, sha256: { type: 'string' }, docTypeId: { type: ['string', 'null'] }, transport: { type: 'string', enum: ['mtom', 'file-store'] } } },
    },
    kind: { type: 'string', enum: ['create', 'update'] },
    messageId: { type: 'string' },
    state: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: { type: 'integer' },
    lastError: { type: ['string', 'null'] },
    nextAttemptAt: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    deliveredAt: { type: ['string', 'null'] },
    exchangeStatuses: {
      type: 'array',
      description: "pull mode: what the SMEV exchange reported about the message (GetStatus), oldest first",
      items: { type: 'object', properties: { status: { type: 'string' }, details: { type: ['string', 'null'] }, at: { type: 'string' } } },
    },
  },
} as const;

/** The delivery as the API shows it: its record, with attempts and the queue's view while it is open. */
export function deliveryView(d: Delivery, job: Job | null) {
  const state = job ? (job.state === 'done' ? 'delivered' : job.state === 'dead' ? 'failed' : 'pending') : d.state;
  return {
    id: d.id,
    applicationId: d.applicationId,
    registrationNumber: d.registrationNumber,
    code: d.code,
    elkCode: d.elkCode,
    files: (d.files ?? []).map((f) => ({ id: f.id, fileName: f.fileName, mimeType: f.mimeType, size: f.size, sha256: f.sha256, docTypeId: f.docTypeId, transport: f.transport })),
    kind: d.kind,
    messageId: d.messageId,
    state,
    attempts: job?.attempts ?? (d.state === 'pending' ? 0 : 1),
    lastError: job?.lastError ?? d.lastError,
    nextAttemptAt: job && job.state === 'pending' ? new Date(job.availableAt).toISOString() : null,
    createdAt: d.createdAt,
    deliveredAt: d.deliveredAt,
  };
}

export function registerStatusRoutes(app: FastifyInstance, ctx: FlowContext, lifecycle: Lifecycle, auth: TokenAuth): void {
  const security = [{ bearer: [] }];
  const queue = ctx.store.queue(STATUS_QUEUE);

  app.post<{ Params: { id: string }; Body: { code: string; comment?: string; files?: Array<{ id: string; docTypeId?: string }> } }>(
    '/api/v1/applications/:id/status',
    {
      onRequest: auth.require('city'),
      schema: {
        tags: ['applications'],
        summary: 'Move an application to a new status; the portal is told with a signed ELK message',
        security,
        params: idParams,
        body: {
          type: 'object',
          properties: {
            code: { type: 'string', enum: lifecycle.stateIds, description: 'the new status (config/lifecycle.json)' },
            comment: { type: 'string', minLength: 1, maxLength: 1000, description: 'shown to the applicant on the portal' },
            files: {
              type: 'array',
              maxItems: 20,
              description: 'result documents (POST /api/v1/files) the status carries to the applicant\'s cabinet: signed by the gateway (detached CMS), sent as MTOM parts up to ATTACHMENT_INLINE_MAX_BYTES, larger ones (pull mode only) through the exchange\'s file store, named in the ELK statusHistory as attachments/attachment {FSuuid, docTypeId}',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string', pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$', description: 'the file id POST /api/v1/files returned' },
                  docTypeId: { type: 'string', pattern: '^[A-Za-z0-9_]{1,50}$', default: 'ELK_RESULT', description: 'the document type in the cabinet (ELK_RESULT: the result of the service)' },
                },
                required: ['id'],
                additionalProperties: false,
              },
            },
          },
          required: ['code'],
          additionalProperties: false,
        },
        response: { 202: { type: 'object', properties: { deliveryId: { type: 'string' } }, required: ['deliveryId'] }, 409: errorResponse('The transition is not allowed from the current status, or the portal cannot be told (the code says which)'), 422: errorResponse('A file named in files cannot be sent: unknown id (UNKNOWN_FILE), larger than ATTACHMENT_INLINE_MAX_BYTES in push mode (FILE_TOO_LARGE), a MIME type the ELK service does not take (MIME_TYPE_NOT_ALLOWED), named twice (DUPLICATE_FILE)') },
      },
    },
    async (request, reply) => {
      const delivery = await changeStatus(ctx, lifecycle, request.params.id, request.body);
      request.log.info({ applicationId: delivery.applicationId, code: delivery.code, deliveryId: delivery.id }, 'status changed');
      return reply.status(202).send({ deliveryId: delivery.id });
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/deliveries/:id',
    { onRequest: auth.require('city', 'ops'), schema: { tags: ['applications'], summary: 'Where a status message is: pending, delivered or failed', security, params: idParams, response: { 200: deliverySchema } } },
    async (request) => {
      const d = await ctx.store.getDoc(DELIVERIES, request.params.id);
      if (!d) throw new HttpError(404, 'NOT_FOUND', `no delivery ${request.params.id}`);
      const view = deliveryView(d, await queue.get(d.id));
      const partner = ctx.partners.get(d.partner);
      return partner?.transport.mode === 'pull' ? { ...view, exchangeStatuses: await exchangeStatusesOf(ctx.store, d.messageId) } : view;
    },
  );

  app.get<{ Querystring: { state: 'dead' | 'pending' | 'inflight' | 'done'; limit?: number } }>(
    '/api/v1/ops/deliveries',
    {
      onRequest: auth.require('ops'),
      schema: {
        tags: ['operations'],
        summary: 'Status deliveries by queue state (dead: refused or out of attempts, waiting for ops)',
        security,
        querystring: {
          type: 'object',
          properties: { state: { type: 'string', enum: ['dead', 'pending', 'inflight', 'done'], default: 'dead' }, limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          additionalProperties: false,
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: deliverySchema } } } },
      },
    },
    async (request) => {
      const jobs = await queue.list(request.query.state, request.query.limit ?? 100);
      const items = [];
      for (const job of jobs) {
        const d = await ctx.store.getDoc(DELIVERIES, job.id);
        if (d) items.push(deliveryView(d, job));
      }
      return { items };
    },
  );

  for (const action of ['replay', 'discard'] as const) {
    app.post<{ Params: { id: string } }>(
      `/api/v1/ops/deliveries/:id/${action}`,
      {
        onRequest: auth.require('ops'),
        schema: {
          tags: ['operations'],
          summary: action === 'replay' ? 'Send a dead delivery again (attempts start over)' : 'Give up a dead or stuck (pending, retrying) delivery; later statuses of the application go on',
          security,
          params: idParams,
          response: { 200: deliverySchema, 409: errorResponse(action === 'replay' ? 'The delivery is not dead (NOT_DEAD)' : 'The delivery is neither dead nor waiting for its next attempt: delivered, or in flight right now (NOT_DISCARDABLE)') },
        },
      },
      async (request) => {
        const d = await ctx.store.getDoc(DELIVERIES, request.params.id);
        if (!d) throw new HttpError(404, 'NOT_FOUND', `no delivery ${request.params.id}`);
        const before = await queue.get(d.id);
        const ok = action === 'replay' ? await queue.replay(d.id) : await queue.discard(d.id);
        if (!ok && action === 'replay') throw new HttpError(409, 'NOT_DEAD', `delivery ${d.id} is not dead; only dead deliveries can be replayed`);
        if (!ok) throw new HttpError(409, 'NOT_DISCARDABLE', `delivery ${d.id} is ${before?.state === 'inflight' ? 'being attempted right now; try again in a moment' : 'neither dead nor waiting for its next attempt'}; only dead or stuck deliveries can be discarded`);
        // The queue forgets the dead attempts (replay starts over; discard removes the job): the trail must not.
        const wasDead = before?.state === 'dead';
        if (action === 'discard' && !wasDead) {
          // A stuck delivery never went dead, so nothing marked its record failed: the discard does.
          await ctx.store.commit({ docs: [write(DELIVERIES, d.id, { ...d, state: 'failed', lastError: before?.lastError ?? null, failedAt: ctx.now().toISOString() })] });
        }
        await recordDeliveryAction(ctx.store, d.id, {
          action,
          at: ctx.now().toISOString(),
          attempts: before?.attempts ?? 0,
          lastError: before?.lastError ?? null,
          deadAt: before && wasDead ? new Date(before.updatedAt).toISOString() : null,
          from: wasDead ? 'dead' : 'retrying',
        });
        request.log.warn({ deliveryId: d.id, applicationId: d.applicationId, action, role: request.role }, `ops: delivery ${action}`);
        const job = await queue.get(d.id);
        return deliveryView({ ...d, state: action === 'discard' ? 'failed' : 'pending' }, job);
      },
    );
  }
}

