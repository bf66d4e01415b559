/**
 * Fixed-window scalar multiplication by a point known in advance (the base point G for k·G in
 * signing and z1·G in verification; a partner's cached public key Q for z2·Q), on a precomputed
 * table of affine points.
 *
 * The scalar is recoded into m = ⌈L/w⌉ + 1 signed odd digits d_i ∈ {±1, ±3, …, ±(2^w − 1)}
 * (k = Σ d_i·2^(w·i), L = bits of q). Every digit is non-zero, so the walk is the same for every
 * scalar: m − 1 mixed additions of ±T[i][(|d_i| − 1)/2], where T[i][j] = (2j + 1)·2^(w·i)·P, and
 * no doublings at all. (Odd digits need an odd scalar: an even k is replaced by q − k, which is
 * odd, and the result negated; x(−R) = x(R), so signing needs no negation at all.)
 * Compared with @noble/curves' constant-time `multiply`, which does one real and one fake
 * addition per window, this halves the additions; the additions are mixed (the table point has
 * Z = 1, 11M instead of 12M) and for a = −3 (CryptoPro-A/B/C, TC26-512-A/B) the three
 * multiplications by a become additions; and they run on bare bigints, not Point objects.
 *
 * Constant time, in the same sense as noble's `multiply`: a fixed count of steps and additions
 * whatever the scalar; digit, index and sign come from integer arithmetic (no branch on the
 * scalar's bits); the digit's sign picks y or −y (both computed) by a conditional expression,
 * as noble's negateCt does; the table entry is read at an index made of secret bits, as
 * noble's precomputed-window lookup is. Bigint arithmetic in V8 is itself not constant-time.
 *
 * The addition is Renes–Costello–Batina's complete formula (eprint 2015/1060, algorithm 1, the
 * one noble's Point.add uses) with Z2 = 1 substituted; complete for points of the prime-order
 * subgroup, which table points and partial sums are (public keys are checked before use).
 */
import type { IField } from '@noble/curves/abstract/modular.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

/** A projective point (x = X/Z, y = Y/Z). */
export interface Projective {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
}

export interface WindowTable {
  readonly w: number;
  /** Digits (windows) per scalar. */
  readonly m: number;
  /** T[i][j] at i·2^(w−1) + j. */
  readonly xs: readonly bigint[];
  readonly ys: readonly bigint[];
}

export interface WindowCurve {
  readonly Fp: IField<bigint>;
  readonly a: bigint;
  readonly b: bigint;
  /** Order of the base point's subgroup (odd prime). */
  readonly q: bigint;
}

export class WindowMultiplier {
  private readonly Fp: IField<bigint>;
  private readonly p: bigint;
  private readonly q: bigint;
  private readonly bits: number;
  private readonly a: bigint;
  private readonly aIsMinus3: boolean;
  private readonly b3: bigint;

  constructor(c: WindowCurve) {
    this.Fp = c.Fp;
    this.p = c.Fp.ORDER;
    this.q = c.q;
    this.bits = c.q.toString(2).length;
    this.a = c.Fp.create(c.a);
    this.aIsMinus3 = this.a === this.p - 3n;
    this.b3 = c.Fp.mul(c.Fp.create(c.b), 3n);
  }

  /** T[i][j] = (2j + 1)·2^(w·i)·P for P in the prime-order subgroup, P ≠ O; made affine in one batch inversion. */
  table(P: WeierstrassPoint<bigint>, w: number): WindowTable {
    if (!Number.isInteger(w) || w < 2 || w > 12) throw new RangeError(`window width ${w} out of 2..12`);
    const m = Math.ceil(this.bits / w) + 1;
    const half = 1 << (w - 1);
    const points: WeierstrassPoint<bigint>[] = [];
    let base = P;
    for (let i = 0; i < m; i++) {
      const twice = base.double();
      let t = base;
      for (let j = 0; j < half; j++) {
        points.push(t);
        t = t.add(twice);
      }
      for (let k = 0; k < w; k++) base = base.double();
    }
    const inverses = this.Fp.invertBatch(points.map((pt) => pt.Z));
    const xs = points.map((pt, i) => this.Fp.mul(pt.X, inverses[i]!));
    const ys = points.map((pt, i) => this.Fp.mul(pt.Y, inverses[i]!));
    return Object.freeze({ w, m, xs, ys });
  }

  /** k·P for 0 < k < q, P the table's point; never the point at infinity. */
  multiply(t: WindowTable, k: bigint): Projective {
    const { Fp, p, q } = this;
    // An odd scalar of the same multiple up to sign: k if odd, else q − k (q is odd).
    const even = (k & 1n) ^ 1n;
    let s = k + even * (q - 2n * k);
    const w = BigInt(t.w);
    const digitMask = (1n << BigInt(t.w + 1)) - 1n;
    const top = 1 << t.w;
    const half = 1 << (t.w - 1);
    let X = 0n;
    let Y = 0n;
    let Z = 1n;
    for (let i = 0; i < t.m; i++) {
      let d: number;
      if (i < t.m - 1) {
        // (s mod 2^(w+1)) − 2^w: odd, in [−(2^w − 1), 2^w − 1]; (s − d) / 2^w stays odd.
        d = Number(s & digitMask) - top;
        s = (s - BigInt(d)) >> w;
      } else {
        d = Number(s); // 1: s < 2^L shrinks below 3 in m − 1 steps, and stays odd
      }
      const sign = d >> 31; // −1 for a negative digit, else 0
      const at = i * half + ((((d ^ sign) - sign) - 1) >> 1);
      const x2 = t.xs[at]!;
      const y = t.ys[at]!;
      const yNeg = p - y;
      const y2 = sign ? yNeg : y;
      if (i === 0) {
        X = x2;
        Y = y2;
        continue;
      }
      // RCB algorithm 1 with Z2 = 1: 11M + 3·(×a) + 2·(×3b).
      const t0 = Fp.mul(X, x2);
      const t1 = Fp.mul(Y, y2);
      const t3 = Fp.sub(Fp.mul(Fp.add(X, Y), Fp.add(x2, y2)), Fp.add(t0, t1));
      const t4 = Fp.add(Fp.mul(x2, Z), X);
      const t5 = Fp.add(Fp.mul(y2, Z), Y);
      let z3 = Fp.add(Fp.mul(this.b3, Z), this.mulA(t4));
      const x3 = Fp.sub(t1, z3);
      z3 = Fp.add(t1, z3);
      const aZ = this.mulA(Z);
      const u = Fp.add(Fp.add(Fp.add(t0, t0), t0), aZ);
      const v = Fp.add(Fp.mul(this.b3, t4), this.mulA(Fp.sub(t0, aZ)));
      Y = Fp.add(Fp.mul(x3, z3), Fp.mul(u, v));
      X = Fp.sub(Fp.mul(t3, x3), Fp.mul(t5, v));
      Z = Fp.add(Fp.mul(t5, z3), Fp.mul(t3, u));
    }
    const yNeg = Fp.neg(Y);
    return { X, Y: even ? yNeg : Y, Z };
  }

  private mulA(x: bigint): bigint {
    if (this.aIsMinus3) return this.Fp.neg(this.Fp.add(this.Fp.add(x, x), x));
    return this.Fp.mul(this.a, x);
  }
}
