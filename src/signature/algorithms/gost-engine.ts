/**
 * GOST primitives on digests and raw keys, in the byte orders of CryptoPro / RFC 4491 / XMLDSig:
 * - a digest is used as the integer e whose little-endian encoding is the digest bytes;
 * - keys are little-endian (private scalar; public x ‖ y);
 * - a signature is s ‖ r, each big-endian (what XMLDSig SignatureValue and X.509 hold).
 * Digests come from node-gost-crypto (the only module importing it); the curve arithmetic is
 * our own (gost-ec.ts), because the library's is broken for some inputs.
 */
import { gostEngine, type GostDigestEngine } from 'node-gost-crypto';
import type { GostCurve } from './gost-curves.js';
import { ecPublicPoint, ecRandomScalar, ecSign, ecVerify } from './gost-ec.js';

/** Signs a digest. `k` (little-endian) is for known-answer tests only; otherwise it is random. */
export function gostSignDigest(digest: Uint8Array, curve: GostCurve, scalar: Uint8Array, k?: Uint8Array): Buffer {
  return ecSign(digest, curve, scalar, k);
}

export function gostVerifyDigest(digest: Uint8Array, signature: Uint8Array, curve: GostCurve, point: Uint8Array): boolean {
  return ecVerify(digest, signature, curve, point);
}

/** Public point (x ‖ y, little-endian) of a little-endian private scalar. */
export const gostPublicPoint = ecPublicPoint;

/** A fresh private scalar 0 < d < q, little-endian. */
export const gostRandomScalar = ecRandomScalar;

export type GostDigestKind = '2012-256' | '2012-512' | '94';

const digestEngines = new Map<GostDigestKind, GostDigestEngine>();

/** One-shot GOST digest, bytes in the order the algorithm outputs them (= openssl's hex = DigestValue). */
export function gostDigest(kind: GostDigestKind, data: Uint8Array): Buffer {
  let engine = digestEngines.get(kind);
  if (!engine) {
    engine = gostEngine.getGostDigest(
      kind === '94'
        ? // 'D-A' is id-GostR3411-94-CryptoProParamSet, the S-box XMLDSig's gostr3411 means
          { name: 'GOST R 34.11', version: 1994, length: 256, sBox: 'D-A' }
        : { name: 'GOST R 34.11', version: 2012, length: kind === '2012-256' ? 256 : 512 },
    );
    digestEngines.set(kind, engine);
  }
  return Buffer.from(engine.digest(data));
}
