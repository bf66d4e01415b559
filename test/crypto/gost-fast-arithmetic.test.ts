/**
 * The fast GOST arithmetic (src/crypto/gost-field.ts, gost-window.ts) against plain bigint and
 * noble's generic field, and Okno's GOST signatures against openssl's gost engine on every
 * parameter set the engine knows, both ways.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Field } from '@noble/curves/abstract/modular.js';
import { weierstrassN } from '@noble/curves/abstract/weierstrass.js';
import { GOST_CURVES, findGostCurve, gostPublicKeyOf, gostSignDigest, gostVerifyDigest, isGostPrivateKey, isGostPublicKey } from '../../src/crypto/index.js';
import { gostField, pseudoMersenneC } from '../../src/crypto/gost-field.js';
import { wasmField } from '../../src/crypto/gost-wasm.js';
import { WasmWindowMultiplier, WindowMultiplier, type Multiplier } from '../../src/crypto/gost-window.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { big, fromLe, mod, mul } from './bigint-ec.js';
import { openssl } from './openssl-gost.js';

const curves = [...GOST_CURVES.values()];
const primes = [...new Set(curves.map((c) => c.p))].map(big);
const randomBelow = (m: bigint): bigint => fromLe(randomBytes(m.toString(16).length)) % m;

describe('gostField', () => {
  it('recognises the pseudo-Mersenne primes 2^n − c', () => {
    expect(pseudoMersenneC(2n ** 256n - 617n)).toEqual({ n: 256, c: 617n });
    expect(pseudoMersenneC(2n ** 512n - 569n)).toEqual({ n: 512, c: 569n });
    expect(pseudoMersenneC(2n ** 255n + 3225n)).toBeUndefined(); // CryptoPro-B: 2^(n−1) + c keeps `%`
    expect(pseudoMersenneC(big('9B9F605F5A858107AB1EC85E6B41C8AACF846E86789051D37998F7B9022D759B'))).toBeUndefined();
  });

  it.each(primes.map((p) => [p.toString(16).slice(0, 12) + '…', p] as const))('p = %s: add, sub, neg, mul, sqr agree with bigint mod', (_, p) => {
    const F = gostField(p);
    const edges = [0n, 1n, 2n, p - 1n, p - 2n, p >> 1n, (p + 1n) >> 1n, 2n ** BigInt(p.toString(2).length - 1), p - (2n ** 128n)];
    const values = [...edges, ...Array.from({ length: 200 }, () => randomBelow(p))];
    for (const a of values) {
      expect(F.neg(a)).toBe(mod(-a, p));
      expect(F.sqr(a)).toBe(mod(a * a, p));
      for (const b of edges.concat(values.slice(-20))) {
        expect(F.add(a, b)).toBe(mod(a + b, p));
        expect(F.sub(a, b)).toBe(mod(a - b, p));
        expect(F.mul(a, b)).toBe(mod(a * b, p));
      }
    }
    // Inversion, encoding and the rest are noble's own.
    const x = randomBelow(p - 1n) + 1n;
    expect(F.mul(x, F.inv(x))).toBe(1n);
  });
});

describe('wasmField (p = 2^n − c in WebAssembly)', () => {
  it('exists for 2^256 − 617 and 2^512 − 569 only among the GOST primes', () => {
    expect(primes.filter((p) => wasmField(p)).map((p) => p.toString(16))).toEqual([(2n ** 256n - 617n).toString(16), (2n ** 512n - 569n).toString(16)]);
  });

  it.each([[256, 617n], [512, 569n]] as const)('2^%i − %i: mul, add, sub agree with bigint mod on edge and random values, loosely reduced inputs up to 2^n − 1 included', (n, c) => {
    const top = 2n ** BigInt(n);
    const p = top - c;
    const F = wasmField(p)!;
    const edges = [0n, 1n, 2n, c - 1n, c, c + 1n, p - 1n, p, p + 1n, top - 1n, top - c, top / 2n, 2n ** 32n - 1n, top / 2n ** 32n, top - 2n ** 32n];
    const values = [...edges, ...Array.from({ length: 100 }, () => fromLe(randomBytes(n / 8)))];
    const [A, B, O] = [1, 2, 3].map((i) => i * 4 * F.L) as [number, number, number]; // element slots
    for (const a of values) {
      for (const b of edges.concat(values.slice(-15))) {
        F.write(A, a);
        F.write(B, b);
        F.mul(O, A, B);
        expect(F.read(O)).toBe(mod(a * b, p));
        F.add(O, A, B);
        expect(F.read(O)).toBe(mod(a + b, p));
        F.sub(O, A, B);
        expect(F.read(O)).toBe(mod(a - b, p));
        // in place, as the window walk uses them
        F.mul(A, A, B);
        expect(F.read(A)).toBe(mod(a * b, p));
      }
    }
  });

  it.each([2n ** 256n - 617n, 2n ** 512n - 569n])('invert mod %s: x · 1/x = 1 on edge and random values', (p) => {
    const F = wasmField(p)!;
    for (const x of [1n, 2n, 617n, p - 1n, p - 2n, p / 2n, ...Array.from({ length: 20 }, () => randomBelow(p - 1n) + 1n)]) {
      expect(mod(x * F.invert(x), p)).toBe(1n);
    }
  });
});

describe('WindowMultiplier', () => {
  it.each(curves.map((c) => [c.name, c] as const))('%s: k·P equals noble on a generic field, for edge and random k (bigint and, where p = 2^256 − 617 or 2^512 − 569, WebAssembly)', (_, c) => {
    const [p, a, b, q] = [c.p, c.a, c.b, c.q].map(big) as [bigint, bigint, bigint, bigint];
    const h = ((p + 1n) * 2n + q) / (2n * q);
    // The reference: noble's curve on noble's own Field(p), unrelated to gostField.
    const Ref = weierstrassN({ p, n: q, h, a, b, Gx: big(c.x), Gy: big(c.y) });
    const Fp = gostField(p);
    const wasm = wasmField(p);
    const multipliers: Array<Multiplier<object>> = [new WindowMultiplier({ Fp, a, b, q })];
    if (wasm) multipliers.push(new WasmWindowMultiplier({ Fp, a, b, q }, wasm));
    const P = Ref.BASE.multiply(randomBelow(q - 1n) + 1n); // an arbitrary subgroup point besides G
    const bits = q.toString(2).length;
    for (const [m, point, w] of multipliers.flatMap((m) => [[m, Ref.BASE, 8], [m, P, 6], [m, P, 3]] as const)) {
      const table = m.table(point, w);
      const top = 1n << BigInt(w);
      const ks = [1n, 2n, 3n, q - 1n, q - 2n, (q - 1n) / 2n, top - 1n, top, top + 1n, 2n ** BigInt(bits - 1), q - top, ...Array.from({ length: 4 }, () => randomBelow(q - 1n) + 1n)];
      for (const k of ks) {
        const R = m.multiply(table, k);
        const want = point.multiply(k).toAffine();
        const zi = Fp.inv(R.Z);
        expect([Fp.mul(R.X, zi), Fp.mul(R.Y, zi)], `k = ${k.toString(16)}, w = ${w}`).toEqual([want.x, want.y]);
      }
    }
  });

  it('TC26-256-A (cofactor 4): a public key on the curve but outside the subgroup verifies nothing, without throwing', () => {
    const c = findGostCurve('1.2.643.7.1.2.1.1.1')!;
    const [p, a, b, q] = [c.p, c.a, c.b, c.q].map(big) as [bigint, bigint, bigint, bigint];
    const Fp = Field(p);
    const le = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').reverse();
    const outside: Buffer[] = [];
    for (let x = 1n; outside.length < 4; x++) {
      const rhs = mod(x * x * x + a * x + b, p);
      if (rhs === 0n || Fp.pow(rhs, (p - 1n) / 2n) !== 1n) continue;
      const y = Fp.sqrt(rhs);
      if (mul(q, [x, y], p, a) !== null) outside.push(Buffer.concat([le(x), le(y)])); // q·R ≠ O: not in the subgroup
    }
    const digest = randomBytes(32);
    const sig = gostSignDigest(digest, c, le(12345n));
    for (const point of outside) expect(gostVerifyDigest(digest, sig, c, point)).toBe(false);
  });

  it('refuses a window width it was not built for', () => {
    const c = findGostCurve('1.2.643.2.2.35.1')!;
    const [p, a, b, q] = [c.p, c.a, c.b, c.q].map(big) as [bigint, bigint, bigint, bigint];
    const Ref = weierstrassN({ p, n: q, h: 1n, a, b, Gx: big(c.x), Gy: big(c.y) }, { Fp: Field(p) });
    expect(() => new WindowMultiplier({ Fp: gostField(p), a, b, q }).table(Ref.BASE, 1)).toThrow(RangeError);
  });
});

describe('openssl gost engine interop, every parameter set', () => {
  const tmp = mkdtempSync(path.join(tmpdir(), 'okno-gost-fast-'));
  const sets = [
    ['gost2012_256', 'A'], ['gost2012_256', 'B'], ['gost2012_256', 'C'],
    ['gost2012_256', 'TCA'], ['gost2012_256', 'TCB'], ['gost2012_256', 'TCC'], ['gost2012_256', 'TCD'],
    ['gost2012_256', 'XA'], ['gost2012_256', 'XB'],
    ['gost2012_512', 'A'], ['gost2012_512', 'B'], ['gost2012_512', 'C'],
  ] as const;

  it.each(sets)('%s paramset %s: Okno signs → openssl verifies; openssl signs → Okno verifies; tampered fails', (alg, paramset) => {
    const base = path.join(tmp, `${alg}-${paramset}`);
    openssl(['req', '-x509', '-engine', 'gost', '-newkey', alg, '-pkeyopt', `paramset:${paramset}`, '-nodes',
      '-keyout', `${base}.key`, '-out', `${base}.crt`, '-subj', '/CN=interop', '-days', '2']);
    openssl(['pkey', '-engine', 'gost', '-in', `${base}.key`, '-pubout', '-out', `${base}.pub`]);
    const key = readPrivateKey(readFileSync(`${base}.key`)).key;
    const cert = parseCertificate(readFileSync(`${base}.crt`, 'utf8'));
    if (!isGostPrivateKey(key) || !cert.publicKey || !isGostPublicKey(cert.publicKey)) throw new Error('not a GOST key');
    const pub = cert.publicKey;
    expect(Buffer.from(gostPublicKeyOf(key).point)).toEqual(Buffer.from(pub.point));
    const size = key.curve.size;
    for (let i = 0; i < 3; i++) {
      const digest = randomBytes(size);
      writeFileSync(`${base}.dgst`, digest);
      // Okno → openssl
      const ours = gostSignDigest(digest, key.curve, key.scalar);
      writeFileSync(`${base}.sig`, ours);
      expect(openssl(['pkeyutl', '-engine', 'gost', '-verify', '-pubin', '-inkey', `${base}.pub`, '-in', `${base}.dgst`, '-sigfile', `${base}.sig`]))
        .toMatch(/Signature Verified Successfully/);
      // openssl → Okno
      openssl(['pkeyutl', '-engine', 'gost', '-sign', '-inkey', `${base}.key`, '-in', `${base}.dgst`, '-out', `${base}.sig2`]);
      const theirs = readFileSync(`${base}.sig2`);
      expect(gostVerifyDigest(digest, theirs, pub.curve, pub.point)).toBe(true);
      const bad = Buffer.from(theirs);
      bad[i * 7]! ^= 0x10;
      expect(gostVerifyDigest(digest, bad, pub.curve, pub.point)).toBe(false);
      const otherDigest = Buffer.from(digest);
      otherDigest[0]! ^= 1;
      expect(gostVerifyDigest(otherDigest, theirs, pub.curve, pub.point)).toBe(false);
    }
  });
});
