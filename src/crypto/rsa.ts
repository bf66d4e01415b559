import { sign, verify, type KeyObject } from 'node:crypto';
import { AlgorithmError } from './errors.js';
import { SHA256_URI, SHA512_URI } from './sha.js';
import type { PrivateKey, PublicKey, SignatureAlgorithm } from './types.js';

export const RSA_SHA256_URI = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
export const RSA_SHA512_URI = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512';

function rsaKey(key: PublicKey | PrivateKey, uri: string): KeyObject {
  if ('asymmetricKeyType' in key && key.asymmetricKeyType === 'rsa') return key;
  throw new AlgorithmError('KEY_MISMATCH', `${uri} needs an RSA key`, uri);
}

/** RSASSA-PKCS1-v1_5, the only RSA padding XMLDSig's rsa-shaNNN URIs mean. */
function rsa(uri: string, name: string, digestUri: string, hash: string): SignatureAlgorithm {
  return Object.freeze({
    uri,
    name,
    digestUri,
    keyAlgorithm: 'rsa',
    sign: (data: Uint8Array, key: PrivateKey) => sign(hash, data, rsaKey(key, uri)),
    verify: (data: Uint8Array, signature: Uint8Array, key: PublicKey) => verify(hash, data, rsaKey(key, uri), signature),
  } satisfies SignatureAlgorithm);
}

export const rsaSha256 = rsa(RSA_SHA256_URI, 'RSA-SHA256', SHA256_URI, 'sha256');
export const rsaSha512 = rsa(RSA_SHA512_URI, 'RSA-SHA512', SHA512_URI, 'sha512');
