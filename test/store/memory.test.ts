import { describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { storeContract } from './contract.js';
import { FakeClock } from './fake-clock.js';

storeContract('memory', async (options) => {
  const clock = new FakeClock();
  const store = new MemoryStore({ ...options, clock });
  return { store, clock, cleanup: () => store.close() };
});

describe('memory store specifics', () => {
  it('says it is not durable', async () => {
    const store = new MemoryStore();
    expect(store.kind).toBe('memory');
    expect(await store.info()).toMatchObject({ kind: 'memory', durable: false });
  });

  it('createStore without a Redis URL gives the memory store', async () => {
    const store = await createStore({ defaultMaxAttempts: 4 });
    expect(store).toBeInstanceOf(MemoryStore);
    expect((await store.queue('q').enqueue({ id: 'j', payload: null })).maxAttempts).toBe(4);
    await store.close();
  });

  it('rejects calls after close', async () => {
    const store = new MemoryStore();
    await store.close();
    await expect(store.ping()).rejects.toThrow(/closed/);
    await expect(store.commit({})).rejects.toThrow(/closed/);
  });

  it('rejects invalid options', () => {
    expect(() => new MemoryStore({ keepDone: -1 })).toThrow(/keepDone/);
    expect(() => new MemoryStore({ defaultMaxAttempts: 0 })).toThrow(/defaultMaxAttempts/);
  });
});
