/**
 * Rate limits as one small interface, `take(key, limit)`, with two
 * implementations: in this process's memory (here: token buckets, for the
 * memory store and as the fallback when Redis cannot answer) and in Redis
 * (./redis-rate-limiter.ts: one GCRA script, shared by every gateway instance
 * on the same Redis). The callers (src/push/access.ts, src/http/auth.ts) name
 * the key: `client:<address>`, `partner:<id>`, `api:<SHA-256 of the token>`.
 */

export type Take = { ok: true } | { ok: false; retryAfterMs: number };

/**
 * A limit as the store counts it: `burst` tokens, refilled `perSecond` a second; one request takes one.
 * (The shape of the configuration's RateLimit, declared here so the store stands on nothing above it.)
 */
export interface TokenRate {
  perSecond: number;
  burst: number;
}

export interface RateLimiter {
  /** True when every gateway instance on the same store counts in the same buckets. */
  readonly shared: boolean;
  /** Takes one token of `key`'s bucket (refilling `limit.perSecond` a second up to `limit.burst`), or says when there will be one. */
  take(key: string, limit: TokenRate): Promise<Take>;
}

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly limit: TokenRate,
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
 * Token buckets by key in this process's memory. Full buckets are dropped
 * when the map grows past `maxKeys`, so a spray of addresses cannot grow it
 * without bound: a dropped full bucket is the same as a fresh one. A key whose
 * limit changed (a partner registry reload) starts a fresh bucket.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly shared = false;
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxKeys = 10_000,
  ) {}

  takeNow(key: string, limit: TokenRate): Take {
    let bucket = this.buckets.get(key);
    if (!bucket || bucket.limit.perSecond !== limit.perSecond || bucket.limit.burst !== limit.burst) {
      if (!bucket && this.buckets.size >= this.maxKeys) this.sweep();
      bucket = new TokenBucket(limit, this.now());
      this.buckets.set(key, bucket);
    }
    return bucket.take(this.now());
  }

  async take(key: string, limit: TokenRate): Promise<Take> {
    return this.takeNow(key, limit);
  }

  get size(): number {
    return this.buckets.size;
  }

  private sweep(): void {
    const t = this.now();
    for (const [key, bucket] of this.buckets) if (bucket.isFull(t)) this.buckets.delete(key);
  }
}
