/**
 * GOST R 34.10-2001/2012 curve arithmetic on @noble/curves (audited; its short-Weierstrass
 * `weierstrassN` builds any such curve, the GOST ones included).
 *
 * Signing and public-key derivation multiply by a secret scalar (k·G, d·G): that is the
 * library's constant-time `multiply` (fixed-window wNAF with fake additions, no branch on the
 * scalar's bits). Verification works on public values only and uses `multiplyUnsafe`; a
 * partner's public point gets a 4-bit window table, kept for the 32 most recently used keys
 * (partners' keys repeat), which makes a verification about twice as fast as plain bigint
 * double-and-add.
 * GOST's own formulas stay here: e is the digest read little-endian mod q (0 → 1);
 * r = x(k·G) mod q; s = r·d + k·e mod q; the signature is s ‖ r, big-endian.
 * node-gost-crypto's curve code is not used: its modular inverse fails for some inputs.
 */
import { randomBytes } from 'node:crypto';
import { weierstrassN, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import type { GostCurve } from './gost-curves.js';
import { gostField } from './gost-field.js';

interface Curve {
  readonly Point: WeierstrassPointCons<bigint>;
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly q: bigint;
  readonly size: number;
}

const built = new Map<string, Curve>();

function curveOf(c: GostCurve): Curve {
  let k = built.get(c.oid);
  if (!k) {
    const n = (h: string) => BigInt('0x' + h);
    const [p, a, b, q] = [n(c.p), n(c.a), n(c.b), n(c.q)];
    // The twisted-Edwards sets (TC26-256-A, TC26-512-C) have cofactor 4; the others 1.
    // Hasse: #E = h·q is within 2√p of p + 1, so rounding (p + 1) / q gives h exactly.
    const h = ((p + 1n) * 2n + q) / (2n * q);
    const Point = weierstrassN({ p, n: q, h: h < 1n ? 1n : h, a, b, Gx: n(c.x), Gy: n(c.y) }, { Fp: gostField(p) });
    k = { Point, p, a, b, q, size: c.size };
    built.set(c.oid, k);
  }
  return k;
}

const mod = (x: bigint, m: bigint): bigint => {
  const r = x % m;
  return r < 0n ? r + m : r;
};

const fromLe = (b: Uint8Array): bigint => {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
};
const toBe = (n: bigint, size: number): Buffer => Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex');
const toLe = (n: bigint, size: number): Buffer => toBe(n, size).reverse();

/** e from the digest: the digest bytes read little-endian, mod q; 0 becomes 1 (GOST R 34.10 step 2). */
function digestScalar(digest: Uint8Array, c: Curve): bigint {
  const e = mod(fromLe(digest), c.q);
  return e === 0n ? 1n : e;
}

/** Uniform in [1, q): rejection sampling on as many bits as q has (no modulo bias). */
function randomScalar(c: Curve): bigint {
  const bits = c.q.toString(2).length;
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    const k = fromLe(randomBytes(c.size)) & mask;
    if (k > 0n && k < c.q) return k;
  }
}

function privateScalar(scalar: Uint8Array, c: Curve): bigint {
  const d = fromLe(scalar);
  if (d <= 0n || d >= c.q) throw new RangeError('GOST private key out of range');
  return d;
}

export function ecSign(digest: Uint8Array, curve: GostCurve, scalar: Uint8Array, fixedK?: Uint8Array): Buffer {
  const c = curveOf(curve);
  const d = privateScalar(scalar, c);
  const e = digestScalar(digest, c);
  const Fn = c.Point.Fn;
  for (;;) {
    const k = fixedK ? mod(fromLe(fixedK), c.q) : randomScalar(c);
    if (k === 0n) throw new RangeError('the given k is 0 mod q');
    const r = mod(c.Point.BASE.multiply(k).x, c.q); // constant-time k·G
    const s = Fn.add(Fn.mul(r, d), Fn.mul(k, e));
    if (r !== 0n && s !== 0n) return Buffer.concat([toBe(s, c.size), toBe(r, c.size)]);
    if (fixedK) throw new RangeError('the given k yields r = 0 or s = 0');
  }
}

const POINT_CACHE_SIZE = 32;
const WINDOW_BITS = 4;
const points = new Map<string, WeierstrassPoint<bigint>>();

/** The public point, on the curve, with its window table (built on first use), or undefined. */
function pointOf(point: Uint8Array, curve: GostCurve, c: Curve): WeierstrassPoint<bigint> | undefined {
  if (point.length !== 2 * c.size) return undefined;
  const key = `${curve.oid}:${Buffer.from(point).toString('hex')}`;
  const cached = points.get(key);
  if (cached) {
    points.delete(key); // most recently used goes last
    points.set(key, cached);
    return cached;
  }
  const x = fromLe(point.subarray(0, c.size));
  const y = fromLe(point.subarray(c.size));
  if (x >= c.p || y >= c.p || mod(y * y - (x * x * x + c.a * x + c.b), c.p) !== 0n) return undefined;
  const P = c.Point.fromAffine({ x, y });
  P.precompute(WINDOW_BITS);
  points.set(key, P);
  if (points.size > POINT_CACHE_SIZE) points.delete(points.keys().next().value!);
  return P;
}

export function ecVerify(digest: Uint8Array, signature: Uint8Array, curve: GostCurve, point: Uint8Array): boolean {
  const c = curveOf(curve);
  if (signature.length !== 2 * c.size) return false;
  const hex = Buffer.from(signature).toString('hex');
  const s = BigInt('0x' + hex.slice(0, 2 * c.size));
  const r = BigInt('0x' + hex.slice(2 * c.size));
  if (r <= 0n || r >= c.q || s <= 0n || s >= c.q) return false;
  const Q = pointOf(point, curve, c);
  if (!Q) return false;
  const Fn = c.Point.Fn;
  const v = Fn.inv(digestScalar(digest, c));
  const z1 = Fn.mul(s, v);
  const z2 = Fn.neg(Fn.mul(r, v));
  // Public values only: the variable-time multiplications are fine here.
  const C = c.Point.BASE.multiplyUnsafe(z1).add(Q.multiplyUnsafe(z2));
  return !C.is0() && mod(C.x, c.q) === r;
}

/** Q = d·G as x ‖ y, little-endian (constant-time in d). */
export function ecPublicPoint(curve: GostCurve, scalar: Uint8Array): Uint8Array {
  const c = curveOf(curve);
  const Q = c.Point.BASE.multiply(privateScalar(scalar, c));
  return new Uint8Array(Buffer.concat([toLe(Q.x, c.size), toLe(Q.y, c.size)]));
}

export function ecRandomScalar(curve: GostCurve): Uint8Array {
  const c = curveOf(curve);
  return new Uint8Array(toLe(randomScalar(c), c.size));
}
