/**
 * GOST R 34.10-2001/2012 curve arithmetic on @noble/curves (audited; its short-Weierstrass
 * `weierstrassN` builds any such curve, the GOST ones included), with speed-ups of our own:
 * - the prime field is gost-field.ts (conditional ±p instead of `%`, folding reduction for the
 *   pseudo-Mersenne primes 2^n − c), and for p = 2^256 − 617 (CryptoPro-A = TC26-256-B = XchA,
 *   TC26-256-A: what SMEV keys use) gost-wasm.ts, the same field in WebAssembly, with 1/Z for
 *   signing by Fermat there;
 * - every scalar multiplication runs on a fixed-window table (gost-window.ts): the base point's
 *   (w = 8, built on the first signature or verification on that curve) for k·G in signing and
 *   z1·G in verification, and a partner key's (w = 7, kept for the 32 most recently used keys)
 *   for z2·Q. The walk is one mixed addition per window whatever the scalar, so signing with the
 *   secret k is constant-time in the sense noble's `multiply` is (see gost-window.ts).
 * Verification compares x(C) with r projectively (no inversion) and refuses, on the cofactor-4
 * curves, a public point outside the prime-order subgroup. Public-key derivation (d·G) stays
 * noble's constant-time `multiply`.
 * GOST's own formulas stay here: e is the digest read little-endian mod q (0 → 1);
 * r = x(k·G) mod q; s = r·d + k·e mod q; the signature is s ‖ r, big-endian.
 * node-gost-crypto's curve code is not used: its modular inverse fails for some inputs.
 */
import { randomBytes } from 'node:crypto';
import { weierstrassN, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import type { GostCurve } from './gost-curves.js';
import { gostField } from './gost-field.js';
import { wasmField } from './gost-wasm.js';
import { WasmWindowMultiplier, WindowMultiplier, type Multiplier } from './gost-window.js';

interface Curve {
  readonly Point: WeierstrassPointCons<bigint>;
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly q: bigint;
  readonly size: number;
  readonly h: bigint;
  readonly window: Multiplier<object>;
  /** 1/x mod p: Fermat in WebAssembly where the field is there (fixed sequence of steps), else noble's. */
  readonly invP: (x: bigint) => bigint;
  /** The base point's table, built on first use (tens of ms for a 256-bit curve). */
  readonly baseTable: () => object;
}

/** Table widths: the base point's table is shared and long-lived; a partner key's is one of many cached. */
const BASE_WINDOW = 8;
const KEY_WINDOW = 7;

const built = new Map<string, Curve>();

function curveOf(c: GostCurve): Curve {
  let k = built.get(c.oid);
  if (!k) {
    const n = (h: string) => BigInt('0x' + h);
    const [p, a, b, q] = [n(c.p), n(c.a), n(c.b), n(c.q)];
    // The twisted-Edwards sets (TC26-256-A, TC26-512-C) have cofactor 4; the others 1.
    // Hasse: #E = h·q is within 2√p of p + 1, so rounding (p + 1) / q gives h exactly.
    const hRounded = ((p + 1n) * 2n + q) / (2n * q);
    const h = hRounded < 1n ? 1n : hRounded;
    const Fp = gostField(p);
    const Point = weierstrassN({ p, n: q, h, a, b, Gx: n(c.x), Gy: n(c.y) }, { Fp });
    // p = 2^256 − 617 (CryptoPro-A = TC26-256-B = XchA, TC26-256-A), 2^512 − 569 (TC26-512-A, -C): the field in WebAssembly.
    const wasm = wasmField(p);
    const window: Multiplier<object> = wasm ? new WasmWindowMultiplier({ Fp, a, b, q }, wasm) : new WindowMultiplier({ Fp, a, b, q });
    let table: object | undefined;
    const baseTable = () => (table ??= window.table(Point.BASE, BASE_WINDOW));
    const invP = wasm ? wasm.invert : (x: bigint) => Fp.inv(x);
    k = { Point, p, a, b, q, size: c.size, h, window, invP, baseTable };
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
    const R = c.window.multiply(c.baseTable(), k); // constant-time k·G (gost-window.ts)
    const r = mod(c.Point.Fp.mul(R.X, c.invP(R.Z)), c.q);
    const s = Fn.add(Fn.mul(r, d), Fn.mul(k, e));
    if (r !== 0n && s !== 0n) return Buffer.concat([toBe(s, c.size), toBe(r, c.size)]);
    if (fixedK) throw new RangeError('the given k yields r = 0 or s = 0');
  }
}

/** q·P = O, computed as (q − 1)·P + P (noble takes scalars below q); a point of order 2 on the way makes noble throw. */
function inSubgroup(P: WeierstrassPoint<bigint>, c: Curve): boolean {
  try {
    return P.multiplyUnsafe(c.q - 1n).add(P).is0();
  } catch {
    return false;
  }
}

const POINT_CACHE_SIZE = 32;
const points = new Map<string, object>();

/** The window table of a public point on the curve and in the prime-order subgroup, or undefined. */
function pointOf(point: Uint8Array, curve: GostCurve, c: Curve): object | undefined {
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
  // With a cofactor (TC26-256-A, TC26-512-C) a point on the curve may lie outside the subgroup.
  if (P.is0() || (c.h > 1n && !inSubgroup(P, c))) return undefined;
  const table = c.window.table(P, KEY_WINDOW);
  points.set(key, table);
  if (points.size > POINT_CACHE_SIZE) points.delete(points.keys().next().value!);
  return table;
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
  const projective = (R: { X: bigint; Y: bigint; Z: bigint }) => new c.Point(R.X, R.Y, R.Z);
  const C = projective(c.window.multiply(c.baseTable(), z1)).add(projective(c.window.multiply(Q, z2)));
  if (C.is0()) return false;
  // x(C) mod q = r without an inversion: x = X/Z is one of r, r + q, … below p.
  const Fp = c.Point.Fp;
  for (let x = r; x < c.p; x += c.q) if (Fp.mul(x, C.Z) === C.X) return true;
  return false;
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
