/**
 * Detached CMS signatures (src/pki/cms): verified against what `openssl cms -sign` makes (RSA,
 * ECDSA, GOST R 34.10-2012 256/512 with the gost engine), made by the gateway's Signer and
 * checked by `openssl cms -verify`, and refused with a clear reason when they do not hold.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.js';
import { loadGatewayIdentity } from '../../src/pki/gateway-identity.js';
import { parseCms, signDetachedCms, verifyDetachedCms } from '../../src/pki/cms/index.js';
import { cmsDigest, cmsSignatureScheme } from '../../src/pki/cms/algorithms.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { makeCmsPki, openssl, opensslCmsSign, opensslCmsVerifies, type CmsKind, type CmsPki } from '../helpers/cms-pki.js';
import { projectRoot } from '../helpers/gateway.js';

const KINDS: CmsKind[] = ['rsa', 'ecdsa', 'gost2012_256', 'gost2012_512'];
const ALGORITHM: Record<CmsKind, RegExp> = {
  rsa: /^RSA PKCS#1 v1\.5 with SHA-256$/,
  ecdsa: /^ECDSA with SHA-256$/,
  gost2012_256: /^GOST R 34\.10-2012-256$/,
  gost2012_512: /^GOST R 34\.10-2012-512$/,
};

const dir = mkdtempSync(path.join(tmpdir(), 'okno-cms-'));
const file = path.join(dir, 'permit.pdf');
const content = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 37) & 0xff))]);
writeFileSync(file, content);
const pkis = new Map<CmsKind, CmsPki>();
const trustOf = (pki: CmsPki) => new TrustAnchorSet([readFileSync(pki.ca.cert, 'utf8')]);

beforeAll(() => {
  for (const kind of KINDS) pkis.set(kind, makeCmsPki(dir, kind));
}, 60_000);

describe.each(KINDS)('%s', (kind) => {
  it('verifies what openssl cms -sign makes, with signed attributes', () => {
    const pki = pkis.get(kind)!;
    const sig = opensslCmsSign(pki, file);
    const v = verifyDetachedCms(content, sig, { trust: trustOf(pki) });
    expect(v.message).toMatch(/^valid: signed by "O=Okno tests, CN=.*signer" at 20\d\d-/);
    expect(v.valid).toBe(true);
    const [s] = v.signers;
    expect(s).toMatchObject({ valid: true, math: 'valid', trusted: true, signedAttributes: true, reasons: [] });
    expect(s!.algorithm).toMatch(ALGORITHM[kind]);
    expect(Math.abs(s!.signingTime!.getTime() - Date.now())).toBeLessThan(120_000);
    // the same as PEM and as bare base64 (SMEV's SignaturePKCS7)
    const pem = openssl(['cms', '-cmsout', ...pki.engine, '-inform', 'DER', '-outform', 'PEM'], sig).toString();
    expect(verifyDetachedCms(content, pem, { trust: trustOf(pki) }).valid).toBe(true);
    expect(verifyDetachedCms(content, sig.toString('base64'), { trust: trustOf(pki) }).valid).toBe(true);
  });

  it('verifies openssl cms -sign -noattr (signature over the content itself)', () => {
    const pki = pkis.get(kind)!;
    const sig = opensslCmsSign(pki, file, { noattr: true });
    const v = verifyDetachedCms(content, sig, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: true, math: 'valid' });
    expect(v.signers[0]).toMatchObject({ signedAttributes: false });
    expect(v.signers[0]!.signingTime).toBeUndefined();
    const changed = Buffer.from(content);
    changed[100]! ^= 1;
    const bad = verifyDetachedCms(changed, sig, { trust: trustOf(pki) });
    expect(bad).toMatchObject({ valid: false, math: 'invalid', reason: 'SignatureIsInvalid' });
    expect(bad.message).toMatch(/does not verify over the content .*changed after signing/);
  });

  it('refuses one byte of content changed: the messageDigest does not match', () => {
    const pki = pkis.get(kind)!;
    const sig = opensslCmsSign(pki, file);
    const changed = Buffer.from(content);
    changed[content.length - 1]! ^= 0x80;
    const v = verifyDetachedCms(changed, sig, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: false, math: 'invalid', reason: 'SignatureIsInvalid' });
    expect(v.message).toMatch(/digest of the content does not match the signed messageDigest: the file was changed after signing/);
  });

  it('is mathematically valid but not trusted under another CA', () => {
    const pki = pkis.get(kind)!;
    const other = pkis.get(kind === 'rsa' ? 'ecdsa' : 'rsa')!;
    const v = verifyDetachedCms(content, opensslCmsSign(pki, file), { trust: trustOf(other) });
    expect(v).toMatchObject({ valid: false, math: 'valid', reason: 'CertificateIsNotFound' });
    expect(v.signers[0]).toMatchObject({ trusted: false });
    expect(v.message).toMatch(/is not issued by a trusted CA/);
  });

  it('signs with the gateway Signer; openssl cms -verify accepts it, and so do we', async () => {
    const pki = pkis.get(kind)!;
    const { signer } = loadGatewayIdentity({ kind: 'pem', keyFile: pki.leaf.key, certFile: pki.leaf.cert });
    const sig = await signDetachedCms(content, signer);
    const sigFile = path.join(dir, `${kind}-ours.p7s`);
    writeFileSync(sigFile, sig);
    const judge = opensslCmsVerifies(pki, file, sigFile);
    expect(judge.output).toMatch(/Verification successful/);
    expect(judge.ok).toBe(true);
    const v = verifyDetachedCms(content, sig, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: true });
    // and openssl refuses it over another file
    const other = path.join(dir, 'other.bin');
    writeFileSync(other, 'not the permit');
    expect(opensslCmsVerifies(pki, other, sigFile).ok).toBe(false);
  });
});

describe('CMS edge cases', () => {
  it('handles -nodetach: the same content verifies, another file is refused clearly', () => {
    const pki = pkis.get('gost2012_256')!;
    const sig = opensslCmsSign(pki, file, { nodetach: true });
    expect(parseCms(sig).content?.equals(content)).toBe(true);
    expect(verifyDetachedCms(content, sig, { trust: trustOf(pki) }).valid).toBe(true);
    const v = verifyDetachedCms(Buffer.from('another file'), sig, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: false, reason: 'SignatureIsInvalid' });
    expect(v.message).toMatch(/not detached: it encapsulates \d+ bytes of its own, which are not this file/);
  });

  it('reads BER with indefinite lengths (openssl cms -sign -stream, as CryptoPro writes the outer layers)', () => {
    for (const kind of ['rsa', 'gost2012_512'] as const) {
      const pki = pkis.get(kind)!;
      const ber = openssl(['cms', '-sign', ...pki.engine, '-binary', '-stream', '-in', file, '-signer', pki.leaf.cert, '-inkey', pki.leaf.key, '-outform', 'DER']);
      expect(ber.subarray(0, 2).toString('hex')).toBe('3080'); // indefinite length
      expect(verifyDetachedCms(content, ber, { trust: trustOf(pki) })).toMatchObject({ valid: true });
    }
  });

  it('verifies RSA-PSS (openssl cms -sign -keyopt rsa_padding_mode:pss)', () => {
    const pki = pkis.get('rsa')!;
    const pss = openssl(['cms', '-sign', '-binary', '-in', file, '-signer', pki.leaf.cert, '-inkey', pki.leaf.key, '-outform', 'DER', '-keyopt', 'rsa_padding_mode:pss']);
    const v = verifyDetachedCms(content, pss, { trust: trustOf(pki) });
    expect(v.signers[0]!.algorithm).toBe('RSA-PSS with SHA-256');
    expect(v.valid).toBe(true);
    const changed = Buffer.from(content);
    changed[0]! ^= 1;
    expect(verifyDetachedCms(changed, pss, { trust: trustOf(pki) }).valid).toBe(false);
  });

  it('checks every SignerInfo: two signers (GOST 2012-256 and RSA) both valid; the verdict names the one that is not', () => {
    const gost = pkis.get('gost2012_256')!;
    const rsa = pkis.get('rsa')!;
    const both = openssl(['cms', '-sign', '-engine', 'gost', '-binary', '-in', file, '-signer', gost.leaf.cert, '-inkey', gost.leaf.key, '-signer', rsa.leaf.cert, '-inkey', rsa.leaf.key, '-outform', 'DER']);
    const anchors = new TrustAnchorSet([readFileSync(gost.ca.cert, 'utf8'), readFileSync(rsa.ca.cert, 'utf8')]);
    const v = verifyDetachedCms(content, both, { trust: anchors });
    expect(v.signers.map((x) => [x.algorithm, x.valid])).toEqual([
      ['GOST R 34.10-2012-256', true],
      ['RSA PKCS#1 v1.5 with SHA-256', true],
    ]);
    expect(v.valid).toBe(true);
    const onlyGost = verifyDetachedCms(content, both, { trust: trustOf(gost) });
    expect(onlyGost).toMatchObject({ valid: false, math: 'valid', reason: 'CertificateIsNotFound' });
    expect(onlyGost.message).toMatch(/^signer 2 of 2: certificate "O=Okno tests, CN=rsa-signer" is not issued by a trusted CA/);
  });

  it('refuses a messageDigest of another file (wrong messageDigest)', async () => {
    const pki = pkis.get('rsa')!;
    const { signer } = loadGatewayIdentity({ kind: 'pem', keyFile: pki.leaf.key, certFile: pki.leaf.cert });
    const sig = await signDetachedCms(Buffer.from('the signed file'), signer);
    const v = verifyDetachedCms(content, sig, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: false, math: 'invalid' });
    expect(v.message).toMatch(/SHA-256 digest of the content does not match the signed messageDigest/);
  });

  it('reports an expired certificate and a signingTime outside the validity', async () => {
    const pki = pkis.get('gost2012_512')!;
    const sig = opensslCmsSign(pki, file);
    const later = verifyDetachedCms(content, sig, { trust: trustOf(pki), now: new Date(Date.now() + 2 * 365 * 86_400_000) });
    expect(later).toMatchObject({ valid: false, math: 'valid', reason: 'CertificateIsExpired' });
    expect(later.message).toMatch(/certificate "O=Okno tests, CN=gost2012_512 signer" expired on/);
    const { signer } = loadGatewayIdentity({ kind: 'pem', keyFile: pki.leaf.key, certFile: pki.leaf.cert });
    const backdated = await signDetachedCms(content, signer, { signingTime: new Date('2001-01-01T00:00:00Z') });
    const v = verifyDetachedCms(content, backdated, { trust: trustOf(pki) });
    expect(v).toMatchObject({ valid: false, math: 'valid', reason: 'CertificateIsExpired' });
    expect(v.message).toMatch(/signed at 2001-01-01T00:00:00\.000Z, outside the validity of certificate/);
    expect(v.signers[0]!.signingTime?.toISOString()).toBe('2001-01-01T00:00:00.000Z');
  });

  it('names a refused or unknown algorithm', () => {
    const pki = pkis.get('rsa')!;
    const sha1 = verifyDetachedCms(content, opensslCmsSign(pki, file, { md: 'sha1' }), { trust: trustOf(pki) });
    expect(sha1).toMatchObject({ valid: false, math: 'not checked', reason: 'SignatureIsInvalid' });
    expect(sha1.message).toMatch(/digest algorithm 1\.3\.14\.3\.2\.26: SHA-1 is broken/);
    // SHA-256's OID → an unknown one (2.16.840.1.101.3.4.2.99): same length, everywhere it occurs
    const sig = opensslCmsSign(pki, file);
    const sha256 = Buffer.from('0609608648016503040201', 'hex');
    const patched = Buffer.from(sig.toString('hex').replaceAll(sha256.toString('hex'), '0609608648016503040263'), 'hex');
    const unknown = verifyDetachedCms(content, patched, { trust: trustOf(pki) });
    expect(unknown.message).toMatch(/digest algorithm 2\.16\.840\.1\.101\.3\.4\.2\.99: not supported/);
  });

  it('never crashes on garbage: a clear error instead', () => {
    const trust = trustOf(pkis.get('rsa')!);
    const sig = opensslCmsSign(pkis.get('rsa')!, file);
    const inputs: Array<string | Buffer> = [
      Buffer.alloc(0),
      '',
      'not base64 at all!',
      Buffer.from('3003020101', 'hex'),
      sig.subarray(0, sig.length - 10),
      Buffer.concat([sig, Buffer.from([0])]),
      Buffer.from('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA', 'base64'),
      Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 131 + 7) & 0xff)),
    ];
    for (const input of inputs) {
      const v = verifyDetachedCms(content, input, { trust });
      expect(v.valid).toBe(false);
      expect(v.message).not.toBe('');
    }
    // every single-bit flip: a verdict, never an exception (a flip in an unsigned part, e.g. the version, may still verify)
    for (let i = 0; i < sig.length * 8; i += 3) {
      const b = Buffer.from(sig);
      b[i >> 3]! ^= 1 << (i & 7);
      expect(verifyDetachedCms(content, b, { trust }).message).not.toBe('');
    }
    expect(verifyDetachedCms(content, Buffer.from('3003020101', 'hex'), { trust }).message).toMatch(/^the signature cannot be read: /);
  });

  it('finds the signer by subjectKeyIdentifier, and among given certificates when the CMS carries none', () => {
    const pki = pkis.get('ecdsa')!;
    const keyid = openssl(['cms', '-sign', '-binary', '-keyid', '-nocerts', '-in', file, '-signer', pki.leaf.cert, '-inkey', pki.leaf.key, '-outform', 'DER']);
    expect(parseCms(keyid).signers[0]!.sid.kind).toBe('subjectKeyIdentifier');
    const missing = verifyDetachedCms(content, keyid, { trust: trustOf(pki) });
    expect(missing).toMatchObject({ valid: false, reason: 'CertificateIsNotFound' });
    expect(missing.message).toMatch(/the signer's certificate \(subjectKeyIdentifier [0-9a-f]+\) is not in the signature/);
    const given = verifyDetachedCms(content, keyid, { trust: trustOf(pki), certificates: [parseCertificate(readFileSync(pki.leaf.cert, 'utf8'))] });
    expect(given.valid).toBe(true);
  });
});

describe('the official SMEV samples\' SignaturePKCS7', () => {
  const samples = path.join(projectRoot, 'test/fixtures/smev3-samples');
  for (const name of ['SendRequestRequestAttachMTOM.xml', 'SendRequestRequestAttachFTP.xml']) {
    it(`${name}: GOST R 34.10-2001 by CryptoPro, signed attributes verify; the file itself is not in the sample`, () => {
      const xml = readFileSync(path.join(samples, name), 'utf8');
      const b64 = /<ns2:SignaturePKCS7>([^<]+)</.exec(xml)![1]!;
      const cms = parseCms(b64);
      const info = cms.signers[0]!;
      expect(info.signatureAlgorithmOid).toBe('1.2.643.2.2.19');
      const cert = cms.certificates[0]!;
      expect(cert.subject).toBe('C=RU, O=OV2, OU=SYSTEM1');
      // The signature over the signed attributes holds with the certificate's key (CryptoPro's byte order = ours)
      const scheme = cmsSignatureScheme(info.signatureAlgorithmOid, info.signatureAlgorithmParams, cmsDigest(info.digestAlgorithmOid));
      expect(scheme.verify(info.signedAttributesDer!, info.signature, cert.publicKey!)).toBe(true);
      const flipped = Buffer.from(info.signedAttributesDer!);
      flipped[flipped.length - 1]! ^= 1;
      expect(scheme.verify(flipped, info.signature, cert.publicKey!)).toBe(false);
      // The sample carries no file content (empty / on the FTP server): the digest cannot match, and the verdict says so
      const v = verifyDetachedCms(Buffer.alloc(0), b64, { trust: null });
      expect(v.signers[0]).toMatchObject({ algorithm: 'GOST R 34.10-2001', digestAlgorithm: 'GOST R 34.11-94', signer: 'C=RU, O=OV2, OU=SYSTEM1', math: 'invalid' });
      expect(v.signers[0]!.signingTime?.toISOString()).toMatch(/^2014-/);
      expect(v.message).toMatch(/GOST R 34\.11-94 digest of the content does not match the signed messageDigest/);
    });
  }
});
