import { AlgorithmError } from './errors.js';
import { findGostCurve, type GostCurve } from './gost-curves.js';
import { gostPublicPoint, gostRandomScalar } from './gost-engine.js';
import type { GostKeyAlgorithm, GostPrivateKey, GostPublicKey, PrivateKey, PublicKey } from './types.js';

export const GOST_KEY_OIDS: Readonly<Record<GostKeyAlgorithm, string>> = {
  gost2001: '1.2.643.2.2.19',
  'gost2012-256': '1.2.643.7.1.1.1.1',
  'gost2012-512': '1.2.643.7.1.1.1.2',
};

function curveFor(algorithm: GostKeyAlgorithm, curveOid: string): GostCurve {
  const curve = findGostCurve(curveOid);
  if (!curve) throw new AlgorithmError('BAD_KEY', `unknown GOST parameter set ${curveOid}`);
  const size = algorithm === 'gost2012-512' ? 64 : 32;
  if (curve.size !== size) throw new AlgorithmError('BAD_KEY', `${algorithm} key on ${size * 8}-bit curve required, got ${curve.name}`);
  return curve;
}

/** `point` is x ‖ y, each little-endian (the certificate's OCTET STRING as is). */
export function gostPublicKey(algorithm: GostKeyAlgorithm, curveOid: string, point: Uint8Array): GostPublicKey {
  const curve = curveFor(algorithm, curveOid);
  if (point.length !== 2 * curve.size) throw new AlgorithmError('BAD_KEY', `GOST public key must be ${2 * curve.size} bytes`);
  return Object.freeze({ type: 'gost-public', algorithm, curve, point: Uint8Array.from(point) });
}

/** `scalar` is d, little-endian. */
export function gostPrivateKey(algorithm: GostKeyAlgorithm, curveOid: string, scalar: Uint8Array): GostPrivateKey {
  const curve = curveFor(algorithm, curveOid);
  if (scalar.length !== curve.size) throw new AlgorithmError('BAD_KEY', `GOST private key must be ${curve.size} bytes`);
  return Object.freeze({ type: 'gost-private', algorithm, curve, scalar: Uint8Array.from(scalar) });
}

export function gostPublicKeyOf(key: GostPrivateKey): GostPublicKey {
  return gostPublicKey(key.algorithm, key.curve.oid, gostPublicPoint(key.curve, key.scalar));
}

export function generateGostKeyPair(
  algorithm: GostKeyAlgorithm,
  curveOid: string,
): { privateKey: GostPrivateKey; publicKey: GostPublicKey } {
  const curve = curveFor(algorithm, curveOid);
  const privateKey = gostPrivateKey(algorithm, curveOid, gostRandomScalar(curve));
  return { privateKey, publicKey: gostPublicKeyOf(privateKey) };
}

export function isGostPublicKey(key: PublicKey): key is GostPublicKey {
  return (key as Partial<GostPublicKey>).type === 'gost-public';
}

export function isGostPrivateKey(key: PrivateKey): key is GostPrivateKey {
  return (key as Partial<GostPrivateKey>).type === 'gost-private';
}
