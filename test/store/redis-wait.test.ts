/**
 * REDIS_WAIT_REPLICAS at the store level, against a real primary and replica:
 * the whole Store contract with every write waiting for 1 replica, and what a
 * write does when the replica stops acknowledging (SIGSTOP).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { StoreReplicationError } from '../../src/store/types.js';
import { startRedisReplicaSet, type RedisReplicaSet } from '../helpers/redis-replica.js';
import { storeContract } from './contract.js';
import { FakeClock } from './fake-clock.js';

let set: RedisReplicaSet;
let prefixes = 0;
const nextPrefix = () => `okno-wait-${++prefixes}:`;

beforeAll(async () => {
  set = await startRedisReplicaSet();
});

afterAll(async () => {
  await set?.dispose();
});

storeContract('redis (WAIT 1 replica)', async (options) => {
  const clock = new FakeClock();
  const store = new RedisStore(set.primary.url, { ...options, clock, keyPrefix: nextPrefix(), waitReplicas: 1, waitTimeoutMs: 2000 });
  await store.ping();
  return { store, clock, cleanup: () => store.close() };
});

describe('redis store waiting for replicas', () => {
  it('a commit resolves only once the replica has it', async () => {
    const keyPrefix = nextPrefix();
    const store = new RedisStore(set.primary.url, { keyPrefix, waitReplicas: 1, waitTimeoutMs: 2000 });
    const replica = new RedisStore(set.replica.url, { keyPrefix });
    try {
      for (let i = 0; i < 20; i++) {
        await store.commit({ idempotency: { key: `m${i}`, record: { digest: 'd', result: i, createdAt: 1 } }, docs: [{ collection: 'apps', id: `a${i}`, value: i }] });
        // Read the replica right after: no polling, it must be there already.
        expect(await replica.getDoc('apps', `a${i}`)).toBe(i);
        expect(await replica.getIdempotency(`m${i}`)).toMatchObject({ result: i });
      }
      expect(await store.replication()).toEqual({ connected: 1, required: 1, role: 'master' });
    } finally {
      await store.close();
      await replica.close();
    }
  });

  it('a frozen replica: StoreReplicationError after the timeout, the write stays on the primary, reads are not held up', async () => {
    const keyPrefix = nextPrefix();
    const store = new RedisStore(set.primary.url, { keyPrefix, waitReplicas: 1, waitTimeoutMs: 300 });
    try {
      await store.ping();
      set.freeze();
      try {
        const started = Date.now();
        const pending = store.commit({ idempotency: { key: 'm1', record: { digest: 'd', result: 'ok', createdAt: 1 } }, docs: [{ collection: 'apps', id: 'a', value: 1 }] });
        // While the commit's connection is blocked in WAIT, reads on the store answer.
        expect(await store.ping()).toBeUndefined();
        const error = await pending.then(
          () => null,
          (e: unknown) => e,
        );
        const took = Date.now() - started;
        expect(error).toBeInstanceOf(StoreReplicationError);
        expect(error).toMatchObject({ required: 1, acknowledged: 0, timeoutMs: 300 });
        expect((error as Error).message).toMatch(/could not confirm replication: 0 of 1 replica/);
        expect(took).toBeGreaterThanOrEqual(290);
        expect(took).toBeLessThan(1500);
        expect(await store.getDoc('apps', 'a')).toBe(1);
        // A queue write waits too (its own connection) and fails the same way.
        await expect(store.queue('q').enqueue({ id: 'j', payload: null })).rejects.toBeInstanceOf(StoreReplicationError);
      } finally {
        set.thaw();
      }
      // The retry finds the record (a duplicate) and is confirmed now.
      const again = await store.commit({ idempotency: { key: 'm1', record: { digest: 'd', result: 'other', createdAt: 2 } } });
      expect(again).toMatchObject({ applied: false, existing: { result: 'ok' } });
      const replica = new Redis(set.replica.url);
      try {
        expect(await replica.get(`${keyPrefix}doc:apps:a`)).toBe('1');
      } finally {
        replica.disconnect();
      }
    } finally {
      await store.close();
    }
  });

  it('without waitReplicas nothing waits, and createStore refuses a wait on the in-memory store', async () => {
    const store = new RedisStore(set.primary.url, { keyPrefix: nextPrefix() });
    try {
      set.freeze();
      try {
        const started = Date.now();
        await store.commit({ docs: [{ collection: 'apps', id: 'a', value: 1 }] });
        expect(Date.now() - started).toBeLessThan(200);
      } finally {
        set.thaw();
      }
    } finally {
      await store.close();
    }
    await expect(createStore({ waitReplicas: 1 })).rejects.toThrow(/REDIS_WAIT_REPLICAS.*REDIS_URL/);
  });
});
