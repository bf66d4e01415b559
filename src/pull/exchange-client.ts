/**
 * The gateway as a client of a SMEV 3 exchange: signs a request envelope
 * (CallerInformationSystemSignature over MessageTypeSelector, AckTargetMessage
 * or Timestamp, with the exchange's profile), POSTs it, and hands back the raw
 * reply — bytes and content type, since a delivered message may come as MTOM
 * multipart. A network error, timeout, HTTP error or SOAP fault throws
 * ExchangeError (the poller backs off); the caller parses and verifies the rest.
 */
import type { Exchange } from '../registry/partners.js';
import { readFault } from '../delivery/soap-client.js';
import type { FlowContext } from '../flows/context.js';
import { journalWrites } from '../journal/records.js';
import { signDocument } from '../signature/sign.js';
import { SIGNED_CALLER_ID } from '../soap/envelope-builder.js';
import { parseXml, XmlError } from '../xml/parser.js';

export type ExchangeOperation = 'GetRequest' | 'GetResponse' | 'Ack' | 'GetStatus';

export class ExchangeError extends Error {
  constructor(
    message: string,
    /** The SMEV fault the exchange answered, when it answered one. */
    readonly fault: string | null = null,
  ) {
    super(message);
    this.name = 'ExchangeError';
  }
}

export interface ExchangeReply {
  /** What the gateway sent (signed). */
  sent: string;
  status: number;
  contentType: string;
  raw: Buffer;
}

export async function callExchange(ctx: FlowContext, exchange: Exchange, operation: ExchangeOperation, envelope: string, signal: AbortSignal): Promise<ExchangeReply> {
  const sent = await signDocument(envelope, { signer: ctx.signer, profile: exchange.signatureProfile, targetId: SIGNED_CALLER_ID });
  let res: Response;
  let raw: Buffer;
  try {
    res = await fetch(exchange.url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: `urn:${operation}` },
      body: sent,
      signal: AbortSignal.any([signal, AbortSignal.timeout(ctx.config.delivery.timeoutMs)]),
    });
    raw = Buffer.from(await res.arrayBuffer());
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${ctx.config.delivery.timeoutMs} ms` : `${e.cause?.code ?? e.name}: ${e.message}`;
    throw new ExchangeError(`${operation} to exchange ${exchange.id}: network: ${why}`);
  }
  const contentType = res.headers.get('content-type') ?? '';
  if (res.status !== 200) {
    let fault: ReturnType<typeof readFault> = null;
    try {
      if (/xml/i.test(contentType)) fault = readFault(parseXml(raw).root);
    } catch (error) {
      if (!(error instanceof XmlError)) throw error;
    }
    throw new ExchangeError(`${operation} to exchange ${exchange.id}: ${fault ? `${fault.name}: ${fault.message}` : `HTTP ${res.status}`}`, fault?.name ?? null);
  }
  return { sent, status: res.status, contentType, raw };
}

/** Journals one call to the exchange the gateway made (Ack, a GetRequest whose reply could not be read…). */
export async function journalExchangeCall(
  ctx: FlowContext,
  e: { exchange: Exchange; operation: ExchangeOperation; messageId: string | null; partner: string | null; service: string | null; sent: string; reply: Buffer | string | null; startedAt: Date; succeeded: boolean; faultCode?: string | null; faultString?: string | null },
): Promise<void> {
  const replyText = e.reply === null ? null : typeof e.reply === 'string' ? e.reply : e.reply.toString('utf8');
  const journal = journalWrites(
    {
      correlationId: `exchange:${e.exchange.id}:${e.operation}:${e.messageId ?? '-'}`,
      direction: 'outbound',
      operation: e.operation,
      partner: e.partner,
      service: e.service,
      messageId: e.messageId,
      requestInTs: null,
      requestOutTs: e.startedAt.toISOString(),
      responseInTs: ctx.now().toISOString(),
      responseOutTs: null,
      requestSize: Buffer.byteLength(e.sent),
      responseSize: replyText === null ? 0 : Buffer.byteLength(replyText),
      succeeded: e.succeeded,
      faultCode: e.faultCode ?? null,
      faultString: e.faultString ?? null,
      duplicate: false,
      signature: null,
      applicationId: null,
      registrationNumber: null,
    },
    e.sent,
    replyText,
  );
  await ctx.store.commit({ docs: journal.docs, blobs: journal.blobs, feeds: journal.feeds });
}
