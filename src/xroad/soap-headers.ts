/**
 * The X-Road message protocol 4.0 SOAP headers (protocol 2.2, Annex A/B) read
 * from a parsed SOAP 1.1 envelope, strictly: xrd:client, xrd:id and
 * xrd:protocolVersion required, xrd:service required in a request (2.2: "When
 * a service client sends a request … the field service MUST be present"),
 * each at most once; identifiers with the objectType the schema gives them
 * and their parts in the schema's order; protocolVersion 4.0. Other header
 * elements (Trembita's, extensions) are kept as strings for the journal.
 */
import { parseMember, XRoadIdError, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { SOAP11_ENV_NS, XROAD_ID_NS, XROAD_NS, XROAD_PROTOCOL_VERSION } from './namespaces.js';
import { XRoadRefusal } from './refusal.js';

export interface InboundXRoadHeaders {
  client: XRoadMember;
  service: XRoadService;
  id: string;
  userId: string | null;
  issue: string | null;
  protocolVersion: string;
  requestHash: { value: string; algorithmId: string | null } | null;
  /** Every header element by local name (identifiers as INSTANCE/CLASS/CODE/…; another namespace's as {ns}name), for the journal. */
  headers: Record<string, string>;
  /** The header elements in the request's order: the response echoes them (buildXRoadResponse). */
  elements: XmlElement[];
}

/** The envelope's parts: Header (may be null) and the one operation element in Body. */
export interface SoapParts {
  header: XmlElement | null;
  body: XmlElement;
  /** The Body's single element child (the operation wrapper). */
  operation: XmlElement;
}

const KNOWN = ['client', 'service', 'id', 'userId', 'issue', 'protocolVersion', 'requestHash'] as const;
type Known = (typeof KNOWN)[number];

/** SOAP 1.1 Envelope → Header, Body and the one element in Body. */
export function soapParts(root: XmlElement): SoapParts {
  if (root.namespaceURI !== SOAP11_ENV_NS || root.localName !== 'Envelope') {
    throw new XRoadRefusal('bad-content', `the document is {${root.namespaceURI}}${root.localName}, not a SOAP 1.1 Envelope`, 'InvalidSoap');
  }
  const children = childElements(root);
  const headers = children.filter((c) => c.namespaceURI === SOAP11_ENV_NS && c.localName === 'Header');
  const bodies = children.filter((c) => c.namespaceURI === SOAP11_ENV_NS && c.localName === 'Body');
  if (bodies.length !== 1) throw new XRoadRefusal('bad-content', bodies.length === 0 ? 'Malformed SOAP message: body missing' : 'Malformed SOAP message: more than one Body', 'MissingBody');
  if (headers.length > 1) throw new XRoadRefusal('bad-header', 'Malformed SOAP message: more than one Header', 'InvalidSoap');
  const body = bodies[0]!;
  const inBody = childElements(body);
  if (inBody.length !== 1) throw new XRoadRefusal('bad-content', `the SOAP Body must hold exactly one element (the operation wrapper), not ${inBody.length}`, 'InvalidBody');
  return { header: headers[0] ?? null, body, operation: inBody[0]! };
}

function missing(name: string): XRoadRefusal {
  return new XRoadRefusal('bad-header', `Required field 'xrd:${name}' is missing from the SOAP header`, 'MissingHeaderField');
}

/** Text of a simple element (no element children), trimmed. */
function simpleText(el: XmlElement, name: string): string {
  if (childElements(el).length > 0) throw new XRoadRefusal('bad-header', `xrd:${name} must hold text, not elements`, 'InvalidHeaderField');
  return textContent(el).trim();
}

/** The id:objectType attribute (in the identifiers namespace, as Annex A declares it). */
function objectType(el: XmlElement): string | null {
  return el.attributes.find((a) => a.localName === 'objectType' && a.namespaceURI === XROAD_ID_NS)?.value ?? null;
}

/**
 * The identifier's parts, in the schema's order: names are the Annex A element names in
 * the identifiers namespace; optional ones may be absent; nothing else may appear.
 */
function identifierParts(el: XmlElement, header: string, order: ReadonlyArray<readonly [name: string, required: boolean]>): Map<string, string> {
  const out = new Map<string, string>();
  const kids = childElements(el);
  let i = 0;
  for (const [name, required] of order) {
    const kid = kids[i];
    if (kid && kid.namespaceURI === XROAD_ID_NS && kid.localName === name) {
      const value = childElements(kid).length === 0 ? textContent(kid).trim() : '';
      if (value === '') throw new XRoadRefusal('bad-header', `xrd:${header}: id:${name} is empty`, header === 'client' ? 'InvalidClientIdentifier' : 'InvalidServiceIdentifier');
      out.set(name, value);
      i++;
    } else if (required) {
      throw new XRoadRefusal('bad-header', `xrd:${header}: id:${name} is missing (or out of order)`, header === 'client' ? 'InvalidClientIdentifier' : 'InvalidServiceIdentifier');
    }
  }
  if (i < kids.length) {
    const extra = kids[i]!;
    throw new XRoadRefusal('bad-header', `xrd:${header}: unexpected {${extra.namespaceURI}}${extra.localName}`, header === 'client' ? 'InvalidClientIdentifier' : 'InvalidServiceIdentifier');
  }
  return out;
}

/** Checks the parts as the registry's identifiers do (no slashes, whitespace, ; : \ %). */
function memberFrom(parts: Map<string, string>, header: string): XRoadMember {
  const text = [parts.get('xRoadInstance'), parts.get('memberClass'), parts.get('memberCode'), ...(parts.has('subsystemCode') ? [parts.get('subsystemCode')] : [])].join('/');
  try {
    return parseMember(text);
  } catch (error) {
    if (!(error instanceof XRoadIdError)) throw error;
    throw new XRoadRefusal('bad-header', `xrd:${header}: ${error.message}`, header === 'client' ? 'InvalidClientIdentifier' : 'InvalidServiceIdentifier');
  }
}

export function readClient(el: XmlElement): XRoadMember {
  const type = objectType(el);
  if (type !== 'SUBSYSTEM' && type !== 'MEMBER') throw new XRoadRefusal('bad-header', `xrd:client: id:objectType must be SUBSYSTEM or MEMBER, not ${type ?? '(absent)'}`, 'InvalidClientIdentifier');
  const parts = identifierParts(el, 'client', [
    ['xRoadInstance', true],
    ['memberClass', true],
    ['memberCode', true],
    ['subsystemCode', type === 'SUBSYSTEM'],
  ]);
  if (type === 'MEMBER' && parts.has('subsystemCode')) throw new XRoadRefusal('bad-header', 'xrd:client: a MEMBER identifier has no id:subsystemCode', 'InvalidClientIdentifier');
  return memberFrom(parts, 'client');
}

export function readService(el: XmlElement): XRoadService {
  const type = objectType(el);
  if (type !== 'SERVICE') throw new XRoadRefusal('bad-header', `xrd:service: id:objectType must be SERVICE, not ${type ?? '(absent)'}`, 'InvalidServiceIdentifier');
  const parts = identifierParts(el, 'service', [
    ['xRoadInstance', true],
    ['memberClass', true],
    ['memberCode', true],
    ['subsystemCode', false],
    ['serviceCode', true],
    ['serviceVersion', false],
  ]);
  const provider = memberFrom(parts, 'service');
  const code = parts.get('serviceCode')!;
  const version = parts.get('serviceVersion') ?? null;
  for (const [name, value] of [['serviceCode', code], ['serviceVersion', version]] as const) {
    if (value !== null && /[/\s;:\\%]/.test(value)) throw new XRoadRefusal('bad-header', `xrd:service: id:${name} "${value}" holds a character X-Road identifiers may not (/ ; : \\ % whitespace)`, 'InvalidServiceIdentifier');
  }
  return Object.freeze({ ...provider, serviceCode: code, serviceVersion: version });
}

function identifierText(m: XRoadMember | XRoadService): string {
  const base = [m.instance, m.memberClass, m.memberCode, ...(m.subsystemCode === null ? [] : [m.subsystemCode])];
  return 'serviceCode' in m ? [...base, m.serviceCode, ...(m.serviceVersion ? [m.serviceVersion] : [])].join('/') : base.join('/');
}

/** Reads and checks the X-Road headers of a request's SOAP Header. */
export function readXRoadHeaders(header: XmlElement | null): InboundXRoadHeaders {
  if (!header) throw new XRoadRefusal('bad-header', 'Malformed SOAP message: header missing (the X-Road headers are required)', 'MissingHeader');
  const elements = childElements(header);
  const found = new Map<Known, XmlElement>();
  const headers: Record<string, string> = {};
  for (const el of elements) {
    if (el.namespaceURI === XROAD_NS && (KNOWN as readonly string[]).includes(el.localName)) {
      const name = el.localName as Known;
      if (found.has(name)) throw new XRoadRefusal('bad-header', `Duplicate header field 'xrd:${name}'`, 'DuplicateHeaderField');
      found.set(name, el);
      continue;
    }
    // Anything else is kept as it travelled (Trembita asks that every header is kept).
    const key = el.namespaceURI === XROAD_NS ? el.localName : `{${el.namespaceURI}}${el.localName}`;
    headers[key] = textContent(el).trim();
  }
  const clientEl = found.get('client');
  if (!clientEl) throw missing('client');
  const client = readClient(clientEl);
  const serviceEl = found.get('service');
  if (!serviceEl) throw missing('service');
  const service = readService(serviceEl);
  const idEl = found.get('id');
  if (!idEl) throw missing('id');
  const id = simpleText(idEl, 'id');
  if (id === '') throw new XRoadRefusal('bad-header', 'xrd:id is empty', 'InvalidHeaderField');
  const versionEl = found.get('protocolVersion');
  if (!versionEl) throw missing('protocolVersion');
  const protocolVersion = simpleText(versionEl, 'protocolVersion');
  if (protocolVersion !== XROAD_PROTOCOL_VERSION) throw new XRoadRefusal('bad-protocol-version', `Unsupported protocol version '${protocolVersion}': the service speaks X-Road message protocol ${XROAD_PROTOCOL_VERSION}`);
  const optional = (name: Known) => {
    const el = found.get(name);
    return el ? simpleText(el, name) : null;
  };
  const userId = optional('userId');
  const issue = optional('issue');
  const hashEl = found.get('requestHash');
  const requestHash = hashEl ? { value: simpleText(hashEl, 'requestHash').replace(/\s+/g, ''), algorithmId: hashEl.attributes.find((a) => a.localName === 'algorithmId' && a.namespaceURI === '')?.value ?? null } : null;
  Object.assign(headers, {
    client: identifierText(client),
    service: identifierText(service),
    id,
    protocolVersion,
    ...(userId !== null ? { userId } : {}),
    ...(issue !== null ? { issue } : {}),
    ...(requestHash ? { requestHash: requestHash.value } : {}),
  });
  return { client, service, id, userId, issue, protocolVersion, requestHash, headers, elements };
}
