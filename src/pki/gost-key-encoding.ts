/**
 * GOST R 34.10-2012 keys in the DER forms OpenSSL's gost engine writes and reads
 * (checked byte-for-byte against `openssl genpkey -engine gost` / `openssl req -x509`,
 * see test/pki/gost-sample-pki.test.ts):
 *
 *   parameters  SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL }   (RFC 9215 §4)
 *   SPKI        SEQUENCE { SEQUENCE { 1.2.643.7.1.1.1.{1,2}, parameters },
 *                          BIT STRING { OCTET STRING { x ‖ y, each little-endian } } }
 *   PKCS#8      SEQUENCE { INTEGER 0, SEQUENCE { 1.2.643.7.1.1.1.{1,2}, parameters },
 *                          OCTET STRING { d, little-endian } }
 *
 * The digest parameter set is present for the CryptoPro sets and TC26-512-A/B, and left out
 * for TC26-256-A…D and TC26-512-C, as the gost engine does.
 */
import {
  CURVE_OIDS,
  GOST_KEY_OIDS,
  type GostPrivateKey,
  type GostPublicKey,
} from '../crypto/index.js';
import { bitString, octetString, oid, pem, sequence, smallInteger } from './der-writer.js';

const STREEBOG_256_OID = '1.2.643.7.1.1.2.2';
const STREEBOG_512_OID = '1.2.643.7.1.1.2.3';

type GostKey = Pick<GostPublicKey, 'algorithm' | 'curve'>;

/** The digest parameter set a key's parameters name, or undefined where the engine omits it. */
export function gostDigestParamSet(key: GostKey): string | undefined {
  const curve = key.curve.oid;
  if (curve.startsWith('1.2.643.7.1.2.1.1.') || curve === CURVE_OIDS.tc26_512C) return undefined;
  if (key.algorithm === 'gost2012-512') return STREEBOG_512_OID;
  if (key.algorithm === 'gost2012-256') return STREEBOG_256_OID;
  return '1.2.643.2.2.30.1'; // GOST R 34.11-94 CryptoPro parameters (2001 keys)
}

/** AlgorithmIdentifier of a GOST key: its OID and parameters. */
export function gostKeyAlgorithmIdentifier(key: GostKey): Buffer {
  const digest = gostDigestParamSet(key);
  return sequence(oid(GOST_KEY_OIDS[key.algorithm]), sequence(oid(key.curve.oid), ...(digest ? [oid(digest)] : [])));
}

export function gostSubjectPublicKeyInfo(key: GostPublicKey): Buffer {
  return sequence(gostKeyAlgorithmIdentifier(key), bitString(octetString(key.point)));
}

/** The subjectPublicKey BIT STRING's bytes (what a subjectKeyIdentifier hashes, RFC 5280 §4.2.1.2). */
export function gostSubjectPublicKeyBits(key: GostPublicKey): Buffer {
  return octetString(key.point);
}

/** PKCS#8 PrivateKeyInfo, DER. */
export function gostPrivateKeyInfo(key: GostPrivateKey): Buffer {
  return sequence(smallInteger(0), gostKeyAlgorithmIdentifier(key), octetString(key.scalar));
}

/** `-----BEGIN PRIVATE KEY-----`, as `openssl genpkey -engine gost` writes it. */
export function gostPrivateKeyPem(key: GostPrivateKey): string {
  return pem('PRIVATE KEY', gostPrivateKeyInfo(key));
}
