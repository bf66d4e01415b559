/**
 * Unsigned SMEV request envelopes as text, with an empty
 * CallerInformationSystemSignature after the signed element: `signDocument`
 * (src/signature/sign.ts) then puts the signature there. Used by the portal
 * simulator (`okno send`) and by the gateway's own outbound messages.
 */
import { xopInclude } from './mtom.js';
import { ns, SOAP11_NS, xmlText, type SmevVersion } from './namespaces.js';

export const SIGNED_REQUEST_ID = 'SIGNED_BY_CONSUMER';

export interface AttachmentInput {
  contentId: string;
  mimeType: string;
  content: Buffer;
  /** A detached CMS signature over the content (AttachmentHeader/SignaturePKCS7). */
  signaturePkcs7?: Buffer;
}

/**
 * A file in the exchange's file store (pull mode): RefAttachmentHeader inside the signed data —
 * uuid, Hash (base64; GOST R 34.11-2012 256 for a GOST signer, SHA-256 otherwise, see
 * attachments/file-store-hash.ts), MimeType, SignaturePKCS7? (basic XSD order). The exchange
 * adds FSAttachmentsList with the recipient's credentials.
 */
export interface RefAttachmentInput {
  uuid: string;
  hash: string;
  mimeType: string;
  signaturePkcs7?: Buffer;
}

function refAttachmentHeaderList(refs: readonly RefAttachmentInput[] | undefined): string {
  if (!refs || refs.length === 0) return '';
  return (
    `<b:RefAttachmentHeaderList>` +
    refs
      .map(
        (r) =>
          `<b:RefAttachmentHeader><b:uuid>${xmlText(r.uuid)}</b:uuid><b:Hash>${xmlText(r.hash)}</b:Hash><b:MimeType>${xmlText(r.mimeType)}</b:MimeType>` +
          (r.signaturePkcs7 ? `<b:SignaturePKCS7>${r.signaturePkcs7.toString('base64')}</b:SignaturePKCS7>` : '') +
          `</b:RefAttachmentHeader>`,
      )
      .join('') +
    `</b:RefAttachmentHeaderList>`
  );
}

/**
 * A file sent as an MTOM part: its header (contentId, MimeType, SignaturePKCS7) inside the signed
 * data, its AttachmentContent an xop:Include of the MIME part `part` (the bytes travel beside the
 * envelope: soap/mtom.ts streamMtom).
 */
export interface MtomAttachmentInput {
  contentId: string;
  mimeType: string;
  /** The Content-ID of the MIME part that carries the bytes. */
  part: string;
  signaturePkcs7?: Buffer;
}

type AnyAttachment = AttachmentInput | MtomAttachmentInput;

/** AttachmentHeaderList (inside the signed data): contentId, MimeType, SignaturePKCS7? per file. */
function attachmentHeaderList(attachments: readonly AnyAttachment[]): string {
  if (attachments.length === 0) return '';
  return `<b:AttachmentHeaderList>${attachments.map((a) => `<b:AttachmentHeader><b:contentId>${xmlText(a.contentId)}</b:contentId><b:MimeType>${xmlText(a.mimeType)}</b:MimeType>${a.signaturePkcs7 ? `<b:SignaturePKCS7>${a.signaturePkcs7.toString('base64')}</b:SignaturePKCS7>` : ''}</b:AttachmentHeader>`).join('')}</b:AttachmentHeaderList>`;
}

/** AttachmentContentList (after the signed data): base64 content, or an xop:Include of an MTOM part. */
function attachmentContentList(attachments: readonly AnyAttachment[]): string {
  if (attachments.length === 0) return '';
  return `<b:AttachmentContentList>${attachments.map((a) => `<b:AttachmentContent><b:Id>${xmlText(a.contentId)}</b:Id><b:Content>${'part' in a ? xopInclude(a.part) : a.content.toString('base64')}</b:Content></b:AttachmentContent>`).join('')}</b:AttachmentContentList>`;
}

export interface SendRequestInput {
  version: SmevVersion;
  messageId: string;
  /** The business element (XML text with its namespace declared). */
  contentXml: string;
  referenceMessageId?: string;
  test?: boolean;
  /** Inline attachments: headers inside the signed data, content in AttachmentContentList. */
  attachments?: Array<AttachmentInput | MtomAttachmentInput>;
  /** Files in the exchange's file store: RefAttachmentHeaderList after AttachmentHeaderList, inside the signed data. */
  refAttachments?: RefAttachmentInput[];
}

export function sendRequestEnvelope(input: SendRequestInput): string {
  const attachments = input.attachments ?? [];
  const t = ns.types(input.version);
  const b = ns.basic(input.version);
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>` +
    `<t:SendRequestRequest xmlns:t="${t}" xmlns:b="${b}">` +
    `<t:SenderProvidedRequestData Id="${SIGNED_REQUEST_ID}">` +
    `<t:MessageID>${xmlText(input.messageId)}</t:MessageID>` +
    (input.referenceMessageId ? `<t:ReferenceMessageID>${xmlText(input.referenceMessageId)}</t:ReferenceMessageID>` : '') +
    `<b:MessagePrimaryContent>${input.contentXml}</b:MessagePrimaryContent>` +
    attachmentHeaderList(attachments) +
    refAttachmentHeaderList(input.refAttachments) +
    (input.test ? '<t:TestMessage></t:TestMessage>' : '') +
    `</t:SenderProvidedRequestData>` +
    attachmentContentList(attachments) +
    `<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature>` +
    `</t:SendRequestRequest></soap:Body></soap:Envelope>`
  );
}

export const SIGNED_RESPONSE_ID = 'SIGNED_BY_PROVIDER';

export type ResponseBody =
  | { kind: 'content'; contentXml: string }
  | { kind: 'rejected'; rejections: Array<{ code: string; description: string }> }
  | { kind: 'status'; code: number; description: string };

export interface SendResponseInput {
  version: SmevVersion;
  messageId: string;
  to: string;
  body: ResponseBody;
  /**
   * Files inside the message (inline or MTOM parts); only with a `content` body: AttachmentHeaderList
   * after MessagePrimaryContent in SenderProvidedResponseData, AttachmentContentList after it in
   * SendResponseRequest (the XSD's order).
   */
  attachments?: AnyAttachment[];
  /** Files in the exchange's file store; only with a `content` body (the XSD has them in that branch only). */
  refAttachments?: RefAttachmentInput[];
}

export function sendResponseEnvelope(input: SendResponseInput): string {
  const t = ns.types(input.version);
  const b = ns.basic(input.version);
  const attachments = input.attachments ?? [];
  if ((input.refAttachments?.length || attachments.length) && input.body.kind !== 'content') throw new RangeError(`a ${input.body.kind} response cannot carry files`);
  let inner: string;
  if (input.body.kind === 'content') inner = `<b:MessagePrimaryContent>${input.body.contentXml}</b:MessagePrimaryContent>${attachmentHeaderList(attachments)}${refAttachmentHeaderList(input.refAttachments)}`;
  else if (input.body.kind === 'rejected')
    inner = input.body.rejections
      .map((r) => `<t:RequestRejected><t:RejectionReasonCode>${xmlText(r.code)}</t:RejectionReasonCode><t:RejectionReasonDescription>${xmlText(r.description)}</t:RejectionReasonDescription></t:RequestRejected>`)
      .join('');
  else inner = `<t:RequestStatus><t:StatusCode>${input.body.code}</t:StatusCode><t:StatusDescription>${xmlText(input.body.description)}</t:StatusDescription></t:RequestStatus>`;
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>` +
    `<t:SendResponseRequest xmlns:t="${t}" xmlns:b="${b}">` +
    `<t:SenderProvidedResponseData Id="${SIGNED_RESPONSE_ID}">` +
    `<t:MessageID>${xmlText(input.messageId)}</t:MessageID><t:To>${xmlText(input.to)}</t:To>${inner}` +
    `</t:SenderProvidedResponseData>` +
    attachmentContentList(attachments) +
    `<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature>` +
    `</t:SendResponseRequest></soap:Body></soap:Envelope>`
  );
}


export const SIGNED_CALLER_ID = 'SIGNED_BY_CALLER';

/** GetStatusRequest: the caller's next status message (Timestamp signed). */
export function getStatusEnvelope(version: SmevVersion, at: Date): string {
  const t = ns.types(version);
  const b = ns.basic(version);
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><t:GetStatusRequest xmlns:t="${t}" xmlns:b="${b}">` +
    `<b:Timestamp Id="${SIGNED_CALLER_ID}">${at.toISOString()}</b:Timestamp>` +
    `<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature></t:GetStatusRequest></soap:Body></soap:Envelope>`
  );
}

/** AckRequest: the caller confirms (or refuses) a message delivered to it. */
export function ackEnvelope(version: SmevVersion, messageId: string, accepted: boolean): string {
  const t = ns.types(version);
  const b = ns.basic(version);
  return (
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><t:AckRequest xmlns:t="${t}" xmlns:b="${b}">` +
    `<b:AckTargetMessage Id="${SIGNED_CALLER_ID}" accepted="${accepted}">${xmlText(messageId)}</b:AckTargetMessage>` +
    `<t:CallerInformationSystemSignature></t:CallerInformationSystemSignature></t:AckRequest></soap:Body></soap:Envelope>`
  );
}

