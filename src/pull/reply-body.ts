/**
 * The exchange's reply body: plain SOAP (text/xml), or MTOM (multipart/related
 * with the SOAP part first and attachments as further parts, referenced by
 * xop:Include href="cid:…").
 */
import { ExchangeError, type ExchangeReply } from './exchange-client.js';

export interface ReplyBody {
  /** The SOAP envelope's bytes. */
  xml: Buffer;
  /** MTOM parts by Content-ID (no angle brackets). */
  parts: ReadonlyMap<string, Buffer>;
}

export function splitReply(reply: ExchangeReply): ReplyBody {
  if (!/^multipart\//i.test(reply.contentType)) return { xml: reply.raw, parts: new Map() };
  throw new ExchangeError(`MTOM replies are not readable yet (${reply.contentType.slice(0, 100)})`);
}
