/** Textbook affine EC arithmetic over bigint: an independent check of curve tables (test only). */
export const mod = (a: bigint, m: bigint): bigint => ((a % m) + m) % m;

export function inv(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a, m), m, 1n, 0n];
  while (r1) {
    const q = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - q * r1, s1, s0 - q * s1];
  }
  return mod(s0, m);
}

export type Point = readonly [bigint, bigint] | null;

export function mul(k: bigint, P: Point, p: bigint, a: bigint): Point {
  const add = (A: Point, B: Point): Point => {
    if (!A) return B;
    if (!B) return A;
    let l: bigint;
    if (A[0] === B[0]) {
      if (mod(A[1] + B[1], p) === 0n) return null;
      l = mod((3n * A[0] * A[0] + a) * inv(2n * A[1], p), p);
    } else {
      l = mod((B[1] - A[1]) * inv(B[0] - A[0], p), p);
    }
    const x = mod(l * l - A[0] - B[0], p);
    return [x, mod(l * (A[0] - x) - A[1], p)];
  };
  let R: Point = null;
  let Q = P;
  for (let e = k; e > 0n; e >>= 1n) {
    if (e & 1n) R = add(R, Q);
    Q = add(Q, Q);
  }
  return R;
}

export const big = (hex: string): bigint => BigInt('0x' + hex);
export const le = (x: bigint, size: number): Buffer => Buffer.from(x.toString(16).padStart(size * 2, '0'), 'hex').reverse();
export const fromLe = (b: Uint8Array): bigint => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'));
