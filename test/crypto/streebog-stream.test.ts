/**
 * The streaming Streebog (src/signature/algorithms/streebog-stream.ts) against the one-shot
 * library digest and against openssl's gost engine, for lengths around the 64-byte block and
 * fed in uneven chunks.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { gostDigest } from '../../src/crypto/gost-engine.js';
import { StreebogStream } from '../../src/crypto/streebog-stream.js';
import { opensslDigestHex } from './openssl-gost.js';

function streamed(data: Buffer, chunk: number, bits: 256 | 512 = 256): Buffer {
  const h = new StreebogStream(bits);
  for (let i = 0; i < data.length; i += chunk) h.update(data.subarray(i, i + chunk));
  return h.digest();
}

describe('StreebogStream', () => {
  it('equals the one-shot digest for every length around the block size, in any chunking', () => {
    for (const len of [0, 1, 55, 63, 64, 65, 127, 128, 129, 1000, 4096 + 17]) {
      const data = randomBytes(len);
      for (const chunk of [1, 7, 64, 100, 5000]) {
        expect(streamed(data, chunk).toString('hex'), `len ${len} chunk ${chunk}`).toBe(gostDigest('2012-256', data).toString('hex'));
      }
      expect(streamed(data, 33, 512).toString('hex')).toBe(gostDigest('2012-512', data).toString('hex'));
    }
  });

  it('agrees with openssl -md_gost12_256 (libengine-gost-openssl)', () => {
    const data = randomBytes(300_001);
    expect(streamed(data, 65_536).toString('hex')).toBe(opensslDigestHex('md_gost12_256', data));
  });
});
