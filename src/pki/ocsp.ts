/**
 * OCSP (RFC 6960) messages: the request for one certificate (CertID with a
 * SHA-1 or SHA-256 hash of the issuer's name and key, the serial, a nonce),
 * and the reading and checking of the answer: a BasicOCSPResponse signed by
 * the issuing CA itself or by a responder certificate that CA issued for
 * id-kp-OCSPSigning, naming our certificate, with our nonce (when it echoes
 * one) and within thisUpdate / nextUpdate.
 *
 * The signature goes through the same check as certificates and CRLs
 * (certificate.ts verifySignedBy), so RSA, ECDSA and GOST R 34.10-2012
 * responders are all verified with the project's algorithm registry.
 */
import { createHash } from 'node:crypto';
import { children, decodeInteger, decodeOid, decodeTime, DerError, expectTag, readDer, bitStringBytes, type Der } from './asn1.js';
import { CertificateError, parseCertificate, verifySignedBy, type Certificate } from './certificate.js';
import { explicit, nullValue, octetString, oid, sequence, unsignedInteger } from './der-writer.js';

export class OcspError extends Error {
  override readonly name = 'OcspError';
}

export type OcspHash = 'sha1' | 'sha256';
const HASH_OIDS: Readonly<Record<OcspHash, string>> = { sha1: '1.3.14.3.2.26', sha256: '2.16.840.1.101.3.4.2.1' };

const ID_PKIX_OCSP_BASIC = '1.3.6.1.5.5.7.48.1.1';
const ID_PKIX_OCSP_NONCE = '1.3.6.1.5.5.7.48.1.2';
/** id-kp-OCSPSigning: a delegated responder's certificate must carry it (RFC 6960 §4.2.2.2). */
export const ID_KP_OCSP_SIGNING = '1.3.6.1.5.5.7.3.9';

const RESPONSE_STATUS: Readonly<Record<number, string>> = {
  0: 'successful',
  1: 'malformedRequest',
  2: 'internalError',
  3: 'tryLater',
  5: 'sigRequired',
  6: 'unauthorized',
};

/** RFC 5280 CRLReason names, for messages. */
const CRL_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'unused', 'removeFromCRL', 'privilegeWithdrawn', 'aACompromise'];

export interface CertId {
  readonly hashOid: string;
  readonly issuerNameHash: Buffer;
  readonly issuerKeyHash: Buffer;
  /** As Certificate.serialHex. */
  readonly serialHex: string;
}

export function certIdFor(cert: Certificate, issuer: Certificate, hash: OcspHash): CertId {
  const digest = (b: Uint8Array) => createHash(hash).update(b).digest();
  return { hashOid: HASH_OIDS[hash], issuerNameHash: digest(issuer.subjectDer), issuerKeyHash: digest(issuer.publicKeyBits), serialHex: cert.serialHex };
}

const sameCertId = (a: CertId, b: CertId) => a.hashOid === b.hashOid && a.issuerNameHash.equals(b.issuerNameHash) && a.issuerKeyHash.equals(b.issuerKeyHash) && a.serialHex === b.serialHex;

/** OCSPRequest DER for one certificate; the nonce (RFC 8954: an OCTET STRING of 1..32 bytes) is sent when given. */
export function buildOcspRequest(certId: CertId, nonce: Buffer | null): Buffer {
  const serial = Buffer.from(certId.serialHex.length % 2 ? `0${certId.serialHex}` : certId.serialHex, 'hex');
  const reqCert = sequence(sequence(oid(certId.hashOid), nullValue()), octetString(certId.issuerNameHash), octetString(certId.issuerKeyHash), unsignedInteger(serial));
  const requestList = sequence(sequence(reqCert));
  const extensions = nonce ? [explicit(2, sequence(sequence(oid(ID_PKIX_OCSP_NONCE), octetString(octetString(nonce)))))] : [];
  return sequence(sequence(requestList, ...extensions));
}

export type OcspCertStatus = 'good' | 'revoked' | 'unknown';

export interface OcspSingleResponse {
  readonly certId: CertId;
  readonly status: OcspCertStatus;
  readonly revokedAt: Date | null;
  readonly revocationReason: string | null;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
}

export interface BasicOcspResponse {
  readonly tbs: Buffer;
  readonly signatureAlgorithmOid: string;
  readonly signatureValue: Buffer;
  readonly certs: readonly Certificate[];
  readonly responderByName: Buffer | null;
  readonly responderKeyHash: Buffer | null;
  readonly producedAt: Date;
  readonly responses: readonly OcspSingleResponse[];
  /** The nonce extension's extnValue contents, as the responder echoed them. */
  readonly nonce: Buffer | null;
}

/** Reads an OCSPResponse; a non-successful status is an OcspError naming it. */
export function parseOcspResponse(input: Uint8Array): BasicOcspResponse {
  try {
    const top = readDer(input);
    if (top.raw.length !== input.length) throw new DerError('trailing bytes after the OCSPResponse');
    const [statusEl, bytesEl] = children(expectTag(top, 0x30, 'OCSPResponse'));
    const status = Number(decodeInteger(expectTag(statusEl, 0x0a, 'responseStatus')));
    if (status !== 0) throw new OcspError(`the responder answered ${RESPONSE_STATUS[status] ?? `status ${status}`}`);
    const [typeEl, responseEl] = children(expectTag(children(expectTag(bytesEl, 0xa0, 'responseBytes'))[0], 0x30, 'ResponseBytes'));
    const type = decodeOid(expectTag(typeEl, 0x06, 'responseType'));
    if (type !== ID_PKIX_OCSP_BASIC) throw new OcspError(`unsupported response type ${type}`);
    return parseBasic(readDer(expectTag(responseEl, 0x04, 'response').contents));
  } catch (e) {
    if (e instanceof DerError || e instanceof CertificateError) throw new OcspError(`malformed OCSP response: ${e.message}`);
    throw e;
  }
}

function parseBasic(basic: Der): BasicOcspResponse {
  const [tbsEl, sigAlgEl, sigEl, certsEl] = children(expectTag(basic, 0x30, 'BasicOCSPResponse'));
  const tbs = expectTag(tbsEl, 0x30, 'tbsResponseData');
  const fields = children(tbs);
  let i = fields[0]?.tag === 0xa0 ? 1 : 0; // version [0] EXPLICIT DEFAULT v1
  const responder = fields[i++];
  let responderByName: Buffer | null = null;
  let responderKeyHash: Buffer | null = null;
  if (responder?.tag === 0xa1) responderByName = Buffer.from(expectTag(children(responder)[0], 0x30, 'responderID byName').raw);
  else if (responder?.tag === 0xa2) responderKeyHash = Buffer.from(expectTag(children(responder)[0], 0x04, 'responderID byKey').contents);
  else throw new DerError('responderID: expected [1] or [2]');
  const producedAt = decodeTime(expectTag(fields[i++], 0x18, 'producedAt'));
  const responses = children(expectTag(fields[i++], 0x30, 'responses')).map(parseSingle);
  let nonce: Buffer | null = null;
  const extsEl = fields[i];
  if (extsEl?.tag === 0xa1) {
    for (const ext of children(expectTag(children(extsEl)[0], 0x30, 'responseExtensions'))) {
      const parts = children(ext);
      if (decodeOid(expectTag(parts[0], 0x06, 'extnID')) === ID_PKIX_OCSP_NONCE) nonce = Buffer.from(expectTag(parts[parts.length - 1], 0x04, 'nonce extnValue').contents);
    }
  }
  const certs = certsEl?.tag === 0xa0 ? children(expectTag(children(certsEl)[0], 0x30, 'certs')).map((c) => parseCertificate(c.raw)) : [];
  return Object.freeze({
    tbs: Buffer.from(tbs.raw),
    signatureAlgorithmOid: decodeOid(expectTag(children(expectTag(sigAlgEl, 0x30, 'signatureAlgorithm'))[0], 0x06, 'signature OID')),
    signatureValue: Buffer.from(bitStringBytes(expectTag(sigEl, 0x03, 'signature'))),
    certs,
    responderByName,
    responderKeyHash,
    producedAt,
    responses,
    nonce,
  });
}

function parseSingle(el: Der): OcspSingleResponse {
  const [certIdEl, statusEl, thisUpdateEl, ...rest] = children(expectTag(el, 0x30, 'SingleResponse'));
  const [algEl, nameHashEl, keyHashEl, serialEl] = children(expectTag(certIdEl, 0x30, 'CertID'));
  const certId: CertId = {
    hashOid: decodeOid(expectTag(children(expectTag(algEl, 0x30, 'hashAlgorithm'))[0], 0x06, 'hash OID')),
    issuerNameHash: Buffer.from(expectTag(nameHashEl, 0x04, 'issuerNameHash').contents),
    issuerKeyHash: Buffer.from(expectTag(keyHashEl, 0x04, 'issuerKeyHash').contents),
    serialHex: Buffer.from(expectTag(serialEl, 0x02, 'serialNumber').contents).toString('hex').replace(/^(00)+(?=.)/, ''),
  };
  let status: OcspCertStatus;
  let revokedAt: Date | null = null;
  let revocationReason: string | null = null;
  if (statusEl?.tag === 0x80) status = 'good';
  else if (statusEl?.tag === 0xa1) {
    status = 'revoked';
    const [timeEl, reasonEl] = children(statusEl);
    revokedAt = decodeTime(expectTag(timeEl, 0x18, 'revocationTime'));
    if (reasonEl?.tag === 0xa0) {
      const code = Number(decodeInteger(expectTag(children(reasonEl)[0], 0x0a, 'CRLReason')));
      revocationReason = CRL_REASONS[code] ?? `reason ${code}`;
    }
  } else if (statusEl?.tag === 0x82) status = 'unknown';
  else throw new DerError('certStatus: expected good, revoked or unknown');
  const nextEl = rest.find((e) => e.tag === 0xa0);
  return Object.freeze({
    certId,
    status,
    revokedAt,
    revocationReason,
    thisUpdate: decodeTime(expectTag(thisUpdateEl, 0x18, 'thisUpdate')),
    nextUpdate: nextEl ? decodeTime(expectTag(children(nextEl)[0], 0x18, 'nextUpdate')) : null,
  });
}

export interface OcspCheckOptions {
  certId: CertId;
  /** The CA that issued the certificate in question. */
  issuer: Certificate;
  /** What we sent; when the responder echoes a nonce it must be this one. */
  nonce: Buffer | null;
  now: Date;
  /** Clock difference tolerated between us and the responder. */
  skewMs: number;
  /** A response without nextUpdate is accepted only while its thisUpdate is this recent. */
  maxAgeWithoutNextUpdateMs: number;
}

export interface OcspAnswer {
  readonly status: OcspCertStatus;
  readonly revokedAt: Date | null;
  readonly revocationReason: string | null;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  /** Who signed it: the CA or its delegated responder. */
  readonly signer: string;
}

/** Checks the response's signer, signature, CertID, nonce and freshness; throws OcspError saying what is wrong. */
export function checkOcspResponse(r: BasicOcspResponse, o: OcspCheckOptions): OcspAnswer {
  const { issuer, now } = o;
  const names = (c: Certificate) =>
    (r.responderByName && c.subjectDer.equals(r.responderByName)) || (r.responderKeyHash && createHash('sha1').update(c.publicKeyBits).digest().equals(r.responderKeyHash));
  let signer: Certificate | undefined;
  if (names(issuer)) signer = issuer;
  else {
    const delegate = r.certs.find((c) => names(c));
    if (!delegate) throw new OcspError('the response is signed by a responder that is neither the issuing CA nor a certificate it sent');
    if (!delegate.issuerDer.equals(issuer.subjectDer) || !safeSignedBy(delegate, issuer)) throw new OcspError(`the responder certificate "${delegate.subject}" is not issued by the certificate's CA "${issuer.subject}"`);
    if (!delegate.extendedKeyUsage?.has(ID_KP_OCSP_SIGNING)) throw new OcspError(`the responder certificate "${delegate.subject}" is not authorised for OCSP signing (no id-kp-OCSPSigning)`);
    if (now < delegate.notBefore || now > delegate.notAfter) throw new OcspError(`the responder certificate "${delegate.subject}" is not valid now`);
    signer = delegate;
  }
  if (!safeSignedBy(r, signer)) throw new OcspError(`the response's signature does not verify with "${signer.subject}"`);
  if (o.nonce && r.nonce && !r.nonce.equals(o.nonce)) throw new OcspError('the response carries another nonce than the request (replayed?)');
  const single = r.responses.find((s) => sameCertId(s.certId, o.certId));
  if (!single) throw new OcspError('the response does not speak of the certificate asked about');
  if (single.thisUpdate.getTime() > now.getTime() + o.skewMs) throw new OcspError(`the response's thisUpdate ${single.thisUpdate.toISOString()} is in the future`);
  if (single.nextUpdate) {
    if (single.nextUpdate.getTime() + o.skewMs < now.getTime()) throw new OcspError(`the response expired: its nextUpdate ${single.nextUpdate.toISOString()} has passed`);
  } else if (now.getTime() - single.thisUpdate.getTime() > o.maxAgeWithoutNextUpdateMs) {
    throw new OcspError(`the response is stale: thisUpdate ${single.thisUpdate.toISOString()} and no nextUpdate`);
  }
  return Object.freeze({ status: single.status, revokedAt: single.revokedAt, revocationReason: single.revocationReason, thisUpdate: single.thisUpdate, nextUpdate: single.nextUpdate, signer: signer.subject });
}

function safeSignedBy(signed: Pick<Certificate, 'tbs' | 'signatureAlgorithmOid' | 'signatureValue'>, by: Certificate): boolean {
  try {
    return verifySignedBy(signed, by);
  } catch {
    return false; // a refused algorithm (SHA-1, MD5) never makes a response trusted
  }
}
