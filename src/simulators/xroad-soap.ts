/**
 * The SOAP side of the simulated Security Servers (X-Road message protocol
 * 4.0): reading the X-Road headers of a client's request as a Security Server
 * does, checking the provider's response against the request, stamping
 * xrd:requestHash into the response's Header (the body is left byte for
 * byte), and the Security Server's own fault messages.
 *
 * Written from the protocol (doc/Protocols/pr-mess_x-road_message_protocol.md
 * §2.2, Annex D) and the NIIS Security Server's behaviour (SaxSoapParserImpl,
 * SoapUtils.checkConsistency, ClientMessageProcessor.checkRequestHash,
 * HandlerBase.sendErrorResponse, the X-Road 7 ErrorCodes), independently of
 * Okno's own X-Road code, so that it can judge it.
 */
import { createHash } from 'node:crypto';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { parseMember, parseService, XRoadIdError, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';

export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const XROAD_NS = 'http://x-road.eu/xsd/xroad.xsd';
export const XROAD_ID_NS = 'http://x-road.eu/xsd/identifiers';
/** xrd:requestHash/@algorithmId: the Security Server's default digest (SHA-512). */
export const REQUEST_HASH_ALGORITHM = 'http://www.w3.org/2001/04/xmlenc#sha512';

const LIMITS = { maxDepth: 128, maxAttributes: 64, maxBytes: 10 * 1024 * 1024 };

/**
 * A fault of the Security Server itself (not of the information system
 * behind it): the code as X-Road 7 writes it (Client.*, Server.ClientProxy.*,
 * Server.ServerProxy.*), the text, and the HTTP status the REST side answers
 * with (400 for Client.*, else 500).
 */
export class SecurityServerFault extends Error {
  override name = 'SecurityServerFault';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  get httpStatus(): number {
    return this.code.startsWith('Client.') ? 400 : 500;
  }
}

/** The X-Road headers of a message, as read (texts untrimmed, as the Security Server compares them). */
export interface SoapXRoadHeader {
  client: XRoadMember | null;
  service: XRoadService | null;
  id: string | null;
  userId: string | null;
  issue: string | null;
  protocolVersion: string | null;
  /** The header elements themselves, for the request/response comparison. */
  elements: Map<string, XmlElement>;
}

export interface SoapRequest {
  header: SoapXRoadHeader & { client: XRoadMember; service: XRoadService; id: string; protocolVersion: string };
  /** Local name of the body's one child (the wrapper, named after serviceCode). */
  wrapper: string;
}

/**
 * The fault message a Security Server sends (SoapFault.createFaultXml; Annex
 * D.1): faultcode, faultstring, an empty faultactor, and the detail a random
 * id to find the case in the server's log.
 */
export function securityServerFaultXml(code: string, message: string, detail: string): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP_ENV_NS}"><SOAP-ENV:Body><SOAP-ENV:Fault>` +
    `<faultcode>${escapeXml(code)}</faultcode><faultstring>${escapeXml(message)}</faultstring><faultactor></faultactor>` +
    `<detail><faultDetail xmlns="">${escapeXml(detail)}</faultDetail></detail>` +
    '</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>'
  );
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The text of a message (UTF-8, a BOM dropped) and its parse; InvalidXml / InvalidSoap with `prefix` otherwise. */
export function parseSoap(raw: Buffer, prefix: string): { text: string; doc: XmlDocument } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SecurityServerFault(`${prefix}.InvalidXml`, 'Malformed SOAP message: not UTF-8');
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(text, LIMITS);
  } catch (error) {
    if (error instanceof XmlError) throw new SecurityServerFault(`${prefix}.InvalidXml`, `Malformed SOAP message: ${error.message}`);
    throw error;
  }
  if (doc.root.namespaceURI !== SOAP_ENV_NS || doc.root.localName !== 'Envelope') {
    throw new SecurityServerFault(`${prefix}.InvalidSoap`, 'Malformed SOAP message: envelope missing');
  }
  return { text, doc };
}

/** Header and Body of an envelope (either may be null). */
export function envelopeParts(doc: XmlDocument): { header: XmlElement | null; body: XmlElement | null } {
  const kids = childElements(doc.root, SOAP_ENV_NS);
  return { header: kids.find((k) => k.localName === 'Header') ?? null, body: kids.find((k) => k.localName === 'Body') ?? null };
}

/** A SOAP Fault in the body, or null: {faultcode, faultstring}. */
export function soapFaultOf(doc: XmlDocument): { code: string; message: string } | null {
  const body = envelopeParts(doc).body;
  const fault = body ? childElements(body, SOAP_ENV_NS, 'Fault')[0] : undefined;
  if (!fault) return null;
  const text = (name: string) => {
    const el = childElements(fault).find((c) => c.localName === name);
    return el ? textContent(el).trim() : '';
  };
  return { code: text('faultcode'), message: text('faultstring') };
}

/** Reads the X-Road header fields; `prefix` names who complains (Client, Server.ServerProxy.ServiceFailed, …). */
export function readXRoadHeader(header: XmlElement, prefix: string): SoapXRoadHeader {
  const elements = new Map<string, XmlElement>();
  for (const el of childElements(header, XROAD_NS)) {
    if (elements.has(el.localName)) throw new SecurityServerFault(`${prefix}.DuplicateHeaderField`, `SOAP header contains duplicate field '${el.localName}'`);
    elements.set(el.localName, el);
  }
  const text = (name: string) => {
    const el = elements.get(name);
    return el ? textContent(el) : null;
  };
  const client = elements.get('client');
  const service = elements.get('service');
  return {
    client: client ? readIdentifier(client, false, prefix) : null,
    service: service ? (readIdentifier(service, true, prefix) as XRoadService) : null,
    id: text('id'),
    userId: text('userId'),
    issue: text('issue'),
    protocolVersion: text('protocolVersion'),
    elements,
  };
}

/** xrd:client (MEMBER / SUBSYSTEM) or xrd:service (SERVICE) as an identifier; InvalidClientIdentifier / InvalidServiceIdentifier-like faults otherwise. */
function readIdentifier(el: XmlElement, isService: boolean, prefix: string): XRoadMember | XRoadService {
  const part = (name: string) => {
    const c = childElements(el, XROAD_ID_NS, name)[0];
    return c ? textContent(c).trim() : null;
  };
  const instance = part('xRoadInstance');
  const memberClass = part('memberClass');
  const memberCode = part('memberCode');
  const subsystemCode = part('subsystemCode');
  const what = isService ? 'service' : 'client';
  if (!instance || !memberClass || !memberCode) {
    throw new SecurityServerFault(`${prefix}.MissingHeaderField`, `Required field '${what}' is incomplete (xRoadInstance, memberClass, memberCode)`);
  }
  const base = [instance, memberClass, memberCode, ...(subsystemCode ? [subsystemCode] : [])].join('/');
  try {
    if (!isService) return parseMember(base);
    const code = part('serviceCode');
    if (!code) throw new SecurityServerFault(`${prefix}.MissingHeaderField`, "Required field 'serviceCode' is missing");
    const version = part('serviceVersion');
    if (!subsystemCode) return Object.freeze({ ...parseMember(base), serviceCode: code, serviceVersion: version });
    return parseService([base, code, ...(version ? [version] : [])].join('/'), true);
  } catch (error) {
    if (error instanceof XRoadIdError) throw new SecurityServerFault(`${prefix}.InvalidClientIdentifier`, error.message);
    throw error;
  }
}

/**
 * A client's request as its Security Server reads it: an envelope with a
 * Header holding client, service, id and protocolVersion 4.x (userId and
 * issue optional, as in the protocol's Table 1), and a Body with one wrapper
 * element named after serviceCode. Faults are the client's (Client.*).
 */
export function readSoapRequest(raw: Buffer): SoapRequest {
  const { doc } = parseSoap(raw, 'Client');
  const { header, body } = envelopeParts(doc);
  if (!header) throw new SecurityServerFault('Client.MissingHeader', 'Malformed SOAP message: header missing');
  const h = readXRoadHeader(header, 'Client');
  if (!h.client) throw new SecurityServerFault('Client.MissingHeaderField', "Required field 'client' is missing");
  if (!h.service) throw new SecurityServerFault('Client.MissingHeaderField', "Message header must contain 'service' field");
  if (h.id === null) throw new SecurityServerFault('Client.MissingHeaderField', "Required field 'id' is missing");
  if (h.protocolVersion === null) throw new SecurityServerFault('Client.MissingHeaderField', "Required field 'protocolVersion' is missing");
  if (!h.protocolVersion.startsWith('4.')) {
    throw new SecurityServerFault('Client.InvalidProtocolVersion', `Invalid protocol version (supported: 4.x, provided: ${h.protocolVersion})`);
  }
  if (!body) throw new SecurityServerFault('Client.MissingBody', 'Malformed SOAP message: body missing');
  const inside = childElements(body);
  if (inside.length !== 1) throw new SecurityServerFault('Client.InvalidBody', 'Malformed SOAP message: body must have exactly one child element');
  const wrapper = inside[0]!.localName;
  if (!wrapper.startsWith(h.service.serviceCode)) {
    throw new SecurityServerFault('Client.InconsistentHeaders', 'Malformed SOAP message: service code does not match in header and body');
  }
  return { header: h as SoapRequest['header'], wrapper };
}

/** The fields the Security Server compares between request and response (SoapHeader's @CheckConsistency). */
const CONSISTENT_FIELDS = ['client', 'service', 'userId', 'issue', 'id'] as const;

/** An element's identity for comparison: its expanded name, objectType, and children's names and texts (or its text). */
function fingerprint(el: XmlElement | undefined): string {
  if (!el) return '';
  const kids = childElements(el);
  const objectType = el.attributes.find((a) => a.namespaceURI === XROAD_ID_NS && a.localName === 'objectType')?.value ?? '';
  if (kids.length === 0) return `${objectType}|${textContent(el)}`;
  return `${objectType}|${kids.map((k) => `{${k.namespaceURI}}${k.localName}=${textContent(k).trim()}`).join('|')}`;
}

/**
 * Checks the provider's response against the request: a SOAP envelope
 * (a Fault is relayed as it is: returned as 'fault'), its Header with the
 * required fields (Server.ServerProxy.ServiceFailed.* otherwise, as the
 * provider's Security Server parses it), and the request's fields echoed
 * (Server.ClientProxy.ServiceFailed.InconsistentResponse otherwise, as the
 * client's Security Server compares them).
 */
export function checkSoapResponse(request: SoapRequest, raw: Buffer): { text: string; doc: XmlDocument; fault: { code: string; message: string } | null } {
  const prefix = 'Server.ServerProxy.ServiceFailed';
  const { text, doc } = parseSoap(raw, prefix);
  const fault = soapFaultOf(doc);
  if (fault) return { text, doc, fault };
  const { header, body } = envelopeParts(doc);
  if (!header) throw new SecurityServerFault(`${prefix}.MissingHeader`, 'Malformed SOAP message: header missing');
  if (!body) throw new SecurityServerFault(`${prefix}.MissingBody`, 'Malformed SOAP message: body missing');
  const h = readXRoadHeader(header, prefix);
  for (const required of ['client', 'id', 'protocolVersion'] as const) {
    if (h[required] === null) throw new SecurityServerFault(`${prefix}.MissingHeaderField`, `Required field '${required}' is missing`);
  }
  for (const field of CONSISTENT_FIELDS) {
    if (fingerprint(request.header.elements.get(field)) !== fingerprint(h.elements.get(field))) {
      throw new SecurityServerFault(
        'Server.ClientProxy.ServiceFailed.InconsistentResponse',
        `Response from server proxy is not consistent with request (field '${field}' does not match in request and response)`,
      );
    }
  }
  return { text, doc, fault: null };
}

/** base64(SHA-512(the request's bytes as the client posted them)): xrd:requestHash. */
export function soapRequestHash(raw: Buffer): string {
  return createHash('sha512').update(raw).digest('base64');
}

/**
 * The response with xrd:requestHash set in its Header: any requestHash the
 * service put there is removed ("MUST ignore the field and replace it") and
 * the new one goes last in the Header. Everything else — the Body above all —
 * is left byte for byte.
 */
export function withRequestHash(text: string, doc: XmlDocument, hash: string): string {
  const header = envelopeParts(doc).header!;
  const toRaw = offsetMapper(text);
  const cuts = childElements(header, XROAD_NS, 'requestHash').map((el) => [toRaw(el.start), toRaw(el.end)] as const);
  const headerEnd = toRaw(header.end);
  const closeAt = text.lastIndexOf('</', headerEnd);
  const element = `<xrd:requestHash xmlns:xrd="${XROAD_NS}" algorithmId="${REQUEST_HASH_ALGORITHM}">${hash}</xrd:requestHash>`;
  let out = text.slice(0, closeAt) + element + text.slice(closeAt);
  for (const [from, to] of [...cuts].reverse()) out = out.slice(0, from) + out.slice(to);
  return out;
}

/** Maps an offset of the parser's line-end-normalized text back to `text` (identity when it has no \r). */
function offsetMapper(text: string): (offset: number) => number {
  if (!text.includes('\r')) return (o) => o;
  const map: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\r' && text[i + 1] === '\n') continue; // \r\n counts as the \n
    map.push(i);
  }
  map.push(text.length);
  return (o) => map[o] ?? text.length;
}
