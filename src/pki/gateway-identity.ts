/**
 * The gateway's own signing identity: a Signer and its certificate, read once at start-up
 * from a key file + certificate file (PEM or DER; GOST R 34.10-2012, RSA, ECDSA P-256) or a
 * PKCS#12 bundle, or a PKCS#11 token (pkcs11-signer.ts: the key never leaves the token). This
 * module is the only place that reads a private key file; the key then lives only inside the
 * signer (LocalKeySigner), never in the identity object.
 * `loadGatewayIdentity` is the single entry point for every key source.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { GatewayKeySource, KeySource, P12Source } from '../config/env.js';
import type { PrivateKey } from '../crypto/index.js';
import { keyMatchesCertificate, LocalKeySigner, type Signer } from './signer.js';
import { CertificateError, parseCertificate, type Certificate } from './certificate.js';
import { pem } from './der-writer.js';
import { KeyMaterialError } from './key-material-error.js';
import { openPkcs11Identity, type Pkcs11Log } from './pkcs11-signer.js';
import { readPkcs12 } from './pkcs12.js';
import { PrivateKeyError, readPrivateKey } from './private-key.js';
import { SAMPLE_ORGANIZATION } from './sample-pki.js';

export interface GatewayIdentity {
  /** Signs with the key (the only holder of it). */
  signer: Signer;
  certificate: Certificate;
  certificatePem: string;
  /** Further certificates that came with it (rest of the PEM file, PKCS#12 chain), leaf excluded. */
  chainPems: string[];
  /** e.g. `gost2012-256 TC26-256-A`, `rsa-2048`, `ec-prime256v1`. */
  keyDescription: string;
  /** True for the committed test-only sample PKI. */
  isSample: boolean;
  source: string;
}

/** What errors call each input: the environment variables by default, CLI options for `okno`. */
export interface KeyMaterialNames {
  key: string;
  cert: string;
  p12: string;
  password: string;
}

export const ENV_KEY_NAMES: KeyMaterialNames = {
  key: 'GATEWAY_KEY_FILE',
  cert: 'GATEWAY_CERT_FILE',
  p12: 'GATEWAY_P12_FILE',
  password: 'GATEWAY_P12_PASSWORD',
};

export { KeyMaterialError };

export function loadGatewayIdentity(source: GatewayKeySource, names: KeyMaterialNames = ENV_KEY_NAMES, log?: Pkcs11Log): GatewayIdentity {
  if (source.kind === 'pkcs11') {
    const token = openPkcs11Identity(source, log);
    const certificate = token.signer.certificate;
    return { ...token, certificate, isSample: isSampleCertificate(certificate) };
  }
  const loaded = source.kind === 'pem' ? fromFiles(source, names) : fromP12(source, names);
  const { key, keyDescription, certificate, chain, variable, file } = loaded;
  if (!certificate.publicKey) {
    throw new KeyMaterialError(loaded.certVariable, `the certificate in ${file} has a key Okno cannot use (${certificate.publicKeyOid})`);
  }
  if (!keyMatchesCertificate(key, certificate)) throw new KeyMaterialError(variable, loaded.mismatch);
  let signer: Signer;
  try {
    signer = new LocalKeySigner(key, certificate);
  } catch (error) {
    throw new KeyMaterialError(variable, (error as Error).message);
  }
  return {
    signer,
    certificate,
    certificatePem: pemOf(certificate.der),
    chainPems: chain.map((c) => pemOf(c.der)),
    keyDescription,
    isSample: isSampleCertificate(certificate),
    source: file,
  };
}

/** The committed sample PKI marks every subject with SAMPLE_ORGANIZATION. */
export function isSampleCertificate(cert: Pick<Certificate, 'subject' | 'issuer'>): boolean {
  return cert.subject.includes(SAMPLE_ORGANIZATION) || cert.issuer.includes(SAMPLE_ORGANIZATION);
}

export function daysUntil(date: Date, now: Date = new Date()): number {
  return Math.floor((date.getTime() - now.getTime()) / 86_400_000);
}

export function pemOf(der: Uint8Array): string {
  return pem('CERTIFICATE', der);
}

interface Loaded {
  key: PrivateKey;
  keyDescription: string;
  certificate: Certificate;
  chain: Certificate[];
  /** The variable a key/certificate mismatch is reported under, and the message. */
  variable: string;
  mismatch: string;
  certVariable: string;
  file: string;
}

function read(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new KeyMaterialError(variable, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

const shown = (file: string): string => path.relative(process.cwd(), file) || file;

function fromFiles(source: KeySource, names: KeyMaterialNames): Loaded {
  let key: PrivateKey;
  let keyDescription: string;
  try {
    ({ key, description: keyDescription } = readPrivateKey(read(names.key, source.keyFile)));
  } catch (error) {
    if (error instanceof PrivateKeyError) throw new KeyMaterialError(names.key, `${source.keyFile} ${error.message}`);
    throw error;
  }
  const certs = readCertificates(read(names.cert, source.certFile), names.cert, source.certFile);
  const [certificate, ...chain] = certs as [Certificate, ...Certificate[]];
  return {
    key,
    keyDescription,
    certificate,
    chain,
    variable: names.key,
    mismatch: `the private key in ${source.keyFile} does not belong to the certificate in ${names.cert} (${source.certFile}, "${certificate.subject}")`,
    certVariable: names.cert,
    file: shown(source.certFile),
  };
}

/** A certificate file: one or more PEM certificates (leaf first), or one DER certificate. */
function readCertificates(bytes: Buffer, variable: string, file: string): Certificate[] {
  const pems = splitPem(bytes.toString('latin1'));
  try {
    if (pems.length > 0) return pems.map((p) => parseCertificate(p));
    if (bytes[0] === 0x30) return [parseCertificate(bytes)];
  } catch (error) {
    if (error instanceof CertificateError) throw new KeyMaterialError(variable, `${file} holds no readable X.509 certificate (${error.message})`);
    throw error;
  }
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(bytes.toString('latin1'))) throw new KeyMaterialError(variable, `${file} holds a private key, not a certificate`);
  throw new KeyMaterialError(variable, `${file} holds no certificate (PEM or DER)`);
}

function fromP12(source: P12Source, names: KeyMaterialNames): Loaded {
  const bytes = read(names.p12, source.p12File);
  let bundle: ReturnType<typeof readPkcs12>;
  try {
    bundle = readPkcs12(bytes, source.password);
  } catch (error) {
    throw new KeyMaterialError(names.p12, `cannot open ${source.p12File} (wrong ${names.password} or not PKCS#12): ${(error as Error).message}`);
  }
  if (bundle.keys.length !== 1) throw new KeyMaterialError(names.p12, `${source.p12File} must hold exactly one private key, found ${bundle.keys.length}`);
  let key: PrivateKey;
  let keyDescription: string;
  try {
    ({ key, description: keyDescription } = readPrivateKey(bundle.keys[0]!));
  } catch (error) {
    if (error instanceof PrivateKeyError) throw new KeyMaterialError(names.p12, `${source.p12File} ${error.message}`);
    throw error;
  }
  let certs: Certificate[];
  try {
    certs = bundle.certificates.map((der) => parseCertificate(der));
  } catch (error) {
    if (error instanceof CertificateError) throw new KeyMaterialError(names.p12, `${source.p12File} holds an unreadable certificate (${error.message})`);
    throw error;
  }
  if (certs.length === 0) throw new KeyMaterialError(names.p12, `${source.p12File} holds no certificate`);
  // The leaf is the certificate whose public key is the private key's.
  const leafIndex = certs.findIndex((c) => keyMatchesCertificate(key, c));
  const certificate = certs[Math.max(leafIndex, 0)]!;
  return {
    key,
    keyDescription,
    certificate,
    chain: certs.filter((_, i) => i !== Math.max(leafIndex, 0)),
    variable: names.p12,
    mismatch: `the private key in ${source.p12File} belongs to none of its ${certs.length} certificate(s)`,
    certVariable: names.p12,
    file: source.p12File,
  };
}

export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)?.map((p) => `${p}\n`) ?? [];
}
