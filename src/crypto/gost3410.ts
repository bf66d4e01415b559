import { AlgorithmError } from './errors.js';
import { gostSignDigest, gostVerifyDigest } from './gost-engine.js';
import { isGostPrivateKey, isGostPublicKey } from './gost-keys.js';
import { gost94, gost94CryptoPro } from './gost94.js';
import { streebog256, streebog512 } from './streebog.js';
import type { DigestAlgorithm, GostKeyAlgorithm, PrivateKey, PublicKey, SignatureAlgorithm } from './types.js';

export const GOST2012_256_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256';
export const GOST2012_512_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-512';
export const GOST2001_URI = 'http://www.w3.org/2001/04/xmldsig-more#gostr34102001-gostr3411';
/** CryptoPro's spelling of the same algorithm (real SMEV 3 test-contour messages of 2018 carry it). */
export const GOST2001_CRYPTOPRO_URI = 'urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102001-gostr3411';

/**
 * GOST R 34.10 over the matching GOST R 34.11 digest. SignatureValue is s ‖ r, big-endian;
 * the digest is read as a little-endian integer (CryptoPro convention, also RFC 4491 / 9215).
 */
function gost(
  uri: string,
  name: string,
  digest: DigestAlgorithm,
  keyAlgorithm: GostKeyAlgorithm,
  canSign: boolean,
): SignatureAlgorithm {
  const publicKey = (key: PublicKey) => {
    if (isGostPublicKey(key) && key.algorithm === keyAlgorithm) return key;
    throw new AlgorithmError('KEY_MISMATCH', `${uri} needs a ${keyAlgorithm} public key`, uri);
  };
  const privateKey = (key: PrivateKey) => {
    if (isGostPrivateKey(key) && key.algorithm === keyAlgorithm) return key;
    throw new AlgorithmError('KEY_MISMATCH', `${uri} needs a ${keyAlgorithm} private key`, uri);
  };
  const verify = (data: Uint8Array, signature: Uint8Array, key: PublicKey): boolean => {
    const k = publicKey(key);
    return gostVerifyDigest(digest.hash(data), signature, k.curve, k.point);
  };
  const sign = (data: Uint8Array, key: PrivateKey): Buffer => {
    const k = privateKey(key);
    return gostSignDigest(digest.hash(data), k.curve, k.scalar);
  };
  return Object.freeze({ uri, name, digestUri: digest.uri, keyAlgorithm, verify, ...(canSign ? { sign } : {}) });
}

export const gost2012_256 = gost(GOST2012_256_URI, 'GOST R 34.10-2012-256', streebog256, 'gost2012-256', true);
export const gost2012_512 = gost(GOST2012_512_URI, 'GOST R 34.10-2012-512', streebog512, 'gost2012-512', true);
// Producing 2001 signatures has been forbidden in Russia since 2019; we only check old ones.
export const gost2001 = gost(GOST2001_URI, 'GOST R 34.10-2001', gost94, 'gost2001', false);
export const gost2001CryptoPro = gost(GOST2001_CRYPTOPRO_URI, 'GOST R 34.10-2001', gost94CryptoPro, 'gost2001', false);
