/**
 * What the gateway does with a message the exchange delivered (pull mode):
 *
 * 1. the exchange's SMEVSignature over Request / Response must verify against
 *    the exchange's registered certificate — otherwise Ack accepted=false (the
 *    XSD: "ЭП-СМЭВ отвергнута, и сообщение проигнорировано") and a journal record;
 * 2. the sender's own signature (and PersonalSignature) is checked exactly as
 *    push mode checks a SendRequest, and the sender must be a partner reached
 *    through this exchange;
 * 3. the SAME intake as POST /ws/smev3 (acceptSendRequest / acceptSendResponse):
 *    idempotency by MessageID, rights, XSD, translation of the signed element,
 *    registration number, one atomic commit with the journal record;
 * 4. only after that commit: Ack accepted=true. A crash before the Ack leaves
 *    the message with the exchange, which delivers it again after its
 *    visibility timeout; the intake then finds the MessageID and only acks.
 *
 * A request the city cannot accept (invalid content, a service the sender may
 * not send, a bad sender signature) is journaled and answered to the sender
 * through the exchange with a SendResponse carrying RequestRejected (queued in
 * the same commit), then acked. A store failure acks nothing: the exchange
 * delivers the message again.
 *
 * A delivery the gateway cannot process at all — unreadable, or an error that
 * is not a SMEV fault while the store answers — is counted per message and,
 * at PULL_MAX_TRIES, journaled and recorded dead (dead-deliveries.ts): not
 * processed again, left to ops (Ack or RequestRejected on /ops).
 */
import type { Exchange, Partner } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { acceptSendRequest, journalInput, type InboundInput, type InboundResult } from '../flows/inbound-message.js';
import { acceptSendResponse } from '../flows/inbound-other.js';
import { journalWrites } from '../journal/records.js';
import { requireNotRevoked, RevocationUnavailable } from '../flows/revocation.js';
import { opsEvents } from '../events/messages.js';
import { SignatureFailure } from '../signature/dsig.js';
import type { SmevVerification } from '../signature/smev-profile.js';
import { ackEnvelope } from '../soap/envelope-builder.js';
import { SmevFault } from '../soap/faults.js';
import { uuidV1 } from '../soap/message-id.js';
import { jobInput } from '../store/typed-queue.js';
import { StoreReplicationError, type JobInput } from '../store/types.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument } from '../xml/types.js';
import { locateDelivered, verifyExchangeSignature, verifySender, type DeliveredMessage } from './delivered-message.js';
import { callExchange, ExchangeError, journalExchangeCall, type ExchangeReply } from './exchange-client.js';
import { splitReply, type ReplyBody } from './reply-body.js';
import { deadAlready, DeliveryNotProcessable, digestOf, recordFailedTry, salvageIdentity, type DeliveredIdentity } from './dead-deliveries.js';
import { REJECTION_QUEUE, type RejectionJob } from '../flows/rejection.js';

export { REJECTION_QUEUE, type RejectionJob } from '../flows/rejection.js';

const ENVELOPE_LIMITS = { maxDepth: 128, maxAttributes: 64 };

/** Handles one GetRequest / GetResponse reply; false when the exchange had nothing for us. */
export async function handleDelivery(ctx: FlowContext, exchange: Exchange, operation: 'GetRequest' | 'GetResponse', reply: ExchangeReply, signal: AbortSignal): Promise<boolean> {
  const receivedAt = ctx.now();
  const started = performance.now();
  let body: ReplyBody;
  try {
    body = splitReply(reply);
  } catch (error) {
    if (!(error instanceof ExchangeError)) throw error;
    return unreadable(ctx, exchange, operation, reply, reply.raw, error.message, receivedAt, started);
  }
  const { xml, mtom } = body;
  let doc: XmlDocument;
  let message: DeliveredMessage | null;
  try {
    doc = parseXml(xml, ENVELOPE_LIMITS);
    message = locateDelivered(doc, operation === 'GetRequest' ? 'GetRequestResponse' : 'GetResponseResponse');
  } catch (error) {
    if (!(error instanceof XmlError) && !(error instanceof SignatureFailure)) throw error;
    return unreadable(ctx, exchange, operation, reply, xml, error.message, receivedAt, started);
  }
  if (!message) return false;

  const identity: DeliveredIdentity = {
    exchange: exchange.id,
    operation,
    kind: message.kind,
    messageId: message.messageId || null,
    messageIdFrom: message.messageId ? 'envelope' : null,
    replyTo: message.replyTo,
    version: message.version,
    digest: digestOf(reply.raw),
  };
  if (await deadAlready(ctx.store, identity, receivedAt)) {
    // Dead: not processed again, and not acknowledged until ops decide (Ack or RequestRejected on /ops).
    ctx.logger.debug({ exchange: exchange.id, operation, messageId: message.messageId }, `${operation}: a dead message delivered again; not processed`);
    return true;
  }
  try {
    return await processDelivered(ctx, exchange, operation, { doc, message, xml, mtom }, receivedAt, started, signal);
  } catch (error) {
    // ExchangeError: the exchange or revocation is down (not the message's fault); a store failure: no Ack, no count.
    // StoreReplicationError (REDIS_WAIT_REPLICAS): stored on the primary but unconfirmed, the store's fault too —
    // no Ack, so the message stays in the exchange's queue and its next delivery finds the MessageID.
    if (signal.aborted || error instanceof ExchangeError || error instanceof StoreReplicationError || !(await storeWorks(ctx))) throw error;
    const reason = error instanceof DeliveryNotProcessable ? error.reason : 'processing-failed';
    const failed = await recordFailedTry(ctx, identity, { reason, detail: (error as Error).message, raw: reply.raw, receivedAt });
    ctx.logger.error({ exchange: exchange.id, operation, messageId: message.messageId, reason, tries: failed.tries, maxTries: ctx.config.pull.maxTries, error: (error as Error).message }, `${operation}: processing the delivered message failed${failed.dead ? '; it is dead now (see /ops)' : '; it will be delivered again'}`);
    ctx.logger.debug({ messageId: message.messageId, stack: (error as Error).stack }, 'the failure of a delivered message');
    if (!failed.dead) throw error;
    publish(exchange.id, operation, null, null, message.messageId, 'fault', null, receivedAt, started, 'DeadExchangeMessage');
    return true;
  }
}

/** The store answers (so a failure was not the store's): a failed try may be counted. */
async function storeWorks(ctx: FlowContext): Promise<boolean> {
  try {
    await ctx.store.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * A reply that is not a readable delivery: journaled, counted by its MessageID
 * when one can be found in the bytes (else by their digest); dead at
 * PULL_MAX_TRIES. Until then the poller backs off and the exchange delivers it
 * again after its visibility timeout.
 */
async function unreadable(ctx: FlowContext, exchange: Exchange, operation: 'GetRequest' | 'GetResponse', reply: ExchangeReply, xml: Buffer, why: string, receivedAt: Date, started: number): Promise<boolean> {
  const identity = salvageIdentity(exchange, operation, xml, reply.raw);
  if (await deadAlready(ctx.store, identity, receivedAt)) return true;
  await journalExchangeCall(ctx, { exchange, operation, messageId: identity.messageId, partner: null, service: null, sent: reply.sent, reply: xml, startedAt: receivedAt, succeeded: false, faultCode: 'PoorSOAPEnvelopeFormat', faultString: why });
  const failed = await recordFailedTry(ctx, identity, { reason: 'unreadable', detail: why, raw: reply.raw, receivedAt });
  const message = `${operation} reply of exchange ${exchange.id} is unreadable (try ${failed.tries} of ${ctx.config.pull.maxTries}${identity.messageId ? `, MessageID ${identity.messageId}` : ''}): ${why}`;
  if (!failed.dead) throw new ExchangeError(message);
  ctx.logger.error({ exchange: exchange.id, operation, messageId: identity.messageId, tries: failed.tries, deadMessage: failed.dead.id }, `${message}; it is dead now: not processed again, listed on /ops for Ack or RequestRejected`);
  publish(exchange.id, operation, null, null, identity.messageId ?? '', 'fault', null, receivedAt, started, 'DeadExchangeMessage');
  return true;
}

interface Located {
  doc: XmlDocument;
  message: DeliveredMessage;
  xml: Buffer;
  mtom: boolean;
}

/** Verifies, takes in and acknowledges one readable delivery. Throws (no Ack) when the store fails. */
async function processDelivered(ctx: FlowContext, exchange: Exchange, operation: 'GetRequest' | 'GetResponse', located: Located, receivedAt: Date, started: number, signal: AbortSignal): Promise<boolean> {
  const { doc, message, xml, mtom } = located;
  const log = ctx.logger.child({ exchange: exchange.id, operation, messageId: message.messageId, correlationId: `pull:${message.messageId}` });
  const exchangeVerdict = verifyExchangeSignature(doc, message, exchange, ctx.trustAnchors, receivedAt);
  if (!exchangeVerdict.valid) {
    const fault = new SmevFault('SignatureVerificationFault', `the exchange's SMEVSignature: ${exchangeVerdict.message}`, { signatureReason: exchangeVerdict.reason ?? 'SignatureIsInvalid' });
    await journalRefusal(ctx, { raw: xml, receivedAt, operation, message, verification: null, partner: null, fault });
    log.warn({ reason: exchangeVerdict.reason, outcome: 'refused' }, `${operation}: the exchange's signature is not valid; Ack accepted=false`);
    publish(exchange.id, operation, null, null, message.messageId, 'fault', fault, receivedAt, started);
    await ack(ctx, exchange, message, false, signal);
    return true;
  }

  const verification = verifySender(doc, message, { trust: ctx.trustAnchors, partnerOf: (fp) => ctx.partners.byCertificate(fp), now: receivedAt });
  let partner: Partner | null = verification.caller.valid ? verification.caller.partner : null;
  const input: InboundInput = {
    raw: xml,
    version: message.version,
    parts: message.parts,
    verification,
    partner: partner!,
    correlationId: `pull:${message.messageId}`,
    receivedAt,
    stages: {},
    via: { exchange, operation, replyTo: message.replyTo, originalMessageId: message.originalMessageId, mtom, exchangeSigned: message.exchangeSigned },
  };
  let result: InboundResult;
  try {
    partner = requireSender(verification, exchange);
    input.partner = partner;
    await requireNotRevoked(ctx, verification, log);
    result = message.kind === 'request' ? await acceptSendRequest(ctx, input) : await acceptSendResponse(ctx, input);
  } catch (error) {
    if (!(error instanceof SmevFault)) throw error; // the store is down (no Ack, delivered again) or another failure: counted by handleDelivery
    if (error instanceof RevocationUnavailable) {
      // Not the sender's fault and not final: journaled, no Ack, so the exchange delivers it again later.
      await journalRefusal(ctx, { raw: xml, receivedAt, operation, message, verification, partner, fault: error });
      publish(exchange.id, operation, partner?.id ?? null, null, message.messageId, 'fault', error, receivedAt, started);
      throw new ExchangeError(`${operation}: ${error.message}`);
    }
    await refuse(ctx, exchange, { raw: xml, receivedAt, operation, message, verification, partner, fault: error });
    log.warn({ partner: partner?.id ?? null, fault: error.fault, outcome: 'refused' }, `${operation} refused: ${error.fault}${message.kind === 'request' && message.replyTo ? ' (RequestRejected queued to the sender)' : ''}`);
    publish(exchange.id, operation, partner?.id ?? null, null, message.messageId, 'fault', error, receivedAt, started);
    await ack(ctx, exchange, message, true, signal);
    return true;
  }
  log.info({ partner: partner.id, service: result.service, duplicate: result.duplicate, registrationNumber: result.registrationNumber, outcome: 'accepted' }, `${operation}: message accepted`);
  publish(exchange.id, operation, partner.id, result, message.messageId, result.duplicate ? 'duplicate' : 'accepted', null, receivedAt, started);
  // Stored durably; only now may the exchange forget it.
  await ack(ctx, exchange, message, true, signal);
  return true;
}

/** The sender's verdicts → its partner, or the fault push mode would answer; it must be reached through this exchange. */
function requireSender(v: SmevVerification<Partner>, exchange: Exchange): Partner {
  const { caller, personal } = v;
  if (!caller.valid) {
    if (caller.trust?.trusted && !caller.partner) throw new SmevFault('SenderIsNotRegistered', `the certificate "${caller.details.certificate?.subject ?? '?'}" is trusted but belongs to no registered partner`);
    throw new SmevFault('SignatureVerificationFault', caller.message, { signatureReason: caller.reason ?? 'SignatureIsInvalid' });
  }
  if (personal && !personal.valid) throw new SmevFault('SignatureVerificationFault', `PersonalSignature: ${personal.message}`, { signatureReason: personal.reason ?? 'SignatureIsInvalid' });
  const partner = caller.partner!;
  if (partner.transport.mode !== 'pull' || partner.transport.exchange !== exchange) {
    throw new SmevFault('SenderIsNotRegistered', `partner ${partner.id} is not registered to reach the gateway through exchange ${exchange.id}`);
  }
  return partner;
}

/** The SMEV reject code for what the intake refused. */
function rejectionCode(fault: SmevFault): RejectionJob['code'] {
  switch (fault.fault) {
    case 'SenderIsNotRegistered':
    case 'SignatureVerificationFault':
      return 'ACCESS_DENIED';
    case 'InvalidContent':
    case 'BusinessDataTypeIsNotSupported':
    case 'InvalidMessageIdFormat':
      return 'UNKNOWN_REQUEST_DESCRIPTION';
    default:
      return 'FAILURE';
  }
}

interface Refusal {
  raw: Buffer;
  receivedAt: Date;
  operation: 'GetRequest' | 'GetResponse';
  message: DeliveredMessage;
  verification: SmevVerification<Partner> | null;
  partner: Partner | null;
  fault: SmevFault;
}

/** Journals a refused delivery and, for a request with a ReplyTo, queues its RequestRejected in the same commit (once per ReplyTo). */
async function refuse(ctx: FlowContext, exchange: Exchange, r: Refusal): Promise<void> {
  const replyTo = r.message.kind === 'request' ? r.message.replyTo : null;
  if (!replyTo) return journalRefusal(ctx, r);
  const job: RejectionJob = {
    exchange: exchange.id,
    partner: r.partner?.id ?? null,
    service: null,
    replyTo,
    messageId: uuidV1(),
    code: rejectionCode(r.fault),
    // The fault's text names element paths and rules, never values.
    description: `${r.fault.fault}: ${r.fault.message}`.slice(0, 1000),
  };
  const key = `pull-refused:${exchange.id}:${replyTo}`;
  const jobs: JobInput[] = [jobInput(REJECTION_QUEUE, key, { ...job }, { maxAttempts: ctx.config.delivery.maxAttempts })];
  await journalRefusal(ctx, r, { key, jobs });
}

async function journalRefusal(ctx: FlowContext, r: Refusal, rejection?: { key: string; jobs: JobInput[] }): Promise<void> {
  const journal = journalWrites(
    journalInput(
      { raw: r.raw, correlationId: `pull:${r.message.messageId}`, receivedAt: r.receivedAt, verification: r.verification, partner: r.partner },
      { operation: r.operation, service: null, messageId: r.message.messageId || null, succeeded: false, faultCode: r.fault.fault, faultString: r.fault.message },
      '',
    ),
    r.raw,
    null,
  );
  if (!rejection) {
    await ctx.store.commit({ docs: journal.docs, blobs: journal.blobs, feeds: journal.feeds });
    return;
  }
  // The same refused message delivered again (no Ack reached the exchange) is journaled again but rejected once.
  const seen = await ctx.store.getIdempotency(rejection.key);
  await ctx.store.commit({
    ...(seen ? {} : { idempotency: { key: rejection.key, record: { digest: rejection.key, result: null, createdAt: r.receivedAt.getTime() } }, jobs: rejection.jobs }),
    docs: journal.docs,
    blobs: journal.blobs,
    feeds: journal.feeds,
  });
}

/** Ack to the exchange, journaled. A failed Ack is only logged: the message comes again and is recognised by its MessageID. */
async function ack(ctx: FlowContext, exchange: Exchange, message: DeliveredMessage, accepted: boolean, signal: AbortSignal): Promise<void> {
  const startedAt = ctx.now();
  const started = performance.now();
  const envelope = ackEnvelope(message.version, message.messageId, accepted);
  const event = (outcome: 'delivered' | 'retry', faultCode: string | null) =>
    opsEvents.publish({ at: startedAt.toISOString(), direction: 'outbound', operation: 'Ack', partner: null, service: null, messageId: message.messageId || null, outcome, faultCode, signatureReason: null, applicationId: null, registrationNumber: null, durationMs: performance.now() - started, stages: {}, exchange: exchange.id });
  try {
    const reply = await callExchange(ctx, exchange, 'Ack', envelope, signal);
    await journalExchangeCall(ctx, { exchange, operation: 'Ack', messageId: message.messageId, partner: null, service: null, sent: reply.sent, reply: reply.raw, startedAt, succeeded: true });
    event('delivered', null);
  } catch (error) {
    if (signal.aborted) return;
    event('retry', error instanceof ExchangeError ? error.fault : null);
    ctx.logger.warn({ exchange: exchange.id, messageId: message.messageId, accepted, error: (error as Error).message }, 'Ack to the exchange failed; the message will be delivered again and recognised');
    try {
      await journalExchangeCall(ctx, { exchange, operation: 'Ack', messageId: message.messageId, partner: null, service: null, sent: envelope, reply: null, startedAt, succeeded: false, faultCode: error instanceof ExchangeError ? (error.fault ?? 'transient') : 'transient', faultString: (error as Error).message });
    } catch {
      // The store is down too: the log line above is the record.
    }
  }
}

function publish(exchange: string, operation: string, partner: string | null, result: InboundResult | null, messageId: string, outcome: 'accepted' | 'duplicate' | 'fault', fault: SmevFault | null, at: Date, started: number, faultCode?: string): void {
  opsEvents.publish({
    at: at.toISOString(),
    direction: 'inbound',
    operation,
    partner,
    service: result?.service ?? null,
    messageId: result?.messageId ?? (messageId || null),
    outcome,
    faultCode: faultCode ?? fault?.fault ?? null,
    signatureReason: fault?.extra.signatureReason ?? null,
    applicationId: result?.applicationId ?? null,
    registrationNumber: result?.registrationNumber ?? null,
    durationMs: performance.now() - started,
    stages: {},
    exchange,
  });
}
