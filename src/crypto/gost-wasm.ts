/**
 * Arithmetic modulo a pseudo-Mersenne p = 2^n − c (n = 256 or 512, c < 2^15: 2^256 − 617 for
 * CryptoPro-A = TC26-256-B = XchA and TC26-256-A, 2^512 − 569 for TC26-512-A and -C) in
 * WebAssembly, whose i64 multiply does a 32×32 → 64-bit product: a 256-bit field multiplication
 * is 64 such products instead of a bigint multiply and its allocations.
 * The module is assembled here, byte by byte (no toolchain); its three functions take byte
 * offsets into its memory, where an element is L = n/32 little-endian u32 limbs, value in
 * [0, 2^n), congruent mod p but not necessarily below p (`read` reduces):
 *   mul(o, a, b)  o = a·b: product scanning (each 64-bit product split into 32-bit halves summed
 *                 in two i64 accumulators), then 2^n ≡ c folding with carries;
 *   add(o, a, b)  o = a + b; a carry out of 2^n re-enters as + c;
 *   sub(o, a, b)  o = a − b; a borrow re-enters as − c.
 * Straight-line code: no branch and no memory index depends on the values. `invert` is Fermat's
 * x^(p − 2) on `mul`, a fixed sequence of steps.
 */
const enum Op {
  end = 0x0b,
  localGet = 0x20,
  localSet = 0x21,
  localTee = 0x22,
  i64Load32U = 0x35,
  i64Store32 = 0x3e,
  i64Const = 0x42,
  i64Add = 0x7c,
  i64Sub = 0x7d,
  i64Mul = 0x7e,
  i64And = 0x83,
  i64ShrS = 0x87,
  i64ShrU = 0x88,
}

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};

const sleb = (n: bigint): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    if ((n === 0n && !(b & 0x40)) || (n === -1n && b & 0x40)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
};

/** One function body: params 0–2 are the i32 offsets o, a, b; the rest are i64 locals. */
class Body {
  readonly code: number[] = [];
  private locals = 3;
  local(): number {
    return this.locals++;
  }
  get(l: number): this {
    this.code.push(Op.localGet, ...uleb(l));
    return this;
  }
  set(l: number): this {
    this.code.push(Op.localSet, ...uleb(l));
    return this;
  }
  const(v: bigint): this {
    this.code.push(Op.i64Const, ...sleb(v));
    return this;
  }
  op(o: Op): this {
    this.code.push(o);
    return this;
  }
  /** push limb i of the element at param `param` (0 o, 1 a, 2 b) */
  load(param: number, i: number): this {
    this.code.push(Op.localGet, param, Op.i64Load32U, 2, ...uleb(i * 4));
    return this;
  }
  /** store local `l` (low 32 bits) as limb i of o */
  store(i: number, l: number): this {
    this.code.push(Op.localGet, 0, Op.localGet, ...uleb(l), Op.i64Store32, 2, ...uleb(i * 4));
    return this;
  }
  encode(): number[] {
    const extra = this.locals - 3;
    const body = [1, ...uleb(extra), 0x7e, ...this.code, Op.end];
    return [...uleb(body.length), ...body];
  }
}

const MASK = 0xffffffffn;

/** limbs r[0..L−1] (locals) += c·carry with a ripple; leaves the final carry in `carry`. */
function ripple(f: Body, r: number[], carry: number, c: bigint): void {
  // r0 += c·carry; then propagate
  f.get(r[0]!).get(carry).const(c).op(Op.i64Mul).op(Op.i64Add).set(r[0]!);
  for (let i = 0; i < r.length; i++) {
    if (i > 0) f.get(r[i]!).get(carry).op(Op.i64Add).set(r[i]!);
    f.get(r[i]!).const(32n).op(Op.i64ShrS).set(carry);
    f.get(r[i]!).const(MASK).op(Op.i64And).set(r[i]!);
  }
}

/** After the limbs are in [0, 2^32) with a final carry κ ∈ {−1, 0, 1}: fold κ·c in twice, then store. */
function finish(f: Body, r: number[], carry: number, c: bigint): void {
  ripple(f, r, carry, c);
  // A second wrap leaves a value far from 2^n in the other direction: limb 0 absorbs c without a carry.
  f.get(r[0]!).get(carry).const(c).op(Op.i64Mul).op(Op.i64Add).set(r[0]!);
  for (let i = 0; i < r.length; i++) f.store(i, r[i]!);
}

function mulBody(c: bigint, L: number): number[] {
  const f = new Body();
  const a = Array.from({ length: L }, () => f.local());
  const b = Array.from({ length: L }, () => f.local());
  const r = Array.from({ length: 2 * L }, () => f.local());
  const lo = f.local();
  const hi = f.local();
  const pr = f.local();
  const carry = f.local();
  for (let i = 0; i < L; i++) f.load(1, i).set(a[i]!).load(2, i).set(b[i]!);
  f.const(0n).set(carry);
  for (let k = 0; k < 2 * L - 1; k++) {
    f.const(0n).set(lo).const(0n).set(hi);
    for (let i = Math.max(0, k - L + 1); i <= Math.min(L - 1, k); i++) {
      f.get(a[i]!).get(b[k - i]!).op(Op.i64Mul).set(pr);
      f.get(lo).get(pr).const(MASK).op(Op.i64And).op(Op.i64Add).set(lo);
      f.get(hi).get(pr).const(32n).op(Op.i64ShrU).op(Op.i64Add).set(hi);
    }
    // r_k = (lo + carry) mod 2^32; carry = (lo + carry) >> 32 + hi   (all < 2^40 for L ≤ 16)
    f.get(lo).get(carry).op(Op.i64Add).set(lo);
    f.get(lo).const(MASK).op(Op.i64And).set(r[k]!);
    f.get(lo).const(32n).op(Op.i64ShrU).get(hi).op(Op.i64Add).set(carry);
  }
  f.get(carry).set(r[2 * L - 1]!); // < 2^32: the product is below 2^2n
  // x = r_lo + c·r_hi: limb i = r_i + c·r_{L+i} + carry  (< 2^48)
  f.const(0n).set(carry);
  for (let i = 0; i < L; i++) {
    f.get(r[i]!).get(r[L + i]!).const(c).op(Op.i64Mul).op(Op.i64Add).get(carry).op(Op.i64Add).set(r[i]!);
    f.get(r[i]!).const(32n).op(Op.i64ShrU).set(carry);
    f.get(r[i]!).const(MASK).op(Op.i64And).set(r[i]!);
  }
  finish(f, r.slice(0, L), carry, c);
  return f.encode();
}

function addSubBody(c: bigint, op: Op.i64Add | Op.i64Sub, L: number): number[] {
  const f = new Body();
  const r = Array.from({ length: L }, () => f.local());
  const carry = f.local();
  f.const(0n).set(carry);
  for (let i = 0; i < L; i++) {
    f.load(1, i).load(2, i).op(op).get(carry).op(Op.i64Add).set(r[i]!);
    f.get(r[i]!).const(32n).op(Op.i64ShrS).set(carry); // −1, 0 or 1
    f.get(r[i]!).const(MASK).op(Op.i64And).set(r[i]!);
  }
  finish(f, r, carry, c);
  return f.encode();
}

function moduleBytes(c: bigint, L: number): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const name = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
  const bodies = [mulBody(c, L), addSubBody(c, Op.i64Add, L), addSubBody(c, Op.i64Sub, L)];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 3, 0x7f, 0x7f, 0x7f, 0]), // type 0: (i32, i32, i32) → ()
    ...section(3, [3, 0, 0, 0]), // three functions of type 0
    ...section(5, [1, 0, 1]), // memory: min 1 page (64 KiB)
    ...section(7, [4, ...name('mul'), 0, 0, ...name('add'), 0, 1, ...name('sub'), 0, 2, ...name('memory'), 2, 0]),
    ...section(10, [3, ...bodies.flat()]),
  ]);
}

export interface WasmField {
  readonly mul: (o: number, a: number, b: number) => void;
  readonly add: (o: number, a: number, b: number) => void;
  readonly sub: (o: number, a: number, b: number) => void;
  /** Limbs per element (8 for 256 bits, 16 for 512); an element takes 4·L bytes. */
  readonly L: number;
  /** The module's memory as u32 limbs (index = byte offset / 4). */
  readonly limbs: Uint32Array;
  /** Element at byte offset `at` ← x (0 ≤ x < 2^n). */
  write(at: number, x: bigint): void;
  /** The element at byte offset `at`, reduced mod p. */
  read(at: number): bigint;
  /**
   * x^(p − 2) = 1/x for x ≠ 0 (Fermat): 4-bit fixed windows over the public exponent, so the
   * same squarings and multiplications whatever x (unlike a Euclidean inverse). Uses the
   * memory from byte 4096 on.
   */
  invert(x: bigint): bigint;
}

/** The part of the WebAssembly global used here (the build's TypeScript libs do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array<ArrayBuffer>) => object;
  Instance: new (module: object) => { exports: object };
}
const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

/** For p = 2^n − c with n = 256 or 512 and 0 < c < 2^15; undefined otherwise. */
export function wasmField(p: bigint): WasmField | undefined {
  const n = p.toString(2).length;
  const c = (1n << BigInt(n)) - p;
  if ((n !== 256 && n !== 512) || c <= 0n || c >= 1n << 15n) return undefined;
  const L = n / 32;
  const size = 4 * L;
  const instance = new wasm.Instance(new wasm.Module(moduleBytes(c, L)));
  const ex = instance.exports as { mul: WasmField['mul']; add: WasmField['add']; sub: WasmField['sub']; memory: { buffer: ArrayBuffer } };
  const limbs = new Uint32Array(ex.memory.buffer);
  const write = (at: number, x: bigint) => {
    for (let i = 0; i < L; i++) {
      limbs[at / 4 + i] = Number(x & MASK);
      x >>= 32n;
    }
  };
  const read = (at: number): bigint => {
    let x = 0n;
    for (let i = L - 1; i >= 0; i--) x = (x << 32n) | BigInt(limbs[at / 4 + i]!);
    return x % p;
  };
  // x^0 … x^15 at POW + size·i, the result at ACC.
  const POW = 4096;
  const ACC = POW + 16 * size;
  const e = p - 2n;
  const nibbles = Array.from({ length: n / 4 }, (_, i) => Number((e >> BigInt(4 * (n / 4 - 1 - i))) & 15n));
  const invert = (x: bigint): bigint => {
    write(POW, 1n);
    write(POW + size, x);
    for (let i = 2; i < 16; i++) ex.mul(POW + size * i, POW + size * (i - 1), POW + size);
    write(ACC, 1n);
    for (const d of nibbles) {
      for (let k = 0; k < 4; k++) ex.mul(ACC, ACC, ACC);
      ex.mul(ACC, ACC, POW + size * d);
    }
    return read(ACC);
  };
  return { mul: ex.mul, add: ex.add, sub: ex.sub, L, limbs, invert, write, read };
}
