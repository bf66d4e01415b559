/**
 * GOST primitives on digests and raw keys, in the byte orders of CryptoPro / RFC 4491 / XMLDSig:
 * - a digest is used as the integer e whose little-endian encoding is the digest bytes;
 * - keys are little-endian (private scalar; public x ‖ y);
 * - a signature is s ‖ r, each big-endian (what XMLDSig SignatureValue and X.509 hold).
 * Digests come from node-gost-crypto (the only module importing it); the curve arithmetic is
 * our own (gost-ec.ts), because the library's is broken for some inputs.
 */
import { gostEngine, type GostCipherEngine, type GostDigestEngine } from 'node-gost-crypto';
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

/** HMAC (RFC 2104) over Streebog; both lengths have a 64-byte block. */
export function hmacStreebog(kind: '2012-256' | '2012-512', key: Uint8Array, data: Uint8Array): Buffer {
  const block = 64;
  const k: Buffer = key.length > block ? gostDigest(kind, key) : Buffer.from(key);
  const padded = Buffer.concat([k, Buffer.alloc(block - k.length)]);
  const ipad = Buffer.from(padded.map((b) => b ^ 0x36));
  const opad = Buffer.from(padded.map((b) => b ^ 0x5c));
  return gostDigest(kind, Buffer.concat([opad, gostDigest(kind, Buffer.concat([ipad, data]))]));
}

/** PBKDF2 (RFC 8018) with HMAC-Streebog as the PRF. */
export function pbkdf2Streebog(kind: '2012-256' | '2012-512', password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 1; blocks.length * (kind === '2012-512' ? 64 : 32) < length; i++) {
    let u: Buffer = hmacStreebog(kind, password, Buffer.concat([salt, Buffer.from([i >>> 24, (i >>> 16) & 0xff, (i >>> 8) & 0xff, i & 0xff])]));
    const t = Buffer.from(u);
    for (let n = 1; n < iterations; n++) {
      u = hmacStreebog(kind, password, u);
      for (let j = 0; j < t.length; j++) t[j]! ^= u[j]!;
    }
    blocks.push(t);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** GOST 28147-89 parameter sets (S-boxes) by OID; CryptoPro key meshing for all but the test set (RFC 4357). */
const GOST89_SBOXES: Readonly<Record<string, string>> = {
  '1.2.643.2.2.31.0': 'E-TEST',
  '1.2.643.2.2.31.1': 'E-A',
  '1.2.643.2.2.31.2': 'E-B',
  '1.2.643.2.2.31.3': 'E-C',
  '1.2.643.2.2.31.4': 'E-D',
  '1.2.643.7.1.2.5.1.1': 'E-Z',
};

const cipherEngines = new Map<string, GostCipherEngine>();

/** GOST 28147-89 in CFB mode (as OpenSSL's gost engine "gost89" cipher), decryption. Undefined for an unknown parameter set. */
export function gost89CfbDecrypt(paramSetOid: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Buffer | undefined {
  const sBox = GOST89_SBOXES[paramSetOid];
  if (!sBox) return undefined;
  let engine = cipherEngines.get(sBox);
  if (!engine) {
    engine = gostEngine.getGostCipher({ name: 'GOST 28147', version: 1989, block: 'CFB', sBox, keyMeshing: sBox === 'E-TEST' ? 'NO' : 'CP' });
    cipherEngines.set(sBox, engine);
  }
  return Buffer.from(engine.decrypt(key, data, iv));
}
