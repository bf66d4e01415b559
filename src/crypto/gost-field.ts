/**
 * The prime field of a GOST curve for @noble/curves' weierstrassN, faster than its generic
 * `Field(p)`, which reduces every add, sub and mul with a bigint `%` (a long division):
 * - add / sub / neg take operands already in [0, p) and correct with one conditional ±p;
 * - mul / sqr for a pseudo-Mersenne p = 2^n − c with a small c (CryptoPro-A = TC26-256-B and
 *   TC26-256-A: 2^256 − 617; TC26-512-A and -C: 2^512 − 569) fold the high half down twice
 *   (2^n ≡ c mod p) and subtract p at most once; other primes keep `%`.
 * Everything else (inversion, batch inversion, sqrt, encoding) is noble's, unchanged.
 * Like noble's own field, no operation branches on a scalar's bits; the one data-dependent
 * branch is the final subtraction, of the same kind as noble's `mod` sign fix-up (and bigint
 * arithmetic in V8 is not constant-time in any case, which noble documents).
 */
import { Field, type IField } from '@noble/curves/abstract/modular.js';

/** c when p = 2^n − c with 0 < c < 2^32 and n a multiple of 8; otherwise undefined. */
export function pseudoMersenneC(p: bigint): { n: number; c: bigint } | undefined {
  const n = p.toString(2).length;
  if (n % 8 !== 0) return undefined;
  const c = (1n << BigInt(n)) - p;
  return c > 0n && c < 1n << 32n ? { n, c } : undefined;
}

export function gostField(p: bigint): IField<bigint> {
  const base = Field(p);
  const P = p;
  const add = (a: bigint, b: bigint): bigint => {
    const r = a + b;
    return r >= P ? r - P : r;
  };
  const sub = (a: bigint, b: bigint): bigint => {
    const r = a - b;
    return r < 0n ? r + P : r;
  };
  const neg = (a: bigint): bigint => (a === 0n ? 0n : P - a);
  let reduce: (x: bigint) => bigint;
  const pm = pseudoMersenneC(p);
  if (pm) {
    const N = BigInt(pm.n);
    const C = pm.c;
    const M = (1n << N) - 1n;
    // x < p² < 2^2n: after one fold x < 2^n·(c + 1); after two, x < 2^n + c² < 2p.
    reduce = (x: bigint): bigint => {
      x = (x >> N) * C + (x & M);
      x = (x >> N) * C + (x & M);
      return x >= P ? x - P : x;
    };
  } else {
    reduce = (x: bigint): bigint => x % P; // x ≥ 0 here: a product of field elements
  }
  const mul = (a: bigint, b: bigint): bigint => reduce(a * b);
  const sqr = (a: bigint): bigint => reduce(a * a);
  return Object.freeze({ ...base, add, sub, neg, mul, sqr });
}
