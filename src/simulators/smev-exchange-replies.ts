/**
 * What the simulated exchange writes back to GetRequest / GetResponse: a
 * RequestMessage / ResponseMessage whose Request / Response (Id
 * SIGNED_BY_SMEV) holds the sender's signed data exactly as signed, the
 * exchange's MessageMetadata, FSAttachmentsList, ReplyTo (requests) and the
 * sender's signature; AttachmentContentList after it (outside the exchange's
 * signature, so MTOM can carry it) and the exchange's SMEVSignature over
 * Request / Response. As reply.ts: the signed element is built as text,
 * parsed on its own and signed, and the envelope assembled around it.
 */
import { buildSignature, type SignatureProfile } from '../signature/sign.js';
import type { Signer } from '../pki/signer.js';
import { buildMtom, xopInclude, type MimePart } from '../soap/mtom.js';
import { ns, SOAP11_NS, xmlText, type SmevVersion } from '../soap/namespaces.js';
import { SIGNED_REPLY_ID } from '../soap/reply.js';
import { inScopeNamespaces } from '../xml/helpers.js';
import { parseXml } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';

/**
 * The element as standalone text, sliced from the text it was parsed from:
 * the namespace declarations it inherits are written onto its start tag, so
 * it can be embedded anywhere. Exclusive c14n (and the SMEV transform) render
 * only visibly used namespaces, so a signature over it still verifies.
 */
export function standaloneXml(text: string, el: XmlElement): string {
  const own = new Set(el.nsDecls.map((d) => d.prefix));
  const inherited = [...inScopeNamespaces(el)].filter(([prefix]) => !own.has(prefix));
  const slice = text.slice(el.start, el.end);
  if (inherited.length === 0) return slice;
  const decls = inherited.map(([prefix, uri]) => ` ${prefix ? `xmlns:${prefix}` : 'xmlns'}="${uri.replace(/&/g, '&amp;').replace(/"/g, '&quot;')}"`).join('');
  const at = 1 + el.qName.length;
  return slice.slice(0, at) + decls + slice.slice(at);
}

export interface Party {
  mnemonic: string;
  name: string;
}

export interface DeliveryInput {
  version: SmevVersion;
  kind: 'request' | 'response';
  messageId: string;
  sender: Party;
  recipient: Party;
  sentAt: Date;
  deliveredAt: Date;
  contentTypeName: string;
  /** SenderProvidedRequestData / SenderProvidedResponseData as standalone text (standaloneXml). */
  senderDataXml: string;
  /** The sender's ds:Signature as standalone text. */
  senderSignatureXml: string;
  replyTo?: string;
  originalMessageId?: string;
  fsAttachments: Array<{ uuid: string; userName: string; password: string; fileName: string }>;
  attachments: Array<{ id: string; mimeType: string; bytes: Buffer }>;
}

export interface DeliveryAnswer {
  body: Buffer;
  contentType: string;
}

const XML_TYPE = 'text/xml; charset=utf-8';

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/** GetRequestResponse / GetResponseResponse without a message: the queue is empty. */
export function emptyQueueAnswer(operation: 'GetRequestResponse' | 'GetResponseResponse', version: SmevVersion): DeliveryAnswer {
  return { body: Buffer.from(envelope(`<t:${operation} xmlns:t="${ns.types(version)}"></t:${operation}>`), 'utf8'), contentType: XML_TYPE };
}

function metadata(d: DeliveryInput): string {
  return (
    `<t:MessageMetadata>` +
    `<t:MessageId>${xmlText(d.messageId)}</t:MessageId>` +
    `<t:MessageType>${d.kind === 'request' ? 'REQUEST' : 'RESPONSE'}</t:MessageType>` +
    `<t:Sender><t:Mnemonic>${xmlText(d.sender.mnemonic)}</t:Mnemonic><t:HumanReadableName>${xmlText(d.sender.name)}</t:HumanReadableName></t:Sender>` +
    `<t:SendingTimestamp>${d.sentAt.toISOString()}</t:SendingTimestamp>` +
    `<t:DestinationName>${xmlText(d.recipient.mnemonic)}</t:DestinationName>` +
    `<t:Recipient><t:Mnemonic>${xmlText(d.recipient.mnemonic)}</t:Mnemonic><t:HumanReadableName>${xmlText(d.recipient.name)}</t:HumanReadableName></t:Recipient>` +
    `<t:SupplementaryData><t:DetectedContentTypeName>${xmlText(d.contentTypeName)}</t:DetectedContentTypeName><t:InteractionType>NotDetected</t:InteractionType></t:SupplementaryData>` +
    `<t:DeliveryTimestamp>${d.deliveredAt.toISOString()}</t:DeliveryTimestamp>` +
    `</t:MessageMetadata>`
  );
}

function fsList(d: DeliveryInput): string {
  if (d.fsAttachments.length === 0) return '';
  return (
    `<b:FSAttachmentsList>` +
    d.fsAttachments
      .map((f) => `<b:FSAttachment><b:uuid>${xmlText(f.uuid)}</b:uuid><b:UserName>${xmlText(f.userName)}</b:UserName><b:Password>${xmlText(f.password)}</b:Password><b:FileName>${xmlText(f.fileName)}</b:FileName></b:FSAttachment>`)
      .join('') +
    `</b:FSAttachmentsList>`
  );
}

/**
 * The signed delivery of one message, with its attachments inline (base64)
 * or by MTOM (each AttachmentContent/Content an xop:Include of a MIME part).
 */
export async function deliveryAnswer(d: DeliveryInput, signing: { signer: Signer; profile: SignatureProfile }, mtom: boolean): Promise<DeliveryAnswer> {
  const t = ns.types(d.version);
  const b = ns.basic(d.version);
  const element = d.kind === 'request' ? 'Request' : 'Response';
  const signed =
    `<t:${element} xmlns:t="${t}" xmlns:b="${b}" Id="${SIGNED_REPLY_ID}">` +
    (d.kind === 'response' && d.originalMessageId ? `<t:OriginalMessageId>${xmlText(d.originalMessageId)}</t:OriginalMessageId>` : '') +
    d.senderDataXml +
    metadata(d) +
    fsList(d) +
    (d.kind === 'request' ? `<t:ReplyTo>${xmlText(d.replyTo ?? '')}</t:ReplyTo>` : '') +
    `<t:SenderInformationSystemSignature>${d.senderSignatureXml}</t:SenderInformationSystemSignature>` +
    `</t:${element}>`;
  const signature = await buildSignature(parseXml(signed).root, signing.signer, signing.profile, false);
  const parts: MimePart[] = [];
  const contentList = d.attachments.length
    ? `<b:AttachmentContentList xmlns:b="${b}">` +
      d.attachments
        .map((a, i) => {
          if (!mtom) return `<b:AttachmentContent><b:Id>${xmlText(a.id)}</b:Id><b:Content>${a.bytes.toString('base64')}</b:Content></b:AttachmentContent>`;
          const contentId = `attachment-${i + 1}.${d.messageId}@smev-simulator`;
          parts.push({ contentId, contentType: a.mimeType || 'application/octet-stream', bytes: a.bytes });
          return `<b:AttachmentContent><b:Id>${xmlText(a.id)}</b:Id><b:Content>${xopInclude(contentId)}</b:Content></b:AttachmentContent>`;
        })
        .join('') +
      `</b:AttachmentContentList>`
    : '';
  const holder = d.kind === 'request' ? 'RequestMessage' : 'ResponseMessage';
  const operation = d.kind === 'request' ? 'GetRequestResponse' : 'GetResponseResponse';
  const xml = envelope(`<t:${operation} xmlns:t="${t}"><t:${holder}>${signed}${contentList}<t:SMEVSignature>${signature}</t:SMEVSignature></t:${holder}></t:${operation}>`);
  if (parts.length === 0) return { body: Buffer.from(xml, 'utf8'), contentType: XML_TYPE };
  return buildMtom(xml, parts);
}
