import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCertificate, verifyIssuedBy, CertificateError } from '../../src/pki/certificate.js';
import {
  GOST2012_256_URI,
  getSignatureAlgorithm,
  gostPublicKeyOf,
  isGostPrivateKey,
  isGostPublicKey,
  type GostPrivateKey,
} from '../../src/crypto/index.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { openssl } from './openssl-gost.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/gost');
const read = (f: string) => readFileSync(path.join(fixtures, f), 'utf8');
const gostKey = (f: string): GostPrivateKey => {
  const k = readPrivateKey(readFileSync(path.join(fixtures, f))).key;
  if (!isGostPrivateKey(k)) throw new Error(`${f}: not a GOST key`);
  return k;
};

describe('test GOST 2012 PKI (fixtures from make.ts)', () => {
  const ca = parseCertificate(read('ca.pem'));
  const leaf = parseCertificate(read('leaf.pem'));

  it('parses names, dates, extensions and keys', () => {
    expect(ca.subject).toBe('CN=Окно тестовый УЦ ГОСТ 2012, O=Okno test GOST PKI (TEST ONLY), C=RU');
    expect(ca.issuerDer.equals(ca.subjectDer)).toBe(true);
    expect(leaf.issuerDer.equals(ca.subjectDer)).toBe(true);
    expect(ca.basicConstraints).toEqual({ cA: true });
    expect(leaf.basicConstraints).toEqual({ cA: false });
    expect([...ca.keyUsage!]).toEqual(['keyCertSign', 'cRLSign']);
    expect([...leaf.keyUsage!]).toEqual(['digitalSignature', 'nonRepudiation']);
    expect(ca.keyAlgorithm).toBe('gost2012-512');
    expect(leaf.keyAlgorithm).toBe('gost2012-256');
    expect(ca.signatureAlgorithmOid).toBe('1.2.643.7.1.1.3.3');
    expect(leaf.notBefore.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(leaf.notAfter.toISOString()).toBe('2045-01-01T00:00:00.000Z');
    expect(leaf.fingerprintSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(leaf.serialHex).toMatch(/^[0-9a-f]+$/);
    expect(BigInt('0x' + leaf.serialHex)).toBe(leaf.serialNumber);
    expect(Object.isFrozen(leaf)).toBe(true);
  });

  it('the key files match the certificates', () => {
    for (const [keyFile, cert] of [['leaf.key.pem', leaf], ['ca.key.pem', ca]] as const) {
      const pub = gostPublicKeyOf(gostKey(keyFile));
      expect(isGostPublicKey(cert.publicKey!) && Buffer.from(cert.publicKey.point).equals(Buffer.from(pub.point))).toBe(true);
    }
  });

  it('the leaf key signs what its certificate verifies', () => {
    const alg = getSignatureAlgorithm(GOST2012_256_URI);
    const sig = alg.sign!(Buffer.from('data'), gostKey('leaf.key.pem'));
    expect(alg.verify(Buffer.from('data'), sig, leaf.publicKey!)).toBe(true);
  });

  it('verifyIssuedBy', () => {
    expect(verifyIssuedBy(ca, ca)).toBe(true);
    expect(verifyIssuedBy(leaf, ca)).toBe(true);
    expect(verifyIssuedBy(leaf, leaf)).toBe(false); // wrong key (and wrong key size)
    expect(verifyIssuedBy(ca, leaf)).toBe(false);
    const tampered = Buffer.from(leaf.der);
    const at = tampered.indexOf(Buffer.from('okno-gateway'));
    tampered[at] = 'O'.charCodeAt(0);
    expect(verifyIssuedBy(parseCertificate(tampered), ca)).toBe(false);
  });

  it('accepts PEM, DER and bare base64; refuses junk', () => {
    expect(parseCertificate(leaf.der).fingerprintSha256).toBe(leaf.fingerprintSha256);
    expect(parseCertificate(leaf.der.toString('base64')).fingerprintSha256).toBe(leaf.fingerprintSha256);
    expect(() => parseCertificate('not a certificate!')).toThrow(CertificateError);
    expect(() => parseCertificate(leaf.der.subarray(0, 100))).toThrow(CertificateError);
  });
});

describe('openssl interop', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'okno-gost-'));

  it('openssl accepts our GOST certificates and their signatures', () => {
    const out = openssl(['verify', '-engine', 'gost', '-CAfile', path.join(fixtures, 'ca.pem'), path.join(fixtures, 'leaf.pem')]);
    expect(out).toMatch(/leaf\.pem: OK/);
  });

  it.each([
    ['gost2012_256', 'A', 'gost2012-256', 'CryptoPro-A'],
    ['gost2012_256', 'TCA', 'gost2012-256', 'TC26-256-A'],
    ['gost2012_256', 'XA', 'gost2012-256', 'CryptoPro-XchA'],
    ['gost2012_512', 'C', 'gost2012-512', 'TC26-512-C'],
    ['gost2012_512', 'B', 'gost2012-512', 'TC26-512-B'],
  ])('we read and verify an openssl %s (paramset %s) self-signed certificate', (alg, paramset, keyAlg, curveName) => {
    const cert = path.join(tmp, `${alg}-${paramset}.pem`);
    openssl([
      'req', '-x509', '-engine', 'gost', '-newkey', alg, '-pkeyopt', `paramset:${paramset}`, '-nodes',
      '-keyout', path.join(tmp, `${alg}-${paramset}.key`), '-out', cert, '-subj', '/CN=openssl gost/O=Okno test', '-days', '30',
    ]);
    const parsed = parseCertificate(readFileSync(cert, 'utf8'));
    expect(parsed.keyAlgorithm).toBe(keyAlg);
    expect(parsed.publicKey && isGostPublicKey(parsed.publicKey) && parsed.publicKey.curve.name).toBe(curveName);
    expect(parsed.subject).toBe('O=Okno test, CN=openssl gost');
    expect(verifyIssuedBy(parsed, parsed)).toBe(true);
  });

  it.each([
    ['rsa', ['-newkey', 'rsa:2048', '-sha256'], 'rsa'],
    ['ec', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256'], 'ec-p256'],
  ] as const)('%s certificates agree with node X509Certificate', (name, args, keyAlg) => {
    const file = path.join(tmp, `${name}.pem`);
    execFileSync('openssl', ['req', '-x509', ...args, '-nodes', '-keyout', path.join(tmp, `${name}.key`), '-out', file,
      '-subj', '/C=RU/O=Okno/CN=node check', '-days', '30', '-addext', 'keyUsage=critical,digitalSignature',
      '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' });
    const pem = readFileSync(file, 'utf8');
    const ours = parseCertificate(pem);
    const node = new X509Certificate(pem);
    expect(ours.keyAlgorithm).toBe(keyAlg);
    expect(ours.subject).toBe('CN=node check, O=Okno, C=RU');
    expect(ours.serialHex.toUpperCase()).toBe(node.serialNumber.replace(/^(00)+/, ''));
    expect(ours.notAfter.getTime()).toBe(new Date(node.validTo).getTime());
    expect(ours.fingerprintSha256).toBe(node.fingerprint256.replace(/:/g, '').toLowerCase());
    expect([...ours.keyUsage!]).toEqual(['digitalSignature']);
    expect(ours.basicConstraints).toEqual({ cA: false });
    expect(verifyIssuedBy(ours, ours)).toBe(true);
    expect(verifyIssuedBy(ours, parseCertificate(read('ca.pem')))).toBe(false);
  });
});
