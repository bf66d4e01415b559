/**
 * Dead exchange messages (pull mode): a message the exchange delivers that the
 * gateway cannot process — unreadable (not XML, too deep, not the shape of a
 * delivery), its processing failed with an error that is not a SMEV fault
 * while the store works, or (hook for the file store) an attachment that
 * cannot be fetched — is not taken again and again for ever.
 *
 * Each failed try is counted in the store per exchange message (by its
 * MessageID when it can be read, else by a digest of the bytes), so the count
 * holds across worker processes and restarts. At PULL_MAX_TRIES the message
 * is journaled with the bytes the exchange delivered as evidence and recorded
 * as dead; later deliveries of it are recognised and not processed again, and
 * not acknowledged either: only ops decide (POST …/exchange-messages/{id}/ack
 * or …/reject). A store failure is never counted: it acks nothing and the
 * exchange delivers the message again (intake.ts).
 *
 * The ops actions: Ack (the exchange forgets it) and RequestRejected (a
 * SendResponse to the sender through REJECTION_QUEUE, then Ack). Both are
 * journaled (the Ack call, the SendResponse), idempotent (a second call
 * changes nothing) and unavailable without a MessageID.
 */
import { createHash } from 'node:crypto';
import type { Exchange } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { journalWrites } from '../journal/records.js';
import { ackEnvelope } from '../soap/envelope-builder.js';
import { uuidV1 } from '../soap/message-id.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { defineCollection, write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { Store } from '../store/types.js';
import { callExchange, ExchangeError, journalExchangeCall } from './exchange-client.js';
import { REJECTION_QUEUE, type RejectionJob } from '../flows/rejection.js';

/** Collection and feed of dead exchange messages. */
export const DEAD_MESSAGES = defineCollection<DeadMessage>('pull-dead');
/** How long a count of failed tries is kept after the last one. */
const TRIES_TTL_MS = 7 * 24 * 3_600_000;

/**
 * Why a delivered message could not be processed:
 * unreadable — the reply is not a readable delivery (MTOM, XML, shape);
 * processing-failed — an error that is not a SMEV fault, the store working;
 * attachment-unavailable — an attachment in the exchange's file store cannot be fetched.
 */
export type DeadReason = 'unreadable' | 'processing-failed' | 'attachment-unavailable';

/**
 * Thrown while a readable delivery is taken in, for a failure retrying will
 * not cure by itself (e.g. an attachment in the exchange's file store that
 * cannot be fetched): handleDelivery counts the try with this reason, as it
 * counts any error that is not a SMEV fault while the store works.
 */
export class DeliveryNotProcessable extends Error {
  constructor(
    readonly reason: DeadReason,
    message: string,
  ) {
    super(message);
    this.name = 'DeliveryNotProcessable';
  }
}

/** What is known of a delivered message, however broken. */
export interface DeliveredIdentity {
  exchange: string;
  operation: 'GetRequest' | 'GetResponse';
  kind: 'request' | 'response';
  /** null: not readable (the tries are counted by `digest`). */
  messageId: string | null;
  /** envelope: read from the parsed delivery; salvaged: found in bytes that do not parse. */
  messageIdFrom: 'envelope' | 'salvaged' | null;
  replyTo: string | null;
  version: SmevVersion;
  /** SHA-256 of the bytes the exchange delivered. */
  digest: string;
}

export interface DeadAction {
  action: 'ack' | 'reject';
  at: string;
  role: string | null;
  /** What the exchange answered (accepted / already gone / a queued RequestRejected). */
  outcome: string;
}

export interface DeadMessage {
  id: string;
  exchange: string;
  operation: 'GetRequest' | 'GetResponse';
  kind: 'request' | 'response';
  messageId: string | null;
  messageIdFrom: 'envelope' | 'salvaged' | null;
  replyTo: string | null;
  version: SmevVersion;
  digest: string;
  reason: DeadReason;
  /** The last failure, as the gateway saw it (element paths and rules, never values). */
  detail: string;
  tries: number;
  deadAt: string;
  /** The journal record that keeps the delivered bytes as its request evidence. */
  journalRecordId: string;
  /** Deliveries after it went dead (not processed). */
  redeliveries: number;
  lastSeenAt: string;
  /** dead: waiting for ops; acked; rejected: RequestRejected queued and acked. */
  state: 'dead' | 'acked' | 'rejected';
  ackedAt: string | null;
  rejection: { messageId: string; queuedAt: string } | null;
  actions: DeadAction[];
}

/** The dead record's id: one per exchange and message (MessageID, else the bytes' digest). */
export function deadMessageId(identity: Pick<DeliveredIdentity, 'exchange' | 'messageId' | 'digest'>): string {
  const key = identity.messageId ? `id:${identity.messageId}` : `sha256:${identity.digest}`;
  return createHash('sha256').update(`${identity.exchange}\n${key}`).digest('hex').slice(0, 40);
}

export const digestOf = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const MESSAGE_ID = new RegExp(`<(?:[A-Za-z_][\\w.-]*:)?MessageI[Dd]>\\s*(${UUID})\\s*</`, 'g');
const REPLY_TO = /<(?:[A-Za-z_][\w.-]*:)?ReplyTo>([^<>]{1,2000})<\//g;
const TYPES_VERSION = /urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/(1\.[123])/;

/**
 * MessageID and ReplyTo found in bytes that do not parse (`xml`: the SOAP
 * part; `raw`: the reply as delivered, for the digest) — only when every
 * MessageID (sender's MessageID, exchange's MessageId) and every ReplyTo in
 * them agree, so a broken message is never taken for another.
 */
export function salvageIdentity(exchange: Exchange, operation: 'GetRequest' | 'GetResponse', xml: Buffer, raw: Buffer): DeliveredIdentity {
  const text = xml.subarray(0, 4 * 1024 * 1024).toString('latin1');
  const one = (re: RegExp, normalise: (v: string) => string) => {
    const found = new Set([...text.matchAll(re)].map((m) => normalise(m[1]!.trim())));
    return found.size === 1 ? [...found][0]! : null;
  };
  const messageId = one(MESSAGE_ID, (v) => v.toLowerCase());
  // ReplyTo is case-sensitive: taken as written.
  const replyTo = operation === 'GetRequest' ? one(REPLY_TO, (v) => v) : null;
  const version = TYPES_VERSION.exec(text)?.[1];
  return {
    exchange: exchange.id,
    operation,
    kind: operation === 'GetRequest' ? 'request' : 'response',
    messageId,
    messageIdFrom: messageId ? 'salvaged' : null,
    replyTo,
    version: version && isSmevVersion(version) ? version : '1.1',
    digest: digestOf(raw),
  };
}

export async function getDeadMessage(store: Store, id: string): Promise<DeadMessage | null> {
  return store.getDoc(DEAD_MESSAGES, id);
}

/** When this message is dead already: notes the delivery (not processed) and returns the record. */
export async function deadAlready(store: Store, identity: DeliveredIdentity, at: Date): Promise<DeadMessage | null> {
  const dead = await getDeadMessage(store, deadMessageId(identity));
  if (!dead) return null;
  await save(store, { ...dead, redeliveries: dead.redeliveries + 1, lastSeenAt: at.toISOString() });
  return dead;
}

export interface FailedTry {
  reason: DeadReason;
  detail: string;
  /** The bytes the exchange delivered (kept as evidence when the message goes dead). */
  raw: Buffer;
  receivedAt: Date;
}

/**
 * Counts one failed try of a delivered message; at PULL_MAX_TRIES journals it
 * (its bytes as evidence) and records it dead. Returns the count and whether
 * it is dead now. The hook for any failure that retrying will not cure (e.g.
 * an attachment in the file store that cannot be fetched): call it with the
 * message's identity and a reason. Throws when the store fails (count nothing then).
 */
export async function recordFailedTry(ctx: FlowContext, identity: DeliveredIdentity, failure: FailedTry): Promise<{ tries: number; dead: DeadMessage | null }> {
  const id = deadMessageId(identity);
  const key = `pull-tries.${id}`;
  await ctx.store.addCounters(key, { tries: 1 }, TRIES_TTL_MS);
  const tries = (await ctx.store.readCounters([key]))[0]?.tries ?? 1;
  if (tries < ctx.config.pull.maxTries) return { tries, dead: null };
  const at = ctx.now().toISOString();
  const journal = journalWrites(
    {
      correlationId: `pull-dead:${identity.exchange}:${identity.messageId ?? identity.digest.slice(0, 16)}`,
      direction: 'inbound',
      operation: identity.operation,
      partner: null,
      service: null,
      messageId: identity.messageId,
      requestInTs: failure.receivedAt.toISOString(),
      requestOutTs: null,
      responseInTs: null,
      responseOutTs: at,
      requestSize: failure.raw.length,
      responseSize: 0,
      succeeded: false,
      faultCode: 'DeadExchangeMessage',
      faultString: `${failure.reason} after ${tries} tries: ${failure.detail}`.slice(0, 2000),
      duplicate: false,
      signature: null,
      applicationId: null,
      registrationNumber: null,
    },
    failure.raw,
    null,
  );
  const dead: DeadMessage = {
    id,
    ...identity,
    reason: failure.reason,
    detail: failure.detail.slice(0, 2000),
    tries,
    deadAt: at,
    journalRecordId: journal.id,
    redeliveries: 0,
    lastSeenAt: at,
    state: 'dead',
    ackedAt: null,
    rejection: null,
    actions: [],
  };
  // Two processes may reach the limit at once: the idempotency key lets one record it.
  const result = await ctx.store.commit({
    idempotency: { key: `pull-dead:${id}`, record: { digest: identity.digest, result: null, createdAt: ctx.now().getTime() } },
    docs: [...journal.docs, write(DEAD_MESSAGES, id, dead)],
    blobs: journal.blobs,
    feeds: [...journal.feeds, { feed: DEAD_MESSAGES, id }],
  });
  return { tries, dead: result.applied ? dead : await getDeadMessage(ctx.store, id) };
}

/** The dead messages, newest first; `open` (default): only those waiting for ops. */
export async function listDeadMessages(store: Store, o: { open: boolean; limit: number }): Promise<DeadMessage[]> {
  const out: DeadMessage[] = [];
  const seen = new Set<string>();
  let before = Number.MAX_SAFE_INTEGER;
  // Bounded: at most 2000 entries are looked at.
  for (let page = 0; page < 10 && out.length < o.limit; page++) {
    const entries = await store.readFeedBackwards(DEAD_MESSAGES, before, 200);
    if (entries.length === 0) break;
    for (const e of entries) {
      before = e.seq;
      if (seen.has(e.id)) continue;
      seen.add(e.id);
      const dead = await getDeadMessage(store, e.id);
      if (dead && (!o.open || dead.state === 'dead') && out.length < o.limit) out.push(dead);
    }
  }
  return out;
}

/** An ops action that cannot be done on this message (the code says why). */
export class DeadActionUnavailable extends Error {
  constructor(
    readonly code: 'NO_MESSAGE_ID' | 'NOT_A_REQUEST' | 'NO_REPLY_TO' | 'EXCHANGE_GONE',
    message: string,
  ) {
    super(message);
    this.name = 'DeadActionUnavailable';
  }
}

/** Ack at the exchange (accepted="true": received; ops took it). Idempotent. ExchangeError when the exchange does not answer. */
export async function ackDeadMessage(ctx: FlowContext, id: string, role: string | null): Promise<DeadMessage | null> {
  const dead = await getDeadMessage(ctx.store, id);
  if (!dead) return null;
  if (dead.ackedAt) return dead;
  const { exchange, messageId } = actionable(ctx, dead, 'Ack');
  const outcome = await ackAt(ctx, exchange, dead.version, messageId);
  const latest = (await getDeadMessage(ctx.store, id)) ?? dead;
  if (latest.ackedAt) return latest;
  const at = ctx.now().toISOString();
  const updated: DeadMessage = { ...latest, state: latest.rejection ? 'rejected' : 'acked', ackedAt: at, actions: [...latest.actions, { action: 'ack' as const, at, role, outcome }].slice(-20) };
  await save(ctx.store, updated);
  ctx.logger.warn({ exchange: dead.exchange, messageId, deadMessage: id, role, outcome }, 'ops: dead exchange message acknowledged');
  return updated;
}

/** RequestRejected to the sender (queued once), then Ack. Idempotent. */
export async function rejectDeadMessage(ctx: FlowContext, id: string, role: string | null): Promise<DeadMessage | null> {
  let dead = await getDeadMessage(ctx.store, id);
  if (!dead) return null;
  const { exchange } = actionable(ctx, dead, 'RequestRejected');
  if (dead.kind !== 'request') throw new DeadActionUnavailable('NOT_A_REQUEST', `message ${dead.messageId} is a response to the city; RequestRejected answers requests only (Ack it)`);
  if (!dead.replyTo) throw new DeadActionUnavailable('NO_REPLY_TO', `no ReplyTo could be read from message ${dead.messageId}: the exchange would not know where to send RequestRejected (Ack it)`);
  if (!dead.rejection) {
    const job: RejectionJob = {
      exchange: exchange.id,
      partner: null,
      service: null,
      replyTo: dead.replyTo,
      messageId: uuidV1(),
      code: 'FAILURE',
      description: `the gateway could not process the message (${dead.reason}): ${dead.detail}`.slice(0, 1000),
    };
    const at = ctx.now().toISOString();
    const updated: DeadMessage = { ...dead, rejection: { messageId: job.messageId, queuedAt: at }, actions: [...dead.actions, { action: 'reject' as const, at, role, outcome: `RequestRejected ${job.messageId} queued` }].slice(-20) };
    const result = await ctx.store.commit({
      idempotency: { key: `pull-dead-rejected:${id}`, record: { digest: job.messageId, result: null, createdAt: ctx.now().getTime() } },
      docs: [write(DEAD_MESSAGES, id, updated)],
      jobs: [jobInput(REJECTION_QUEUE, `pull-dead:${id}`, { ...job }, { maxAttempts: ctx.config.delivery.maxAttempts })],
    });
    if (result.applied) ctx.logger.warn({ exchange: dead.exchange, messageId: dead.messageId, deadMessage: id, role, rejection: job.messageId }, 'ops: RequestRejected queued for a dead exchange message');
    dead = (await getDeadMessage(ctx.store, id)) ?? updated;
  }
  return dead.ackedAt ? dead : ackDeadMessage(ctx, id, role);
}

function actionable(ctx: FlowContext, dead: DeadMessage, what: string): { exchange: Exchange; messageId: string } {
  if (!dead.messageId) throw new DeadActionUnavailable('NO_MESSAGE_ID', `the MessageID of this message could not be read, so the exchange cannot be told about it (${what} names a MessageID); it comes again after the exchange's visibility timeout and is not processed`);
  const exchange = ctx.partners.exchange(dead.exchange);
  if (!exchange) throw new DeadActionUnavailable('EXCHANGE_GONE', `exchange ${dead.exchange} is no longer in the registry`);
  return { exchange, messageId: dead.messageId };
}

/** The Ack call, journaled. TargetMessageIsNotFound: the exchange holds it no more (acked before) — done too. */
async function ackAt(ctx: FlowContext, exchange: Exchange, version: SmevVersion, messageId: string): Promise<string> {
  const startedAt = ctx.now();
  const envelope = ackEnvelope(version, messageId, true);
  try {
    const reply = await callExchange(ctx, exchange, 'Ack', envelope, new AbortController().signal);
    await journalExchangeCall(ctx, { exchange, operation: 'Ack', messageId, partner: null, service: null, sent: reply.sent, reply: reply.raw, startedAt, succeeded: true });
    return 'acknowledged';
  } catch (error) {
    if (!(error instanceof ExchangeError)) throw error;
    await journalExchangeCall(ctx, { exchange, operation: 'Ack', messageId, partner: null, service: null, sent: envelope, reply: null, startedAt, succeeded: false, faultCode: error.fault ?? 'transient', faultString: error.message });
    if (error.fault === 'TargetMessageIsNotFound') return 'the exchange holds it no more (TargetMessageIsNotFound)';
    throw error;
  }
}

async function save(store: Store, dead: DeadMessage): Promise<void> {
  await store.commit({ docs: [write(DEAD_MESSAGES, dead.id, dead)] });
}
