/**
 * The signature engine against real signatures: the official SMEV 3 samples
 * (GOST R 34.10-2001, SMEV transform), the edited Smev3Sharp response (must be
 * rejected), and GOST 2012 / ECDSA / RSA signatures made here and checked
 * with full trust.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCertificate } from '../../src/pki/certificate.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { generateGostKeyPair } from '../../src/crypto/index.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { signDocument } from '../../src/signature/sign.js';
import { LocalKeySigner, SignerError } from '../../src/pki/signer.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';

const root = path.resolve(import.meta.dirname, '../..');
const sample = (f: string) => readFileSync(path.join(root, 'test/fixtures/smev3-samples', f));
const gostFixture = (f: string) => readFileSync(path.join(root, 'test/fixtures/gost', f), 'utf8');
const sampleCa = new TrustAnchorSet([readFileSync(path.join(root, 'certs-sample/ca.crt.pem'), 'utf8')]);

function signaturesOf(el: XmlElement, out: XmlElement[] = []): XmlElement[] {
  if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') out.push(el);
  for (const c of el.children) if (c.type === 'element') signaturesOf(c, out);
  return out;
}

/** The caller's signatures of the official samples (interop README: all must verify mathematically). */
const OFFICIAL = [
  ['AckRequest.xml', 1],
  ['GetRequestRequestWithFilter.xml', 1],
  ['GetRequestRequestWithoutFilter.xml', 1],
  ['GetResponseRequestWithFilter.xml', 1],
  ['GetResponseRequestWithoutFilter.xml', 1],
  ['SendRequestRequestNoAttach.xml', 1],
  ['SendRequestRequestAttachFTP.xml', 1],
  ['SendRequestRequestAttachMTOM.xml', 1],
  ['SendRequestRequestPersonalSignature.xml', 2],
  ['SendResponseRequestNoAttach.xml', 1],
] as const;

describe('official SMEV 3 samples', () => {
  for (const [file, count] of OFFICIAL) {
    it(`${file}: every signature is mathematically valid where the profile wants it; trust says why not`, () => {
      const doc = parseXml(sample(file));
      const result = verifySmevEnvelope(doc, { trust: sampleCa });
      const verdicts = [result.caller, ...(result.personal ? [result.personal] : [])];
      expect(verdicts).toHaveLength(count);
      for (const v of verdicts) {
        expect(v.math).toBe('valid');
        expect(v.details.signatureAlgorithmName).toBe('GOST R 34.10-2001');
        // Self-signed test certificates: not issued by a trusted CA.
        expect(v.valid).toBe(false);
        expect(v.reason).toBe('CertificateIsNotFound');
        expect(v.message).toMatch(/self-signed and not a trusted CA/);
        expect(v.signedElement).toBeNull();
      }
      // Trusting the sample's own certificate, the remaining problem is its age.
      const own = new TrustAnchorSet([parseCertificate(result.caller.details.certificate!.der)]);
      const again = verifySmevEnvelope(doc, { trust: own });
      expect(again.caller.reason).toBe('CertificateIsExpired');
      expect(again.caller.message).toMatch(/expired on 201\d-/);
      // ... and at a date inside its validity, it is fully valid and hands back the signed element.
      const then = new Date(result.caller.details.certificate!.notBefore.getTime() + 86_400_000);
      const valid = verifySmevEnvelope(doc, { trust: own, now: then });
      expect(valid.caller.valid).toBe(true);
      expect(valid.caller.signedElement).toBe(valid.parts!.signed);
    });
  }

  it('SendRequestRequestNoAttach: one changed character of signed content is caught', () => {
    const text = sample('SendRequestRequestNoAttach.xml').toString('utf8');
    const changed = text.replace('<ns:MessageID>', '<ns:MessageID>0');
    expect(changed).not.toBe(text);
    const v = verifySmevEnvelope(parseXml(changed), { trust: null }).caller;
    expect(v.math).toBe('invalid');
    expect(v.reason).toBe('SignatureIsInvalid');
    expect(v.message).toMatch(/does not match ds:DigestValue/);
  });

  it('the Smev3Sharp GOST 2012 response, edited after signing, is rejected', () => {
    const doc = parseXml(sample('smev3sharp-GetResponseResponse_ValidResponse.xml'));
    const verdicts = signaturesOf(doc.root).map((s) => verifySignature(doc, s, null, { trust: null }));
    expect(verdicts).toHaveLength(2);
    for (const v of verdicts) {
      expect(v.details.signatureAlgorithmName).toBe('GOST R 34.10-2012-256');
      expect(v.math).toBe('invalid');
      expect(v.reason).toBe('SignatureIsInvalid');
    }
  });
});

function unsignedEnvelope(): string {
  return sample('SendRequestRequestNoAttach.xml')
    .toString('utf8')
    .replace(/<ns2:CallerInformationSystemSignature>[\s\S]*<\/ns2:CallerInformationSystemSignature>/, '<ns2:CallerInformationSystemSignature/>');
}

describe('signatures made by Okno verify with full trust', () => {
  it('GOST R 34.10-2012-256 (smev profile) chains to the GOST test CA', async () => {
    const signer = new LocalKeySigner(readPrivateKey(Buffer.from(gostFixture('leaf.key.pem'))).key, gostFixture('leaf.pem'));
    const signed = await signDocument(unsignedEnvelope(), { signer, profile: 'smev' });
    const trust = new TrustAnchorSet([gostFixture('ca.pem')]);
    const result = verifySmevEnvelope(parseXml(signed), { trust, partnerOf: () => 'gost-partner' });
    expect(result.caller).toMatchObject({ valid: true, partner: 'gost-partner' });
    expect(result.caller.details).toMatchObject({
      signatureAlgorithmName: 'GOST R 34.10-2012-256',
      digestAlgorithm: 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34112012-256',
      transforms: ['http://www.w3.org/2001/10/xml-exc-c14n#', 'urn://smev-gov-ru/xmldsig/transform'],
    });
    // The smev profile ignores whitespace and prefixes, exactly as SMEV verifiers do.
    const reformatted = signed.replace('<ns:MessageID>', '\n      <ns:MessageID>');
    expect(verifySmevEnvelope(parseXml(reformatted), { trust }).caller.valid).toBe(true);
  });

  it('GOST R 34.10-2012-512 signs and verifies (mathematics)', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-gost512-'));
    // The GOST test CA's own key is 512-bit; its certificate allows signing for this check.
    const signer = new LocalKeySigner(readPrivateKey(Buffer.from(gostFixture('ca.key.pem'))).key, gostFixture('ca.pem'));
    expect(signer.signatureAlgorithm.name).toBe('GOST R 34.10-2012-512');
    const signed = await signDocument(unsignedEnvelope(), { signer, profile: 'smev' });
    writeFileSync(path.join(dir, 'signed.xml'), signed);
    const v = verifySmevEnvelope(parseXml(signed), { trust: null }).caller;
    expect(v.math).toBe('valid');
    const tampered = verifySmevEnvelope(parseXml(signed.replace('</ns:MessageID>', '1</ns:MessageID>')), { trust: null }).caller;
    expect(tampered.math).toBe('invalid');
  });

  it('a GOST key that does not belong to the certificate is refused', () => {
    const { privateKey } = generateGostKeyPair('gost2012-256', '1.2.643.2.2.35.1');
    expect(() => new LocalKeySigner(privateKey, gostFixture('leaf.pem'))).toThrow(SignerError);
  });

  it('ECDSA P-256 with a certificate from the sample CA', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-ec-'));
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path.join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    execFileSync('openssl', ['req', '-new', '-key', path.join(dir, 'k.pem'), '-subj', '/CN=ec-partner', '-out', path.join(dir, 'r.csr')]);
    writeFileSync(path.join(dir, 'ext.cnf'), 'keyUsage=critical,digitalSignature\n');
    execFileSync('openssl', ['x509', '-req', '-in', path.join(dir, 'r.csr'), '-CA', path.join(root, 'certs-sample/ca.crt.pem'), '-CAkey', path.join(root, 'certs-sample/ca.key.pem'), '-days', '30', '-extfile', path.join(dir, 'ext.cnf'), '-out', path.join(dir, 'c.pem')], { stdio: 'ignore' });
    const signer = new LocalKeySigner(createPrivateKey(readFileSync(path.join(dir, 'k.pem'))), readFileSync(path.join(dir, 'c.pem'), 'utf8'));
    for (const profile of ['smev', 'xmldsig'] as const) {
      const signed = await signDocument(unsignedEnvelope(), { signer, profile });
      const v = verifySmevEnvelope(parseXml(signed), { trust: sampleCa, partnerOf: () => 'ec' }).caller;
      expect(v).toMatchObject({ valid: true, partner: 'ec' });
      expect(v.details.signatureAlgorithmName).toMatch(/ECDSA/);
    }
  });

  it('RSA-SHA256 with the portal sample key, both profiles, names the registered partner', async () => {
    const portalCert = readFileSync(path.join(root, 'certs-sample/portal.crt.pem'), 'utf8');
    const signer = new LocalKeySigner(createPrivateKey(readFileSync(path.join(root, 'certs-sample/portal.key.pem'))), portalCert);
    const fingerprint = parseCertificate(portalCert).fingerprintSha256;
    for (const profile of ['smev', 'xmldsig'] as const) {
      const signed = await signDocument(unsignedEnvelope(), { signer, profile });
      const v = verifySmevEnvelope(parseXml(signed), { trust: sampleCa, partnerOf: (c) => (c.fingerprintSha256 === fingerprint ? 'portal' : undefined) }).caller;
      expect(v).toMatchObject({ valid: true, partner: 'portal' });
      expect(v.signedElement?.localName).toBe('SenderProvidedRequestData');
    }
  });
});
