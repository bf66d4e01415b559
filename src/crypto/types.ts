import type { KeyObject } from 'node:crypto';
import type { GostCurve } from './gost-curves.js';

/** A running hash: feed chunks with update(), read the result once with digest(). */
export interface Hasher {
  update(data: Uint8Array): Hasher;
  /** Optional: the UTF-8 encoding of `text`, hashed without building a Buffer first (node:crypto does it natively). */
  updateText?(text: string): Hasher;
  digest(): Buffer;
}

export interface DigestAlgorithm {
  readonly uri: string;
  readonly name: string;
  /** Output length in bytes. */
  readonly size: number;
  create(): Hasher;
  /** One-shot convenience: create().update(data).digest(). */
  hash(data: Uint8Array): Buffer;
}

export type GostKeyAlgorithm = 'gost2001' | 'gost2012-256' | 'gost2012-512';
export type KeyAlgorithm = 'rsa' | 'ec-p256' | GostKeyAlgorithm;

/**
 * GOST public key as CryptoPro/RFC 4491 store it: the point's x then y, each little-endian,
 * `curve.size` bytes apiece (this is exactly the OCTET STRING inside the certificate).
 */
export interface GostPublicKey {
  readonly type: 'gost-public';
  readonly algorithm: GostKeyAlgorithm;
  readonly curve: GostCurve;
  readonly point: Uint8Array;
}

/** GOST private key: the scalar d, little-endian, `curve.size` bytes. */
export interface GostPrivateKey {
  readonly type: 'gost-private';
  readonly algorithm: GostKeyAlgorithm;
  readonly curve: GostCurve;
  readonly scalar: Uint8Array;
}

export type PublicKey = KeyObject | GostPublicKey;
export type PrivateKey = KeyObject | GostPrivateKey;

export interface SignatureAlgorithm {
  readonly uri: string;
  readonly name: string;
  readonly digestUri: string;
  readonly keyAlgorithm: KeyAlgorithm;
  /** Absent for verify-only algorithms (GOST R 34.10-2001). */
  readonly sign?: (data: Uint8Array, key: PrivateKey) => Buffer;
  readonly verify: (data: Uint8Array, signature: Uint8Array, key: PublicKey) => boolean;
}
