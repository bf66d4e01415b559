/**
 * The SMEV 3 signature profile: where the signatures of a message-exchange
 * envelope must be, and what each must cover. The envelope is read by position
 * — Envelope/Body/<operation>/<signed element> with its
 * CallerInformationSystemSignature sibling — never by searching, so a second
 * Body, a second signed element or a moved one cannot be slipped in.
 */
import { childElements } from '../xml/helpers.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { DSIG_NS, fail, SignatureFailure } from './dsig.js';
import { verifySignature, type Verdict, type VerifyOptions } from './verify.js';

export const SOAP11_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
const TYPES_NS = /^urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/1\.[123]$/;
/** Signed elements live in the types namespace or (MessageTypeSelector, in the official samples) the basic one. */
const SIGNED_NS = /^urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/(basic\/)?1\.[123]$/;

/** For each request operation: the element its CallerInformationSystemSignature covers. */
const SIGNED_ELEMENT: Readonly<Record<string, string>> = {
  SendRequestRequest: 'SenderProvidedRequestData',
  SendResponseRequest: 'SenderProvidedResponseData',
  AckRequest: 'AckTargetMessage',
  GetRequestRequest: 'MessageTypeSelector',
  GetResponseRequest: 'MessageTypeSelector',
  GetStatusRequest: 'Timestamp',
};

export interface SmevEnvelopeParts {
  header: XmlElement | null;
  body: XmlElement;
  /** The operation element, e.g. SendRequestRequest. */
  operation: XmlElement;
  /** Its namespace version: '1.1', '1.2' or '1.3'. */
  version: string;
  /** The element the caller's signature must cover, e.g. SenderProvidedRequestData. */
  signed: XmlElement;
  callerSignature: XmlElement;
  /** The applicant's PersonalSignature and the business element it must cover, when present. */
  personal: { signature: XmlElement; target: XmlElement } | null;
}

function onlyElements(el: XmlElement, what: string): XmlElement[] {
  for (const n of el.children) {
    if (n.type === 'text' && n.value.trim() !== '') fail('PoorSOAPEnvelopeFormat', `unexpected text in ${what}`);
  }
  return childElements(el);
}

/** Finds the parts by position; throws SignatureFailure (PoorSOAPEnvelopeFormat, NoSignatureFound). */
export function locateSmevParts(doc: XmlDocument): SmevEnvelopeParts {
  const envelope = doc.root;
  if (envelope.namespaceURI !== SOAP11_NS || envelope.localName !== 'Envelope') fail('PoorSOAPEnvelopeFormat', 'the document is not a SOAP 1.1 Envelope');
  const top = onlyElements(envelope, 'soap:Envelope');
  const header = top[0]?.namespaceURI === SOAP11_NS && top[0].localName === 'Header' ? top[0] : null;
  const rest = header ? top.slice(1) : top;
  if (rest.length !== 1 || rest[0]!.namespaceURI !== SOAP11_NS || rest[0]!.localName !== 'Body') {
    fail('PoorSOAPEnvelopeFormat', 'soap:Envelope must hold an optional soap:Header and exactly one soap:Body, nothing else');
  }
  const body = rest[0]!;
  const ops = onlyElements(body, 'soap:Body');
  if (ops.length !== 1) fail('PoorSOAPEnvelopeFormat', `soap:Body must hold exactly one operation element, found ${ops.length}`);
  const operation = ops[0]!;
  const signedName = SIGNED_ELEMENT[operation.localName];
  if (!TYPES_NS.test(operation.namespaceURI) || !signedName) {
    fail('PoorSOAPEnvelopeFormat', `<${operation.qName}> in ${operation.namespaceURI || 'no namespace'} is not a SMEV message-exchange request`);
  }
  const children = onlyElements(operation, operation.localName);
  const signedCandidates = children.filter((c) => c.localName === signedName && SIGNED_NS.test(c.namespaceURI) && c.namespaceURI.endsWith(operation.namespaceURI.slice(-3)));
  if (signedCandidates.length !== 1) fail('PoorSOAPEnvelopeFormat', `${operation.localName} must hold exactly one ${signedName}, found ${signedCandidates.length}`);
  const signed = signedCandidates[0]!;
  const containers = children.filter((c) => c.localName === 'CallerInformationSystemSignature' && c.namespaceURI === operation.namespaceURI);
  if (containers.length > 1) fail('PoorSOAPEnvelopeFormat', `${operation.localName} holds ${containers.length} CallerInformationSystemSignature elements`);
  const callerSignature = containers[0] ? signatureIn(containers[0], 'CallerInformationSystemSignature') : null;
  if (!callerSignature) fail('NoSignatureFound', `${operation.localName} carries no CallerInformationSystemSignature`);

  return {
    header,
    body,
    operation,
    version: operation.namespaceURI.slice(-3),
    signed,
    callerSignature: callerSignature!,
    personal: personalSignature(signed),
  };
}

export function signatureIn(container: XmlElement, what: string): XmlElement | null {
  const inside = onlyElements(container, what);
  if (inside.length === 0) return null;
  if (inside.length !== 1 || inside[0]!.namespaceURI !== DSIG_NS || inside[0]!.localName !== 'Signature') {
    fail('PoorSOAPEnvelopeFormat', `${what} must hold exactly one ds:Signature`);
  }
  return inside[0]!;
}

/** PersonalSignature (a child of the signed data) covers the business element inside MessagePrimaryContent. */
export function personalSignature(signed: XmlElement): SmevEnvelopeParts['personal'] {
  const children = childElements(signed);
  const containers = children.filter((c) => c.localName === 'PersonalSignature');
  if (containers.length === 0) return null;
  if (containers.length > 1) fail('PoorSOAPEnvelopeFormat', 'more than one PersonalSignature');
  const signature = signatureIn(containers[0]!, 'PersonalSignature');
  if (!signature) fail('NoSignatureFound', 'PersonalSignature is empty');
  const contents = children.filter((c) => c.localName === 'MessagePrimaryContent');
  const content = contents.length === 1 ? childElements(contents[0]!) : [];
  if (content.length !== 1) fail('IncorrectSignatureTarget', 'PersonalSignature needs exactly one business element in MessagePrimaryContent to cover');
  return { signature: signature!, target: content[0]! };
}

export interface SmevVerification<P> {
  parts: SmevEnvelopeParts | null;
  caller: Verdict<P>;
  personal: Verdict<P> | null;
  /** Both (or the one) valid. */
  valid: boolean;
}

/**
 * Verifies a SMEV request envelope: the caller's signature over its required
 * element, and the PersonalSignature when present (with the same trust, but
 * the applicant need not be a registered partner).
 */
export function verifySmevEnvelope<P>(doc: XmlDocument, options: VerifyOptions<P>): SmevVerification<P> {
  let parts: SmevEnvelopeParts;
  try {
    parts = locateSmevParts(doc);
  } catch (error) {
    if (!(error instanceof SignatureFailure)) throw error;
    const caller: Verdict<P> = { valid: false, reason: error.reason, message: error.message, signedElement: null, math: 'not checked', trust: null, partner: null, details: {} };
    return { parts: null, caller, personal: null, valid: false };
  }
  const caller = verifySignature(doc, parts.callerSignature, parts.signed, options);
  const personal = parts.personal ? verifySignature<P>(doc, parts.personal.signature, parts.personal.target, { ...options, partnerOf: undefined }) : null;
  return { parts, caller, personal, valid: caller.valid && (personal?.valid ?? true) };
}
