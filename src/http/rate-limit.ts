/**
 * The rate limiter the SOAP endpoint (src/push/access.ts: per client address,
 * per partner) and the JSON API (src/http/auth.ts: per bearer token) use.
 *
 * With a Redis store the limits are counted in Redis (store/redis-rate-limiter.ts),
 * so they hold across every gateway instance and worker process on it: a limit
 * is the whole deployment's, never divided by WORKERS or by instances. With the
 * memory store (one process: WORKERS > 1 needs Redis) they are counted in memory.
 *
 * When Redis fails or is slow to answer a take (more than `timeoutMs`), the
 * request is NOT refused for that: the take is answered by a bucket in this
 * process's memory with the full limit, and for `retryAfterFailureMs` after
 * the failure the takes stay in memory (no pile-up of waiting requests on a
 * Redis that does not answer); then Redis is asked again. While degraded a
 * deployment of N processes lets through up to N times the limit: a limiter
 * outage weakens the limits, it does not stop the gateway (whose commits need
 * Redis anyway). Logged at most once a minute with the count, and counted
 * (`fallbacks`, okno_rate_limit_fallbacks).
 */
import type { RateLimit } from '../config/env.js';
import type { Logger } from '../log.js';
import { LogThrottle } from '../log-throttle.js';
import { MemoryRateLimiter, type RateLimiter, type Take } from '../store/rate-limiter.js';
import type { Store } from '../store/types.js';

export { MemoryRateLimiter, TokenBucket, type RateLimiter, type Take } from '../store/rate-limiter.js';

export interface FallbackOptions {
  /** How long a take waits for Redis before memory answers it (default 250 ms). */
  timeoutMs?: number;
  /** How long after a failure takes go to memory without asking Redis (default 1000 ms). */
  retryAfterFailureMs?: number;
  /** Where the warning goes (at most once per `warnEveryMs`, default a minute). */
  logger?: Pick<Logger, 'warn'>;
  warnEveryMs?: number;
  now?: () => number;
}

/** The shared limiter, answered from memory (full limit) while it fails. */
export class FallbackRateLimiter implements RateLimiter {
  readonly shared = true;
  /** Takes answered from memory because the shared limiter failed or was slow. */
  fallbacks = 0;
  private readonly memory: MemoryRateLimiter;
  private readonly now: () => number;
  private readonly timeoutMs: number;
  private readonly retryAfterFailureMs: number;
  private readonly warnings: LogThrottle<'fallback'>;
  private downUntil = 0;

  constructor(
    private readonly primary: RateLimiter,
    private readonly o: FallbackOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.memory = new MemoryRateLimiter(this.now);
    this.timeoutMs = o.timeoutMs ?? 250;
    this.retryAfterFailureMs = o.retryAfterFailureMs ?? 1000;
    this.warnings = new LogThrottle({ everyMs: o.warnEveryMs ?? 60_000, now: this.now });
  }

  async take(key: string, limit: RateLimit): Promise<Take> {
    if (this.now() < this.downUntil) return this.fromMemory(key, limit, null);
    let timer: NodeJS.Timeout | undefined;
    const asked = this.primary.take(key, limit);
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([asked, late]);
    } catch (error) {
      asked.catch(() => {}); // a late answer or failure of an abandoned take
      this.downUntil = this.now() + this.retryAfterFailureMs;
      return this.fromMemory(key, limit, error as Error);
    } finally {
      clearTimeout(timer);
    }
  }

  private fromMemory(key: string, limit: RateLimit, error: Error | null): Take {
    this.fallbacks += 1;
    const throttled = this.warnings.hit('fallback');
    if (throttled.log) {
      this.o.logger?.warn(
        { takes: throttled.suppressed + 1, problem: error?.message ?? 'recent failure', outcome: 'rate-limit-fallback' },
        'the shared rate limiter (Redis) failed: limits are counted in this process with the full limit',
      );
    }
    return this.memory.takeNow(key, limit);
  }
}

/** The limiter for a store: shared (with a memory fallback) when the store offers one, else in memory. */
export function rateLimiterFor(store: Store, options: FallbackOptions = {}): RateLimiter {
  return store.rateLimiter ? new FallbackRateLimiter(store.rateLimiter(), options) : new MemoryRateLimiter(options.now);
}
