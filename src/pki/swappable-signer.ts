/**
 * The gateway's signer, whose key can be replaced while it runs (a renewed
 * certificate, a key on a new token: see pki/gateway-keys.ts). Everything
 * that signs holds this one object; a swap replaces the key for every later
 * signature at once.
 *
 * A signature reads the algorithm, then signs, then embeds the certificate:
 * if the key changed in between, the three would disagree. So whoever makes
 * a signature takes one snapshot first (`snapshotOf`) and uses only that; a
 * signature in progress during a swap finishes with the key, certificate and
 * algorithm it started with.
 */
import type { Certificate } from '../pki/certificate.js';
import type { Signer } from './signer.js';

/** Certificates kept in the history (journal checkpoints made before a renewal stay the gateway's). */
const HISTORY = 16;

export class SwappableSigner implements Signer {
  private active: Signer;
  private readonly history: Certificate[];

  constructor(initial: Signer) {
    this.active = initial;
    this.history = [initial.certificate];
  }

  /** The signer of this moment: use it for one whole signature. */
  current(): Signer {
    return this.active;
  }

  /** Replaces the key for every signature started from now on; returns the one it replaced. */
  swap(next: Signer): Signer {
    const previous = this.active;
    this.active = next;
    if (!this.history.some((c) => c.der.equals(next.certificate.der))) {
      this.history.unshift(next.certificate);
      this.history.length = Math.min(this.history.length, HISTORY);
    }
    return previous;
  }

  /** Every certificate this process has signed with, newest first. */
  get certificates(): readonly Certificate[] {
    return [...this.history];
  }

  get certificate(): Certificate {
    return this.active.certificate;
  }

  get signatureAlgorithm(): Signer['signatureAlgorithm'] {
    return this.active.signatureAlgorithm;
  }

  get digestAlgorithm(): Signer['digestAlgorithm'] {
    return this.active.digestAlgorithm;
  }

  /** One call, one key; a caller that also reads the certificate or algorithm must take `current()` first. */
  sign(data: Uint8Array): Promise<Buffer> {
    return this.active.sign(data);
  }

  /** Releases what the key in use holds open (a token's sessions), when the gateway stops. */
  close(): Promise<void> {
    return this.active.close ? this.active.close() : Promise.resolve();
  }
}

/** The signer to use for one whole signature: a swappable signer's current key, any other signer itself. */
export function snapshotOf(signer: Signer): Signer {
  return signer instanceof SwappableSigner ? signer.current() : signer;
}

/** The certificates a signer has signed with (the history of a swappable one). */
export function certificatesOf(signer: Signer): readonly Certificate[] {
  return signer instanceof SwappableSigner ? signer.certificates : [signer.certificate];
}
