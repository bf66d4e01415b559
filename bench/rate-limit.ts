/**
 * What counting the rate limits in Redis costs (`npm run bench:rate-limit`, or
 * `node --import tsx bench/rate-limit.ts [N]`), against the in-memory buckets,
 * in the same run, on one real redis-server on loopback:
 *
 * 1. the take alone: N takes one at a time (latency) and 32 at once
 *    (throughput), MemoryRateLimiter vs the shared limiter (RedisRateLimiter
 *    behind FallbackRateLimiter, as the gateway uses it), and a bare PING for
 *    the round trip's share;
 * 2. per SOAP message: an in-process gateway on the same Redis store with
 *    RATE_LIMIT_PER_CLIENT and RATE_LIMIT_PER_PARTNER on (high enough that
 *    nothing is refused: two takes per message, the client's before the body
 *    and the partner's after the signature), once with the limits counted in
 *    memory and once in Redis, in 4 pairs of rounds (memory-redis,
 *    redis-memory, …) so drift of a shared machine falls on both; the ratio of
 *    each pair is taken and their median quoted beside the pooled figures. For the memory rounds the bench
 *    hides RedisStore.prototype.rateLimiter, so rateLimiterFor() picks memory
 *    buckets while commits still go to the same Redis: the only difference is
 *    the limiter. Messages are signed before the clock starts.
 * Prints the figures as JSON, with the ratios redis / memory.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { loadCatalogue } from '../src/catalogue/load.js';
import { FallbackRateLimiter, MemoryRateLimiter, type RateLimiter } from '../src/http/rate-limit.js';
import { RedisStore } from '../src/store/redis-store.js';
import { projectRoot, startGateway } from '../test/helpers/gateway.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { signedSendRequest } from '../test/helpers/smev.js';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 20000);
const messages = Math.max(50, Math.round(n / 100));
const HIGH = '100000/s:100000';
const PAIRS = 4;

const quantile = (sorted: number[], p: number) => Number(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!.toFixed(3));

async function takes(limiter: RateLimiter, label: string): Promise<Record<string, number | string>> {
  const limit = { perSecond: 1e6, burst: 1e6 };
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await limiter.take(`client:10.0.${i % 250}.${i % 7}`, limit);
    latencies.push((performance.now() - t) * 1000);
  }
  latencies.sort((a, b) => a - b);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next++ < n) await limiter.take(`partner:p${next % 20}`, limit);
    }),
  );
  return { limiter: label, takes: n, p50us: quantile(latencies, 0.5), p99us: quantile(latencies, 0.99), concurrent32PerSecond: Math.round(n / ((performance.now() - started) / 1000)) };
}

async function soapRound(redisUrl: string, mode: 'memory' | 'redis', round: number, catalogue: ReturnType<typeof loadCatalogue>) {
  const saved = RedisStore.prototype.rateLimiter;
  if (mode === 'memory') (RedisStore.prototype as { rateLimiter?: unknown }).rateLimiter = undefined;
  const gw = await startGateway({ REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `bench-rl-${mode}-${round}:`, RATE_LIMIT_PER_CLIENT: HIGH, RATE_LIMIT_PER_PARTNER: HIGH, LOG_LEVEL: 'warn' });
  RedisStore.prototype.rateLimiter = saved;
  try {
    const bodies = await Promise.all(Array.from({ length: messages * 2 }, () => signedSendRequest({ catalogue, service: 'advertising-permit' }).then((m) => m.xml)));
    const post = async (xml: string) => {
      const res = await fetch(`${gw.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: xml });
      await res.text();
      if (res.status !== 200) throw new Error(`SOAP message answered ${res.status}`);
    };
    await post((await signedSendRequest({ catalogue, service: 'advertising-permit' })).xml); // warm-up
    const latencies: number[] = [];
    for (const xml of bodies.slice(0, messages)) {
      const t = performance.now();
      await post(xml);
      latencies.push(performance.now() - t);
    }
    const started = performance.now();
    const rest = bodies.slice(messages);
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let xml = rest.pop(); xml !== undefined; xml = rest.pop()) await post(xml);
    }));
    const perSecond = messages / ((performance.now() - started) / 1000);
    return { latencies, perSecond };
  } finally {
    await gw.close();
  }
}

const redis = await startRedisServer();
try {
  const store = new RedisStore(redis.url, { keyPrefix: 'bench-rl:' });
  await store.ping();
  const shared = new FallbackRateLimiter(store.rateLimiter(), { timeoutMs: 5000 });
  await shared.take('warm', { perSecond: 1, burst: 1 });
  const memory = await takes(new MemoryRateLimiter(), 'memory');
  const redisTakes = await takes(shared, 'redis');
  // A bare round trip on the same connection, for scale: how much of a take is the trip, how much the script.
  const client = new Redis(redis.url);
  const pings: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await client.ping();
    pings.push((performance.now() - t) * 1000);
  }
  client.disconnect();
  pings.sort((a, b) => a - b);
  const ping = { command: 'PING', p50us: quantile(pings, 0.5), p99us: quantile(pings, 0.99) };
  if (shared.fallbacks > 0) throw new Error(`${shared.fallbacks} takes fell back to memory: the Redis figures would be wrong`);
  await store.close();

  const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  const soap: Record<'memory' | 'redis', { latencies: number[]; perSecond: number[] }> = { memory: { latencies: [], perSecond: [] }, redis: { latencies: [], perSecond: [] } };
  // Per pair of rounds (memory then redis, then the other way round): the ratios, whose median is quoted.
  const pairs: Array<{ p50: number; throughput: number }> = [];
  for (let round = 0; round < PAIRS; round++) {
    const got: Partial<Record<'memory' | 'redis', { p50: number; perSecond: number }>> = {};
    for (const mode of round % 2 ? (['redis', 'memory'] as const) : (['memory', 'redis'] as const)) {
      const r = await soapRound(redis.url, mode, round, catalogue);
      soap[mode].latencies.push(...r.latencies);
      soap[mode].perSecond.push(r.perSecond);
      got[mode] = { p50: quantile([...r.latencies].sort((a, b) => a - b), 0.5), perSecond: r.perSecond };
    }
    pairs.push({ p50: got.redis!.p50 / got.memory!.p50, throughput: got.redis!.perSecond / got.memory!.perSecond });
  }
  const median = (xs: number[]) => Number([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(3));
  const summary = (mode: 'memory' | 'redis') => {
    const sorted = [...soap[mode].latencies].sort((a, b) => a - b);
    return { limiter: mode, messages: sorted.length, p50ms: quantile(sorted, 0.5), p99ms: quantile(sorted, 0.99), concurrent8PerSecond: Math.round(soap[mode].perSecond.reduce((a, b) => a + b, 0) / soap[mode].perSecond.length) };
  };
  const m = summary('memory');
  const r = summary('redis');
  console.log(
    JSON.stringify(
      {
        take: [memory, redisTakes, ping, { ratio: 'redis / memory', p50: Number((Number(redisTakes.p50us) / Number(memory.p50us)).toFixed(1)), throughput: Number((Number(redisTakes.concurrent32PerSecond) / Number(memory.concurrent32PerSecond)).toFixed(4)) }],
        soapMessage: [
          m,
          r,
          { ratio: 'redis / memory, all rounds', p50: Number((r.p50ms / m.p50ms).toFixed(3)), p99: Number((r.p99ms / m.p99ms).toFixed(3)), throughput: Number((r.concurrent8PerSecond / m.concurrent8PerSecond).toFixed(3)), extraRedisCallsPerMessage: 2 },
          { ratio: 'redis / memory, median of the pairs', pairs: PAIRS, p50: median(pairs.map((x) => x.p50)), throughput: median(pairs.map((x) => x.throughput)) },
        ],
      },
      null,
      2,
    ),
  );
} finally {
  await redis.dispose();
}
