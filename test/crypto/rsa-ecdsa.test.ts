import { createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ECDSA_SHA256_URI,
  RSA_SHA256_URI,
  RSA_SHA512_URI,
  getSignatureAlgorithm,
  signatureAlgorithmUris,
} from '../../src/crypto/index.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const data = Buffer.from('<ds:SignedInfo/>');

describe('RSA and ECDSA through node:crypto', () => {
  it.each([RSA_SHA256_URI, RSA_SHA512_URI])('%s', (uri) => {
    const alg = getSignatureAlgorithm(uri);
    const sig = alg.sign!(data, rsa.privateKey);
    expect(alg.verify(data, sig, rsa.publicKey)).toBe(true);
    expect(alg.verify(Buffer.from('x'), sig, rsa.publicKey)).toBe(false);
  });

  it('ECDSA-P256 signatures are raw r ‖ s (64 bytes), as XMLDSig wants', () => {
    const alg = getSignatureAlgorithm(ECDSA_SHA256_URI);
    const sig = alg.sign!(data, ec.privateKey);
    expect(sig.length).toBe(64);
    expect(alg.verify(data, sig, ec.publicKey)).toBe(true);
    const der = sign('sha256', data, ec.privateKey); // DER form must not pass
    expect(alg.verify(data, der, ec.publicKey)).toBe(false);
  });

  it('key type mismatches are typed errors', () => {
    expect(() => getSignatureAlgorithm(RSA_SHA256_URI).verify(data, Buffer.alloc(256), ec.publicKey)).toThrowError(
      expect.objectContaining({ code: 'KEY_MISMATCH' }),
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    expect(() => getSignatureAlgorithm(ECDSA_SHA256_URI).verify(data, Buffer.alloc(64), createPublicKey(p384.privateKey))).toThrowError(
      expect.objectContaining({ code: 'KEY_MISMATCH' }),
    );
  });
});

describe('registry', () => {
  it('lists exactly the allowed signature algorithms', () => {
    expect(signatureAlgorithmUris().sort()).toEqual(
      [
        'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512',
        'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
        'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256',
        'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512',
        'http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411',
        'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411',
      ].sort(),
    );
  });
  it.each([
    'http://www.w3.org/2000/09/xmldsig#rsa-sha1',
    'http://www.w3.org/2000/09/xmldsig#hmac-sha1',
    'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256',
    'http://example.com/none',
  ])('refuses %s', (uri) => {
    expect(() => getSignatureAlgorithm(uri)).toThrowError(expect.objectContaining({ code: 'ALGORITHM_NOT_ALLOWED', uri }));
  });
});
