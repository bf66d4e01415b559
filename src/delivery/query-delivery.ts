/**
 * Sends the city's queries to agencies from the durable queue (signed
 * SendRequest, the same MessageID on every attempt, backoff, refusals dead at
 * once), and ends queries whose deadline passed without an answer. Queries to
 * partners with transport xroad go through the Security Server and are
 * answered by the same call (xroad-query-delivery.ts).
 */
import type { FlowContext } from '../flows/context.js';
import { afterQueryEnded, finishQuery, QUERIES, QUERY_DATA, QUERY_DEADLINES, QUERY_DELIVERIES, QUERY_QUEUE, type QueryDelivery, type StoredQuery } from '../flows/queries.js';
import { sendRequestEnvelope } from '../soap/envelope-builder.js';
import { write } from '../store/collection.js';
import type { Job } from '../store/types.js';
import { describeOutcome, mtomAttachments, uploadFileStoreFiles, sendToPartner, settle } from './outbound-send.js';
import { sendXRoadQuery } from './xroad-query-delivery.js';
import { startQueueWorker, type JobOutcome, type QueueWorker } from './queue-worker.js';

export function startQueryDelivery(ctx: FlowContext): QueueWorker[] {
  const d = ctx.config.delivery;
  const sender = startQueueWorker({
    store: ctx.store,
    queue: QUERY_QUEUE,
    logger: ctx.logger,
    concurrency: 4,
    leaseMs: d.timeoutMs * 2 + 5_000,
    backoff: { baseMs: d.backoffMs, capMs: d.backoffCapMs },
    handle: (job) => send(ctx, job),
    onDead: async (job, error) => {
      const query = await load(ctx, job);
      if (!query) return;
      const ended = await finishQuery(ctx, query, { state: 'failed', answer: null, rejections: [], answeredAt: null, responseInboxItemId: null, failure: `not delivered to ${query.partner}: ${error}` }, { digest: 'undeliverable', result: null });
      if (ended.won) await afterQueryEnded(ctx, ctx.lifecycle, query.applicationId);
    },
  });
  const deadlines = startQueueWorker({
    store: ctx.store,
    queue: QUERY_DEADLINES,
    logger: ctx.logger,
    idleMs: 1_000,
    handle: async (job) => {
      const query = await load(ctx, job);
      if (!query || query.state !== 'sent') return { kind: 'done' };
      const ended = await finishQuery(ctx, query, { state: 'failed', answer: null, rejections: [], answeredAt: null, responseInboxItemId: null, failure: `no answer from ${query.partner} by the deadline ${query.deadline}` }, { digest: 'deadline', result: null });
      if (ended.won) {
        ctx.logger.warn({ queryId: query.id, partner: query.partner, service: query.service }, 'query failed: no answer by its deadline');
        await afterQueryEnded(ctx, ctx.lifecycle, query.applicationId);
      }
      return { kind: 'done' };
    },
  });
  return [sender, deadlines];
}

async function load(ctx: FlowContext, job: Job<{ queryId: string }>): Promise<StoredQuery | null> {
  return ctx.store.getDoc(QUERIES, job.payload.queryId);
}

async function send(ctx: FlowContext, job: Job<{ queryId: string }>): Promise<JobOutcome> {
  const query = await load(ctx, job);
  if (!query) return { kind: 'dead', error: 'the query is gone' };
  if (query.state !== 'sent') return { kind: 'done' }; // ended meanwhile (deadline)
  const partner = ctx.partners.get(query.partner);
  const service = ctx.catalogue.get(query.service);
  const data = await ctx.store.getDoc(QUERY_DATA, query.id);
  if (!partner || !service || data === null) return { kind: 'dead', error: `partner ${query.partner}, service ${query.service} or the query's data is gone` };
  if (partner.transport.mode === 'xroad') return sendXRoadQuery(ctx, query, partner, service, data, job.attempts);
  const files = query.files ?? [];
  const stored = await uploadFileStoreFiles(ctx, partner, query.messageId, files);
  if (stored.kind !== 'ready') return { kind: stored.kind, error: stored.error };
  const envelope = sendRequestEnvelope({ version: '1.1', messageId: query.messageId, contentXml: service.request.toXml(data), attachments: mtomAttachments(files), refAttachments: stored.refs });
  const outcome = await sendToPartner(ctx, {
    partner,
    envelope,
    operation: 'SendRequest',
    service: service.id,
    messageId: query.messageId,
    correlationId: `query:${query.id}:${job.attempts}`,
    applicationId: query.applicationId,
    files,
    uploads: stored.uploads,
    docs: (o) => {
      const delivery: QueryDelivery = {
        state: o.kind === 'accepted' ? 'delivered' : 'pending',
        attempts: job.attempts,
        lastError: describeOutcome(o),
        deliveredAt: o.kind === 'accepted' ? ctx.now().toISOString() : null,
      };
      return [write(QUERY_DELIVERIES, query.id, delivery)];
    },
  });
  return settle(ctx, outcome, 'query', { queryId: query.id, partner: partner.id, service: service.id, attempt: job.attempts });
}
