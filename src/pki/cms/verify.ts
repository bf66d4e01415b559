/**
 * Verifying a detached CMS signature (SMEV's SignaturePKCS7 over an attachment, or a .p7s
 * beside a file) signer by signer:
 *  1. algorithms: the digest and signature algorithms are known and allowed (algorithms.ts);
 *  2. the signer's certificate, by issuerAndSerialNumber or subjectKeyIdentifier, among the
 *     CMS's certificates and the ones the caller gives;
 *  3. with signed attributes: contentType is the eContentType and messageDigest the digest
 *     of the content, and the signature is over the DER SET OF attributes; without them, the
 *     signature is over the content itself;
 *  4. trust: the certificate chains to the trust anchors through the same TrustAnchorSet as
 *     XMLDSig verification (validity, CRLs, CA flags, key usage), and the signingTime, when
 *     present, lies inside the certificate's validity.
 * The content is given as bytes (verifyDetachedCms) or, for a file streamed rather than held,
 * as its digests by digest algorithm (verifyDetachedCmsDigests): both run the same steps.
 * The mathematics (3) and trust (4) are reported apart, as signature/verify.ts does, and
 * nothing throws for a bad input: garbage gives a verdict with a reason.
 */
import { timingSafeEqual } from 'node:crypto';
import type { TrustAnchorSet, TrustFailureReason, TrustResult } from '../trust.js';
import { AlgorithmError } from '../../crypto/index.js';
import { decodeOid, DerError } from '../asn1.js';
import type { Certificate } from '../certificate.js';
import { cmsDigest, cmsSignatureScheme, OID, type CmsDigest, type CmsSignatureScheme } from './algorithms.js';
import { attributeTime, CmsError, parseCms, singleAttribute, subjectKeyIdentifier, type CmsSignedData, type CmsSignerInfo } from './parse.js';

/** Why a file's signature fails, in SMEV's words (its signature fault reasons that apply to CMS). */
export type CmsFailureReason = TrustFailureReason | 'SignatureIsInvalid' | 'NoSignatureFound';

export interface CmsVerifyOptions {
  /** The trust anchors (null: check the mathematics only). */
  trust: TrustAnchorSet | null;
  /** When to evaluate certificate validity (default now). */
  now?: Date;
  /** More certificates to look for the signer and intermediates among (the CMS may carry none). */
  certificates?: readonly Certificate[];
}

export interface CmsSignerVerdict {
  /** Mathematically valid and (trust checked and) trusted. */
  valid: boolean;
  math: 'valid' | 'invalid' | 'not checked';
  /** null when trust was not checked (no anchors given, or the mathematics failed first). */
  trusted: boolean | null;
  /** The SMEV signature fault reason of the first problem. */
  reason?: CmsFailureReason;
  /** One line: the first problem, or "valid: signed by …". */
  message: string;
  /** Every problem found, in order (empty when valid). */
  reasons: string[];
  /** The signer's certificate subject, issuer and serial (hex), when the certificate was found. */
  signer?: string;
  issuer?: string;
  serial?: string;
  certificate?: Certificate;
  algorithm?: string;
  digestAlgorithm?: string;
  /** The signingTime signed attribute, when present. */
  signingTime?: Date;
  signedAttributes: boolean;
  trust: TrustResult | null;
}

export interface CmsVerdict {
  /** Every signer valid (and at least one signer). */
  valid: boolean;
  reason?: CmsFailureReason;
  message: string;
  /** Whether the mathematics of every signer holds ('not checked' when the CMS could not be read). */
  math: 'valid' | 'invalid' | 'not checked';
  signers: CmsSignerVerdict[];
}

class Problem extends Error {
  constructor(
    readonly reason: CmsFailureReason,
    message: string,
  ) {
    super(message);
  }
}

const problem = (reason: CmsFailureReason, message: string): never => {
  throw new Problem(reason, message);
};

/** The signed content as the verifier sees it: its bytes, or only its digests (a file streamed once). */
interface Content {
  readonly bytes?: Uint8Array;
  /** The content's digest by `digest`; undefined when it was not computed. */
  digest(digest: CmsDigest): Buffer | undefined;
  /** Whether encapsulated content (a non-detached CMS) is this content. */
  is(encapsulated: Buffer): boolean;
  readonly size: string;
}

/**
 * Verifies a detached CMS signature (DER/BER bytes, PEM, base64, or parsed) over `content`.
 * Never throws for bad input.
 */
export function verifyDetachedCms(content: Uint8Array, signature: string | Uint8Array | CmsSignedData, options: CmsVerifyOptions): CmsVerdict {
  return verifyContent({ bytes: content, digest: (d) => d.hash(content), is: (e) => Buffer.from(content).equals(e), size: `${content.length} bytes` }, signature, options);
}

/**
 * The same verification given the content's digests instead of its bytes: `digests` maps a
 * digest algorithm OID (the signers' digestAlgorithm, see cmsDigestOids) to the digest of the
 * content, computed by streaming it once (CmsDigest.stream), so a 100 MB file is never held.
 * A signer whose digest is missing from the map does not verify (the reason says so). A
 * SignerInfo without signed attributes is checked on the digest where the scheme can
 * (GOST R 34.10, RSA PKCS#1 v1.5); ECDSA and RSA-PSS over the content itself need the bytes.
 * Never throws for bad input.
 */
export function verifyDetachedCmsDigests(digests: ReadonlyMap<string, Uint8Array>, signature: string | Uint8Array | CmsSignedData, options: CmsVerifyOptions): CmsVerdict {
  return verifyContent(
    {
      digest: (d) => {
        const v = digests.get(d.oid);
        return v ? Buffer.from(v) : undefined;
      },
      is: (e) => digests.size > 0 && [...digests].every(([oid, d]) => same(cmsDigest(oid).hash(e), d)),
      size: 'the file',
    },
    signature,
    options,
  );
}

/** The distinct digest algorithms (OIDs) the signers of a CMS use: what to stream the content through. */
export function cmsDigestOids(cms: CmsSignedData): string[] {
  return [...new Set(cms.signers.map((s) => s.digestAlgorithmOid))];
}

/** The parsed CMS, or the verdict on a signature that cannot be read. */
export function readCmsSignature(signature: string | Uint8Array | CmsSignedData): CmsSignedData | CmsVerdict {
  try {
    return typeof signature === 'string' || signature instanceof Uint8Array ? parseCms(signature) : signature;
  } catch (error) {
    if (!(error instanceof CmsError || error instanceof DerError || error instanceof TypeError || error instanceof RangeError)) throw error;
    const message = `the signature cannot be read: ${error instanceof CmsError ? error.message : `malformed CMS (${error.message})`}`;
    return { valid: false, reason: 'SignatureIsInvalid', message, math: 'not checked', signers: [] };
  }
}

function verifyContent(content: Content, signature: string | Uint8Array | CmsSignedData, options: CmsVerifyOptions): CmsVerdict {
  const cms = readCmsSignature(signature);
  if ('valid' in cms) return cms;
  if (cms.signers.length === 0) return { valid: false, reason: 'NoSignatureFound', message: 'the CMS SignedData has no SignerInfo', math: 'not checked', signers: [] };
  if (cms.content && !content.is(cms.content)) {
    return {
      valid: false,
      reason: 'SignatureIsInvalid',
      message: `the signature is not detached: it encapsulates ${cms.content.length} bytes of its own, which are not this file (${content.size})`,
      math: 'not checked',
      signers: [],
    };
  }
  const signers = cms.signers.map((info) => verifySigner(content, cms, info, options));
  const bad = signers.find((s) => !s.valid);
  const math = signers.every((s) => s.math === 'valid') ? 'valid' : signers.some((s) => s.math === 'invalid') ? 'invalid' : 'not checked';
  if (bad) {
    const prefix = signers.length > 1 ? `signer ${signers.indexOf(bad) + 1} of ${signers.length}: ` : '';
    return { valid: false, ...(bad.reason ? { reason: bad.reason } : {}), message: `${prefix}${bad.message}`, math, signers };
  }
  return { valid: true, message: signers.map((s) => s.message).join('; '), math, signers };
}

function verifySigner(content: Content, cms: CmsSignedData, info: CmsSignerInfo, options: CmsVerifyOptions): CmsSignerVerdict {
  const v: CmsSignerVerdict = { valid: false, math: 'not checked', trusted: null, message: '', reasons: [], signedAttributes: info.signedAttributesDer !== undefined, trust: null };
  const note = (reason: CmsFailureReason, message: string): void => {
    v.reasons.push(message);
    if (!v.reason) {
      v.reason = reason;
      v.message = message;
    }
  };
  try {
    let digest: CmsDigest;
    let scheme: CmsSignatureScheme;
    try {
      digest = cmsDigest(info.digestAlgorithmOid);
      v.digestAlgorithm = digest.name;
      scheme = cmsSignatureScheme(info.signatureAlgorithmOid, info.signatureAlgorithmParams, digest);
      v.algorithm = scheme.name;
    } catch (error) {
      if (error instanceof AlgorithmError) return problem('SignatureIsInvalid', error.message);
      throw error;
    }
    const pool = [...cms.certificates, ...(options.certificates ?? [])];
    const leaf = findSigner(info, pool);
    if (!leaf) {
      const who = info.sid.kind === 'issuerAndSerialNumber' ? `issuer "${info.sid.issuer}", serial ${hex(info.sid.serialNumber)}` : `subjectKeyIdentifier ${info.sid.keyIdentifier.toString('hex')}`;
      const unread = cms.unreadableCertificates > 0 ? ` (${cms.unreadableCertificates} certificate(s) in the CMS could not be read)` : '';
      return problem('CertificateIsNotFound', `the signer's certificate (${who}) is not in the signature nor among the given certificates${unread}`);
    }
    v.certificate = leaf;
    v.signer = leaf.subject;
    v.issuer = leaf.issuer;
    v.serial = leaf.serialHex;
    if (!leaf.publicKey) return problem('CertificateIsNotFound', `certificate "${leaf.subject}" has a key type Okno cannot use (${leaf.publicKeyOid})`);

    v.math = 'invalid';
    const contentDigest = (): Buffer => content.digest(digest) ?? problem('SignatureIsInvalid', `the ${digest.name} digest of the content was not computed: ${digest.stream ? 'it was not asked for' : `${digest.name} cannot be computed over a streamed file`}`);
    let signed: Uint8Array | null = content.bytes ?? null;
    if (info.signedAttributesDer) {
      const typeEl = singleAttribute(info, OID.contentType, 'contentType');
      const digestEl = singleAttribute(info, OID.messageDigest, 'messageDigest');
      const timeEl = singleAttribute(info, OID.signingTime, 'signingTime');
      if (timeEl) {
        try {
          v.signingTime = attributeTime(timeEl);
        } catch {
          problem('SignatureIsInvalid', 'the signingTime attribute cannot be read');
        }
      }
      if (!typeEl || !digestEl) return problem('SignatureIsInvalid', `the signed attributes lack ${!typeEl ? 'contentType' : 'messageDigest'} (RFC 5652 §5.3)`);
      if (typeEl.tag !== 0x06 || decodeOid(typeEl) !== cms.contentType) return problem('SignatureIsInvalid', `the signed contentType is not the eContentType ${cms.contentType}`);
      if (digestEl.tag !== 0x04) return problem('SignatureIsInvalid', 'the messageDigest attribute is not an OCTET STRING');
      const computed = contentDigest();
      if (!same(computed, digestEl.contents)) return problem('SignatureIsInvalid', `the ${digest.name} digest of the content does not match the signed messageDigest: the file was changed after signing (or is not the signed file)`);
      signed = info.signedAttributesDer;
    }
    let ok: boolean;
    try {
      if (signed) ok = scheme.verify(signed, info.signature, leaf.publicKey);
      else if (scheme.verifyDigest) ok = scheme.verifyDigest(contentDigest(), info.signature, leaf.publicKey);
      else return problem('SignatureIsInvalid', `${scheme.name} without signed attributes signs the content itself and cannot be checked on a streamed file's digest`);
    } catch (error) {
      if (error instanceof Problem) throw error;
      if (error instanceof AlgorithmError) return problem('SignatureIsInvalid', error.message);
      ok = false;
    }
    if (!ok) {
      return problem(
        'SignatureIsInvalid',
        info.signedAttributesDer
          ? `the signature value does not verify over the signed attributes with the key of "${leaf.subject}"`
          : `the signature value does not verify over the content with the key of "${leaf.subject}": the file was changed after signing (or is not the signed file)`,
      );
    }
    v.math = 'valid';

    if (v.signingTime && (v.signingTime < leaf.notBefore || v.signingTime > leaf.notAfter)) {
      note('CertificateIsExpired', `signed at ${v.signingTime.toISOString()}, outside the validity of certificate "${leaf.subject}" (${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()})`);
    }
    if (options.trust) {
      const intermediates = pool.filter((c) => c !== leaf);
      v.trust = options.trust.evaluate(leaf, intermediates, options.now ?? new Date());
      v.trusted = v.trust.trusted;
      if (!v.trust.trusted) note(v.trust.reason ?? 'CertificateIsNotFound', v.trust.message);
    }
    if (v.reasons.length > 0) return v;
    if (!options.trust) {
      v.message = 'mathematically valid (trust not checked)';
    } else {
      v.valid = true;
      v.message = `valid: signed by "${leaf.subject}"${v.signingTime ? ` at ${v.signingTime.toISOString()}` : ''}`;
    }
    return v;
  } catch (error) {
    if (error instanceof Problem) {
      note(error.reason, error.message);
      return v;
    }
    if (error instanceof CmsError || error instanceof DerError) {
      note('SignatureIsInvalid', `the SignerInfo cannot be read: ${error.message}`);
      return v;
    }
    throw error;
  }
}

function findSigner(info: CmsSignerInfo, pool: readonly Certificate[]): Certificate | undefined {
  const sid = info.sid;
  if (sid.kind === 'issuerAndSerialNumber') return pool.find((c) => c.serialNumber === sid.serialNumber && c.issuerDer.equals(sid.issuerDer));
  return pool.find((c) => subjectKeyIdentifier(c)?.equals(sid.keyIdentifier));
}

const hex = (n: bigint): string => (n < 0n ? `-${(-n).toString(16)}` : n.toString(16));

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
