/**
 * Delivers status messages to the portal from the durable queue: signed
 * SendRequest with the ELK content, at least once on the wire, the same
 * MessageID on every attempt (so the portal, idempotent by MessageID, sees
 * each status once), in order per application (queue groups), with backoff;
 * a message the portal refuses as wrong goes dead at once instead of being
 * retried forever. Every attempt is journaled with both envelopes.
 */
import type { FlowContext } from '../flows/context.js';
import { DELIVERIES, ELK_SERVICE, STATUS_QUEUE, type Delivery } from '../flows/status-reporting.js';
import { sendRequestEnvelope } from '../soap/envelope-builder.js';
import { write } from '../store/collection.js';
import type { Job } from '../store/types.js';
import { describeOutcome, mtomAttachments, uploadFileStoreFiles, sendToPartner, settle } from './outbound-send.js';
import { startQueueWorker, type JobOutcome, type QueueWorker } from './queue-worker.js';

export function startStatusDelivery(ctx: FlowContext): QueueWorker {
  const d = ctx.config.delivery;
  return startQueueWorker({
    store: ctx.store,
    queue: STATUS_QUEUE,
    logger: ctx.logger,
    concurrency: 4,
    // The lease outlives the longest attempt, so no second process takes a message still on the wire.
    leaseMs: d.timeoutMs * 2 + 5_000,
    backoff: { baseMs: d.backoffMs, capMs: d.backoffCapMs },
    handle: (job) => deliver(ctx, job),
    onDead: async (job, error) => {
      const delivery = await ctx.store.getDoc(DELIVERIES, job.payload.deliveryId);
      if (!delivery) return;
      await ctx.store.commit({ docs: [write(DELIVERIES, delivery.id, { ...delivery, state: 'failed', failedAt: ctx.now().toISOString(), lastError: error })] });
    },
  });
}

async function deliver(ctx: FlowContext, job: Job<{ deliveryId: string }>): Promise<JobOutcome> {
  const { deliveryId } = job.payload;
  const delivery = await ctx.store.getDoc(DELIVERIES, deliveryId);
  if (!delivery) return { kind: 'dead', error: `delivery ${deliveryId} is gone` };
  const portal = ctx.partners.get(delivery.partner);
  if (!portal) return { kind: 'dead', error: `partner ${delivery.partner} is no longer registered` };
  const elk = ctx.catalogue.get(ELK_SERVICE);
  if (!elk) return { kind: 'retry', error: `the service catalogue has no ${ELK_SERVICE}` };

  const files = delivery.files ?? [];
  // Pull mode's large files go through the exchange's file store first (once per message), the rest as MTOM parts.
  const stored = await uploadFileStoreFiles(ctx, portal, delivery.messageId, files);
  if (stored.kind !== 'ready') return { kind: stored.kind, error: stored.error };
  const envelope = sendRequestEnvelope({ version: '1.1', messageId: delivery.messageId, contentXml: elk.request.toXml(delivery.content), attachments: mtomAttachments(files), refAttachments: stored.refs });
  const outcome = await sendToPartner(ctx, {
    partner: portal,
    envelope,
    operation: 'SendRequest',
    service: ELK_SERVICE,
    messageId: delivery.messageId,
    correlationId: `delivery:${delivery.id}:${job.attempts}`,
    applicationId: delivery.applicationId,
    registrationNumber: delivery.registrationNumber,
    files,
    uploads: stored.uploads,
    docs: (o) => {
      const now = ctx.now().toISOString();
      const updated: Delivery = o.kind === 'accepted' ? { ...delivery, state: 'delivered', deliveredAt: now, lastError: null } : { ...delivery, lastError: describeOutcome(o) };
      return [write(DELIVERIES, delivery.id, updated)];
    },
  });
  return settle(ctx, outcome, 'status', { deliveryId: delivery.id, applicationId: delivery.applicationId, messageId: delivery.messageId, attempt: job.attempts });
}
