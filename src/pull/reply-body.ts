/**
 * The exchange's reply body: plain SOAP (text/xml), or MTOM (multipart/related
 * with the SOAP part first and attachments as further parts). Every
 * xop:Include is resolved to the base64 of its part — the XOP infoset, which
 * is what the signatures cover — so the intake reads inline content either way.
 */
import { decodeSoapBody, MtomError, resolveXop } from '../soap/mtom.js';
import { ExchangeError, type ExchangeReply } from './exchange-client.js';

export interface ReplyBody {
  /** The SOAP envelope's bytes, xop:Include resolved. */
  xml: Buffer;
  /** Whether the reply came as MTOM. */
  mtom: boolean;
}

export function splitReply(reply: ExchangeReply): ReplyBody {
  try {
    const decoded = decodeSoapBody(reply.raw, reply.contentType);
    if (!decoded.mtom) return { xml: reply.raw, mtom: false };
    return { xml: Buffer.from(resolveXop(decoded.rootXml, decoded.parts), 'utf8'), mtom: true };
  } catch (error) {
    if (!(error instanceof MtomError)) throw error;
    throw new ExchangeError(`the exchange's MTOM reply is malformed: ${error.message}`);
  }
}
