/**
 * The consumer's side of the X-Road message protocol 4.0 (SOAP 1.1): the
 * request envelope an information system sends its Security Server, and the
 * reading of what comes back.
 *
 * Request (protocol §2.2, Annex E.1): headers xrd:client (objectType SUBSYSTEM,
 * or MEMBER), xrd:service (objectType SERVICE), xrd:id, xrd:userId, xrd:issue
 * (optional), xrd:protocolVersion 4.0; the body is document/literal wrapped
 * (§2.3): one element named after the serviceCode holding the content.
 *
 * Response (Annex E.2): the same headers echoed "in the exact same sequence
 * with the exact same values" (plus xrd:requestHash, added by the provider's
 * Security Server), and the body `{serviceCode}Response` holding the answer;
 * or a SOAP fault (Annex D.1: faultcode Client.* / Server.*, faultstring).
 */
import { SOAP11_NS, xmlAttr, xmlText } from '../soap/namespaces.js';
import type { XRoadMember, XRoadService } from '../registry/xroad-members.js';
import { formatMember, formatService } from '../registry/xroad-members.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlElement } from '../xml/types.js';
import type { ContentDefinition, ContentError } from '../catalogue/types.js';
import type { JsonValue } from '../store/types.js';

// The protocol's namespaces and version: one definition for provider and consumer (namespaces.ts).
import { XROAD_ID_NS, XROAD_NS, XROAD_PROTOCOL_VERSION } from './namespaces.js';
export { XROAD_ID_NS, XROAD_NS, XROAD_PROTOCOL_VERSION };

/** The request's X-Road headers (what the response must echo). */
export interface XRoadSoapHeaders {
  client: XRoadMember;
  service: XRoadService;
  /** Unique per message; a retry of the same query repeats it. */
  id: string;
  userId: string | null;
  issue: string | null;
}

/** Where the body's wrapper element lives: `{namespace}{serviceCode}` (request) and `…Response` (response). */
export interface XRoadWrapper {
  namespace: string;
}

function identifier(name: 'client' | 'service', id: XRoadMember | XRoadService): string {
  const objectType = name === 'service' ? 'SERVICE' : id.subsystemCode === null ? 'MEMBER' : 'SUBSYSTEM';
  const parts: Array<[string, string | null]> = [
    ['xRoadInstance', id.instance],
    ['memberClass', id.memberClass],
    ['memberCode', id.memberCode],
    ['subsystemCode', id.subsystemCode],
  ];
  if (name === 'service') {
    const s = id as XRoadService;
    parts.push(['serviceCode', s.serviceCode], ['serviceVersion', s.serviceVersion]);
  }
  const children = parts.filter((p): p is [string, string] => p[1] !== null).map(([n, v]) => `<id:${n}>${xmlText(v)}</id:${n}>`).join('');
  return `<xrd:${name} id:objectType="${objectType}">${children}</xrd:${name}>`;
}

/** Strips an XML declaration (the content goes inside the envelope). */
function withoutDeclaration(xml: string): string {
  return xml.replace(/^\uFEFF?<\?xml[^?]*\?>\s*/, '');
}

/** The SOAP 1.1 request envelope: X-Road headers, and the content in the `{serviceCode}` wrapper. */
export function xroadRequestEnvelope(h: XRoadSoapHeaders, wrapper: XRoadWrapper, contentXml: string): string {
  const header = [
    identifier('client', h.client),
    identifier('service', h.service),
    `<xrd:id>${xmlText(h.id)}</xrd:id>`,
    ...(h.userId !== null ? [`<xrd:userId>${xmlText(h.userId)}</xrd:userId>`] : []),
    ...(h.issue !== null ? [`<xrd:issue>${xmlText(h.issue)}</xrd:issue>`] : []),
    `<xrd:protocolVersion>${XROAD_PROTOCOL_VERSION}</xrd:protocolVersion>`,
  ].join('');
  const code = h.service.serviceCode;
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<SOAP-ENV:Envelope xmlns:SOAP-ENV="${SOAP11_NS}" xmlns:xrd="${XROAD_NS}" xmlns:id="${XROAD_ID_NS}">` +
    `<SOAP-ENV:Header>${header}</SOAP-ENV:Header>` +
    `<SOAP-ENV:Body><svc:${code} xmlns:svc="${xmlAttr(wrapper.namespace)}">${withoutDeclaration(contentXml)}</svc:${code}></SOAP-ENV:Body>` +
    '</SOAP-ENV:Envelope>'
  );
}

/** The headers as the journal keeps them: local name → value (identifiers as INSTANCE/CLASS/CODE/…). */
export function soapHeaderRecord(h: XRoadSoapHeaders): Record<string, string> {
  return {
    client: formatMember(h.client),
    service: formatService(h.service),
    id: h.id,
    ...(h.userId !== null ? { userId: h.userId } : {}),
    ...(h.issue !== null ? { issue: h.issue } : {}),
    protocolVersion: XROAD_PROTOCOL_VERSION,
  };
}

/** What the Security Server's answer says. */
export type XRoadSoapReply =
  | { kind: 'answer'; json: JsonValue; headers: Record<string, string> }
  /** A SOAP fault: faultcode as sent (X-Road's Client.* / Server.*), faultstring. */
  | { kind: 'fault'; faultCode: string; faultString: string; headers: Record<string, string> }
  /** Not an answer the gateway can take: not SOAP, headers not echoed, content invalid. */
  | { kind: 'invalid'; reason: string; headers: Record<string, string> };

const child = (el: XmlElement, ns: string, name: string) => childElements(el, ns, name);

/** Reads an identifier element back as INSTANCE/CLASS/CODE[/SUBSYSTEM][/SERVICECODE[/VERSION]]. */
function readIdentifier(el: XmlElement): string {
  const part = (n: string) => {
    const c = child(el, XROAD_ID_NS, n)[0];
    return c ? textContent(c).trim() : null;
  };
  return ['xRoadInstance', 'memberClass', 'memberCode', 'subsystemCode', 'serviceCode', 'serviceVersion'].map(part).filter((p): p is string => p !== null).join('/');
}

/** The X-Road headers of an envelope, by local name (identifiers formatted, requestHash with its text). */
export function readSoapHeaders(envelope: XmlElement): Record<string, string> {
  const header = child(envelope, SOAP11_NS, 'Header')[0];
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const h of childElements(header)) {
    if (h.namespaceURI !== XROAD_NS) continue;
    out[h.localName] = h.localName === 'client' || h.localName === 'service' ? readIdentifier(h) : textContent(h).replace(/\s+/g, h.localName === 'requestHash' ? '' : ' ').trim();
    const objectType = h.attributes.find((a) => a.localName === 'objectType' && a.namespaceURI === XROAD_ID_NS)?.value;
    if (objectType) out[`${h.localName}.objectType`] = objectType;
  }
  return out;
}

const describe = (errors: ContentError[]) => errors.slice(0, 5).map((e) => `${e.path || '/'} ${e.rule}`).join('; ');

/**
 * Reads the Security Server's answer to `sent`: a fault, or the response
 * content (validated by `response`, translated to the city's JSON), provided
 * the headers echo ours (client, service, id, and userId / issue when sent).
 */
export function readXRoadResponse(body: string, sent: XRoadSoapHeaders, response: ContentDefinition): XRoadSoapReply {
  let root: XmlElement;
  try {
    root = parseXml(body).root;
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    return { kind: 'invalid', reason: `not XML: ${error.message}`, headers: {} };
  }
  if (root.namespaceURI !== SOAP11_NS || root.localName !== 'Envelope') return { kind: 'invalid', reason: `not a SOAP 1.1 envelope (root ${root.localName})`, headers: {} };
  const headers = readSoapHeaders(root);
  const bodyEl = child(root, SOAP11_NS, 'Body')[0];
  if (!bodyEl) return { kind: 'invalid', reason: 'the envelope has no Body', headers };
  const fault = child(bodyEl, SOAP11_NS, 'Fault')[0];
  if (fault) {
    const text = (n: string) => {
      const c = childElements(fault).find((e) => e.localName === n);
      return c ? textContent(c).trim() : '';
    };
    // faultcode is a QName; X-Road writes it unprefixed (Server.ClientProxy…), others may prefix it (SOAP-ENV:Client).
    const faultCode = text('faultcode').replace(/^[^:.]+:/, '');
    return { kind: 'fault', faultCode, faultString: text('faultstring'), headers };
  }
  const expected = soapHeaderRecord(sent);
  for (const name of ['client', 'service', 'id', 'userId', 'issue', 'protocolVersion'] as const) {
    if (expected[name] === undefined) continue;
    if (headers[name] !== expected[name]) {
      return { kind: 'invalid', reason: `the response's xrd:${name} is ${headers[name] === undefined ? 'missing' : `"${headers[name]!.slice(0, 200)}"`}, not the request's "${expected[name]}"`, headers };
    }
  }
  const wrappers = childElements(bodyEl);
  const wrapperName = `${sent.service.serviceCode}Response`;
  if (wrappers.length !== 1 || wrappers[0]!.localName !== wrapperName) {
    return { kind: 'invalid', reason: `the Body holds ${wrappers.map((w) => w.localName).join(', ') || 'nothing'}, not one ${wrapperName}`, headers };
  }
  const contents = childElements(wrappers[0]!);
  if (contents.length !== 1) return { kind: 'invalid', reason: `${wrapperName} holds ${contents.length} elements, not the one ${response.rootElement}`, headers };
  const read = response.readXml(contents[0]!);
  if (!read.ok) return { kind: 'invalid', reason: `the answer's content does not fit ${response.rootElement}: ${describe(read.errors)}`, headers };
  return { kind: 'answer', json: read.json, headers };
}

/** X-Road's fault codes: Client.* means the request is wrong (sending it again will not help); Server.* may pass. */
export function isPermanentXRoadFault(faultCode: string): boolean {
  return /^Client(\.|$)/.test(faultCode);
}
