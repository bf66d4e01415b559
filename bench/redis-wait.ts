/**
 * What REDIS_WAIT_REPLICAS costs per commit (`npm run bench:redis-wait`, or
 * `node --import tsx bench/redis-wait.ts [N]`, default 2000): a real primary
 * and replica on loopback (test/helpers/redis-replica.ts), N application-sized
 * commits (idempotency record, three documents, a feed entry, a job), first
 * one at a time (latency), then 32 at once (throughput), without WAIT and with
 * waitReplicas=1. Prints the figures as JSON.
 */
import { RedisStore } from '../src/store/redis-store.js';
import type { WriteBatch } from '../src/store/types.js';
import { startRedisReplicaSet } from '../test/helpers/redis-replica.js';

const n = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 2000);
const doc = { text: 'x'.repeat(2000), service: 'advertising-permit', status: 'received' };

function batch(prefix: string, i: number): WriteBatch {
  const id = `${prefix}-${i}`;
  return {
    idempotency: { key: `m-${id}`, record: { digest: 'd', result: { reply: 'y'.repeat(1500) }, createdAt: Date.now() } },
    docs: [
      { collection: 'applications', id, value: doc },
      { collection: 'inbox', id, value: doc },
      { collection: 'journal', id, value: doc },
    ],
    feeds: [{ feed: 'inbox', id }],
    jobs: [{ queue: 'webhook', id, payload: { id } }],
  };
}

async function measure(store: RedisStore, label: string): Promise<Record<string, number | string>> {
  const latencies: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await store.commit(batch(`${label}-seq`, i));
    latencies.push(performance.now() - t);
  }
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!.toFixed(3));
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 32 }, async () => {
      while (next < n) await store.commit(batch(`${label}-par`, next++));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { mode: label, commits: n, p50ms: q(0.5), p99ms: q(0.99), sequentialPerSecond: Math.round(n / (latencies.reduce((a, b) => a + b, 0) / 1000)), concurrent32PerSecond: Math.round(n / seconds) };
}

const set = await startRedisReplicaSet();
try {
  const plain = new RedisStore(set.primary.url, { keyPrefix: 'bench-plain:' });
  const waiting = new RedisStore(set.primary.url, { keyPrefix: 'bench-wait:', waitReplicas: 1, waitTimeoutMs: 1000 });
  // Warm up both (scripts loaded, connections open).
  await plain.commit(batch('warm', 0));
  await waiting.commit(batch('warm', 0));
  const results = [await measure(plain, 'no WAIT'), await measure(waiting, 'WAIT 1 replica')];
  console.log(JSON.stringify(results, null, 2));
  await plain.close();
  await waiting.close();
} finally {
  await set.dispose();
}
