/**
 * Reading a SMEV 3 message off the wire, MTOM or plain: the XML document
 * (xop:Include resolved), where its parts are, and its attachments.
 *
 * Works on what the exchange delivers (GetRequestResponse/RequestMessage,
 * GetResponseResponse/ResponseMessage) and on what senders send
 * (SendRequestRequest, SendResponseRequest). Attachments come in three kinds:
 * - `attachments`: AttachmentHeaderList (inside the signed data: contentId,
 *   MimeType, SignaturePKCS7) joined with AttachmentContentList (outside it:
 *   Id, Content — inline base64 or, by MTOM, a MIME part);
 * - `refAttachments`: RefAttachmentHeaderList (signed: uuid, Hash, MimeType,
 *   SignaturePKCS7) — files in the exchange's file store;
 * - `fsAttachments`: FSAttachmentsList (the exchange's access to its file
 *   store: uuid, UserName, Password, FileName) — recorded, never fetched.
 *
 * Library code: it never prints; the password of a file-store reference is
 * returned to the caller, which must not log it.
 */
import { createHash } from 'node:crypto';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { SOAP11_NS } from './namespaces.js';
import { decodeSoapBody, MtomError, resolveXop, type MtomLimits } from './mtom.js';

export interface SmevAttachment {
  /** contentId of the header = Id of the content. */
  id: string;
  mimeType: string;
  bytes: Buffer;
  /** Hex SHA-256 of bytes. */
  sha256: string;
  /** The detached PKCS#7 signature over the file (AttachmentHeader/SignaturePKCS7), when present. */
  signaturePkcs7?: Buffer;
}

export interface SmevRefAttachment {
  uuid: string;
  /** As sent (base64 of the file's GOST R 34.11 hash, by the exchange's rules). */
  hash: string;
  mimeType: string;
  signaturePkcs7?: Buffer;
}

export interface SmevFsAttachment {
  uuid: string;
  userName: string;
  /** A credential of the exchange's file store: never log it. */
  password: string;
  fileName: string;
}

export interface SmevMessage {
  /** The root XML as parsed (xop:Include replaced by base64). */
  xml: string;
  doc: XmlDocument;
  /** Local name of the operation element, e.g. GetRequestResponse. */
  operation: string;
  /** The SMEV version of the operation's namespace ('1.1', '1.2', '1.3'). */
  version: string;
  /** Request / Response (what SMEVSignature covers), or null (a Send* request, or an empty queue). */
  message: XmlElement | null;
  /** True for GetRequestResponse / GetResponseResponse without a message: the queue is empty. */
  empty: boolean;
  /** SenderProvidedRequestData / SenderProvidedResponseData (what the sender's signature covers). */
  senderData: XmlElement | null;
  /** The business element inside MessagePrimaryContent, when there is one. */
  content: XmlElement | null;
  messageId: string | null;
  /** ds:Signature elements, where present. */
  senderSignature: XmlElement | null;
  smevSignature: XmlElement | null;
  personalSignature: XmlElement | null;
  attachments: SmevAttachment[];
  refAttachments: SmevRefAttachment[];
  fsAttachments: SmevFsAttachment[];
  /** MIME parts no xop:Include named (allowed, reported). */
  unusedParts: string[];
  mtom: boolean;
}

export class SmevMessageError extends Error {
  override readonly name = 'SmevMessageError';
}

const LIMITS = { maxDepth: 128, maxAttributes: 64 };
const TYPES_NS = /^urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/(1\.[123])$/;
const DS_NS = 'http://www.w3.org/2000/09/xmldsig#';

/**
 * Reads an HTTP body (with its Content-Type) as a SMEV message. Throws
 * SmevMessageError (with the reason) for a malformed MTOM body, bad XML, an
 * xop:Include naming no part, a header without content or bad base64.
 */
export function readSmevMessage(body: Buffer, contentType: string | undefined, limits: Partial<MtomLimits> = {}): SmevMessage {
  let xml: string;
  let mtom: boolean;
  const used = new Set<string>();
  let partIds: string[];
  try {
    const decoded = decodeSoapBody(body, contentType, limits);
    xml = resolveXop(decoded.rootXml, decoded.parts, used);
    mtom = decoded.mtom;
    partIds = [...decoded.parts.keys()];
  } catch (error) {
    if (error instanceof MtomError) throw new SmevMessageError(`MTOM: ${error.message}`);
    throw error;
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(xml, LIMITS);
  } catch (error) {
    if (error instanceof XmlError) throw new SmevMessageError(`not acceptable XML (${error.code}): ${error.message}`);
    throw error;
  }
  return { ...locateSmevMessage(doc), xml, doc, unusedParts: partIds.filter((id) => !used.has(id)), mtom };
}

export type SmevMessageParts = Omit<SmevMessage, 'xml' | 'doc' | 'unusedParts' | 'mtom'>;

function child(el: XmlElement | null, localName: string): XmlElement | null {
  return el ? (childElements(el).find((c) => c.localName === localName) ?? null) : null;
}

/**
 * The parts of a parsed SMEV message document (see readSmevMessage), read by
 * position and namespace — each expected element at most once where it
 * belongs, never searched for — so a second Request or a moved signature
 * cannot be slipped in. Throws SmevMessageError.
 */
export function locateSmevMessage(doc: XmlDocument): SmevMessageParts {
  const envelope = doc.root;
  if (envelope.namespaceURI !== SOAP11_NS || envelope.localName !== 'Envelope') throw new SmevMessageError('not a SOAP 1.1 Envelope');
  const bodies = childElements(envelope).filter((c) => c.namespaceURI === SOAP11_NS && c.localName === 'Body');
  if (bodies.length !== 1) throw new SmevMessageError(`soap:Envelope must hold exactly one soap:Body, found ${bodies.length}`);
  const ops = childElements(bodies[0]!);
  if (ops.length !== 1) throw new SmevMessageError(`soap:Body must hold exactly one operation element, found ${ops.length}`);
  const op = ops[0]!;
  const version = TYPES_NS.exec(op.namespaceURI)?.[1];
  if (!version) throw new SmevMessageError(`<${op.qName}> is not a SMEV message-exchange element`);
  const t = op.namespaceURI;
  const b = `urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/${version}`;
  /** The child in namespace ns with this local name: null when absent, an error when repeated. */
  const one = (el: XmlElement | null, ns: string, localName: string): XmlElement | null => {
    if (!el) return null;
    const found = childElements(el).filter((c) => c.localName === localName && c.namespaceURI === ns);
    if (found.length > 1) throw new SmevMessageError(`<${el.qName}> holds ${found.length} ${localName} elements`);
    return found[0] ?? null;
  };
  const signatureIn = (el: XmlElement | null, localName: string): XmlElement | null => {
    const container = one(el, t, localName);
    if (!container) return null;
    const inside = childElements(container);
    if (inside.length !== 1 || inside[0]!.namespaceURI !== DS_NS || inside[0]!.localName !== 'Signature') throw new SmevMessageError(`${localName} must hold exactly one ds:Signature`);
    return inside[0]!;
  };

  let holder: XmlElement | null; // the element holding AttachmentContentList (and SMEVSignature)
  let message: XmlElement | null = null;
  let senderData: XmlElement | null;
  let senderSignature: XmlElement | null;
  let empty = false;
  switch (op.localName) {
    case 'GetRequestResponse':
    case 'GetResponseResponse': {
      const request = op.localName === 'GetRequestResponse';
      if (childElements(op).length > 1) throw new SmevMessageError(`${op.localName} must hold at most one message`);
      holder = one(op, t, request ? 'RequestMessage' : 'ResponseMessage');
      if (!holder && childElements(op).length > 0) throw new SmevMessageError(`${op.localName} holds <${childElements(op)[0]!.qName}>, not a ${request ? 'RequestMessage' : 'ResponseMessage'}`);
      message = one(holder, t, request ? 'Request' : 'Response');
      empty = holder === null;
      senderData = one(message, t, request ? 'SenderProvidedRequestData' : 'SenderProvidedResponseData');
      senderSignature = signatureIn(message, 'SenderInformationSystemSignature');
      if (holder && !message) throw new SmevMessageError(`${holder.localName} holds no ${request ? 'Request' : 'Response'} (a Cancel is not read here)`);
      if (message && !senderData) throw new SmevMessageError(`${message.localName} holds no SenderProvided…Data`);
      break;
    }
    case 'SendRequestRequest':
    case 'SendResponseRequest':
      holder = op;
      senderData = one(op, t, op.localName === 'SendRequestRequest' ? 'SenderProvidedRequestData' : 'SenderProvidedResponseData');
      senderSignature = signatureIn(op, 'CallerInformationSystemSignature');
      if (!senderData) throw new SmevMessageError(`${op.localName} holds no SenderProvided…Data`);
      break;
    default:
      throw new SmevMessageError(`${op.localName} carries no message to read`);
  }
  const primary = one(senderData, b, 'MessagePrimaryContent');
  const inside = primary ? childElements(primary) : [];
  if (primary && inside.length !== 1) throw new SmevMessageError(`MessagePrimaryContent must hold exactly one business element, found ${inside.length}`);
  const idEl = one(senderData, t, 'MessageID');
  return {
    operation: op.localName,
    version,
    message,
    empty,
    senderData,
    content: inside[0] ?? null,
    messageId: idEl ? textContent(idEl).trim() : null,
    senderSignature,
    smevSignature: signatureIn(holder, 'SMEVSignature'),
    personalSignature: signatureIn(senderData, 'PersonalSignature'),
    attachments: attachmentsOf(one(senderData, b, 'AttachmentHeaderList'), one(holder, b, 'AttachmentContentList')),
    refAttachments: refAttachmentsOf(one(senderData, b, 'RefAttachmentHeaderList')),
    fsAttachments: fsAttachmentsOf(one(message, b, 'FSAttachmentsList')),
  };
}

function field(el: XmlElement, name: string): string {
  const c = child(el, name);
  return c ? textContent(c).trim() : '';
}

function base64Field(el: XmlElement, name: string, what: string): Buffer | undefined {
  const c = child(el, name);
  return c ? decodeBase64(textContent(c), what) : undefined;
}

function decodeBase64(text: string, what: string): Buffer {
  const b64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) throw new SmevMessageError(`${what} is not base64`);
  return Buffer.from(b64, 'base64');
}

function attachmentsOf(headers: XmlElement | null, contentList: XmlElement | null): SmevAttachment[] {
  const contents = new Map<string, XmlElement>();
  for (const c of contentList ? childElements(contentList) : []) {
    const id = field(c, 'Id');
    if (contents.has(id)) throw new SmevMessageError(`AttachmentContent ${id} occurs twice`);
    contents.set(id, c);
  }
  const out: SmevAttachment[] = [];
  for (const h of headers ? childElements(headers) : []) {
    const id = field(h, 'contentId');
    const content = contents.get(id);
    if (!content) throw new SmevMessageError(`attachment ${id}: no AttachmentContent with that Id`);
    contents.delete(id);
    const bytes = decodeBase64(textContent(child(content, 'Content') ?? content), `attachment ${id}: Content`);
    const signaturePkcs7 = base64Field(h, 'SignaturePKCS7', `attachment ${id}: SignaturePKCS7`);
    out.push({ id, mimeType: field(h, 'MimeType'), bytes, sha256: createHash('sha256').update(bytes).digest('hex'), ...(signaturePkcs7 ? { signaturePkcs7 } : {}) });
  }
  if (contents.size > 0) throw new SmevMessageError(`AttachmentContent ${[...contents.keys()].join(', ')}: no AttachmentHeader with that contentId`);
  return out;
}

function refAttachmentsOf(list: XmlElement | null): SmevRefAttachment[] {
  return (list ? childElements(list) : []).map((h) => {
    const uuid = field(h, 'uuid');
    const signaturePkcs7 = base64Field(h, 'SignaturePKCS7', `file ${uuid}: SignaturePKCS7`);
    return { uuid, hash: field(h, 'Hash'), mimeType: field(h, 'MimeType'), ...(signaturePkcs7 ? { signaturePkcs7 } : {}) };
  });
}

function fsAttachmentsOf(list: XmlElement | null): SmevFsAttachment[] {
  return (list ? childElements(list) : []).map((a) => ({ uuid: field(a, 'uuid'), userName: field(a, 'UserName'), password: field(a, 'Password'), fileName: field(a, 'FileName') }));
}
