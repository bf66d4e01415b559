import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AlgorithmError,
  GOST94_URI,
  SHA256_URI,
  SHA512_URI,
  STREEBOG256_URI,
  STREEBOG512_URI,
  getDigestAlgorithm,
} from '../../src/crypto/index.js';
import { opensslDigestHex, requireOpensslGost, type OpensslGostMd } from './openssl-gost.js';

const streebog256 = getDigestAlgorithm(STREEBOG256_URI);
const streebog512 = getDigestAlgorithm(STREEBOG512_URI);
const gost94 = getDigestAlgorithm(GOST94_URI);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// RFC 6986 §10 writes messages as numbers (last byte first), so the byte string is the reverse;
// the hash values are printed in output-byte order, which is also openssl's and DigestValue's.
const rfcMessage = (h: string) => Buffer.from(h, 'hex').reverse();
const M1 = rfcMessage(
  '323130393837363534333231303938373635343332313039383736353433323130393837363534333231303938373635343332313039383736353433323130',
);
const M2 = rfcMessage(
  'fbe2e5f0eee3c820fbeafaebef20fffbf0e1e0f0f520e0ed20e8ece0ebe5f0f2f120fff0eeec20f120faf2fee5e2202ce8f6f3ede220e8e6eee1e8f0f2d1202ce8f0f2e5e220e5d1',
);

describe('GOST R 34.11-2012 (Streebog), RFC 6986 vectors', () => {
  it('M1 is the ASCII digits and M2 the CP1251 "Се ветри..."', () => {
    expect(M1.toString('latin1')).toBe('012345678901234567890123456789012345678901234567890123456789012');
    expect(M2[0]).toBe(0xd1); // 'С' in CP1251
  });
  it('M1', () => {
    expect(hex(streebog512.hash(M1))).toBe(
      '1b54d01a4af5b9d5cc3d86d68d285462b19abc2475222f35c085122be4ba1ffa00ad30f8767b3a82384c6574f024c311e2a481332b08ef7f41797891c1646f48',
    );
    expect(hex(streebog256.hash(M1))).toBe('9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500');
  });
  it('M2', () => {
    expect(hex(streebog512.hash(M2))).toBe(
      '1e88e62226bfca6f9994f1f2d51569e0daf8475a3b0fe61a5300eee46d961376035fe83549ada2b8620fcd7c496ce5b33f0cb9dddc2b6460143b03dabac9fb28',
    );
    expect(hex(streebog256.hash(M2))).toBe('9dd2fe4e90409e5da87f53976d7405b0c0cac628fc669a741d50063c557e8f50');
  });
});

describe('GOST R 34.11-94, CryptoPro-A hash parameters', () => {
  // Published values for id-GostR3411-94-CryptoProParamSet (e.g. Wikipedia "GOST (hash function)").
  it.each([
    ['', '981e5f3ca30c841487830f84fb433e13ac1101569b9c13584ac483234cd656c0'],
    ['a', 'e74c52dd282183bf37af0079c9f78055715a103f17e3133ceff1aacf2f403011'],
    ['abc', 'b285056dbf18d7392d7677369524dd14747459ed8143997e163b2986f92fd42c'],
    ['message digest', 'bc6041dd2aa401ebfa6e9886734174febdb4729aa972d60f549ac39b29721ba0'],
    ['The quick brown fox jumps over the lazy dog', '9004294a361a508c586fe53d1f1b02746765e71b765472786e4770d565830a76'],
  ])('%j', (text, expected) => {
    expect(hex(gost94.hash(Buffer.from(text)))).toBe(expected);
  });
});

describe('agreement with the openssl GOST engine', () => {
  const cases: Array<[string, OpensslGostMd]> = [
    [STREEBOG256_URI, 'md_gost12_256'],
    [STREEBOG512_URI, 'md_gost12_512'],
    [GOST94_URI, 'md_gost94'],
  ];
  // Lengths around the 32/64-byte block edges, plus 1 MB. Zero length is left out for gost94:
  // the engine gives 3f25bc1f… for the empty message, not the standard value (checked above).
  const lengths = [1, 31, 32, 33, 63, 64, 65, 127, 1000, 4097, 1 << 20];
  it.each(cases)('%s', (uri, md) => {
    requireOpensslGost();
    const alg = getDigestAlgorithm(uri);
    for (const len of md === 'md_gost94' ? lengths : [0, ...lengths]) {
      const data = randomBytes(len);
      expect(hex(alg.hash(data)), `${md} len ${len}`).toBe(opensslDigestHex(md, data));
    }
  });
});

describe('incremental interface', () => {
  it.each([SHA256_URI, SHA512_URI, STREEBOG256_URI, STREEBOG512_URI, GOST94_URI])('%s: chunks = whole', (uri) => {
    const alg = getDigestAlgorithm(uri);
    const data = randomBytes(10_000);
    const h = alg.create();
    for (let i = 0; i < data.length; i += 777) h.update(data.subarray(i, i + 777));
    const out = h.digest();
    expect(out.length).toBe(alg.size);
    expect(out.equals(alg.hash(data))).toBe(true);
    expect(alg.create().digest().equals(alg.hash(new Uint8Array(0)))).toBe(true);
  });
  it('SHA-256 is node:crypto', () => {
    expect(hex(getDigestAlgorithm(SHA256_URI).hash(Buffer.from('abc')))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });
});

describe('refused digests', () => {
  it.each([
    'http://www.w3.org/2000/09/xmldsig#sha1',
    'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
    'http://www.w3.org/2001/04/xmlenc#sha384-typo',
    '',
  ])('%j', (uri) => {
    try {
      getDigestAlgorithm(uri);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(AlgorithmError);
      expect((e as AlgorithmError).code).toBe('ALGORITHM_NOT_ALLOWED');
      expect((e as AlgorithmError).message).toMatch(/not allowed|broken|forge/);
    }
  });
});
