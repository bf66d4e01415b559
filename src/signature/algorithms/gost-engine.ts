/**
 * The only module that touches node-gost-crypto (a descendant of R. Nickolaev's gostcrypto).
 * Everything here works on digests and raw keys, in the byte orders of CryptoPro / RFC 4491:
 * - a digest is used as the integer e whose little-endian encoding is the digest bytes;
 * - keys are little-endian (private scalar; public x ‖ y);
 * - a signature is s ‖ r, each big-endian (what XMLDSig SignatureValue and X.509 hold).
 * The library is asked for no hashing ("hash" unset) so that callers can stream the digest.
 */
import { randomBytes } from 'node:crypto';
import { gostEngine, type GostDigestEngine, type GostSignEngine } from 'node-gost-crypto';
import type { GostCurve } from './gost-curves.js';

function signEngine(curve: GostCurve, ukm?: Uint8Array): GostSignEngine {
  return gostEngine.getGostSign({
    name: 'GOST R 34.10',
    version: 2012, // 2001 and 2012 share the signature scheme; only key/curve sizes differ
    length: curve.size * 8,
    // 'CP' makes the library emit/accept s ‖ r big-endian (it byte-reverses its r ‖ s little-endian)
    procreator: 'CP',
    curve: { p: curve.p, a: curve.a, b: curve.b, q: curve.q, x: curve.x, y: curve.y },
    ...(ukm ? { ukm } : {}),
  });
}

// The library parses curve parameters in its constructor: keep one instance per curve.
const engines = new Map<string, GostSignEngine>();
function cachedEngine(curve: GostCurve): GostSignEngine {
  let engine = engines.get(curve.oid);
  if (!engine) {
    engine = signEngine(curve);
    engines.set(curve.oid, engine);
  }
  return engine;
}

/**
 * Signs a digest. `k` (little-endian) is for known-answer tests only; otherwise it is random.
 */
export function gostSignDigest(digest: Uint8Array, curve: GostCurve, scalar: Uint8Array, k?: Uint8Array): Buffer {
  const engine = k ? signEngine(curve, k) : cachedEngine(curve);
  return Buffer.from(engine.sign(scalar, digest));
}

export function gostVerifyDigest(digest: Uint8Array, signature: Uint8Array, curve: GostCurve, point: Uint8Array): boolean {
  if (signature.length !== 2 * curve.size || point.length !== 2 * curve.size) return false;
  try {
    return cachedEngine(curve).verify(point, signature, digest) === true;
  } catch {
    // the library throws on degenerate input (e.g. a point not on the curve): that is a failed check
    return false;
  }
}

/** Public point (x ‖ y, little-endian) of a little-endian private scalar. */
export function gostPublicPoint(curve: GostCurve, scalar: Uint8Array): Uint8Array {
  // with ukm set, the library's key generation uses it as the private scalar
  return new Uint8Array(signEngine(curve, scalar).generateKey().publicKey);
}

/** A fresh private scalar 0 < d < q, little-endian. */
export function gostRandomScalar(curve: GostCurve): Uint8Array {
  const q = BigInt('0x' + curve.q);
  for (;;) {
    const le = randomBytes(curve.size);
    const d = BigInt('0x' + Buffer.from(le).reverse().toString('hex'));
    if (d > 0n && d < q) return new Uint8Array(le);
  }
}

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
