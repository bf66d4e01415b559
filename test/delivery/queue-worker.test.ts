/** src/delivery/queue-worker.ts: a consumer of one durable queue — done, retried with backoff, dead — on the real memory store and a test clock. */
import { afterEach, describe, expect, it } from 'vitest';
import { backoffDelay, startQueueWorker, type JobOutcome, type QueueWorker, type QueueWorkerOptions } from '../../src/delivery/queue-worker.js';
import { createLogger } from '../../src/log.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Job } from '../../src/store/types.js';

const logger = createLogger({ level: 'silent' });
const Q = 'test-queue';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

let clock = 1_000_000;
let store: MemoryStore;
const workers: QueueWorker[] = [];
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop();
});

function setup() {
  clock = 1_000_000;
  store = new MemoryStore({ clock: { now: () => clock } });
  return store.queue(Q);
}

/** A worker whose handler answers with `outcomes` in turn, and tells the test each time it has been called. */
function worker(outcomes: Array<JobOutcome | Error>, extra: Partial<QueueWorkerOptions> = {}) {
  const calls: Job[] = [];
  let next = deferred<Job>();
  const w = startQueueWorker({
    store,
    queue: Q,
    logger,
    idleMs: 5,
    now: () => clock,
    backoff: { baseMs: 1_000, capMs: 8_000 },
    async handle(job) {
      calls.push(job);
      const outcome = outcomes.shift() ?? { kind: 'done' };
      next.resolve(job);
      next = deferred<Job>();
      if (outcome instanceof Error) throw outcome;
      return outcome;
    },
    ...extra,
  });
  workers.push(w);
  return { calls, called: () => next.promise, stop: () => w.stop() };
}

describe('startQueueWorker', () => {
  it('done: the job is acknowledged', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: { n: 1 } });
    const w = worker([{ kind: 'done' }]);
    const job = await w.called();
    expect(job).toMatchObject({ id: 'a', payload: { n: 1 }, attempts: 1 });
    await w.stop(); // waits for the job in hand
    expect((await queue.get('a'))?.state).toBe('done');
  });

  it('retry: back to pending, available after a backoff within base · 2^(attempt-1), with the error kept', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: null });
    const w = worker([{ kind: 'retry', error: 'partner down' }]);
    await w.called();
    await w.stop();
    const job = (await queue.get('a'))!;
    expect(job).toMatchObject({ state: 'pending', attempts: 1, lastError: 'partner down' });
    expect(job.availableAt).toBeGreaterThanOrEqual(clock);
    expect(job.availableAt).toBeLessThanOrEqual(clock + 1_000);
  });

  it('retry with its own delay; not taken before that time, taken again after it', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: null });
    const w = worker([{ kind: 'retry', error: 'busy', delayMs: 60_000 }, { kind: 'done' }]);
    await w.called();
    await w.stop();
    expect((await queue.get('a'))?.availableAt).toBe(clock + 60_000);
    // Not due yet: a reservation finds nothing.
    expect(await queue.reserve({ leaseMs: 1000 })).toBeNull();
    clock += 60_000;
    const again = worker([{ kind: 'done' }]);
    expect((await again.called()).attempts).toBe(2);
    await again.stop();
    expect((await queue.get('a'))?.state).toBe('done');
  });

  it('a handler that throws is a retry with its message', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: null });
    const w = worker([new Error('socket hang up')]);
    await w.called();
    await w.stop();
    expect(await queue.get('a')).toMatchObject({ state: 'pending', lastError: 'socket hang up' });
  });

  it('dead: refused for good at once, onDead told', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: null, maxAttempts: 10 });
    const dead = deferred<[Job, string]>();
    const w = worker([{ kind: 'dead', error: 'refused by the partner' }], { onDead: async (job, error) => dead.resolve([job, error]) });
    const [job, error] = await dead.promise;
    expect(job.id).toBe('a');
    expect(error).toBe('refused by the partner');
    await w.stop();
    expect(await queue.get('a')).toMatchObject({ state: 'dead', attempts: 1, lastError: 'refused by the partner' });
  });

  it('out of attempts: the last retry goes dead, onDead told', async () => {
    const queue = setup();
    await queue.enqueue({ id: 'a', payload: null, maxAttempts: 2 });
    const dead = deferred<string>();
    const w = worker(
      [
        { kind: 'retry', error: 'first', delayMs: 0 },
        { kind: 'retry', error: 'second', delayMs: 0 },
      ],
      { onDead: async (_job, error) => dead.resolve(error) },
    );
    expect(await dead.promise).toBe('second');
    await w.stop();
    expect(w.calls.map((j) => j.attempts)).toEqual([1, 2]);
    expect(await queue.get('a')).toMatchObject({ state: 'dead', attempts: 2, lastError: 'second' });
  });

  it('concurrency: several jobs in hand at once; stop waits for them', async () => {
    const queue = setup();
    for (const id of ['a', 'b', 'c']) await queue.enqueue({ id, payload: null });
    const inHand = new Set<string>();
    let most = 0;
    const release = deferred();
    const all = deferred();
    const w = startQueueWorker({
      store,
      queue: Q,
      logger,
      idleMs: 5,
      now: () => clock,
      concurrency: 3,
      async handle(job) {
        inHand.add(job.id);
        most = Math.max(most, inHand.size);
        if (inHand.size === 3) all.resolve();
        await release.promise;
        inHand.delete(job.id);
        return { kind: 'done' };
      },
    });
    await all.promise;
    expect(most).toBe(3);
    let stopped = false;
    const stopping = w.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    expect(stopped).toBe(false);
    release.resolve();
    await stopping;
    expect((await queue.stats()).done).toBe(3);
  });
});

describe('backoffDelay', () => {
  it('full jitter under a ceiling that doubles per attempt up to the cap', () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 10].map((a) => backoffDelay(a, 1_000, 8_000, top))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    expect(backoffDelay(0, 1_000, 8_000, top)).toBe(1_000);
    expect(backoffDelay(3, 1_000, 8_000, () => 0)).toBe(0);
    expect(backoffDelay(3, 1_000, 8_000, () => 0.25)).toBe(1_000);
    for (let i = 0; i < 100; i++) expect(backoffDelay(2, 1_000, 8_000)).toBeLessThanOrEqual(2_000);
  });
});
