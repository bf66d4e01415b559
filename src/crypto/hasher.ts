import { createHash } from 'node:crypto';
import type { DigestAlgorithm, Hasher } from './types.js';

/** A digest backed by node:crypto, streaming for real. */
export function nodeDigest(uri: string, name: string, nodeName: string, size: number): DigestAlgorithm {
  const create = (): Hasher => {
    const h = createHash(nodeName);
    const hasher: Hasher = {
      update(data) {
        h.update(data);
        return hasher;
      },
      updateText(text) {
        h.update(text, 'utf8');
        return hasher;
      },
      digest: () => h.digest(),
    };
    return hasher;
  };
  return Object.freeze({ uri, name, size, create, hash: (data: Uint8Array) => create().update(data).digest() });
}

/**
 * A digest over a one-shot implementation. The GOST library has no incremental API, so chunks
 * are kept (not copied) and joined once at digest(); callers still get the streaming interface,
 * and a streaming implementation can replace this without touching them.
 */
export function oneShotDigest(uri: string, name: string, size: number, once: (data: Uint8Array) => Buffer): DigestAlgorithm {
  const create = (): Hasher => {
    const chunks: Uint8Array[] = [];
    let done = false;
    const hasher: Hasher = {
      update(data) {
        if (done) throw new Error(`${name}: update() after digest()`);
        chunks.push(data);
        return hasher;
      },
      digest() {
        if (done) throw new Error(`${name}: digest() called twice`);
        done = true;
        const whole = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks);
        chunks.length = 0;
        return once(whole);
      },
    };
    return hasher;
  };
  return Object.freeze({ uri, name, size, create, hash: once });
}
