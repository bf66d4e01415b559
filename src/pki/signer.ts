/**
 * Signer: the only thing that touches a private key. The engine hands it the
 * canonical SignedInfo and gets the signature value back, so an HSM or a
 * remote signing service can implement the same interface later (X-Road's
 * signer component is the model). Keys and certificates are parsed once, here.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import {
  ECDSA_SHA256_URI,
  getDigestAlgorithm,
  getSignatureAlgorithm,
  GOST2012_256_URI,
  GOST2012_512_URI,
  gostPublicKeyOf,
  isGostPrivateKey,
  isGostPublicKey,
  RSA_SHA256_URI,
  type DigestAlgorithm,
  type PrivateKey,
  type SignatureAlgorithm,
} from '../crypto/index.js';

export interface Signer {
  readonly certificate: Certificate;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly digestAlgorithm: DigestAlgorithm;
  sign(data: Uint8Array): Promise<Buffer>;
  /** A signer that can stop answering (a PKCS#11 token) says whether it signs now: /ready reports it. */
  health?(): Promise<SignerHealth>;
  /** Releases what the signer holds open (a token's sessions); called when the gateway stops. */
  close?(): Promise<void>;
}

export interface SignerHealth {
  ok: boolean;
  detail: string;
}

export class SignerError extends Error {
  override readonly name = 'SignerError';
}

/** A key held in this process (PEM, PKCS#12 or a GOST key loaded by the caller). */
export class LocalKeySigner implements Signer {
  readonly certificate: Certificate;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly digestAlgorithm: DigestAlgorithm;
  /** A true private field: not enumerable, not in JSON, not shown by util.inspect or a logger. */
  readonly #privateKey: PrivateKey;

  constructor(privateKey: PrivateKey, certificate: Certificate | string | Uint8Array, signatureAlgorithmUri?: string) {
    this.#privateKey = privateKey;
    this.certificate = typeof certificate === 'string' || certificate instanceof Uint8Array ? parseCertificate(certificate) : certificate;
    assertKeyMatches(privateKey, this.certificate);
    this.signatureAlgorithm = getSignatureAlgorithm(signatureAlgorithmUri ?? defaultAlgorithmFor(privateKey));
    if (!this.signatureAlgorithm.sign) throw new SignerError(`${this.signatureAlgorithm.name} is verify-only`);
    this.digestAlgorithm = getDigestAlgorithm(this.signatureAlgorithm.digestUri);
  }

  async sign(data: Uint8Array): Promise<Buffer> {
    return this.signatureAlgorithm.sign!(data, this.#privateKey);
  }
}

function defaultAlgorithmFor(key: PrivateKey): string {
  if (isGostPrivateKey(key)) {
    if (key.algorithm === 'gost2012-256') return GOST2012_256_URI;
    if (key.algorithm === 'gost2012-512') return GOST2012_512_URI;
    throw new SignerError('GOST R 34.10-2001 keys can no longer sign (verify only)');
  }
  const k = key as KeyObject;
  if (k.asymmetricKeyType === 'rsa') return RSA_SHA256_URI;
  if (k.asymmetricKeyType === 'ec' && k.asymmetricKeyDetails?.namedCurve === 'prime256v1') return ECDSA_SHA256_URI;
  throw new SignerError(`no signature algorithm for a ${k.asymmetricKeyType ?? 'unknown'} key`);
}

function assertKeyMatches(key: PrivateKey, cert: Certificate): void {
  if (!cert.publicKey) throw new SignerError(`certificate "${cert.subject}" has a key type Okno cannot use`);
  if (!keyMatchesCertificate(key, cert)) throw new SignerError(`the private key does not belong to certificate "${cert.subject}"`);
}

/** Whether the certificate's public key is the private key's (same algorithm, curve and point / same SPKI). */
export function keyMatchesCertificate(key: PrivateKey, cert: Certificate): boolean {
  const certKey = cert.publicKey;
  if (!certKey) return false;
  if (isGostPrivateKey(key)) {
    if (!isGostPublicKey(certKey) || certKey.algorithm !== key.algorithm) return false;
    const [a, b] = [key.curve, certKey.curve];
    // CryptoPro-A and TC26-256-B (…) are one curve under two OIDs: compare the mathematics
    const sameCurve = a.p === b.p && a.a === b.a && a.b === b.b && a.q === b.q && a.x === b.x && a.y === b.y;
    return sameCurve && Buffer.from(gostPublicKeyOf(key).point).equals(Buffer.from(certKey.point));
  }
  return (
    !isGostPublicKey(certKey) &&
    createPublicKey(key as KeyObject).export({ type: 'spki', format: 'der' }).equals(certKey.export({ type: 'spki', format: 'der' }))
  );
}
