/**
 * The shared rate limiter's script (src/store/redis-rate-limiter.ts) against a
 * real redis-server: the burst at once, the refill, the Retry-After it gives,
 * the key under the store's prefix expiring when the bucket is full again,
 * and two clients racing for one bucket getting exactly the burst between them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStore } from '../../src/store/redis-store.js';
import { RedisRateLimiter } from '../../src/store/redis-rate-limiter.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';

let redis: RedisTestServer;
let admin: Redis;
let prefixes = 0;
const nextPrefix = () => `okno-rl-${++prefixes}:`;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: false });
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin?.disconnect();
  await redis?.dispose();
});

describe('the shared rate limiter (GCRA on Redis time)', () => {
  it('the burst at once, then a refusal whose Retry-After is when the next token comes; the key is the store prefix + rl:<key>', async () => {
    const keyPrefix = nextPrefix();
    const store = new RedisStore(redis.url, { keyPrefix });
    try {
      const limiter = store.rateLimiter();
      expect(limiter.shared).toBe(true);
      const limit = { perSecond: 2, burst: 3 };
      const takes = [];
      for (let i = 0; i < 4; i++) takes.push(await limiter.take('partner:portal', limit));
      expect(takes.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
      const refused = takes[3]!;
      expect(refused.ok).toBe(false);
      // 2/s: the next token half a second after the first take (minus the time the takes took).
      const retryAfterMs = (refused as { retryAfterMs: number }).retryAfterMs;
      expect(retryAfterMs).toBeGreaterThan(400);
      expect(retryAfterMs).toBeLessThanOrEqual(500);
      expect(await admin.keys(`${keyPrefix}*`)).toEqual([`${keyPrefix}rl:partner:portal`]);
      // Full again 3 tokens × 500 ms after the first take: that is when the key expires.
      const pttl = await admin.pttl(`${keyPrefix}rl:partner:portal`);
      expect(pttl).toBeGreaterThan(1300);
      expect(pttl).toBeLessThanOrEqual(1500);
      // Other keys have their own buckets.
      expect(await limiter.take('partner:agency', limit)).toEqual({ ok: true });
    } finally {
      await store.close();
    }
  });

  it('refills at perSecond: a token after the Retry-After it said, not before', async () => {
    const limiter = new RedisRateLimiter(admin, nextPrefix());
    const limit = { perSecond: 20, burst: 2 };
    expect((await limiter.take('client:10.0.0.1', limit)).ok).toBe(true);
    expect((await limiter.take('client:10.0.0.1', limit)).ok).toBe(true);
    const refused = await limiter.take('client:10.0.0.1', limit);
    expect(refused.ok).toBe(false);
    const wait = (refused as { retryAfterMs: number }).retryAfterMs;
    expect(wait).toBeLessThanOrEqual(50);
    await new Promise((r) => setTimeout(r, wait + 5));
    expect((await limiter.take('client:10.0.0.1', limit)).ok).toBe(true);
    expect((await limiter.take('client:10.0.0.1', limit)).ok).toBe(false);
  });

  it('a key expires when its bucket would be full again: a spray of addresses leaves nothing behind', async () => {
    const keyPrefix = nextPrefix();
    const limiter = new RedisRateLimiter(admin, keyPrefix);
    const limit = { perSecond: 2, burst: 5 };
    await Promise.all(Array.from({ length: 200 }, (_, i) => limiter.take(`client:192.0.2.${i}`, limit)));
    expect((await admin.keys(`${keyPrefix}*`)).length).toBe(200);
    // One take of a burst-5 bucket at 2/s: full again after 500 ms.
    for (const key of await admin.keys(`${keyPrefix}*`)) expect(await admin.pttl(key)).toBeLessThanOrEqual(500);
    for (let i = 0; i < 200 && (await admin.keys(`${keyPrefix}*`)).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await admin.keys(`${keyPrefix}*`)).toEqual([]);
  });

  it('two clients racing for one bucket get exactly the burst between them', async () => {
    const keyPrefix = nextPrefix();
    const one = new Redis(redis.url);
    const two = new Redis(redis.url);
    try {
      const a = new RedisRateLimiter(one, keyPrefix);
      const b = new RedisRateLimiter(two, keyPrefix);
      const limit = { perSecond: 0.001, burst: 25 };
      const takes = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).take('partner:portal', limit)));
      expect(takes.filter((t) => t.ok).length).toBe(25);
      // What each refusal says: the next token in about 1000 s (one token at 0.001/s).
      for (const t of takes.filter((x) => !x.ok)) expect((t as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(999_000);
    } finally {
      one.disconnect();
      two.disconnect();
    }
  });

  it('not propagated: with AOF (fsync always) the buckets are not in the AOF, so a take costs no fsync', async () => {
    const durable = await startRedisServer({ appendonly: true });
    const client = new Redis(durable.url);
    try {
      const limiter = new RedisRateLimiter(client, 'okno-aof:');
      for (let i = 0; i < 20; i++) await limiter.take(`client:198.51.100.${i}`, { perSecond: 1, burst: 5 });
      await client.set('okno-aof:marker', 'written');
      expect(await client.dbsize()).toBe(21);
      const files = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(path.join(dir, name)).isDirectory() ? files(path.join(dir, name)) : [path.join(dir, name)]));
      const aof = files(durable.dir).filter((f) => /\.aof/.test(f)).map((f) => readFileSync(f, 'latin1')).join('');
      expect(aof).toContain('okno-aof:marker'); // the AOF is on and has the plain write
      expect(aof).not.toContain('rl:client');
    } finally {
      client.disconnect();
      await durable.dispose();
    }
  });

  it('the hosts\' clocks take no part: the script reads Redis TIME', async () => {
    // A take whose caller's clock is far off still refills by Redis's clock: nothing of the caller's time is sent.
    const keyPrefix = nextPrefix();
    const limiter = new RedisRateLimiter(admin, keyPrefix);
    await limiter.take('api:abc', { perSecond: 1, burst: 1 });
    const [seconds] = await admin.time();
    const tat = Number(await admin.get(`${keyPrefix}rl:api:abc`));
    // The stored "full again" time is Redis's now + 1 s, in microseconds.
    expect(Math.abs(tat / 1e6 - (Number(seconds) + 1))).toBeLessThan(2);
  });
});
