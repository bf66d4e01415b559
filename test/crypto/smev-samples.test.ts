/**
 * The official SMEV 3 samples: GOST R 34.10-2001 SignatureValue over exc-c14n(SignedInfo),
 * with the key of the embedded certificate. The c14n here is xml-crypto's (test only).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DOMParser } from '@xmldom/xmldom';
import { ExclusiveCanonicalization } from 'xml-crypto';
import { describe, expect, it } from 'vitest';
import { GOST2001_URI, GOST94_URI, getDigestAlgorithm, getSignatureAlgorithm } from '../../src/crypto/index.js';
import { parseCertificate, verifyIssuedBy } from '../../src/pki/certificate.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/gost');
const DS = 'http://www.w3.org/2000/09/xmldsig#';

/** The little of the DOM used here (xmldom's typings don't export Element under NodeNext). */
interface El {
  getAttribute(name: string): string | null;
  readonly textContent: string | null;
  getElementsByTagNameNS(ns: string, local: string): { item(i: number): unknown; readonly length: number };
}

function signatures(file: string) {
  const doc = new DOMParser().parseFromString(readFileSync(path.join(fixtures, file), 'utf8'), 'text/xml');
  const list = doc.getElementsByTagNameNS(DS, 'Signature');
  return Array.from({ length: list.length }, (_, i) => {
    const sig = list.item(i) as unknown as El;
    const child = (local: string) => sig.getElementsByTagNameNS(DS, local).item(0) as El;
    return {
      signedInfo: Buffer.from(new ExclusiveCanonicalization().process(child('SignedInfo') as never, {}) as string, 'utf8'),
      method: child('SignatureMethod').getAttribute('Algorithm') ?? '',
      value: Buffer.from(child('SignatureValue').textContent ?? '', 'base64'),
      cert: parseCertificate(child('X509Certificate').textContent ?? ''),
    };
  });
}

const cases: Array<[file: string, count: number]> = [
  ['AckRequest.xml', 1],
  ['SendRequestRequestNoAttach.xml', 1],
  ['SendRequestRequestPersonalSignature.xml', 2],
  ['SendResponseRequestNoAttach.xml', 1],
];

describe('SMEV 3 sample signatures (GOST R 34.10-2001, CryptoPro-A)', () => {
  it.each(cases)('%s: %i signature(s) verify, a flipped bit does not', (file, count) => {
    const sigs = signatures(file);
    expect(sigs).toHaveLength(count);
    for (const s of sigs) {
      expect(s.method).toBe(GOST2001_URI);
      expect(s.cert.keyAlgorithm).toBe('gost2001');
      expect(s.value).toHaveLength(64);
      const alg = getSignatureAlgorithm(s.method);
      expect(alg.verify(s.signedInfo, s.value, s.cert.publicKey!)).toBe(true);

      const tampered = Buffer.from(s.signedInfo);
      tampered[tampered.length >> 1]! ^= 0x01;
      expect(alg.verify(tampered, s.value, s.cert.publicKey!)).toBe(false);
      // r ‖ s (the wrong order) must not pass either
      const swapped = Buffer.concat([s.value.subarray(32), s.value.subarray(0, 32)]);
      expect(alg.verify(s.signedInfo, swapped, s.cert.publicKey!)).toBe(false);
    }
  });

  it('the sample certificates are self-signed GOST 2001 on CryptoPro-A', () => {
    const [s] = signatures('AckRequest.xml');
    const cert = s!.cert;
    expect(cert.subject).toBe('C=RU, O=mtfoiv1, OU=SYSTEM1');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.signatureAlgorithmOid).toBe('1.2.643.2.2.3');
    expect(cert.publicKey && 'curve' in cert.publicKey && cert.publicKey.curve.name).toBe('CryptoPro-A');
    expect(cert.notAfter.toISOString()).toBe('2014-12-03T09:21:45.000Z');
    expect(verifyIssuedBy(cert, cert)).toBe(true);
  });

  it('DigestValue holds the GOST R 34.11-94 bytes in output order (AckRequest)', () => {
    // exc-c14n + SMEV transform of AckTargetMessage, written out by hand for this one element
    const transformed =
      '<ns1:AckTargetMessage xmlns:ns1="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1"' +
      ' Id="SIGNED_BY_CALLER" accepted="true">0e8cfc01-5e81-11e4-a9ff-d4c9eff07b77</ns1:AckTargetMessage>';
    const digest = getDigestAlgorithm(GOST94_URI).hash(Buffer.from(transformed, 'utf8'));
    expect(digest.toString('base64')).toBe('PXd1LeLr8ng039jaMgcrumvN/MkvDxFKSqH+phrHVrI=');
  });
});
