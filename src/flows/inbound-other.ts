/**
 * The other inbound operations: SendResponse (an agency answers one of the
 * city's queries), GetStatus (the caller's next status message) and Ack (the
 * caller acknowledges a message the gateway delivered to it).
 */
import { randomUUID } from 'node:crypto';
import { asJson, type InboxItem, type OutboundMessage, type OutboundQuery } from '../city/model.js';
import { journalWrites } from '../journal/records.js';
import { SmevFault } from '../soap/faults.js';
import { ackReply, messageAccepted, statusReply, type InteractionStatus } from '../soap/reply.js';
import type { DocWrite, JobInput, JsonValue } from '../store/types.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { WEBHOOK_QUEUE, type FlowContext } from './context.js';
import {
  idempotencyKey,
  journalInput,
  primaryContent,
  readMessageId,
  resolveService,
  signatureSummary,
  validateContent,
  type InboundInput,
  type InboundResult,
} from './inbound-message.js';

const child = (el: XmlElement, name: string) => childElements(el).find((c) => c.localName === name);
const text = (el: XmlElement | undefined) => (el ? textContent(el).trim() : '');

export const QUERY_BY_REPLY_TO = 'query-by-reply-to';

/** SendResponse: the answer (content, rejection or interim status) to a query the city sent. */
export async function acceptSendResponse(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const signed = input.verification.caller.signedElement!;
  const messageId = readMessageId(signed);
  const to = text(child(signed, 'To'));
  const link = to ? await ctx.store.getDoc<{ queryId: string }>(QUERY_BY_REPLY_TO, to) : null;
  const query = link ? await ctx.store.getDoc<OutboundQuery & JsonValue>('queries', link.queryId) : null;
  if (!query) throw new SmevFault('RequestIsNotFound', to ? `no query of the city is waiting for an answer addressed to "${to.slice(0, 100)}"` : 'SenderProvidedResponseData has no To');
  if (query.partner !== input.partner.id) throw new SmevFault('SenderIsNotRegistered', `the query was sent to ${query.partner}, not to ${input.partner.id}`);

  const key = idempotencyKey(messageId);
  const digest = `${input.verification.caller.details.digestAlgorithm}:${input.verification.caller.details.digestValue}`;
  const seen = await ctx.store.getIdempotency(key);
  if (seen) {
    if (seen.digest !== digest) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
    return { reply: (seen.result as { reply: string }).reply, duplicate: true, service: query.service, messageId, applicationId: query.applicationId, registrationNumber: null };
  }
  if (query.state === 'answered' || query.state === 'rejected' || query.state === 'failed') {
    throw new SmevFault('MessageIsAlreadySent', `query ${query.id} is already ${query.state}; a second answer is not accepted`);
  }

  const receivedAt = input.receivedAt.toISOString();
  const updated: OutboundQuery = { ...(query as unknown as OutboundQuery) };
  const docs: DocWrite[] = [];
  const feeds = [];
  const jobs: JobInput[] = [];
  const rejected = childElements(signed).filter((c) => c.localName === 'RequestRejected');
  const status = child(signed, 'RequestStatus');
  let inboxId: string | null = null;

  if (rejected.length > 0) {
    updated.state = 'rejected';
    updated.rejections = rejected.map((r) => ({ code: text(child(r, 'RejectionReasonCode')), description: text(child(r, 'RejectionReasonDescription')) }));
    updated.answeredAt = receivedAt;
  } else if (status) {
    updated.statuses = [...updated.statuses, { code: Number(text(child(status, 'StatusCode'))), description: text(child(status, 'StatusDescription')), at: receivedAt }];
  } else {
    const content = primaryContent(signed);
    const service = resolveService(ctx, input.partner, content, 'response');
    if (service.id !== query.service) throw new SmevFault('BusinessDataTypeIsNotSupported', `the answer is ${service.id}, but the query was ${query.service}`, { rootElement: { localName: content.localName, namespace: content.namespaceURI } });
    validateContent(service, 'response', content);
    updated.state = 'answered';
    updated.answer = service.response!.toJson(content);
    updated.answeredAt = receivedAt;
  }
  if (updated.state !== query.state || rejected.length > 0 || !status) {
    inboxId = randomUUID();
    updated.responseInboxItemId = inboxId;
    const serviceTitle = ctx.catalogue.get(query.service)?.title ?? query.service;
    const item: InboxItem = {
      id: inboxId,
      kind: 'response',
      service: query.service,
      serviceTitle,
      messageId,
      partner: input.partner.id,
      receivedAt,
      content: asJson({ queryId: query.id, state: updated.state, answer: updated.answer, rejections: updated.rejections }),
      attachments: [],
      signature: signatureSummary(input),
      test: false,
      applicationId: query.applicationId,
      registrationNumber: null,
      requestId: null,
      ackedAt: null,
    };
    docs.push({ collection: 'inbox', id: inboxId, value: asJson(item) });
    feeds.push({ feed: 'inbox', id: inboxId });
    if (ctx.config.cityWebhookUrl) jobs.push({ queue: WEBHOOK_QUEUE, id: inboxId, payload: { inboxId } });
  }
  docs.push({ collection: 'queries', id: query.id, value: asJson(updated) });

  const reply = await messageAccepted('SendResponseResponse', input.version, {
    messageId,
    messageType: 'RESPONSE',
    sender: { mnemonic: input.partner.id, name: input.partner.name },
    recipient: ctx.self,
    sendingTimestamp: input.receivedAt,
    destinationName: ctx.self.mnemonic,
    contentTypeName: ctx.catalogue.get(query.service)?.title ?? query.service,
    interactionType: 'OIV2OIV',
    status: 'responseIsDelivered',
  }, { signer: ctx.signer, profile: input.partner.signatureProfile });
  const journal = journalWrites(journalInput(input, { operation: 'SendResponse', service: query.service, messageId, succeeded: true, applicationId: query.applicationId }, reply), input.raw, reply);
  const result = await ctx.store.commit({
    idempotency: { key, record: { digest, result: { reply }, createdAt: input.receivedAt.getTime() } },
    docs: [...docs, ...journal.docs],
    feeds: [...feeds, ...journal.feeds],
    jobs,
  });
  if (!result.applied) {
    if (result.existing.digest !== digest) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
    return { reply: (result.existing.result as { reply: string }).reply, duplicate: true, service: query.service, messageId, applicationId: query.applicationId, registrationNumber: null };
  }
  return { reply, duplicate: false, service: query.service, messageId, applicationId: query.applicationId, registrationNumber: null };
}

/** The queue of status messages waiting for a partner's GetStatus. */
export const statusQueue = (partnerId: string) => `status.${partnerId}`;

export interface StatusEvent {
  originalMessageId: string;
  status: InteractionStatus;
  details: string;
}

/** GetStatus: hands out the caller's next status message (delivered once: the read is its acknowledgement). */
export async function acceptGetStatus(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const queue = ctx.store.queue(statusQueue(input.partner.id));
  const job = await queue.reserve({ leaseMs: 30_000 });
  const event = job ? (job.payload as unknown as StatusEvent) : null;
  const reply = await statusReply(input.version, event, { signer: ctx.signer, profile: input.partner.signatureProfile });
  const journal = journalWrites(journalInput(input, { operation: 'GetStatus', service: null, messageId: event?.originalMessageId ?? null, succeeded: true }, reply), input.raw, reply);
  await ctx.store.commit({ docs: journal.docs, feeds: journal.feeds });
  if (job) await queue.ack(job.id, job.leaseToken!);
  return { reply, duplicate: false, service: null, messageId: event?.originalMessageId ?? null, applicationId: null, registrationNumber: null };
}

/** Ack: the partner confirms (or refuses) a message the gateway delivered to it. */
export async function acceptAck(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const target = input.verification.caller.signedElement!;
  const messageId = textContent(target).trim();
  const accepted = target.attributes.find((a) => a.localName === 'accepted')?.value !== 'false';
  const message = await ctx.store.getDoc<OutboundMessage & JsonValue>('outbound', messageId);
  if (!message || message.partner !== input.partner.id) {
    throw new SmevFault('TargetMessageIsNotFound', `the gateway delivered no message ${messageId.slice(0, 64)} to ${input.partner.id}`);
  }
  const reply = ackReply(input.version);
  const updated: OutboundMessage = { ...(message as unknown as OutboundMessage), ackedAt: input.receivedAt.toISOString(), accepted };
  const journal = journalWrites(journalInput(input, { operation: 'Ack', service: null, messageId, succeeded: true }, reply), input.raw, reply);
  await ctx.store.commit({ docs: [{ collection: 'outbound', id: messageId, value: asJson(updated) }, ...journal.docs], feeds: journal.feeds });
  return { reply, duplicate: false, service: null, messageId, applicationId: null, registrationNumber: null };
}
