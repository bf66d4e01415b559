/**
 * GOST R 34.10-2001/2012 on native bigint. Written here because node-gost-crypto's (and
 * crypto-gost-js's) modular inverse calls an undefined function on some inputs, so valid
 * signatures fail to verify (e.g. Streebog-256("data")). Jacobian coordinates, one inversion
 * per scalar multiplication. Not constant-time: fine for verification and for a gateway key
 * on a machine we control, not for hostile co-tenants measuring timing.
 */
import { randomBytes } from 'node:crypto';
import type { GostCurve } from './gost-curves.js';

interface Curve {
  readonly p: bigint;
  readonly a: bigint;
  readonly b: bigint;
  readonly q: bigint;
  readonly gx: bigint;
  readonly gy: bigint;
  readonly size: number;
}

type Jacobian = readonly [x: bigint, y: bigint, z: bigint]; // z = 0 is the point at infinity
const INFINITY: Jacobian = [1n, 1n, 0n];

const parsed = new Map<string, Curve>();
function curveOf(c: GostCurve): Curve {
  let k = parsed.get(c.oid);
  if (!k) {
    const n = (h: string) => BigInt('0x' + h);
    k = { p: n(c.p), a: n(c.a), b: n(c.b), q: n(c.q), gx: n(c.x), gy: n(c.y), size: c.size };
    parsed.set(c.oid, k);
  }
  return k;
}

const mod = (x: bigint, m: bigint): bigint => {
  const r = x % m;
  return r < 0n ? r + m : r;
};

function invert(x: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(x, m), m, 1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  if (r0 !== 1n) throw new RangeError('not invertible');
  return mod(s0, m);
}

function double(P: Jacobian, c: Curve): Jacobian {
  const [x, y, z] = P;
  if (z === 0n || y === 0n) return INFINITY;
  const p = c.p;
  const yy = (y * y) % p;
  const s = (4n * x * yy) % p;
  const zz = (z * z) % p;
  const m = (3n * x * x + c.a * ((zz * zz) % p)) % p;
  const x3 = mod(m * m - 2n * s, p);
  const y3 = mod(m * (s - x3) - 8n * ((yy * yy) % p), p);
  return [x3, y3, (2n * y * z) % p];
}

function add(P: Jacobian, Q: Jacobian, c: Curve): Jacobian {
  if (P[2] === 0n) return Q;
  if (Q[2] === 0n) return P;
  const p = c.p;
  const [x1, y1, z1] = P;
  const [x2, y2, z2] = Q;
  const z1z1 = (z1 * z1) % p;
  const z2z2 = (z2 * z2) % p;
  const u1 = (x1 * z2z2) % p;
  const u2 = (x2 * z1z1) % p;
  const s1 = (((y1 * z2) % p) * z2z2) % p;
  const s2 = (((y2 * z1) % p) * z1z1) % p;
  const h = mod(u2 - u1, p);
  const r = mod(s2 - s1, p);
  if (h === 0n) return r === 0n ? double(P, c) : INFINITY;
  const hh = (h * h) % p;
  const hhh = (h * hh) % p;
  const v = (u1 * hh) % p;
  const x3 = mod(r * r - hhh - 2n * v, p);
  const y3 = mod(r * (v - x3) - s1 * hhh, p);
  return [x3, y3, (((z1 * z2) % p) * h) % p];
}

/** k1·P1 + k2·P2 in one pass (Shamir's trick); k2 may be 0n with P2 anything. */
function mul2(k1: bigint, P1: Jacobian, k2: bigint, P2: Jacobian, c: Curve): Jacobian {
  const both = add(P1, P2, c);
  let R = INFINITY;
  const bits = Math.max(k1.toString(2).length, k2.toString(2).length);
  for (let i = BigInt(bits - 1); i >= 0n; i--) {
    R = double(R, c);
    const b1 = (k1 >> i) & 1n;
    const b2 = (k2 >> i) & 1n;
    if (b1 && b2) R = add(R, both, c);
    else if (b1) R = add(R, P1, c);
    else if (b2) R = add(R, P2, c);
  }
  return R;
}

function affineX(P: Jacobian, c: Curve): bigint | undefined {
  if (P[2] === 0n) return undefined;
  const zi = invert(P[2], c.p);
  return (P[0] * ((zi * zi) % c.p)) % c.p;
}

function toAffine(P: Jacobian, c: Curve): [bigint, bigint] {
  const zi = invert(P[2], c.p);
  const zi2 = (zi * zi) % c.p;
  return [(P[0] * zi2) % c.p, (((P[1] * zi2) % c.p) * zi) % c.p];
}

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

function randomScalar(c: Curve): bigint {
  for (;;) {
    const k = fromLe(randomBytes(c.size));
    if (k > 0n && k < c.q) return k;
  }
}

const G = (c: Curve): Jacobian => [c.gx, c.gy, 1n];

export function ecSign(digest: Uint8Array, curve: GostCurve, scalar: Uint8Array, fixedK?: Uint8Array): Buffer {
  const c = curveOf(curve);
  const d = fromLe(scalar);
  if (d <= 0n || d >= c.q) throw new RangeError('GOST private key out of range');
  const e = digestScalar(digest, c);
  for (;;) {
    const k = fixedK ? mod(fromLe(fixedK), c.q) : randomScalar(c);
    const r = mod(affineX(mul2(k, G(c), 0n, INFINITY, c), c) ?? 0n, c.q);
    const s = (r * d + k * e) % c.q;
    if (r !== 0n && s !== 0n) return Buffer.concat([toBe(s, c.size), toBe(r, c.size)]);
    if (fixedK) throw new RangeError('the given k yields r = 0 or s = 0');
  }
}

function onCurve(x: bigint, y: bigint, c: Curve): boolean {
  return x < c.p && y < c.p && mod(y * y - (x * x * x + c.a * x + c.b), c.p) === 0n;
}

export function ecVerify(digest: Uint8Array, signature: Uint8Array, curve: GostCurve, point: Uint8Array): boolean {
  const c = curveOf(curve);
  if (signature.length !== 2 * c.size || point.length !== 2 * c.size) return false;
  const hex = Buffer.from(signature).toString('hex');
  const s = BigInt('0x' + hex.slice(0, 2 * c.size));
  const r = BigInt('0x' + hex.slice(2 * c.size));
  if (r <= 0n || r >= c.q || s <= 0n || s >= c.q) return false;
  const qx = fromLe(point.subarray(0, c.size));
  const qy = fromLe(point.subarray(c.size));
  if (!onCurve(qx, qy, c)) return false;
  const v = invert(digestScalar(digest, c), c.q);
  const z1 = (s * v) % c.q;
  const z2 = mod(-r * v, c.q);
  const x = affineX(mul2(z1, G(c), z2, [qx, qy, 1n], c), c);
  return x !== undefined && mod(x, c.q) === r;
}

/** Q = d·G as x ‖ y, little-endian. */
export function ecPublicPoint(curve: GostCurve, scalar: Uint8Array): Uint8Array {
  const c = curveOf(curve);
  const d = fromLe(scalar);
  if (d <= 0n || d >= c.q) throw new RangeError('GOST private key out of range');
  const [x, y] = toAffine(mul2(d, G(c), 0n, INFINITY, c), c);
  return new Uint8Array(Buffer.concat([toLe(x, c.size), toLe(y, c.size)]));
}

export function ecRandomScalar(curve: GostCurve): Uint8Array {
  const c = curveOf(curve);
  return new Uint8Array(toLe(randomScalar(c), c.size));
}
