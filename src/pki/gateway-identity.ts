/**
 * The gateway's own signing identity: its signer and certificate, read once at
 * start-up from PEM files, a PKCS#12 bundle or a PKCS#11 token. This module is
 * the only place that reads the private key file; signing goes through the
 * Signer interface of the signature engine, which wraps the key loaded here
 * (or, for a token, talks to the token: pkcs11-signer.ts).
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import forge from 'node-forge';
import type { GatewayKeySource, KeySource, P12Source } from '../config/env.js';
import { LocalKeySigner, SignerError, type Signer } from '../signature/signer.js';
import { KeyMaterialError } from './key-material-error.js';
import { openPkcs11Identity, type Pkcs11Log } from './pkcs11-signer.js';
import { SAMPLE_ORGANIZATION } from './sample-pki.js';

export { KeyMaterialError };

export interface GatewayIdentity {
  /** Signs as the gateway: a key in this process, or one in a PKCS#11 token (the only holder of the key). */
  signer: Signer;
  certificate: X509Certificate;
  certificatePem: string;
  /** Further certificates that came with it (PKCS#12 chain), leaf excluded. */
  chainPems: string[];
  /** e.g. `rsa-2048`, `ec-prime256v1`. */
  keyDescription: string;
  /** True for the committed test-only sample PKI. */
  isSample: boolean;
  source: string;
}

export function loadGatewayIdentity(source: GatewayKeySource, log?: Pkcs11Log): GatewayIdentity {
  if (source.kind === 'pkcs11') {
    const token = openPkcs11Identity(source, log);
    const certificate = new X509Certificate(token.certificatePem);
    return { ...token, certificate, isSample: isSampleCertificate(certificate) };
  }
  const loaded = source.kind === 'pem' ? fromPem(source) : fromP12(source);
  const { privateKey, certificatePem, chainPems, variable, file } = loaded;
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    throw new KeyMaterialError(variable, `${file} holds no readable X.509 certificate`);
  }
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromCert = certificate.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromCert)) {
    throw new KeyMaterialError(variable, 'the private key does not belong to the certificate');
  }
  let signer: Signer;
  try {
    // The signer checks the key fits its certificate and picks the algorithm.
    signer = new LocalKeySigner(privateKey, certificatePem);
  } catch (error) {
    if (error instanceof SignerError) throw new KeyMaterialError(variable, error.message);
    throw error;
  }
  return {
    signer,
    certificate,
    certificatePem,
    chainPems,
    keyDescription: describeKey(privateKey),
    isSample: isSampleCertificate(certificate),
    source: file,
  };
}

/** The committed sample PKI marks every subject with SAMPLE_ORGANIZATION. */
export function isSampleCertificate(cert: X509Certificate): boolean {
  return cert.subject.includes(SAMPLE_ORGANIZATION) || cert.issuer.includes(SAMPLE_ORGANIZATION);
}

export function daysUntil(date: Date, now: Date = new Date()): number {
  return Math.floor((date.getTime() - now.getTime()) / 86_400_000);
}

function describeKey(key: KeyObject): string {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return `rsa-${d?.modulusLength ?? '?'}`;
  if (key.asymmetricKeyType === 'ec') return `ec-${d?.namedCurve ?? '?'}`;
  return key.asymmetricKeyType ?? 'unknown';
}

interface Loaded {
  privateKey: KeyObject;
  certificatePem: string;
  chainPems: string[];
  variable: string;
  file: string;
}

function read(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new KeyMaterialError(variable, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

function fromPem(source: KeySource): Loaded {
  const keyPem = read('GATEWAY_KEY_FILE', source.keyFile);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(keyPem);
  } catch {
    throw new KeyMaterialError('GATEWAY_KEY_FILE', `${source.keyFile} holds no readable unencrypted private key (PEM, PKCS#8 or PKCS#1)`);
  }
  const certText = read('GATEWAY_CERT_FILE', source.certFile).toString('utf8');
  const pems = splitPem(certText);
  if (pems.length === 0) throw new KeyMaterialError('GATEWAY_CERT_FILE', `${source.certFile} holds no PEM certificate`);
  return { privateKey, certificatePem: pems[0]!, chainPems: pems.slice(1), variable: 'GATEWAY_CERT_FILE', file: path.relative(process.cwd(), source.certFile) || source.certFile };
}

function fromP12(source: P12Source): Loaded {
  const der = read('GATEWAY_P12_FILE', source.p12File);
  let p12: forge.pkcs12.Pkcs12Pfx;
  try {
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der.toString('binary')), source.password);
  } catch (error) {
    throw new KeyMaterialError('GATEWAY_P12_FILE', `cannot open ${source.p12File} (wrong GATEWAY_P12_PASSWORD or not PKCS#12): ${(error as Error).message}`);
  }
  const keyBags = [
    ...(p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? []),
    ...(p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? []),
  ];
  const certBags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
  if (keyBags.length !== 1) throw new KeyMaterialError('GATEWAY_P12_FILE', `${source.p12File} must hold exactly one private key, found ${keyBags.length}`);
  const bag = keyBags[0]!;
  // forge decodes only RSA keys; the raw PrivateKeyInfo goes to node:crypto, which reads RSA and EC alike.
  const keyInfo = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1;
  const privateKey = createPrivateKey({ key: Buffer.from(forge.asn1.toDer(keyInfo).getBytes(), 'binary'), format: 'der', type: 'pkcs8' });
  // forge decodes only RSA certificates; others come back as raw ASN.1 for node:crypto to read.
  const pems = certBags.flatMap((b) => {
    const asn1 = b.cert ? forge.pki.certificateToAsn1(b.cert) : b.asn1;
    return asn1 ? [new X509Certificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')).toString()] : [];
  });
  if (pems.length === 0) throw new KeyMaterialError('GATEWAY_P12_FILE', `${source.p12File} holds no certificate`);
  // The leaf is the certificate whose public key matches the private key.
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const leafIndex = pems.findIndex((pem) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }).equals(spki));
  const leaf = leafIndex >= 0 ? pems[leafIndex]! : pems[0]!;
  return { privateKey, certificatePem: leaf, chainPems: pems.filter((_, i) => i !== leafIndex), variable: 'GATEWAY_P12_FILE', file: source.p12File };
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? [];
}
