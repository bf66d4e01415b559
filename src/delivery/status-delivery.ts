/**
 * Delivers status messages to the portal from the durable queue: signed
 * SendRequest with the ELK content, at least once on the wire, the same
 * MessageID on every attempt (so the portal, idempotent by MessageID, sees
 * each status once), in order per application (queue groups), with backoff;
 * a message the portal refuses as wrong goes dead at once instead of being
 * retried forever. Every attempt is journaled with both envelopes.
 */
import { asJson } from '../city/model.js';
import type { FlowContext } from '../flows/context.js';
import { ELK_SERVICE, STATUS_QUEUE, type Delivery } from '../flows/status-reporting.js';
import { journalWrites } from '../journal/records.js';
import { signDocument } from '../signature/sign.js';
import { sendRequestEnvelope } from '../soap/envelope-builder.js';
import type { Job } from '../store/types.js';
import { sendSoap, type SendOutcome } from './soap-client.js';
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
      const delivery = (await ctx.store.getDoc('deliveries', (job.payload as { deliveryId: string }).deliveryId)) as unknown as Delivery | null;
      if (!delivery) return;
      await ctx.store.commit({ docs: [{ collection: 'deliveries', id: delivery.id, value: asJson({ ...delivery, state: 'failed', failedAt: ctx.now().toISOString(), lastError: error }) }] });
    },
  });
}

async function deliver(ctx: FlowContext, job: Job): Promise<JobOutcome> {
  const { deliveryId } = job.payload as { deliveryId: string };
  const delivery = (await ctx.store.getDoc('deliveries', deliveryId)) as unknown as Delivery | null;
  if (!delivery) return { kind: 'dead', error: `delivery ${deliveryId} is gone` };
  const portal = ctx.partners.get(delivery.partner);
  if (!portal?.endpoint) return { kind: 'retry', error: `partner ${delivery.partner} has no endpoint (config/partners.json or PORTAL_URL)` };
  const elk = ctx.catalogue.get(ELK_SERVICE);
  if (!elk) return { kind: 'retry', error: `the service catalogue has no ${ELK_SERVICE}` };

  const envelope = sendRequestEnvelope({ version: '1.1', messageId: delivery.messageId, contentXml: elk.request.toXml(delivery.content) });
  const signed = await signDocument(envelope, { signer: ctx.signer, profile: portal.signatureProfile });
  const requestOutTs = ctx.now();
  const outcome = await sendSoap({ url: portal.endpoint, envelope: signed, soapAction: 'urn:SendRequest', timeoutMs: ctx.config.delivery.timeoutMs, partner: portal, trust: ctx.trustAnchors });
  const responseInTs = ctx.now();

  const journal = journalWrites(
    {
      correlationId: `delivery:${delivery.id}:${job.attempts}`,
      direction: 'outbound',
      operation: 'SendRequest',
      partner: portal.id,
      service: ELK_SERVICE,
      messageId: delivery.messageId,
      requestInTs: null,
      requestOutTs: requestOutTs.toISOString(),
      responseInTs: responseInTs.toISOString(),
      responseOutTs: null,
      requestSize: Buffer.byteLength(signed),
      responseSize: outcome.body ? Buffer.byteLength(outcome.body) : 0,
      succeeded: outcome.kind === 'accepted',
      faultCode: outcome.kind === 'refused' ? outcome.fault : outcome.kind === 'transient' ? 'transient' : null,
      faultString: describe(outcome),
      duplicate: false,
      signature: null,
      applicationId: delivery.applicationId,
      registrationNumber: delivery.registrationNumber,
    },
    signed,
    outcome.body,
  );
  const now = responseInTs.toISOString();
  const updated: Delivery =
    outcome.kind === 'accepted'
      ? { ...delivery, state: 'delivered', deliveredAt: now, lastError: null }
      : { ...delivery, lastError: describe(outcome) };
  await ctx.store.commit({ docs: [...journal.docs, { collection: 'deliveries', id: delivery.id, value: asJson(updated) }], feeds: journal.feeds });

  const log = { deliveryId: delivery.id, applicationId: delivery.applicationId, messageId: delivery.messageId, attempt: job.attempts, outcome: outcome.kind };
  if (outcome.kind === 'accepted') {
    ctx.logger.info(log, 'status delivered to the portal');
    return { kind: 'done' };
  }
  ctx.logger.warn({ ...log, error: describe(outcome) }, 'status not delivered');
  const error = describe(outcome) ?? 'not delivered';
  return outcome.kind === 'refused' ? { kind: 'dead', error } : { kind: 'retry', error };
}

function describe(outcome: SendOutcome): string | null {
  if (outcome.kind === 'accepted') return null;
  if (outcome.kind === 'refused') return `refused by the portal: ${outcome.fault}: ${outcome.message}`;
  return outcome.error;
}
