/**
 * Signature verification. The caller says which ds:Signature to check and
 * which element it must cover (the profile decides that, e.g.
 * CallerInformationSystemSignature over SenderProvidedRequestData); the result
 * hands back that element only when everything holds, so callers translate
 * nothing the signature does not cover.
 *
 * Order: structure → algorithms → target → certificate → digest → signature
 * value → trust. The mathematics and the trust decision are reported
 * separately (an official sample can be mathematically valid with a long
 * expired certificate), and `valid` needs both.
 *
 * Why not xml-crypto: it finds references with XPath over the whole document
 * (cost grows much faster than size), has no GOST, ECDSA or SMEV transform,
 * and leaves target and trust rules to every caller.
 */
import { timingSafeEqual } from 'node:crypto';
import { CertificateError, parseCertificate, type Certificate } from '../pki/certificate.js';
import { c14nOptionsFor, canonicalize } from '../xml/c14n.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { AlgorithmError, getDigestAlgorithm, getSignatureAlgorithm, isGostPublicKey, type SignatureAlgorithm } from '../crypto/index.js';
import { fail, SignatureFailure, type SignatureFaultReason } from './dsig.js';
import { referenceDigest } from './reference-digest.js';
import { readSignature, type SignatureParts } from './structure.js';
import type { TrustAnchorSet, TrustResult } from '../pki/trust.js';

export interface VerifyOptions<P> {
  /** Decides whether to trust the signer (null: check the mathematics only). */
  trust: TrustAnchorSet | null;
  /** Maps a trusted certificate to the registered partner it belongs to; undefined = not registered. */
  partnerOf?: (cert: Certificate) => P | undefined;
  now?: Date;
}

export interface Verdict<P = unknown> {
  /** The signature is mathematically valid, trusted, and its signer registered. */
  valid: boolean;
  /** When not valid: the SMEV fault reason and a precise message. */
  reason?: SignatureFaultReason;
  message: string;
  /** The element the signature covers — set only when `valid`. */
  signedElement: XmlElement | null;
  /** Whether digest and signature value check out ('not checked' when structure or algorithms failed first). */
  math: 'valid' | 'invalid' | 'not checked';
  trust: TrustResult | null;
  partner: P | null;
  details: {
    referenceId?: string;
    targetName?: string;
    canonicalization?: string;
    signatureAlgorithm?: string;
    signatureAlgorithmName?: string;
    digestAlgorithm?: string;
    /** The DigestValue (base64) — once verified, a fingerprint of the signed content. */
    digestValue?: string;
    transforms?: string[];
    certificate?: Certificate;
  };
}

/**
 * Verifies `signature` (a ds:Signature element of `doc`), which must cover
 * `expectedTarget` (null: whatever its Reference points to, as long as the Id
 * is unique — for tools, never for the gateway's own profiles).
 */
export function verifySignature<P>(doc: XmlDocument, signature: XmlElement, expectedTarget: XmlElement | null, options: VerifyOptions<P>): Verdict<P> {
  const details: Verdict<P>['details'] = {};
  let math: Verdict<P>['math'] = 'not checked';
  let trust: TrustResult | null = null;
  try {
    const parts = readSignature(signature);
    details.referenceId = parts.reference.id;
    details.canonicalization = parts.canonicalization.algorithm;
    details.signatureAlgorithm = parts.signatureAlgorithm;
    details.digestAlgorithm = parts.reference.digestAlgorithm;
    details.digestValue = parts.reference.digestValue.toString('base64');
    details.transforms = parts.reference.transforms.map((t) => t.algorithm);

    const algorithm = allowed(() => getSignatureAlgorithm(parts.signatureAlgorithm));
    details.signatureAlgorithmName = algorithm.name;
    const digest = allowed(() => getDigestAlgorithm(parts.reference.digestAlgorithm));
    // by the digest itself, not its URI: GOST R 34.11-94 has two spellings (xmldsig-more, CryptoPro)
    if (digest.name !== getDigestAlgorithm(algorithm.digestUri).name && algorithm.keyAlgorithm.startsWith('gost')) {
      fail('SignatureIsInvalid', `${algorithm.name} must be used with digest ${algorithm.digestUri}, not ${digest.uri}`);
    }
    const target = resolveTarget(doc, parts, expectedTarget);
    details.targetName = target.qName;

    const [leafDer, ...otherDers] = parts.certificates;
    if (!leafDer) fail('CertificateIsNotFound', 'no certificate in ds:KeyInfo');
    const leaf = certificate(leafDer!);
    details.certificate = leaf;
    const intermediates = otherDers.map(certificate);

    math = 'invalid'; // until both the digest and the signature value check out
    const computed = referenceDigest(target, parts.reference.transforms, signature, digest.uri);
    if (!sameBytes(computed, parts.reference.digestValue)) {
      fail('SignatureIsInvalid', `the digest of <${target.qName} Id="${parts.reference.id}"> does not match ds:DigestValue: the signed content was changed after signing`);
    }
    checkSignatureValue(parts, algorithm, leaf);
    math = 'valid';

    if (!options.trust) {
      return { valid: false, reason: undefined, message: 'mathematically valid (trust not checked)', signedElement: null, math, trust, partner: null, details };
    }
    trust = options.trust.evaluate(leaf, intermediates, options.now ?? new Date());
    if (!trust.trusted) fail(trust.reason ?? 'CertificateIsNotFound', trust.message);
    const partner = options.partnerOf ? options.partnerOf(leaf) : undefined;
    if (options.partnerOf && partner === undefined) {
      fail('CertificateIsNotFound', `certificate "${leaf.subject}" is trusted but registered to no partner`);
    }
    return { valid: true, message: `valid: signed by "${leaf.subject}"`, signedElement: target, math, trust, partner: partner ?? null, details };
  } catch (error) {
    if (error instanceof SignatureFailure) {
      return { valid: false, reason: error.reason, message: error.message, signedElement: null, math, trust, partner: null, details };
    }
    throw error;
  }
}

function allowed<T>(lookup: () => T): T {
  try {
    return lookup();
  } catch (error) {
    if (error instanceof AlgorithmError) return fail('SignatureIsInvalid', error.message);
    throw error;
  }
}

/**
 * Partners send the same few certificates again and again: parse each once.
 * Keyed by the DER itself (not a hash of it), bounded, oldest evicted first.
 */
const CERT_CACHE_SIZE = 512;
const certCache = new Map<string, Certificate>();

function certificate(der: Buffer): Certificate {
  const key = der.toString('latin1');
  const cached = certCache.get(key);
  if (cached) return cached;
  try {
    const parsed = parseCertificate(der);
    if (certCache.size >= CERT_CACHE_SIZE) certCache.delete(certCache.keys().next().value!);
    certCache.set(key, parsed);
    return parsed;
  } catch (error) {
    if (error instanceof CertificateError) return fail('CertificateIsNotFound', `the ds:X509Certificate cannot be read: ${error.message}`);
    throw error;
  }
}

/** The Reference must point, by an Id that occurs exactly once, at the element the profile expects. */
function resolveTarget(doc: XmlDocument, parts: SignatureParts, expected: XmlElement | null): XmlElement {
  const id = parts.reference.id;
  const found = doc.elementsById(id);
  if (found.length === 0) fail('IncorrectSignatureTarget', `ds:Reference points to #${id}, but no element has that Id`);
  if (found.length > 1) fail('IncorrectSignatureTarget', `the Id "${id}" occurs ${found.length} times; the reference is ambiguous`);
  const target = found[0]!;
  if (expected && target !== expected) {
    fail('IncorrectSignatureTarget', `the signature covers <${target.qName} Id="${id}">, but it must cover <${expected.qName}>`);
  }
  return target;
}

function checkSignatureValue(parts: SignatureParts, algorithm: SignatureAlgorithm, leaf: Certificate): void {
  const key = leaf.publicKey;
  if (!key || leaf.keyAlgorithm === undefined) fail('CertificateIsNotFound', `certificate "${leaf.subject}" has a key type Okno cannot use (${leaf.publicKeyOid})`);
  const keyFits =
    leaf.keyAlgorithm === algorithm.keyAlgorithm ||
    // GOST 2012-256 keys may carry either parameter family; the algorithm says which hash goes with it.
    (isGostPublicKey(key!) && key.algorithm === algorithm.keyAlgorithm);
  if (!keyFits) fail('SignatureIsInvalid', `${algorithm.name} cannot be made with the certificate's ${leaf.keyAlgorithm} key`);
  const signedInfo = canonicalize(parts.signedInfo, c14nOptionsFor(parts.canonicalization.algorithm, { inclusivePrefixes: parts.canonicalization.inclusivePrefixes }));
  let ok: boolean;
  try {
    ok = algorithm.verify(Buffer.from(signedInfo, 'utf8'), parts.signatureValue, key!);
  } catch (error) {
    if (error instanceof AlgorithmError) return fail('SignatureIsInvalid', error.message);
    ok = false;
  }
  if (!ok) fail('SignatureIsInvalid', 'ds:SignatureValue does not verify over ds:SignedInfo with the certificate\'s key');
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
