/** src/city/registration.ts: registration numbers by service and year, from the store's atomic counter. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRegistrationNumber } from '../../src/city/registration.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';

describe('nextRegistrationNumber (memory store)', () => {
  it('prefix, year, six digits; counted per service and per year', async () => {
    const store = new MemoryStore();
    const at2026 = new Date('2026-12-07T10:00:00Z');
    expect(await nextRegistrationNumber(store, 'advertising-permit', 'РК', at2026)).toBe('РК-2026-000001');
    expect(await nextRegistrationNumber(store, 'advertising-permit', 'РК', at2026)).toBe('РК-2026-000002');
    expect(await nextRegistrationNumber(store, 'kindergarten-enrollment', 'ДС', at2026)).toBe('ДС-2026-000001');
    // The year is the UTC year of the moment given: a new year starts again at 1.
    expect(await nextRegistrationNumber(store, 'advertising-permit', 'РК', new Date('2027-01-01T00:00:00Z'))).toBe('РК-2027-000001');
    expect(await nextRegistrationNumber(store, 'advertising-permit', 'РК', new Date('2026-12-31T23:59:59Z'))).toBe('РК-2026-000003');
  });

  it('past six digits the number grows rather than wraps', async () => {
    const store = new MemoryStore();
    for (let i = 0; i < 999_999; i++) await store.nextSequence('regno.s.2026');
    expect(await nextRegistrationNumber(store, 's', 'X', new Date('2026-06-01Z'))).toBe('X-2026-1000000');
  });
});

describe('nextRegistrationNumber (Redis, two processes\' stores)', () => {
  let redis: RedisTestServer;
  let a: RedisStore;
  let b: RedisStore;
  beforeAll(async () => {
    redis = await startRedisServer();
    a = new RedisStore(redis.url);
    b = new RedisStore(redis.url);
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.dispose();
  });

  it('never hands out the same number twice', async () => {
    const at = new Date('2026-12-07Z');
    const numbers = await Promise.all(Array.from({ length: 40 }, (_, i) => nextRegistrationNumber(i % 2 ? a : b, 'dwelling-replanning', 'ПП', at)));
    expect(new Set(numbers).size).toBe(40);
    expect(numbers.toSorted()).toEqual(Array.from({ length: 40 }, (_, i) => `ПП-2026-${String(i + 1).padStart(6, '0')}`));
  });
});
