/**
 * A message the exchange delivered (GetRequestResponse / GetResponseResponse),
 * read by position like a pushed envelope:
 *
 *   Body/GetRequestResponse/RequestMessage/
 *     Request Id=…            ← the exchange's SMEVSignature covers this
 *       SenderProvidedRequestData Id=…  ← the sender's signature covers this
 *       MessageMetadata, FSAttachmentsList?, ReplyTo?, SenderInformationSystemSignature
 *     AttachmentContentList?, SMEVSignature
 *
 * (ResponseMessage/Response with OriginalMessageId and SenderProvidedResponseData
 * for GetResponseResponse.) Two verdicts come out: the exchange's signature,
 * checked against the exchange's registered certificates, and the sender's,
 * checked exactly as push mode checks a SendRequest (trust, registered partner,
 * PersonalSignature when present).
 */
import type { Exchange, Partner } from '../registry/partners.js';
import { DSIG_NS, SignatureFailure } from '../signature/dsig.js';
import { personalSignature, signatureIn, SOAP11_NS, type SmevEnvelopeParts, type SmevVerification } from '../signature/smev-profile.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { verifySignature, type Verdict } from '../signature/verify.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';

const TYPES_NS = /^urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/1\.[123]$/;

const SHAPES = {
  GetRequestResponse: { message: 'RequestMessage', signedByExchange: 'Request', signedBySender: 'SenderProvidedRequestData' },
  GetResponseResponse: { message: 'ResponseMessage', signedByExchange: 'Response', signedBySender: 'SenderProvidedResponseData' },
} as const;

export interface DeliveredMessage {
  kind: 'request' | 'response';
  version: SmevVersion;
  parts: SmevEnvelopeParts;
  /** Request / Response: what the exchange signed. */
  exchangeSigned: XmlElement;
  exchangeSignature: XmlElement | null;
  /** MessageID as written (not yet verified): what the Ack names. */
  messageId: string;
  replyTo: string | null;
  originalMessageId: string | null;
}

const child = (el: XmlElement, name: string) => childElements(el).find((c) => c.localName === name);
const text = (el: XmlElement | undefined) => (el ? textContent(el).trim() : null);

/**
 * Finds the parts; null when the exchange had nothing (an empty
 * GetRequestResponse). Throws SignatureFailure (PoorSOAPEnvelopeFormat,
 * NoSignatureFound) when the shape is wrong.
 */
export function locateDelivered(doc: XmlDocument, expected: keyof typeof SHAPES): DeliveredMessage | null {
  const envelope = doc.root;
  if (envelope.namespaceURI !== SOAP11_NS || envelope.localName !== 'Envelope') throw new SignatureFailure('PoorSOAPEnvelopeFormat', 'the reply is not a SOAP 1.1 Envelope');
  const bodies = childElements(envelope).filter((c) => c.namespaceURI === SOAP11_NS && c.localName === 'Body');
  if (bodies.length !== 1) throw new SignatureFailure('PoorSOAPEnvelopeFormat', 'the reply must hold exactly one soap:Body');
  const body = bodies[0]!;
  const ops = childElements(body);
  if (ops.length !== 1 || ops[0]!.localName !== expected || !TYPES_NS.test(ops[0]!.namespaceURI)) {
    throw new SignatureFailure('PoorSOAPEnvelopeFormat', `expected one ${expected} in soap:Body, found ${ops.map((o) => o.localName).join(', ') || 'nothing'}`);
  }
  const operation = ops[0]!;
  const version = operation.namespaceURI.slice(-3);
  if (!isSmevVersion(version)) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `unknown message-exchange version ${version}`);
  const shape = SHAPES[expected];
  const messages = childElements(operation);
  if (messages.length === 0) return null;
  if (messages.length !== 1 || messages[0]!.localName !== shape.message) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `${expected} must hold at most one ${shape.message}`);
  const container = messages[0]!;
  const signedByExchange = childElements(container).filter((c) => c.localName === shape.signedByExchange);
  if (signedByExchange.length !== 1) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `${shape.message} must hold exactly one ${shape.signedByExchange}`);
  const exchangeSigned = signedByExchange[0]!;
  const smevContainers = childElements(container).filter((c) => c.localName === 'SMEVSignature');
  if (smevContainers.length > 1) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `${shape.message} holds ${smevContainers.length} SMEVSignature elements`);
  const exchangeSignature = smevContainers[0] ? signatureIn(smevContainers[0], 'SMEVSignature') : null;

  const senderData = childElements(exchangeSigned).filter((c) => c.localName === shape.signedBySender);
  if (senderData.length !== 1) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `${shape.signedByExchange} must hold exactly one ${shape.signedBySender}`);
  const signed = senderData[0]!;
  const senderContainers = childElements(exchangeSigned).filter((c) => c.localName === 'SenderInformationSystemSignature');
  if (senderContainers.length > 1) throw new SignatureFailure('PoorSOAPEnvelopeFormat', `${shape.signedByExchange} holds ${senderContainers.length} SenderInformationSystemSignature elements`);
  const senderSignature = senderContainers[0] ? signatureIn(senderContainers[0], 'SenderInformationSystemSignature') : null;
  return {
    kind: expected === 'GetRequestResponse' ? 'request' : 'response',
    version,
    // The same parts a pushed SendRequest has, so the intake cannot tell the difference:
    // AttachmentContentList is a child of `operation` in both.
    parts: {
      header: null,
      body,
      operation: container,
      version,
      signed,
      callerSignature: senderSignature as XmlElement,
      personal: senderSignature ? personalSignature(signed) : null,
    },
    exchangeSigned,
    exchangeSignature,
    messageId: text(child(signed, 'MessageID')) ?? '',
    replyTo: text(child(exchangeSigned, 'ReplyTo')),
    originalMessageId: text(child(exchangeSigned, 'OriginalMessageId')),
  };
}

/** The exchange's SMEVSignature over Request / Response, by one of the exchange's registered certificates. */
export function verifyExchangeSignature(doc: XmlDocument, m: DeliveredMessage, exchange: Exchange, trust: TrustAnchorSet, now: Date): Verdict<string> {
  if (!m.exchangeSignature) {
    return { valid: false, reason: 'NoSignatureFound', message: `the ${m.exchangeSigned.localName} carries no SMEVSignature`, signedElement: null, math: 'not checked', trust: null, partner: null, details: {} };
  }
  return verifySignature<string>(doc, m.exchangeSignature, m.exchangeSigned, {
    trust,
    partnerOf: (cert) => (exchange.certificates.some((c) => c.fingerprint256 === cert.fingerprintSha256) ? exchange.id : undefined),
    now,
  });
}

/** The sender's signatures, as verifySmevEnvelope checks a pushed envelope's. */
export function verifySender(doc: XmlDocument, m: DeliveredMessage, options: { trust: TrustAnchorSet; partnerOf: (fingerprint: string) => Partner | undefined; now: Date }): SmevVerification<Partner> {
  const { parts } = m;
  if (!parts.callerSignature || parts.callerSignature.namespaceURI !== DSIG_NS) {
    const caller: Verdict<Partner> = { valid: false, reason: 'NoSignatureFound', message: `${parts.signed.localName} carries no SenderInformationSystemSignature`, signedElement: null, math: 'not checked', trust: null, partner: null, details: {} };
    return { parts, caller, personal: null, valid: false };
  }
  const verifyOptions = { trust: options.trust, partnerOf: (cert: { fingerprintSha256: string }) => options.partnerOf(cert.fingerprintSha256), now: options.now };
  const caller = verifySignature<Partner>(doc, parts.callerSignature, parts.signed, verifyOptions);
  const personal = parts.personal ? verifySignature<Partner>(doc, parts.personal.signature, parts.personal.target, { ...verifyOptions, partnerOf: undefined }) : null;
  return { parts, caller, personal, valid: caller.valid && (personal?.valid ?? true) };
}
