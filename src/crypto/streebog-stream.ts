/**
 * GOST R 34.11-2012 (Streebog) that streams: 64-byte blocks are compressed as they come, so
 * hashing a 100 MB file holds one block, not the file (the one-shot library digest in
 * streebog.ts joins every chunk first). Same algorithm and byte order as node-gost-crypto's
 * digest2012 (= openssl's output = XMLDSig DigestValue), which the tests compare it with.
 * ~7 MB/s on one core: a file is hashed in the chunks it arrives in, so the event loop gets a
 * turn between chunks.
 */
import { STREEBOG_AX_BASE64, STREEBOG_C_BASE64 } from './streebog-tables.js';

function words(base64: string): Int32Array {
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new Int32Array(copy.buffer);
}

const AX = words(STREEBOG_AX_BASE64);
const C_ALL = words(STREEBOG_C_BASE64);
const C: Int32Array[] = Array.from({ length: 12 }, (_, i) => C_ALL.subarray(i * 16, i * 16 + 16));
const ZERO = new Int32Array(16);
const B512 = new Int32Array(16);
B512[0] = 512;

const get8 = (x: Int32Array, i: number): number => (x[i >> 2]! >> ((i & 3) << 3)) & 0xff;

function add512(x: Int32Array, y: Int32Array): void {
  let cf = 0;
  for (let i = 0; i < 16; i++) {
    const w0 = (x[i]! & 0xffff) + (y[i]! & 0xffff) + cf;
    const w1 = (x[i]! >>> 16) + (y[i]! >>> 16) + (w0 >>> 16);
    x[i] = (w0 & 0xffff) | (w1 << 16);
    cf = w1 >>> 16;
  }
}

function xor512(x: Int32Array, y: Int32Array): void {
  for (let i = 0; i < 16; i++) x[i] = x[i]! ^ y[i]!;
}

export class StreebogStream {
  private readonly h = new Int32Array(16);
  private readonly n = new Int32Array(16);
  private readonly sigma = new Int32Array(16);
  private readonly block = new Uint8Array(64);
  private readonly blockWords = new Int32Array(this.block.buffer);
  private filled = 0;
  private done = false;
  // Scratch space of the compression function.
  private readonly r = new Int32Array(16);
  private readonly data = new Int32Array(16);
  private readonly ki = new Int32Array(16);

  constructor(readonly bits: 256 | 512 = 256) {
    if (bits === 256) this.h.fill(0x01010101);
  }

  update(chunk: Uint8Array): this {
    if (this.done) throw new Error('Streebog: update() after digest()');
    let offset = 0;
    while (offset < chunk.length) {
      const take = Math.min(64 - this.filled, chunk.length - offset);
      this.block.set(chunk.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === 64) {
        this.g(this.h, this.n, this.blockWords);
        add512(this.n, B512);
        add512(this.sigma, this.blockWords);
        this.filled = 0;
      }
    }
    return this;
  }

  digest(): Buffer {
    if (this.done) throw new Error('Streebog: digest() called twice');
    this.done = true;
    const n = this.filled;
    this.block.fill(0, n);
    this.block[n] = 0x01;
    const len = new Int32Array(16);
    len[0] = n << 3;
    this.g(this.h, this.n, this.blockWords);
    add512(this.n, len);
    add512(this.sigma, this.blockWords);
    this.g(this.h, ZERO, this.n);
    this.g(this.h, ZERO, this.sigma);
    const out = this.bits === 256 ? this.h.slice(8, 16) : this.h.slice(0, 16);
    return Buffer.from(out.buffer);
  }

  private xlps(x: Int32Array, y: Int32Array): void {
    const r = this.r;
    r.set(x);
    xor512(r, y);
    for (let i = 0; i < 8; i++) {
      let k = get8(r, i) << 1;
      let z0 = AX[k]!;
      let z1 = AX[k + 1]!;
      for (let j = 1; j < 8; j++) {
        k = (j << 9) + (get8(r, (j << 3) + i) << 1);
        z0 ^= AX[k]!;
        z1 ^= AX[k + 1]!;
      }
      x[i << 1] = z0;
      x[(i << 1) + 1] = z1;
    }
  }

  private g(h: Int32Array, n: Int32Array, m: Int32Array): void {
    const { data, ki } = this;
    data.set(h);
    this.xlps(data, n);
    ki.set(data);
    this.xlps(data, m);
    for (let i = 0; i < 11; i++) {
      this.xlps(ki, C[i]!);
      this.xlps(data, ki);
    }
    this.xlps(ki, C[11]!);
    xor512(data, ki);
    xor512(h, data);
    xor512(h, m);
  }
}
