/**
 * A signer that signs nothing itself: it hands the bytes to whoever holds the
 * key (a large-message thread asks the event loop, whose PKCS#11 session holds
 * the token's key) and waits for the signature. Certificate and algorithm are
 * known up front, so building SignedInfo needs no round trip. Each request
 * names the certificate it was built for: after a key reload the holder signs
 * a signature begun before it with the key it was begun with.
 */
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { getDigestAlgorithm, getSignatureAlgorithm, type DigestAlgorithm, type SignatureAlgorithm } from '../crypto/index.js';
import type { Signer } from './signer.js';

/** What a thread needs to know of the key it cannot hold (plain data: it crosses threads). */
export interface ForwardedKey {
  certificateDer: Uint8Array;
  signatureAlgorithmUri: string;
}

export function forwardedKeyOf(signer: Signer): ForwardedKey {
  return { certificateDer: new Uint8Array(signer.certificate.der), signatureAlgorithmUri: signer.signatureAlgorithm.uri };
}

export class ForwardingSigner implements Signer {
  readonly certificate: Certificate;
  readonly signatureAlgorithm: SignatureAlgorithm;
  readonly digestAlgorithm: DigestAlgorithm;

  constructor(
    key: ForwardedKey,
    /** `fingerprint`: SHA-256 of this signer's certificate, so that the holder signs with that key (a reload may have replaced it). */
    private readonly forward: (data: Uint8Array, fingerprint: string) => Promise<Buffer>,
  ) {
    this.certificate = parseCertificate(Buffer.from(key.certificateDer));
    this.signatureAlgorithm = getSignatureAlgorithm(key.signatureAlgorithmUri);
    this.digestAlgorithm = getDigestAlgorithm(this.signatureAlgorithm.digestUri);
  }

  sign(data: Uint8Array): Promise<Buffer> {
    return this.forward(data, this.certificate.fingerprintSha256);
  }
}
