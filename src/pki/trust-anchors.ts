/**
 * The trusted CA certificates (TRUST_CA_FILE), read once at start-up. Chain
 * building and the trust decision live in the signature engine; this module
 * only loads and describes the anchors.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isSampleCertificate, KeyMaterialError, splitPem } from './gateway-identity.js';

export interface TrustAnchors {
  certificates: X509Certificate[];
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
      return new X509Certificate(pem);
    } catch {
      throw new KeyMaterialError('TRUST_CA_FILE', `certificate #${i + 1} in ${file} cannot be read`);
    }
  });
  for (const [i, cert] of certificates.entries()) {
    if (!cert.ca) throw new KeyMaterialError('TRUST_CA_FILE', `certificate #${i + 1} in ${file} (${cert.subject.replace(/\n/g, ', ')}) is not a CA certificate`);
  }
  return { certificates, pems, includesSample: certificates.some(isSampleCertificate), file };
}
