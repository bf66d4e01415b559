/**
 * What the simulated partners (the portal, the agency) share: reading a SOAP
 * request off the wire with the gateway's own bounds, the fault and reply
 * answers, and reading MessageID and the business element from inside what
 * the signature covers. Library code: it never prints.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Certificate } from '../pki/certificate.js';
import { verifySmevEnvelope, type SmevEnvelopeParts } from '../signature/smev-profile.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { faultEnvelope, SmevFault } from '../soap/faults.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { childElements, textContent } from '../xml/helpers.js';
import { parseXml, XmlError } from '../xml/parser.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';

export const SMEV_PATH = '/ws/smev3';

/** The same bounds the gateway's own endpoint uses: deep enough for real content, cheap to refuse. */
export const ENVELOPE_LIMITS = { maxDepth: 128, maxAttributes: 64 };
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/** SMEV MessageIDs are version-1 (time-based) UUIDs in lower case. */
export const UUID_V1 = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** What a simulator writes back on one request. */
export interface Answer {
  status: number;
  body: string;
  contentType: string;
}

export const TEXT = 'text/plain; charset=utf-8';
export const XML = 'text/xml; charset=utf-8';

/** 404 / 405 for anything but POST /ws/smev3; null when the request is for the endpoint. */
export function routeCheck(req: IncomingMessage): Answer | null {
  if (req.url?.split('?')[0] !== SMEV_PATH) return { status: 404, body: `not found; the endpoint is POST ${SMEV_PATH}\n`, contentType: TEXT };
  if (req.method !== 'POST') return { status: 405, body: `POST ${SMEV_PATH}\n`, contentType: TEXT };
  return null;
}

/** A SOAP fault answer (HTTP 500) in the request's version; faultId is the fault's Code (e.g. "PORTAL-3"). */
export function faultAnswer(fault: SmevFault, version: SmevVersion, faultId: string): Answer {
  return { status: 500, body: faultEnvelope(fault, version, faultId), contentType: XML };
}

/** The body, or null when it is larger than MAX_BODY_BYTES. */
export function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Parses an envelope with the gateway's limits; not acceptable XML is InvalidContent (SmevFault). */
export function parseEnvelope(raw: Buffer): XmlDocument {
  try {
    return parseXml(raw, ENVELOPE_LIMITS);
  } catch (error) {
    if (error instanceof XmlError) {
      throw new SmevFault('InvalidContent', `the envelope is not acceptable XML (${error.code}): ${error.message}`, {
        validationErrors: [{ message: `${error.code}: ${error.message}`, position: error.offset ?? 0 }],
      });
    }
    throw error;
  }
}

/**
 * SOAPAction may be missing; when present it must name the body's operation
 * ("urn:SendRequest" for SendRequestRequest). A mismatch is a signature fault
 * (PoorSOAPEnvelopeFormat), as at the gateway.
 */
export function checkSoapAction(req: IncomingMessage, operation: string): void {
  const header = req.headers.soapaction;
  const action = (Array.isArray(header) ? header[0] : header)?.replace(/^"|"$/g, '').trim();
  const expected = operation.replace(/Request$/, '');
  if (action && action.replace(/^urn:/, '') !== expected) {
    throw new SmevFault('SignatureVerificationFault', `SOAPAction "${action}" does not match the body's ${operation}`, { signatureReason: 'PoorSOAPEnvelopeFormat' });
  }
}

export interface VerifiedEnvelope {
  parts: SmevEnvelopeParts;
  /** The element the caller's signature covers (SenderProvidedRequestData / SenderProvidedResponseData): read only inside it. */
  signed: XmlElement;
  /** The subject of the certificate that signed it. */
  signerSubject: string;
  version: SmevVersion;
}

/**
 * Verifies the caller's signature (and a PersonalSignature when present):
 * valid, chaining to `trust`, and — when `expectedSigner` (a SHA-256
 * fingerprint, as Certificate.fingerprintSha256) is set — made with that one
 * certificate ("registered" for a simulated partner means: the one
 * certificate it knows for the city). Throws SignatureVerificationFault.
 */
export function verifyEnvelope(doc: XmlDocument, o: { trust: TrustAnchorSet; expectedSigner?: string | undefined; now: Date }): VerifiedEnvelope {
  const expected = o.expectedSigner?.toLowerCase();
  const verification = verifySmevEnvelope<Certificate>(doc, {
    trust: o.trust,
    partnerOf: expected === undefined ? undefined : (cert) => (cert.fingerprintSha256 === expected ? cert : undefined),
    now: o.now,
  });
  if (!verification.valid) {
    const v = verification.caller.valid ? verification.personal! : verification.caller;
    const message = expected !== undefined && v.trust?.trusted && v.partner === null
      ? `the message is signed by "${v.details.certificate?.subject ?? '?'}", not by the expected certificate (SHA-256 ${expected})`
      : v.message;
    throw new SmevFault('SignatureVerificationFault', message, { signatureReason: v.reason ?? 'SignatureIsInvalid' });
  }
  const parts = verification.parts!;
  return {
    parts,
    signed: verification.caller.signedElement!,
    signerSubject: verification.caller.details.certificate?.subject ?? '',
    version: isSmevVersion(parts.version) ? parts.version : '1.1',
  };
}

/** The MessageID child of the signed element; InvalidMessageIdFormat unless a lower-case v1 UUID. */
export function readMessageId(signed: XmlElement): string {
  const el = childElements(signed).find((c) => c.localName === 'MessageID');
  const value = el ? textContent(el).trim() : '';
  if (!UUID_V1.test(value)) throw new SmevFault('InvalidMessageIdFormat', el ? 'MessageID must be a version-1 UUID in lower case' : 'MessageID is missing');
  return value;
}

/** The text of the signed element's child with this local name, or null. */
export function childText(signed: XmlElement, localName: string): string | null {
  const el = childElements(signed).find((c) => c.localName === localName);
  return el ? textContent(el).trim() : null;
}

/** The one business element inside the signed element's one MessagePrimaryContent. */
export function primaryContent(signed: XmlElement): XmlElement {
  const containers = childElements(signed).filter((c) => c.localName === 'MessagePrimaryContent');
  const inside = containers.length === 1 ? childElements(containers[0]!) : [];
  if (inside.length !== 1) throw new SmevFault('InvalidContent', `${signed.localName} must hold one MessagePrimaryContent with exactly one business element`);
  return inside[0]!;
}

/** The SMEV version from the head of a raw envelope (for faults about envelopes that could not be read). */
export function guessVersion(raw: Buffer): SmevVersion {
  const m = /message-exchange\/types\/1\.([123])/.exec(raw.subarray(0, 4096).toString('latin1'));
  return m ? (`1.${m[1]}` as SmevVersion) : '1.1';
}

/** Listens on port (0: a free one) and resolves with the port bound. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops listening and cuts open connections. */
export function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
