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
import type { WasmField } from './gost-wasm.js';

/** A projective point (x = X/Z, y = Y/Z). */
export interface Projective {
  readonly X: bigint;
  readonly Y: bigint;
  readonly Z: bigint;
}

/** k·P on a precomputed table of P: WindowMultiplier (bigint) or WasmWindowMultiplier. */
export interface Multiplier<T> {
  table(P: WeierstrassPoint<bigint>, w: number): T;
  multiply(t: T, k: bigint): Projective;
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

export class WindowMultiplier implements Multiplier<WindowTable> {
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

export interface WasmTable {
  readonly w: number;
  readonly m: number;
  /** T[i][j] as L u32 limbs each, at (i·2^(w−1) + j)·L. */
  readonly xs: Uint32Array;
  readonly ys: Uint32Array;
}


/**
 * The same walk as WindowMultiplier, with the field arithmetic in WebAssembly (gost-wasm.ts) for
 * p = 2^n − c (n = 256, 512). The digit's sign picks y or −y (both computed) by an offset computed
 * arithmetically, not by a branch; everything else is as above.
 */
export class WasmWindowMultiplier implements Multiplier<WasmTable> {
  private readonly q: bigint;
  private readonly aIsMinus3: boolean;
  private readonly big: WindowMultiplier;
  /** Byte offsets of the scratch elements in the module's memory (4·L bytes each). */
  private readonly at: Readonly<Record<'ZERO' | 'X' | 'Y' | 'Z' | 'X2' | 'Y2' | 'YN' | 'T0' | 'T1' | 'T3' | 'T4' | 'T5' | 'Z3' | 'X3' | 'AZ' | 'U' | 'V' | 'S1' | 'S2' | 'A' | 'B3', number>>;

  constructor(
    c: WindowCurve,
    private readonly F: WasmField,
  ) {
    this.q = c.q;
    const a = c.Fp.create(c.a);
    this.aIsMinus3 = a === c.Fp.ORDER - 3n;
    this.big = new WindowMultiplier(c);
    const names = ['ZERO', 'X', 'Y', 'Z', 'X2', 'Y2', 'YN', 'T0', 'T1', 'T3', 'T4', 'T5', 'Z3', 'X3', 'AZ', 'U', 'V', 'S1', 'S2', 'A', 'B3'] as const;
    this.at = Object.fromEntries(names.map((n, i) => [n, i * 4 * F.L])) as WasmWindowMultiplier['at'];
    F.write(this.at.ZERO, 0n);
    F.write(this.at.A, a);
    F.write(this.at.B3, c.Fp.mul(c.Fp.create(c.b), 3n));
  }

  table(P: WeierstrassPoint<bigint>, w: number): WasmTable {
    const t = this.big.table(P, w);
    const L = this.F.L;
    const limbs = (vs: readonly bigint[]) => {
      const out = new Uint32Array(vs.length * L);
      vs.forEach((v, i) => {
        for (let l = 0; l < L; l++) out[i * L + l] = Number((v >> BigInt(32 * l)) & 0xffffffffn);
      });
      return out;
    };
    return Object.freeze({ w, m: t.m, xs: limbs(t.xs), ys: limbs(t.ys) });
  }

  private mulA(o: number, x: number): void {
    const F = this.F;
    const { S2, ZERO, A: A_ } = this.at;
    if (this.aIsMinus3) {
      F.add(S2, x, x);
      F.add(S2, S2, x);
      F.sub(o, ZERO, S2);
    } else {
      F.mul(o, A_, x);
    }
  }

  multiply(t: WasmTable, k: bigint): Projective {
    const F = this.F;
    const mem = F.limbs;
    const L = F.L;
    const { ZERO, X: X_, Y: Y_, Z: Z_, X2, Y2, YN, T0, T1, T3, T4, T5, Z3, X3, AZ, U, V, S1, S2, B3 } = this.at;
    const q = this.q;
    const even = (k & 1n) ^ 1n;
    let s = k + even * (q - 2n * k);
    const w = BigInt(t.w);
    const digitMask = (1n << BigInt(t.w + 1)) - 1n;
    const top = 1 << t.w;
    const half = 1 << (t.w - 1);
    for (let i = 0; i < t.m; i++) {
      let d: number;
      if (i < t.m - 1) {
        d = Number(s & digitMask) - top;
        s = (s - BigInt(d)) >> w;
      } else {
        d = Number(s);
      }
      const sign = d >> 31; // −1 or 0
      const at = (i * half + ((((d ^ sign) - sign) - 1) >> 1)) * L;
      for (let l = 0; l < L; l++) {
        mem[X2 / 4 + l] = t.xs[at + l]!;
        mem[Y2 / 4 + l] = t.ys[at + l]!;
      }
      F.sub(YN, ZERO, Y2);
      const y2 = Y2 - sign * (YN - Y2); // YN when the digit is negative
      if (i === 0) {
        mem.copyWithin(X_ / 4, X2 / 4, X2 / 4 + L);
        mem.copyWithin(Y_ / 4, y2 / 4, y2 / 4 + L);
        F.write(Z_, 1n);
        continue;
      }
      F.mul(T0, X_, X2);
      F.mul(T1, Y_, y2);
      F.add(S1, X_, Y_);
      F.add(S2, X2, y2);
      F.mul(T3, S1, S2);
      F.add(S1, T0, T1);
      F.sub(T3, T3, S1);
      F.mul(T4, X2, Z_);
      F.add(T4, T4, X_);
      F.mul(T5, y2, Z_);
      F.add(T5, T5, Y_);
      this.mulA(S1, T4);
      F.mul(Z3, B3, Z_);
      F.add(Z3, Z3, S1);
      F.sub(X3, T1, Z3);
      F.add(Z3, T1, Z3);
      this.mulA(AZ, Z_);
      F.add(U, T0, T0);
      F.add(U, U, T0);
      F.add(U, U, AZ);
      F.sub(S1, T0, AZ);
      this.mulA(S1, S1);
      F.mul(V, B3, T4);
      F.add(V, V, S1);
      F.mul(Y_, X3, Z3);
      F.mul(S1, U, V);
      F.add(Y_, Y_, S1);
      F.mul(X_, T3, X3);
      F.mul(S1, T5, V);
      F.sub(X_, X_, S1);
      F.mul(Z_, T5, Z3);
      F.mul(S1, T3, U);
      F.add(Z_, Z_, S1);
    }
    F.sub(YN, ZERO, Y_);
    const y = Y_ + Number(even) * (YN - Y_);
    return { X: F.read(X_), Y: F.read(y), Z: F.read(Z_) };
  }
}
