/**
 * Certificates made at test time for TLS tests (never added to certs-sample/):
 * issued by the sample CA (certs-sample/ca.key.pem) or self-signed, with
 * node:crypto keys and node-forge certificates.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { projectRoot } from './gateway.js';

export interface IssuedPem {
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
}

export interface IssueOptions {
  cn: string;
  /** Default: the sample CA. */
  selfSigned?: boolean;
  /** Adds subjectAltName DNS localhost and IP 127.0.0.1 (a server certificate). */
  loopback?: boolean;
  /** Validity in days from yesterday (negative: already expired). */
  days?: number;
}

const sampleCa = () => ({
  cert: forge.pki.certificateFromPem(readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')),
  key: forge.pki.privateKeyFromPem(readFileSync(path.join(projectRoot, 'certs-sample/ca.key.pem'), 'utf8')),
});

export const SAMPLE_CA_PEM = () => readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');

/** Issues a certificate and writes it and its key into `dir`. */
export function issueCertificate(dir: string, o: IssueOptions): IssuedPem {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  const serial = randomBytes(16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = serial.toString('hex');
  const days = o.days ?? 30;
  const day = 86_400_000;
  cert.validity.notBefore = new Date(Date.now() - (days < 0 ? (10 - days) * day : day));
  cert.validity.notAfter = new Date(Date.now() + days * day);
  const subject = [
    { name: 'commonName', value: o.cn },
    { name: 'organizationName', value: 'Okno TLS test (TEST ONLY)' },
    { name: 'countryName', value: 'RU' },
  ];
  cert.setSubject(subject);
  const ca = o.selfSigned ? null : sampleCa();
  cert.setIssuer(ca ? ca.cert.subject.attributes : subject);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectKeyIdentifier' },
  ];
  if (o.loopback) extensions.push({ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] });
  if (ca) extensions.push({ name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() });
  cert.setExtensions(extensions);
  cert.sign(ca ? ca.key : key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  const certFile = path.join(dir, `${o.cn}.crt.pem`);
  const keyFile = path.join(dir, `${o.cn}.key.pem`);
  writeFileSync(certFile, certPem);
  writeFileSync(keyFile, keyPem, { mode: 0o600 });
  return { certPem, keyPem, certFile, keyFile };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

/** A sample-PKI key pair as a TLS client identity (the partner's signing certificate). */
export function sampleIdentity(name: string): { certPem: string; keyPem: string } {
  const dir = path.join(projectRoot, 'certs-sample');
  return { certPem: readFileSync(path.join(dir, `${name}.crt.pem`), 'utf8'), keyPem: readFileSync(path.join(dir, `${name}.key.pem`), 'utf8') };
}
