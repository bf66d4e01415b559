/**
 * GetStatus in pull mode: the exchange's status messages about what the
 * gateway sent through it (requestIsQueued, underProcessing when the partner
 * took it, responseIsDelivered, …). `fetchExchangeStatus` asks for the next
 * one and verifies the exchange's SMEVSignature over AsyncProcessingStatusData;
 * `recordExchangeStatus` appends it to the message's status feed, which
 * GET /api/v1/deliveries/{id} shows as `exchangeStatuses`.
 */
import { randomUUID } from 'node:crypto';
import type { Exchange } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { signatureIn, SOAP11_NS } from '../signature/smev-profile.js';
import { verifySignature } from '../signature/verify.js';
import { getStatusEnvelope } from '../soap/envelope-builder.js';
import { defineCollection, write } from '../store/collection.js';
import type { Store } from '../store/types.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import { callExchange, ExchangeError } from './exchange-client.js';

export interface ExchangeStatus {
  exchange: string;
  originalMessageId: string;
  status: string;
  details: string | null;
  at: string;
}

export const exchangeStatusFeed = (messageId: string) => `exchange-status.${messageId}`;
/** By status id (listed by the feed exchangeStatusFeed(messageId)). */
const STATUS_DOCS = defineCollection<ExchangeStatus>('exchange-statuses');

const child = (el: XmlElement, name: string) => childElements(el).find((c) => c.localName === name);

/** The next status message for the gateway, verified; null when there is none. Throws ExchangeError when the exchange is down or the signature fails. */
export async function fetchExchangeStatus(ctx: FlowContext, exchange: Exchange, signal: AbortSignal): Promise<ExchangeStatus | null> {
  const reply = await callExchange(ctx, exchange, 'GetStatus', getStatusEnvelope('1.1', ctx.now()), signal);
  let doc;
  try {
    doc = parseXml(reply.raw, { maxDepth: 64, maxAttributes: 32 });
  } catch (error) {
    if (error instanceof XmlError) throw new ExchangeError(`GetStatus reply of exchange ${exchange.id} is not XML: ${error.message}`);
    throw error;
  }
  const body = childElements(doc.root).find((c) => c.namespaceURI === SOAP11_NS && c.localName === 'Body');
  const response = body ? childElements(body)[0] : undefined;
  if (!response || response.localName !== 'GetStatusResponse') throw new ExchangeError(`GetStatus reply of exchange ${exchange.id} holds no GetStatusResponse`);
  const message = child(response, 'SmevAsyncProcessingMessage');
  if (!message) return null;
  const data = child(message, 'AsyncProcessingStatusData');
  const container = child(message, 'SMEVSignature');
  const signature = container ? signatureIn(container, 'SMEVSignature') : null;
  if (!data || !signature) throw new ExchangeError(`GetStatus reply of exchange ${exchange.id}: no signed AsyncProcessingStatusData`);
  const verdict = verifySignature<string>(doc, signature, data, {
    trust: ctx.trustAnchors,
    partnerOf: (cert) => (exchange.certificates.some((c) => c.fingerprint256 === cert.fingerprintSha256) ? exchange.id : undefined),
    now: ctx.now(),
  });
  if (!verdict.valid) throw new ExchangeError(`GetStatus reply of exchange ${exchange.id}: SMEVSignature not valid: ${verdict.message}`);
  const status = child(data, 'AsyncProcessingStatus');
  const text = (name: string) => {
    const el = status ? child(status, name) : undefined;
    return el ? textContent(el).trim() : null;
  };
  const originalMessageId = text('OriginalMessageId');
  const category = text('StatusCategory');
  if (!originalMessageId || !category) throw new ExchangeError(`GetStatus reply of exchange ${exchange.id}: AsyncProcessingStatus without OriginalMessageId or StatusCategory`);
  return { exchange: exchange.id, originalMessageId, status: category, details: text('StatusDetails'), at: ctx.now().toISOString() };
}

/** Appends the status to its message's feed (atomic; several processes may poll). */
export async function recordExchangeStatus(store: Store, status: ExchangeStatus): Promise<void> {
  const id = randomUUID();
  await store.commit({ docs: [write(STATUS_DOCS, id, { ...status })], feeds: [{ feed: exchangeStatusFeed(status.originalMessageId), id }] });
}

/** The statuses the exchange reported for a message the gateway sent, oldest first. */
export async function exchangeStatusesOf(store: Store, messageId: string): Promise<ExchangeStatus[]> {
  const out: ExchangeStatus[] = [];
  for (const entry of await store.readFeed(exchangeStatusFeed(messageId), 0, 100)) {
    const doc = await store.getDoc(STATUS_DOCS, entry.id);
    if (doc) out.push(doc);
  }
  return out;
}
