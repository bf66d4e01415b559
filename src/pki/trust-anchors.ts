/**
 * The trusted CA certificates (TRUST_CA_FILE), read once at start-up. Chain
 * building and the trust decision live in the signature engine; this module
 * only loads and describes the anchors. Certificates go through our own parser
 * (certificate.ts), not node's X509Certificate, so GOST CAs load like RSA ones.
 */
import { readFileSync } from 'node:fs';
import { CertificateError, parseCertificate, type Certificate } from './certificate.js';
import { isSampleCertificate, KeyMaterialError, splitPem } from './gateway-identity.js';

export interface TrustAnchors {
  certificates: Certificate[];
  pems: string[];
  /** True when any anchor is the committed sample CA (whose private key is public). */
  includesSample: boolean;
  file: string;
}

export function loadTrustAnchors(file: string): TrustAnchors {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new KeyMaterialError('TRUST_CA_FILE', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const pems = splitPem(text);
  if (pems.length === 0) throw new KeyMaterialError('TRUST_CA_FILE', `${file} holds no PEM certificate`);
  const certificates = pems.map((pem, i) => {
    try {
      return parseCertificate(pem);
    } catch (error) {
      if (!(error instanceof CertificateError)) throw error;
      throw new KeyMaterialError('TRUST_CA_FILE', `certificate #${i + 1} in ${file} cannot be read`);
    }
  });
  for (const [i, cert] of certificates.entries()) {
    if (!cert.basicConstraints?.cA) throw new KeyMaterialError('TRUST_CA_FILE', `certificate #${i + 1} in ${file} (${cert.subject}) is not a CA certificate`);
  }
  return { certificates, pems, includesSample: certificates.some(isSampleCertificate), file };
}
