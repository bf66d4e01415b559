/**
 * The GOST side of the sample PKI (certs-sample/gost/, src/pki/sample-pki-gost.ts), judged by
 * an independent implementation, OpenSSL's gost engine: it reads every certificate and key,
 * verifies every leaf against the CA (and refuses tampered ones), and its own key files have the
 * same bytes around the secret as ours. Then Okno's own parser, trust chain and partner
 * registry accept the set.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPartners } from '../../src/registry/partners.js';
import { parseCertificate, verifyIssuedBy } from '../../src/pki/certificate.js';
import { SAMPLE_ORGANIZATION } from '../../src/pki/sample-pki.js';
import { GOST_SAMPLE_CURVE, GOST_SAMPLE_DIR, GOST_SAMPLE_FILES, writeGostSamplePki } from '../../src/pki/sample-pki-gost.js';
import { loadTrustAnchors } from '../../src/pki/trust-anchors.js';
import { GOST2012_256_URI, getSignatureAlgorithm, isGostPublicKey } from '../../src/crypto/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { requireOpensslGost } from '../crypto/openssl-gost.js';

const root = path.resolve(import.meta.dirname, '../..');
const committed = path.join(root, 'certs-sample', GOST_SAMPLE_DIR);
const LEAVES = ['gateway', 'portal', 'agency', 'exchange'] as const;

function run(args: string[], input?: Uint8Array): { ok: boolean; output: string; stdout: Buffer } {
  const r = spawnSync('openssl', args, { input });
  return { ok: r.status === 0, output: `${r.stdout?.toString('latin1') ?? ''}${r.stderr?.toString() ?? ''}`, stdout: r.stdout ?? Buffer.alloc(0) };
}

const verify = (caFile: string, leafFile: string) =>
  run(['verify', '-engine', 'gost', '-x509_strict', '-CAfile', caFile, leafFile]);

/** The DER inside a PEM file. */
function derOf(file: string): Buffer {
  const b64 = readFileSync(file, 'utf8').replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return Buffer.from(b64, 'base64');
}

/** A copy of a certificate file with one bit flipped in the byte at `at(der)` of its DER. */
function tampered(file: string, at: (der: Buffer) => number, dir: string): string {
  const der = derOf(file);
  der[at(der)]! ^= 0x01;
  const out = path.join(dir, `tampered-${path.basename(file)}`);
  writeFileSync(out, `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`);
  return out;
}

function checkWithOpenssl(dir: string): void {
  expect(readdirSync(dir).filter((f) => f.endsWith('.pem')).sort()).toEqual([...GOST_SAMPLE_FILES].sort());
  const ca = path.join(dir, 'ca.crt.pem');
  const caText = run(['x509', '-engine', 'gost', '-in', ca, '-noout', '-text']);
  expect(caText.ok).toBe(true);
  expect(caText.output).toMatch(/Signature Algorithm: GOST R 34\.10-2012 with GOST R 34\.11-2012 \(256 bit\)/);
  expect(caText.output).toMatch(/CA:TRUE/);
  expect(caText.output).toMatch(/Certificate Sign, CRL Sign/);
  expect(run(['verify', '-engine', 'gost', '-x509_strict', '-CAfile', ca, ca]).output).toMatch(/: OK/);
  for (const name of LEAVES) {
    const crt = path.join(dir, `${name}.crt.pem`);
    const key = path.join(dir, `${name}.key.pem`);
    const text = run(['x509', '-engine', 'gost', '-in', crt, '-noout', '-text']);
    expect(text.ok, text.output).toBe(true);
    expect(text.output).toMatch(/Public Key Algorithm: GOST R 34\.10-2012 with 256 bit modulus/);
    expect(text.output).toMatch(/Parameter set: id-GostR3410-2001-CryptoPro-XchA-ParamSet/);
    expect(text.output).toMatch(/Signature Algorithm: GOST R 34\.10-2012 with GOST R 34\.11-2012 \(256 bit\)/);
    expect(text.output).toContain(`O = ${SAMPLE_ORGANIZATION}`);
    expect(text.output).toMatch(/CA:FALSE/);
    expect(text.output).toMatch(/Digital Signature, Non Repudiation/);
    expect(text.output).toMatch(/X509v3 Authority Key Identifier/);
    const v = verify(ca, crt);
    expect(v.output).toMatch(new RegExp(`${name}\\.crt\\.pem: OK`));
    expect(v.ok).toBe(true);
    // openssl reads the key file; its public key is the certificate's, byte for byte.
    const keyText = run(['pkey', '-engine', 'gost', '-in', key, '-noout', '-text']);
    expect(keyText.ok, keyText.output).toBe(true);
    expect(keyText.output).toMatch(/Parameter set: id-GostR3410-2001-CryptoPro-XchA-ParamSet/);
    const fromKey = run(['pkey', '-engine', 'gost', '-in', key, '-pubout', '-outform', 'DER']);
    const fromCert = run(['x509', '-engine', 'gost', '-in', crt, '-noout', '-pubkey']);
    expect(fromKey.ok).toBe(true);
    expect(derOf(writeTemp(fromCert.stdout)).equals(fromKey.stdout)).toBe(true);
    // … and our SPKI bytes inside the certificate are exactly openssl's encoding of that key.
    expect(derOf(crt).includes(fromKey.stdout)).toBe(true);
  }
  // An anchor of the RSA side does not vouch for GOST leaves.
  expect(verify(path.join(root, 'certs-sample/ca.crt.pem'), path.join(dir, 'portal.crt.pem')).ok).toBe(false);
}

/** A byte inside s ‖ r (the signature is the certificate's last 64 bytes). */
const inSignature = (der: Buffer): number => der.length - 5;
/** The first letter of the subject's common name, inside the signed part ("portal" becomes "qortal"). */
const inSubjectName = (der: Buffer): number => {
  const i = der.indexOf(Buffer.from('portal (GOST)'));
  if (i < 0) throw new Error('no "portal (GOST)" in the certificate');
  return i;
};

let tempCounter = 0;
const scratch = mkdtempSync(path.join(tmpdir(), 'okno-gost-pki-'));
function writeTemp(data: Uint8Array): string {
  const file = path.join(scratch, `t${tempCounter++}.pem`);
  writeFileSync(file, data);
  return file;
}

describe('GOST sample PKI, judged by openssl gost engine', () => {
  beforeAll(() => requireOpensslGost());

  it('a fresh set (okno certs) chains, reads and matches its keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-gost-certs-'));
    expect(writeGostSamplePki(dir, { years: 20 })).toEqual(GOST_SAMPLE_FILES.map((f) => `gost/${f}`));
    checkWithOpenssl(path.join(dir, 'gost'));
    // Two fresh sets are two CAs: one's leaves do not verify under the other's CA.
    expect(verify(path.join(committed, 'ca.crt.pem'), path.join(dir, 'gost', 'agency.crt.pem')).ok).toBe(false);
  });

  it('the committed certs-sample/gost/ is that PKI and stays valid for years', () => {
    checkWithOpenssl(committed);
    for (const name of ['ca', ...LEAVES]) {
      const cert = parseCertificate(readFileSync(path.join(committed, `${name}.crt.pem`), 'utf8'));
      expect(cert.notAfter.getTime()).toBeGreaterThan(Date.now() + 5 * 365 * 86_400_000);
    }
  });

  it('openssl refuses a tampered leaf: a flipped bit in the signature or in the subject name', () => {
    const ca = path.join(committed, 'ca.crt.pem');
    const leaf = path.join(committed, 'portal.crt.pem');
    expect(verify(ca, leaf).ok).toBe(true);
    const badSignature = verify(ca, tampered(leaf, inSignature, scratch));
    expect(badSignature.ok).toBe(false);
    expect(badSignature.output).toMatch(/certificate signature failure/);
    const badTbs = verify(ca, tampered(leaf, inSubjectName, scratch));
    expect(badTbs.ok).toBe(false);
    expect(badTbs.output).toMatch(/certificate signature failure/);
  });

  it('key files have exactly the layout `openssl genpkey -engine gost -pkeyopt paramset:XA` writes', () => {
    const made = execFileSync('openssl', ['genpkey', '-engine', 'gost', '-algorithm', 'gost2012_256', '-pkeyopt', 'paramset:XA', '-outform', 'DER'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for (const name of ['ca', ...LEAVES]) {
      const ours = derOf(path.join(committed, `${name}.key.pem`));
      expect(readFileSync(path.join(committed, `${name}.key.pem`), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      // Same length, same bytes except the 32-byte secret scalar at the end.
      expect(ours.length).toBe(made.length);
      expect(ours.subarray(0, -32).toString('hex')).toBe(made.subarray(0, -32).toString('hex'));
    }
  });

  it('openssl signs with a sample key file; Okno verifies with the certificate (key ↔ certificate, both byte orders)', () => {
    const data = Buffer.from('Okno GOST sample PKI');
    const dataFile = writeTemp(data);
    for (const name of LEAVES) {
      const sigFile = path.join(scratch, `${name}.sig`);
      execFileSync('openssl', ['dgst', '-engine', 'gost', '-md_gost12_256', '-sign', path.join(committed, `${name}.key.pem`), '-out', sigFile, dataFile], {
        stdio: 'ignore',
      });
      const signature = readFileSync(sigFile);
      const cert = parseCertificate(readFileSync(path.join(committed, `${name}.crt.pem`), 'utf8'));
      const alg = getSignatureAlgorithm(GOST2012_256_URI);
      expect(alg.verify(data, signature, cert.publicKey!)).toBe(true);
      expect(alg.verify(Buffer.from('something else'), signature, cert.publicKey!)).toBe(false);
    }
  });
});

describe('GOST sample PKI in Okno', () => {
  const read = (f: string) => readFileSync(path.join(committed, f), 'utf8');
  const ca = parseCertificate(read('ca.crt.pem'));

  it('our parser reads every certificate as GOST R 34.10-2012-256 on CryptoPro-XchA', () => {
    expect(ca.subject).toBe(`CN=Okno Test CA (GOST), O=${SAMPLE_ORGANIZATION}, C=RU`);
    expect(ca.basicConstraints).toEqual({ cA: true });
    expect([...ca.keyUsage!].sort()).toEqual(['cRLSign', 'digitalSignature', 'keyCertSign']);
    for (const name of LEAVES) {
      const leaf = parseCertificate(read(`${name}.crt.pem`));
      expect(leaf.keyAlgorithm).toBe('gost2012-256');
      expect(leaf.signatureAlgorithmOid).toBe('1.2.643.7.1.1.3.2');
      expect(isGostPublicKey(leaf.publicKey!) && leaf.publicKey.curve.oid).toBe(GOST_SAMPLE_CURVE);
      expect(leaf.issuerDer.equals(ca.subjectDer)).toBe(true);
      expect(leaf.basicConstraints).toEqual({ cA: false });
      expect([...leaf.keyUsage!]).toEqual(['digitalSignature', 'nonRepudiation']);
      expect(leaf.subject).toContain(SAMPLE_ORGANIZATION);
      expect(verifyIssuedBy(leaf, ca)).toBe(true);
    }
  });

  it('TRUST_CA_FILE loads the GOST CA, alone or bundled with the RSA one, and the chain check trusts GOST leaves', () => {
    const gostOnly = loadTrustAnchors(path.join(committed, 'ca.crt.pem'));
    expect(gostOnly.certificates.map((c) => c.keyAlgorithm)).toEqual(['gost2012-256']);
    expect(gostOnly.includesSample).toBe(true);
    const bundleFile = writeTemp(Buffer.from(readFileSync(path.join(root, 'certs-sample/ca.crt.pem'), 'utf8') + read('ca.crt.pem')));
    const both = loadTrustAnchors(bundleFile);
    expect(both.certificates.map((c) => c.keyAlgorithm)).toEqual(['rsa', 'gost2012-256']);
    expect(() => loadTrustAnchors(path.join(committed, 'portal.crt.pem'))).toThrow(/^TRUST_CA_FILE: certificate #1 .* is not a CA certificate/);

    const anchors = new TrustAnchorSet(both.certificates);
    const now = new Date();
    for (const name of LEAVES) {
      const verdict = anchors.evaluate(parseCertificate(read(`${name}.crt.pem`)), [], now);
      expect(verdict, verdict.message).toMatchObject({ trusted: true, message: `chains to "${ca.subject}"` });
    }
    const rsaPortal = anchors.evaluate(parseCertificate(readFileSync(path.join(root, 'certs-sample/portal.crt.pem'), 'utf8')), [], now);
    expect(rsaPortal.trusted).toBe(true);
    // Only the RSA CA: a GOST leaf is not issued by a trusted CA.
    const rsaOnly = new TrustAnchorSet(loadTrustAnchors(path.join(root, 'certs-sample/ca.crt.pem')).certificates);
    expect(rsaOnly.evaluate(parseCertificate(read('agency.crt.pem')), [], now)).toMatchObject({ trusted: false, reason: 'CertificateIsNotFound' });
    // A flipped bit in the leaf's signature: no chain.
    const bad = parseCertificate(readFileSync(tampered(path.join(committed, 'agency.crt.pem'), inSignature, scratch), 'utf8'));
    expect(new TrustAnchorSet([ca]).evaluate(bad, [], now)).toMatchObject({ trusted: false, reason: 'CertificateIsNotFound' });
  });

  it('config/partners.gost.json registers the GOST portal and agency', () => {
    const { registry, warnings } = loadPartners(path.join(root, 'config/partners.gost.json'), { portalUrl: 'http://127.0.0.1:8091/ws/smev3' });
    expect(warnings).toEqual([]);
    for (const id of ['portal', 'agency'] as const) {
      const partner = registry.get(id)!;
      const expected = parseCertificate(read(`${id}.crt.pem`));
      expect(partner.certificates.map((c) => c.fingerprint256)).toEqual([expected.fingerprintSha256]);
      expect(partner.certificates[0]!.certificate.keyAlgorithm).toBe('gost2012-256');
      expect(registry.byCertificate(expected.fingerprintSha256)?.id).toBe(id);
    }
    // Same roles and services as the RSA registry: only the certificates differ.
    const rsa = JSON.parse(readFileSync(path.join(root, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
    const gost = JSON.parse(readFileSync(path.join(root, 'config/partners.gost.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
    const strip = (p: Record<string, unknown>) => ({ ...p, certificates: undefined });
    expect(gost.partners.map(strip)).toEqual(rsa.partners.map(strip));
  });

  it('config/partners.pull.gost.json: the exchange signs with certs-sample/gost/exchange, which chains to the GOST CA', () => {
    const { registry, warnings } = loadPartners(path.join(root, 'config/partners.pull.gost.json'));
    expect(warnings).toEqual([]);
    const exchange = registry.exchanges.find((e) => e.id === 'smev')!;
    expect(exchange.certificates.map((c) => c.fingerprint256)).toEqual([parseCertificate(read('exchange.crt.pem')).fingerprintSha256]);
    const anchors = new TrustAnchorSet([ca]);
    for (const c of [...exchange.certificates, ...registry.get('portal')!.certificates, ...registry.get('agency')!.certificates]) {
      expect(anchors.evaluate(c.certificate, [], new Date()).trusted).toBe(true);
    }
  });
});
