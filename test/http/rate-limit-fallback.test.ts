/**
 * When the shared limiter (Redis) fails or is slow, a take is answered from
 * this process's memory with the full limit — the request is not refused for
 * the limiter's sake — with one warning a minute and a count; Redis is asked
 * again a moment later. Against a real redis-server: paused (slow), then stopped.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FallbackRateLimiter, MemoryRateLimiter, rateLimiterFor } from '../../src/http/rate-limit.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';

let redis: RedisTestServer;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: false });
});

afterAll(async () => {
  await redis?.dispose();
});

const limit = { perSecond: 0.01, burst: 3 };

function warnings() {
  const lines: Array<{ fields: Record<string, unknown>; msg: string }> = [];
  return { lines, logger: { warn: (fields: Record<string, unknown>, msg: string) => lines.push({ fields, msg }) } as never };
}

describe('the rate limiter for a store', () => {
  it('memory store: in memory; Redis store: shared, with the fallback', async () => {
    expect(rateLimiterFor(new MemoryStore())).toBeInstanceOf(MemoryRateLimiter);
    const store = new RedisStore(redis.url, { keyPrefix: 'okno-fb-0:' });
    try {
      expect(rateLimiterFor(store)).toBeInstanceOf(FallbackRateLimiter);
    } finally {
      await store.close();
    }
  });

  it('Redis slow (CLIENT PAUSE): the take is answered from memory within the timeout, with the full limit, one warning', async () => {
    const store = new RedisStore(redis.url, { keyPrefix: 'okno-fb-1:' });
    const admin = new Redis(redis.url);
    const { lines, logger } = warnings();
    try {
      await store.ping();
      const limiter = new FallbackRateLimiter(store.rateLimiter(), { timeoutMs: 100, retryAfterFailureMs: 60_000, logger });
      // Two tokens spent in Redis first: the memory bucket does not know them (full limit there).
      expect((await limiter.take('partner:portal', limit)).ok).toBe(true);
      expect((await limiter.take('partner:portal', limit)).ok).toBe(true);
      await admin.call('CLIENT', 'PAUSE', '1000', 'ALL');
      const started = performance.now();
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await limiter.take('partner:portal', limit));
      expect(performance.now() - started).toBeLessThan(1500);
      expect(takes.map((t) => t.ok)).toEqual([true, true, true, false]);
      expect(limiter.fallbacks).toBe(4);
      expect(lines).toHaveLength(1);
      expect(lines[0]!.fields).toMatchObject({ outcome: 'rate-limit-fallback', problem: 'no answer within 100 ms', takes: 1 });
    } finally {
      await admin.call('CLIENT', 'UNPAUSE');
      admin.disconnect();
      await store.close();
    }
  });

  it('Redis down: memory answers at once; Redis is asked again after retryAfterFailureMs and counts again when back', async () => {
    const store = new RedisStore(redis.url, { keyPrefix: 'okno-fb-2:' });
    const { lines, logger } = warnings();
    let now = 1_000_000;
    try {
      await store.ping();
      const limiter = new FallbackRateLimiter(store.rateLimiter(), { timeoutMs: 1000, retryAfterFailureMs: 500, logger, warnEveryMs: 60_000, now: () => now });
      await redis.stop();
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await limiter.take('client:10.1.1.1', limit));
      expect(takes.map((t) => t.ok)).toEqual([true, true, true, false]);
      expect(limiter.fallbacks).toBe(4);
      expect(lines).toHaveLength(1);
      await redis.restart();
      await store.ping().catch(() => {});
      for (let i = 0; i < 100 && (await store.ping().then(() => false, () => true)); i++) await new Promise((r) => setTimeout(r, 50));
      // Still within the pause after the failure: memory, no new warning (at most one a minute).
      expect((await limiter.take('client:10.1.1.1', limit)).ok).toBe(false);
      expect(lines).toHaveLength(1);
      now += 501;
      // Redis again: its bucket for this address is fresh (the outage's takes were not in it).
      expect((await limiter.take('client:10.1.1.1', limit)).ok).toBe(true);
      expect(limiter.fallbacks).toBe(5);
    } finally {
      await store.close();
    }
  });
});
