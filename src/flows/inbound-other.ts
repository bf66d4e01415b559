/**
 * The other inbound operations: SendResponse (an agency answers one of the
 * city's queries), GetStatus (the caller's next status message) and Ack (the
 * caller acknowledges a message the gateway delivered to it).
 */
import { randomUUID } from 'node:crypto';
import { OUTBOUND, type ExchangeFileRef, type OutboundMessage } from '../city/model.js';
import { journalWrites } from '../journal/records.js';
import { SmevFault } from '../soap/faults.js';
import { ackReply, messageAccepted, statusReply, type InteractionStatus } from '../soap/reply.js';
import { write } from '../store/collection.js';
import { defineQueue } from '../store/typed-queue.js';
import { StoreReplicationError, type DocWrite, type Job, type JobInput, type JsonValue, type Queue } from '../store/types.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import type { FlowContext } from './context.js';
import { checkMessageIdFresh, checkTimestampFresh } from './freshness.js';
import { checkSignedStructure } from '../soap/signed-structure.js';
import { finishQuery, QUERIES, QUERY_BY_REPLY_TO, QUERY_STATUSES, queryStatusFeed } from './queries.js';
import { endQueryWithResponse } from './query-response.js';
import { exchangeFileWrites, hashAlgorithmFor } from './exchange-files.js';
import type { AttachmentSignaturePolicy } from '../pki/cms/attachment.js';
import { requireAttachmentSignersNotRevoked, type JournalAttachmentSignature } from './attachment-signatures.js';
import {
  attachments,
  exchangeFiles,
  idempotencyKey,
  journalInput,
  requireFileStoreSignatures,
  primaryContent,
  readMessageId,
  resolveService,
  signatureSummary,
  readContent,
  type InboundInput,
  type InboundResult,
} from './inbound-message.js';

const child = (el: XmlElement, name: string) => childElements(el).find((c) => c.localName === name);
const text = (el: XmlElement | undefined) => (el ? textContent(el).trim() : '');

/**
 * SendResponse: the answer to a query the city sent, correlated by `To` (= the
 * MessageID of our SendRequest). A final answer (content or RequestRejected)
 * ends the query through the guarded commit of `finishQuery`: the first one
 * wins, the same message again gets its first reply, another answer is
 * MessageIsAlreadySent. An interim RequestStatus is recorded and the query
 * stays open.
 */
export async function acceptSendResponse(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const signed = input.verification.caller.signedElement!;
  const messageId = readMessageId(signed);
  checkSignedStructure(signed, 'response');
  checkMessageIdFresh(messageId, input.receivedAt, ctx.config.messageMaxAgeHours);
  // Pushed: To = our MessageID (Okno's push convention). Pulled: the exchange's OriginalMessageId says which request it answers.
  const to = input.via ? (input.via.originalMessageId ?? '') : text(child(signed, 'To'));
  const link = to ? await ctx.store.getDoc(QUERY_BY_REPLY_TO, to) : null;
  const query = link ? await ctx.store.getDoc(QUERIES, link.queryId) : null;
  if (!query) throw new SmevFault('RequestIsNotFound', to ? `no query of the city is waiting for an answer addressed to "${to.slice(0, 100)}"` : 'SenderProvidedResponseData has no To');
  if (query.partner !== input.partner.id) throw new SmevFault('SenderIsNotRegistered', `the query was sent to ${query.partner}, not to ${input.partner.id}`);

  const digest = `${input.verification.caller.details.digestAlgorithm}:${input.verification.caller.details.digestValue}`;
  const rejected = childElements(signed).filter((c) => c.localName === 'RequestRejected');
  const status = child(signed, 'RequestStatus');
  const receivedAt = input.receivedAt.toISOString();
  const serviceTitle = ctx.catalogue.get(query.service)?.title ?? query.service;
  const reply = input.via ? '' : await messageAccepted('SendResponseResponse', input.version, {
    messageId,
    messageType: 'RESPONSE',
    sender: { mnemonic: input.partner.id, name: input.partner.name },
    recipient: ctx.self,
    sendingTimestamp: input.receivedAt,
    destinationName: ctx.self.mnemonic,
    contentTypeName: serviceTitle,
    interactionType: 'OIV2OIV',
    status: 'responseIsDelivered',
  }, { signer: ctx.signer, profile: input.partner.signatureProfile });
  const journal = (succeeded: boolean, attachmentSignatures?: JournalAttachmentSignature[]) =>
    journalWrites(journalInput(input, { operation: input.via?.operation ?? 'SendResponse', service: query.service, messageId, succeeded, applicationId: query.applicationId, ...(attachmentSignatures?.length ? { attachmentSignatures } : {}) }, reply), input.raw, input.via ? null : reply);
  const result = (duplicate: boolean, body: string): InboundResult => ({ reply: body, duplicate, service: query.service, messageId, applicationId: query.applicationId, registrationNumber: null });

  if (rejected.length === 0 && status) {
    // Interim status: recorded once per MessageID, the query stays open.
    const key = idempotencyKey(messageId);
    const seen = await ctx.store.getIdempotency(key);
    if (seen) {
      if (seen.digest !== digest) throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
      return result(true, (seen.result as { reply: string }).reply);
    }
    const statusId = randomUUID();
    const j = journal(true);
    const done = await ctx.store.commit({
      idempotency: { key, record: { digest, result: { reply }, createdAt: input.receivedAt.getTime() } },
      docs: [write(QUERY_STATUSES, statusId, { code: Number(text(child(status, 'StatusCode'))), description: text(child(status, 'StatusDescription')), at: receivedAt }), ...j.docs],
      blobs: j.blobs,
      feeds: [{ feed: queryStatusFeed(query.id), id: statusId }, ...j.feeds],
    });
    if (!done.applied) return result(true, (done.existing.result as { reply: string }).reply);
    return result(false, reply);
  }

  let final: Parameters<typeof finishQuery>[2];
  let fileRefs: ExchangeFileRef[] = [];
  let inline: ReturnType<typeof attachments> = { meta: [], docs: [], journal: [], checks: [] };
  let policy: AttachmentSignaturePolicy = 'optional';
  if (rejected.length > 0) {
    final = {
      state: 'rejected',
      answer: null,
      rejections: rejected.map((r) => ({ code: text(child(r, 'RejectionReasonCode')), description: text(child(r, 'RejectionReasonDescription')) })),
      answeredAt: receivedAt,
      responseInboxItemId: null,
      failure: null,
    };
  } else {
    const content = primaryContent(signed);
    const service = resolveService(ctx, input.partner, content, 'response');
    if (service.id !== query.service) {
      throw new SmevFault('BusinessDataTypeIsNotSupported', `the answer is ${service.id}, but the query was ${query.service}`, { rootElement: { localName: content.localName, namespace: content.namespaceURI } });
    }
    final = { state: 'answered', answer: readContent(service, 'response', content), rejections: [], answeredAt: receivedAt, responseInboxItemId: null, failure: null };
    // Inline and MTOM files of the answer: stored and their signatures checked, as a request's are.
    inline = attachments(ctx, input, service);
    await requireAttachmentSignersNotRevoked(ctx, inline.checks, input.receivedAt);
    // Files of the answer in the exchange's file store (pulled): fetched after the Ack, as a request's are.
    fileRefs = exchangeFiles(signed, input.via?.exchangeSigned ?? null);
    requireFileStoreSignatures(service, fileRefs);
    policy = service.attachmentSignature ?? 'optional';
  }
  const inboxId = randomUUID();
  const j = journal(true, inline.journal);
  // A response cannot be answered with RequestRejected: a file refused after the Ack is failed and announced (attachments.failed).
  const fetches = fileRefs.length > 0 && input.via
    ? exchangeFileWrites({
        inboxId,
        messageId,
        applicationId: query.applicationId,
        refs: fileRefs,
        exchange: input.via.exchange,
        signed,
        exchangeSigned: input.via.exchangeSigned,
        service: query.service,
        partner: input.partner.id,
        signaturePolicy: policy,
        replyTo: null,
        hashAlgorithm: hashAlgorithmFor(input.verification.caller.details.signatureAlgorithm),
        maxAttempts: ctx.config.fileStore.maxAttempts,
        webhook: ctx.config.cityWebhookUrl !== null,
        now: input.receivedAt,
      })
    : { docs: [], jobs: [] };
  const ended = await endQueryWithResponse(
    ctx,
    query,
    inboxId,
    final,
    { messageId, partner: input.partner.id, receivedAt, attachments: inline.meta, exchangeFiles: fileRefs, signature: signatureSummary(input) },
    { digest, result: { reply }, docs: [...inline.docs, ...fetches.docs, ...j.docs], blobs: j.blobs, feeds: j.feeds, jobs: fetches.jobs },
  );
  if (!ended.won) {
    if (ended.existing!.digest === digest) return result(true, (ended.existing!.result as { reply: string }).reply);
    throw new SmevFault('MessageIsAlreadySent', `query ${query.id} has already ended (${(await ctx.store.getDoc(QUERIES, query.id))?.state ?? 'ended'}); a second answer is not accepted`);
  }
  return result(false, reply);
}

/** The queue of status messages waiting for a partner's GetStatus. */
export const statusQueue = (partnerId: string) => defineQueue<StatusEvent>(`status.${partnerId}`);

export interface StatusEvent {
  originalMessageId: string;
  status: InteractionStatus;
  details: string;
}

/** GetStatus: hands out the caller's next status message (delivered once: the read is its acknowledgement). */
export async function acceptGetStatus(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  checkTimestampFresh(input.verification.caller.signedElement!, input.receivedAt);
  const queue = ctx.store.queue(statusQueue(input.partner.id));
  const job = await queue.reserve({ leaseMs: 30_000 });
  const event = job ? job.payload : null;
  const reply = await statusReply(input.version, event, { signer: ctx.signer, profile: input.partner.signatureProfile });
  const journal = journalWrites(journalInput(input, { operation: 'GetStatus', service: null, messageId: event?.originalMessageId ?? null, succeeded: true }, reply), input.raw, reply);
  await ctx.store.commit({ docs: journal.docs, blobs: journal.blobs, feeds: journal.feeds });
  if (job) await ackHandedOut(ctx, queue, job);
  return { reply, duplicate: false, service: null, messageId: event?.originalMessageId ?? null, applicationId: null, registrationNumber: null };
}

/**
 * The status message is in the reply: its job is done. An ack the replicas did not confirm
 * (StoreReplicationError, REDIS_WAIT_REPLICAS) still stands on the primary, so failing the
 * request would lose the status (acked, never answered); answering it is right — at worst a
 * failover loses the ack and the status is handed out once more.
 */
async function ackHandedOut(ctx: FlowContext, queue: Queue<StatusEvent>, job: Job<StatusEvent>): Promise<void> {
  try {
    await queue.ack(job.id, job.leaseToken!);
  } catch (error) {
    if (!(error instanceof StoreReplicationError)) throw error;
    ctx.logger.warn({ err: error, job: job.id }, 'GetStatus: the ack of a handed-out status is not confirmed by the replicas; answering it anyway');
  }
}

/** Ack: the partner confirms (or refuses) a message the gateway delivered to it. */
export async function acceptAck(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const target = input.verification.caller.signedElement!;
  const messageId = textContent(target).trim();
  const accepted = target.attributes.find((a) => a.localName === 'accepted')?.value !== 'false';
  const message = await ctx.store.getDoc(OUTBOUND, messageId);
  if (!message || message.partner !== input.partner.id) {
    throw new SmevFault('TargetMessageIsNotFound', `the gateway delivered no message ${messageId.slice(0, 64)} to ${input.partner.id}`);
  }
  const reply = ackReply(input.version);
  const updated: OutboundMessage = { ...message, ackedAt: input.receivedAt.toISOString(), accepted };
  const journal = journalWrites(journalInput(input, { operation: 'Ack', service: null, messageId, succeeded: true }, reply), input.raw, reply);
  await ctx.store.commit({ docs: [write(OUTBOUND, messageId, updated), ...journal.docs], blobs: journal.blobs, feeds: journal.feeds });
  return { reply, duplicate: false, service: null, messageId, applicationId: null, registrationNumber: null };
}
