import { sign, verify, type KeyObject } from 'node:crypto';
import { AlgorithmError } from './errors.js';
import { SHA256_URI } from './sha.js';
import type { PrivateKey, PublicKey, SignatureAlgorithm } from './types.js';

export const ECDSA_SHA256_URI = 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256';

function p256Key(key: PublicKey | PrivateKey): KeyObject {
  if ('asymmetricKeyType' in key && key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') {
    return key;
  }
  throw new AlgorithmError('KEY_MISMATCH', `${ECDSA_SHA256_URI} needs a P-256 key`, ECDSA_SHA256_URI);
}

/** XMLDSig (RFC 4050/6931) carries ECDSA as raw r ‖ s, not DER: hence ieee-p1363. */
export const ecdsaP256Sha256: SignatureAlgorithm = Object.freeze({
  uri: ECDSA_SHA256_URI,
  name: 'ECDSA-P256-SHA256',
  digestUri: SHA256_URI,
  keyAlgorithm: 'ec-p256',
  sign: (data: Uint8Array, key: PrivateKey) => sign('sha256', data, { key: p256Key(key), dsaEncoding: 'ieee-p1363' }),
  verify: (data: Uint8Array, signature: Uint8Array, key: PublicKey) =>
    verify('sha256', data, { key: p256Key(key), dsaEncoding: 'ieee-p1363' }, signature),
});
