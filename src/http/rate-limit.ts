/**
 * Token buckets for the rate limits of the SOAP endpoint (src/push/access.ts) and the
 * JSON API (per bearer token, src/http/auth.ts). A bucket holds up to
 * `burst` tokens and refills `perSecond` a second; a message takes one. Kept
 * in the process's memory: with WORKERS=N each worker holds its own buckets,
 * so the limits are divided by N (node:cluster spreads connections over the
 * workers), see perProcess().
 */
import type { RateLimit } from '../config/env.js';

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.at = now;
  }

  /** Takes one token if there is one; otherwise says when there will be. */
  take(now: number): Take {
    this.refill(now);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - this.tokens) / this.limit.perSecond) * 1000) };
  }

  /** True when the bucket is full again (it then says nothing a fresh one would not). */
  isFull(now: number): boolean {
    this.refill(now);
    return this.tokens >= this.limit.burst;
  }

  private refill(now: number): void {
    const elapsed = Math.max(0, now - this.at) / 1000;
    this.at = now;
    this.tokens = Math.min(this.limit.burst, this.tokens + elapsed * this.limit.perSecond);
  }
}

/**
 * Buckets by key (a partner id, a client address). Full buckets are dropped
 * when the map grows past `maxKeys`, so a spray of addresses cannot grow it
 * without bound: a dropped full bucket is the same as a fresh one.
 */
export class KeyedBuckets {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly limitOf: (key: string) => RateLimit | null,
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  take(key: string): Take {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      const limit = this.limitOf(key);
      if (!limit) return { ok: true };
      if (this.buckets.size >= this.maxKeys) this.sweep();
      bucket = new TokenBucket(limit, this.now());
      this.buckets.set(key, bucket);
    }
    return bucket.take(this.now());
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, bucket] of this.buckets) if (bucket.isFull(t)) this.buckets.delete(key);
  }
}

/** One process's share of a limit when `workers` processes each keep their own buckets. */
export function perProcess(limit: RateLimit, workers: number): RateLimit {
  if (workers <= 1) return limit;
  return { perSecond: limit.perSecond / workers, burst: Math.max(1, Math.ceil(limit.burst / workers)) };
}
