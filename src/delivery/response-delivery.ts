/** Sends the city's answers to agencies' queries (signed SendResponse) from the durable queue. */
import { REQUEST_DELIVERIES, REQUESTS, RESPONSE_QUEUE, type ResponseDelivery } from '../flows/city-answers.js';
import type { FlowContext } from '../flows/context.js';
import { sendResponseEnvelope, type ResponseBody } from '../soap/envelope-builder.js';
import { write } from '../store/collection.js';
import type { Job } from '../store/types.js';
import { describeOutcome, mtomAttachments, sendToPartner, settle, uploadFileStoreFiles } from './outbound-send.js';
import { startQueueWorker, type JobOutcome, type QueueWorker } from './queue-worker.js';

export function startResponseDelivery(ctx: FlowContext): QueueWorker {
  const d = ctx.config.delivery;
  return startQueueWorker({
    store: ctx.store,
    queue: RESPONSE_QUEUE,
    logger: ctx.logger,
    concurrency: 2,
    leaseMs: d.timeoutMs * 2 + 5_000,
    backoff: { baseMs: d.backoffMs, capMs: d.backoffCapMs },
    handle: (job) => send(ctx, job),
  });
}

async function send(ctx: FlowContext, job: Job<{ requestId: string }>): Promise<JobOutcome> {
  const request = await ctx.store.getDoc(REQUESTS, job.payload.requestId);
  if (!request?.answer || !request.responseMessageId) return { kind: 'dead', error: 'the answer is gone' };
  const partner = ctx.partners.get(request.partner);
  const service = ctx.catalogue.get(request.service);
  if (!partner || !service?.response) return { kind: 'dead', error: `partner ${request.partner} or service ${request.service} is gone` };
  const body: ResponseBody =
    request.answer.kind === 'content'
      ? { kind: 'content', contentXml: service.response.toXml(request.answer.data) }
      : { kind: 'rejected', rejections: [{ code: request.answer.code, description: request.answer.description }] };
  // Files: MTOM parts, or (pull mode, above ATTACHMENT_INLINE_MAX_BYTES) uploaded to the exchange's file store first, once per message.
  const files = request.files ?? [];
  const stored = await uploadFileStoreFiles(ctx, partner, request.responseMessageId, files);
  if (stored.kind !== 'ready') return { kind: stored.kind, error: stored.error };
  // Pushed requests are answered To = their MessageID; pulled ones To = the ReplyTo the exchange gave them.
  const envelope = sendResponseEnvelope({ version: '1.1', messageId: request.responseMessageId, to: request.replyTo ?? request.messageId, body, attachments: mtomAttachments(files), refAttachments: stored.refs });
  const outcome = await sendToPartner(ctx, {
    partner,
    envelope,
    operation: 'SendResponse',
    service: service.id,
    messageId: request.responseMessageId,
    correlationId: `request:${request.id}:${job.attempts}`,
    files,
    uploads: stored.uploads,
    docs: (o) => {
      const delivery: ResponseDelivery = { state: o.kind === 'accepted' ? 'delivered' : 'pending', attempts: job.attempts, lastError: describeOutcome(o), deliveredAt: o.kind === 'accepted' ? ctx.now().toISOString() : null };
      return [write(REQUEST_DELIVERIES, request.id, delivery)];
    },
  });
  return settle(ctx, outcome, 'answer', { requestId: request.id, partner: partner.id, attempt: job.attempts });
}
