/**
 * The one behaviour contract of `Store`, run against every implementation
 * (memory.test.ts, redis.test.ts). Time only moves through the fake clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Job, JsonValue, Queue, Store, StoreOptions, WriteBatch } from '../../src/store/types.js';
import type { FakeClock } from './fake-clock.js';

export interface StoreFixture {
  store: Store;
  clock: FakeClock;
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty store on a fake clock; `options` override the defaults. */
export type MakeStore = (options?: Partial<Omit<StoreOptions, 'clock'>>) => Promise<StoreFixture>;

const LEASE = { leaseMs: 1000 };

export function storeContract(name: string, makeStore: MakeStore): void {
  describe(`${name} store contract`, () => {
    let store: Store;
    let clock: FakeClock;
    const fixtures: StoreFixture[] = [];

    /** Extra stores made inside a test are cleaned up with the main one. */
    async function another(options?: Partial<Omit<StoreOptions, 'clock'>>): Promise<StoreFixture> {
      const fixture = await makeStore(options);
      fixtures.push(fixture);
      return fixture;
    }

    beforeEach(async () => {
      const fixture = await another();
      store = fixture.store;
      clock = fixture.clock;
    });

    afterEach(async () => {
      for (const fixture of fixtures.splice(0)) await fixture.cleanup();
    });

    async function reserveOrThrow(q: Queue, leaseMs = LEASE.leaseMs): Promise<Job> {
      const job = await q.reserve({ leaseMs });
      if (!job) throw new Error('expected a job to reserve');
      return job;
    }

    async function reserveAll(q: Queue): Promise<string[]> {
      const ids: string[] = [];
      for (let job = await q.reserve(LEASE); job; job = await q.reserve(LEASE)) ids.push(job.id);
      return ids;
    }

    describe('basics', () => {
      it('has a kind and answers ping and info', async () => {
        expect(['memory', 'redis']).toContain(store.kind);
        await store.ping();
        const info = await store.info();
        expect(info.kind).toBe(store.kind);
        expect(typeof info.durable).toBe('boolean');
        expect(info.detail.length).toBeGreaterThan(0);
      });
    });

    describe('sequences', () => {
      it('counts 1, 2, 3 per name, without duplicates under concurrency', async () => {
        expect(await store.nextSequence('regno.a.2026')).toBe(1);
        expect(await store.nextSequence('regno.a.2026')).toBe(2);
        expect(await store.nextSequence('regno.b.2026')).toBe(1);
        const values = await Promise.all(Array.from({ length: 50 }, () => store.nextSequence('regno.a.2026')));
        expect(new Set(values).size).toBe(50);
        expect(Math.min(...values)).toBe(3);
        expect(Math.max(...values)).toBe(52);
        await expect(store.nextSequence('bad name!')).rejects.toThrow();
      });
    });

    describe('documents', () => {
      it('returns null for a missing document', async () => {
        expect(await store.getDoc('apps', 'nope')).toBeNull();
      });

      it('puts, gets and overwrites documents', async () => {
        const value = { name: 'A', n: 1, nested: { list: [1, 'two', null, true] } };
        await store.commit({ docs: [{ collection: 'apps', id: 'a1', value }] });
        expect(await store.getDoc('apps', 'a1')).toEqual(value);
        await store.commit({ docs: [{ collection: 'apps', id: 'a1', value: { name: 'B' } }] });
        expect(await store.getDoc('apps', 'a1')).toEqual({ name: 'B' });
        // Same id in another collection is another document.
        expect(await store.getDoc('inbox', 'a1')).toBeNull();
      });

      it('stores ids with separators and non-object values', async () => {
        await store.commit({
          docs: [
            { collection: 'blobs', id: 'env:1/2 3', value: 'raw <xml/>' },
            { collection: 'blobs', id: 'n', value: 42 },
            { collection: 'blobs', id: 'arr', value: [] },
            { collection: 'blobs', id: 'nil', value: null },
          ],
        });
        expect(await store.getDoc('blobs', 'env:1/2 3')).toBe('raw <xml/>');
        expect(await store.getDoc('blobs', 'n')).toBe(42);
        expect(await store.getDoc('blobs', 'arr')).toEqual([]);
        // A stored null reads back as null, the same as absent.
        expect(await store.getDoc('blobs', 'nil')).toBeNull();
      });

      it('ifAbsent writes only new documents and the rest of the batch still applies', async () => {
        await store.commit({ docs: [{ collection: 'apps', id: 'a1', value: { v: 1 } }] });
        const result = await store.commit({
          docs: [
            { collection: 'apps', id: 'a1', value: { v: 2 }, ifAbsent: true },
            { collection: 'apps', id: 'a2', value: { v: 3 }, ifAbsent: true },
            { collection: 'apps', id: 'a3', value: { v: 4 } },
          ],
        });
        expect(result).toEqual({ applied: true, seqs: [] });
        expect(await store.getDoc('apps', 'a1')).toEqual({ v: 1 });
        expect(await store.getDoc('apps', 'a2')).toEqual({ v: 3 });
        expect(await store.getDoc('apps', 'a3')).toEqual({ v: 4 });
      });

      it('deletes documents in a batch, after its writes, atomically with the rest', async () => {
        await store.commit({
          docs: [
            { collection: 'apps', id: 'a1', value: 1 },
            { collection: 'apps', id: 'a2', value: 2 },
            { collection: 'other', id: 'a1', value: 3 },
          ],
        });
        const result = await store.commit({
          docs: [
            { collection: 'apps', id: 'a3', value: 4 },
            { collection: 'apps', id: 'a4', value: 5 },
          ],
          deletes: [
            { collection: 'apps', id: 'a1' },
            { collection: 'apps', id: 'a4' },
            { collection: 'apps', id: 'never-existed' },
          ],
          feeds: [{ feed: 'journal', id: 'x' }],
        });
        expect(result).toEqual({ applied: true, seqs: [1] });
        expect(await store.getDoc('apps', 'a1')).toBeNull();
        expect(await store.getDoc('apps', 'a2')).toBe(2);
        expect(await store.getDoc('apps', 'a3')).toBe(4);
        // Written and deleted in one batch: deleted.
        expect(await store.getDoc('apps', 'a4')).toBeNull();
        // Same id in another collection stays.
        expect(await store.getDoc('other', 'a1')).toBe(3);
      });

      it('a duplicate (idempotency) batch deletes nothing; a bad delete rejects the whole batch', async () => {
        await store.commit({ docs: [{ collection: 'apps', id: 'keep', value: 1 }] });
        const record = { digest: 'd', result: null, createdAt: clock.now() };
        await store.commit({ idempotency: { key: 'k', record } });
        const again = await store.commit({ idempotency: { key: 'k', record }, deletes: [{ collection: 'apps', id: 'keep' }] });
        expect(again.applied).toBe(false);
        expect(await store.getDoc('apps', 'keep')).toBe(1);
        await expect(
          store.commit({ docs: [{ collection: 'apps', id: 'new', value: 1 }], deletes: [{ collection: 'apps', id: 'keep' }, { collection: 'bad:name', id: 'x' }] }),
        ).rejects.toThrow(/collection/);
        await expect(store.commit({ deletes: [{ collection: 'apps', id: '' }] })).rejects.toThrow(/document id/);
        expect(await store.getDoc('apps', 'keep')).toBe(1);
        expect(await store.getDoc('apps', 'new')).toBeNull();
      });

      it('copies values in and out', async () => {
        const value = { list: [1, 2], inner: { x: 'a' } };
        await store.commit({ docs: [{ collection: 'apps', id: 'c', value }] });
        value.list.push(3);
        value.inner.x = 'changed';
        const read = await store.getDoc<{ list: number[]; inner: { x: string } }>('apps', 'c');
        expect(read).toEqual({ list: [1, 2], inner: { x: 'a' } });
        read?.list.push(99);
        expect(await store.getDoc('apps', 'c')).toEqual({ list: [1, 2], inner: { x: 'a' } });
      });

      it('rejects invalid names and values without writing anything', async () => {
        await expect(store.commit({ docs: [{ collection: 'a:b', id: 'x', value: 1 }] })).rejects.toThrow(/collection/);
        await expect(
          store.commit({
            docs: [
              { collection: 'apps', id: 'ok', value: 1 },
              { collection: 'apps', id: 'bad', value: undefined as unknown as JsonValue },
            ],
          }),
        ).rejects.toThrow(/JSON/);
        await expect(
          store.commit({
            docs: [{ collection: 'apps', id: 'ok2', value: 1 }],
            feeds: [{ feed: 'inbox', id: 'ok2' }],
            jobs: [{ queue: 'bad queue', id: 'j', payload: null }],
          }),
        ).rejects.toThrow(/queue/);
        expect(await store.getDoc('apps', 'ok')).toBeNull();
        expect(await store.getDoc('apps', 'ok2')).toBeNull();
        expect(await store.readFeed('inbox', 0, 10)).toEqual([]);
      });
    });

    describe('blobs', () => {
      /** Bytes that are not UTF-8, a NUL, and every byte value. */
      const binary = Buffer.concat([Buffer.from([0x00, 0xff, 0xfe, 0x1f, 0x01, 0x80]), Buffer.from(Array.from({ length: 256 }, (_, i) => i))]);
      /** Large enough to be compressed and inflated on the thread pool in Redis (redis-value.ts OFF_THREAD_FROM). */
      const large = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `<v n="${(i * 2654435761) % 1000003}">текст</v>`).join(''), 'utf8');

      it('keeps bytes exactly: binary, empty, UTF-8, large', async () => {
        await store.commit({
          blobs: [
            { collection: 'evidence', id: 'bin', bytes: binary },
            { collection: 'evidence', id: 'empty', bytes: Buffer.alloc(0) },
            { collection: 'evidence', id: 'text', bytes: Buffer.from('<a>привет</a>', 'utf8') },
            { collection: 'evidence', id: 'large', bytes: new Uint8Array(large) },
          ],
        });
        expect((await store.getBlob('evidence', 'bin'))!.equals(binary)).toBe(true);
        expect((await store.getBlob('evidence', 'empty'))!.length).toBe(0);
        expect((await store.getBlob('evidence', 'text'))!.toString('utf8')).toBe('<a>привет</a>');
        expect((await store.getBlob('evidence', 'large'))!.equals(large)).toBe(true);
        expect(await store.getBlob('evidence', 'missing')).toBeNull();
      });

      it('a blob and a document of one collection and id are two things; deletes name which', async () => {
        await store.commit({ docs: [{ collection: 'evidence', id: 'x', value: { doc: true } }], blobs: [{ collection: 'evidence', id: 'x', bytes: Buffer.from('blob') }] });
        expect(await store.getDoc('evidence', 'x')).toEqual({ doc: true });
        expect((await store.getBlob('evidence', 'x'))!.toString()).toBe('blob');
        await store.commit({ deletes: [{ collection: 'evidence', id: 'x', blob: true }] });
        expect(await store.getBlob('evidence', 'x')).toBeNull();
        expect(await store.getDoc('evidence', 'x')).toEqual({ doc: true });
        await store.commit({ blobs: [{ collection: 'evidence', id: 'y', bytes: Buffer.from('b') }], deletes: [{ collection: 'evidence', id: 'x' }] });
        expect(await store.getDoc('evidence', 'x')).toBeNull();
        expect((await store.getBlob('evidence', 'y'))!.toString()).toBe('b');
      });

      it('ifAbsent keeps the first blob; a duplicate batch writes none; copies in and out', async () => {
        const mine = Buffer.from('first');
        await store.commit({ idempotency: { key: 'm1', record: { digest: 'd', result: null, createdAt: 1 } }, blobs: [{ collection: 'evidence', id: 'a', bytes: mine, ifAbsent: true }] });
        mine.write('XXXXX');
        await store.commit({ blobs: [{ collection: 'evidence', id: 'a', bytes: Buffer.from('second'), ifAbsent: true }] });
        const dup = await store.commit({ idempotency: { key: 'm1', record: { digest: 'd', result: null, createdAt: 2 } }, blobs: [{ collection: 'evidence', id: 'b', bytes: Buffer.from('dup') }] });
        expect(dup.applied).toBe(false);
        expect(await store.getBlob('evidence', 'b')).toBeNull();
        const read = (await store.getBlob('evidence', 'a'))!;
        expect(read.toString()).toBe('first');
        read.write('YYYYY');
        expect((await store.getBlob('evidence', 'a'))!.toString()).toBe('first');
      });

      it('rejects bad names, ids and bytes without writing anything', async () => {
        await expect(store.commit({ docs: [{ collection: 'apps', id: 'ok', value: 1 }], blobs: [{ collection: 'bad:name', id: 'x', bytes: Buffer.from('a') }] })).rejects.toThrow(/collection/);
        await expect(store.commit({ blobs: [{ collection: 'evidence', id: '', bytes: Buffer.from('a') }] })).rejects.toThrow(/blob id/);
        await expect(store.commit({ blobs: [{ collection: 'evidence', id: 'x', bytes: 'text' as unknown as Buffer }] })).rejects.toThrow(/bytes/);
        await expect(store.getBlob('bad:name', 'x')).rejects.toThrow(/collection/);
        expect(await store.getDoc('apps', 'ok')).toBeNull();
      });

      it('large documents and idempotency records read back as written', async () => {
        const value = { text: 'строка '.repeat(3000), list: Array.from({ length: 500 }, (_, i) => ({ i, name: `n${i}` })) };
        const record = { digest: 'd', result: { reply: '<reply>'.repeat(2000) }, createdAt: 5 };
        await store.commit({ idempotency: { key: 'big', record }, docs: [{ collection: 'apps', id: 'big', value }] });
        expect(await store.getDoc('apps', 'big')).toEqual(value);
        expect(await store.getIdempotency('big')).toEqual(record);
        const dup = await store.commit({ idempotency: { key: 'big', record: { ...record, createdAt: 6 } } });
        expect(dup).toEqual({ applied: false, existing: record });
      });
    });

    describe('commit and idempotency', () => {
      function acceptBatch(messageId: string, digest: string, n: number): WriteBatch {
        return {
          idempotency: { key: messageId, record: { digest, result: { reply: `ack-${n}` }, createdAt: clock.now() } },
          docs: [
            { collection: 'inbox', id: `m-${n}`, value: { n } },
            { collection: 'apps', id: 'shared', value: { by: n } },
          ],
          feeds: [
            { feed: 'inbox', id: `m-${n}` },
            { feed: 'journal', id: `m-${n}` },
          ],
          jobs: [{ queue: 'deliveries', id: `d-${n}`, payload: { n } }],
        };
      }

      it('applies a batch once and records the idempotency key', async () => {
        expect(await store.getIdempotency('msg-1')).toBeNull();
        const first = await store.commit(acceptBatch('msg-1', 'digest-1', 1));
        expect(first).toEqual({ applied: true, seqs: [1, 1] });
        expect(await store.getIdempotency('msg-1')).toEqual({
          digest: 'digest-1',
          result: { reply: 'ack-1' },
          createdAt: clock.now(),
        });
        expect(await store.getDoc('inbox', 'm-1')).toEqual({ n: 1 });
        expect(await store.readFeed('inbox', 0, 10)).toEqual([{ seq: 1, id: 'm-1' }]);
        expect(await store.readFeed('journal', 0, 10)).toEqual([{ seq: 1, id: 'm-1' }]);
        expect((await store.queue('deliveries').get('d-1'))?.state).toBe('pending');
      });

      it('a second commit with the same key returns the first record and writes nothing', async () => {
        const createdAt = clock.now();
        await store.commit(acceptBatch('msg-1', 'digest-1', 1));
        clock.advance(5000);
        const second = await store.commit(acceptBatch('msg-1', 'digest-OTHER', 2));
        expect(second).toEqual({
          applied: false,
          existing: { digest: 'digest-1', result: { reply: 'ack-1' }, createdAt },
        });
        expect(await store.getIdempotency('msg-1')).toMatchObject({ digest: 'digest-1' });
        // docs: neither the new one nor the overwrite
        expect(await store.getDoc('inbox', 'm-2')).toBeNull();
        expect(await store.getDoc('apps', 'shared')).toEqual({ by: 1 });
        // feeds: no entries and no sequence numbers consumed
        expect(await store.readFeed('inbox', 0, 10)).toEqual([{ seq: 1, id: 'm-1' }]);
        expect(await store.readFeed('journal', 0, 10)).toEqual([{ seq: 1, id: 'm-1' }]);
        // jobs: not enqueued
        const q = store.queue('deliveries');
        expect(await q.get('d-2')).toBeNull();
        expect((await q.stats()).pending).toBe(1);
        // The next accepted message continues the sequences without a gap.
        const third = await store.commit(acceptBatch('msg-3', 'digest-3', 3));
        expect(third).toEqual({ applied: true, seqs: [2, 2] });
      });

      it('the same key with the same content is still only applied once', async () => {
        await store.commit(acceptBatch('msg-1', 'd', 1));
        const again = await store.commit(acceptBatch('msg-1', 'd', 1));
        expect(again.applied).toBe(false);
        expect(await store.readFeed('inbox', 0, 10)).toHaveLength(1);
        expect((await store.queue('deliveries').stats()).pending).toBe(1);
      });

      it('concurrent commits with one key: exactly one applies', async () => {
        const results = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.commit(acceptBatch('msg-race', `d${i}`, i))),
        );
        const applied = results.filter((r) => r.applied);
        expect(applied).toHaveLength(1);
        expect(await store.readFeed('inbox', 0, 100)).toHaveLength(1);
        expect((await store.queue('deliveries').stats()).pending).toBe(1);
        const winner = await store.getIdempotency('msg-race');
        for (const r of results) if (!r.applied) expect(r.existing).toEqual(winner);
      });

      it('commits without an idempotency key always apply', async () => {
        expect(await store.commit({})).toEqual({ applied: true, seqs: [] });
        expect(await store.commit({ feeds: [{ feed: 'journal', id: 'x' }] })).toEqual({ applied: true, seqs: [1] });
        expect(await store.commit({ feeds: [{ feed: 'journal', id: 'x' }] })).toEqual({ applied: true, seqs: [2] });
      });

      it('enqueues jobs of a batch like enqueue does (existing id is a no-op)', async () => {
        const q = store.queue('deliveries');
        await q.enqueue({ id: 'd-1', payload: { original: true } });
        await store.commit({
          jobs: [
            { queue: 'deliveries', id: 'd-1', payload: { original: false } },
            { queue: 'deliveries', id: 'd-2', payload: 2, group: 'app-1', availableAt: clock.now() + 10, maxAttempts: 3 },
            { queue: 'deliveries', id: 'd-3', payload: 3, group: 'app-1' },
            { queue: 'other', id: 'd-1', payload: 'other queue' },
          ],
        });
        expect((await q.get('d-1'))?.payload).toEqual({ original: true });
        expect(await q.get('d-2')).toMatchObject({
          state: 'pending',
          group: 'app-1',
          maxAttempts: 3,
          availableAt: clock.now() + 10,
        });
        expect((await q.get('d-3'))?.state).toBe('waiting');
        expect((await store.queue('other').get('d-1'))?.payload).toBe('other queue');
      });
    });

    describe('feeds', () => {
      it('assigns monotonic sequences per feed, consecutive within a batch', async () => {
        const a = await store.commit({ feeds: [{ feed: 'inbox', id: 'a' }, { feed: 'inbox', id: 'b' }] });
        const b = await store.commit({ feeds: [{ feed: 'journal', id: 'j' }, { feed: 'inbox', id: 'c' }] });
        expect(a).toEqual({ applied: true, seqs: [1, 2] });
        expect(b).toEqual({ applied: true, seqs: [1, 3] });
      });

      it('pages forward by cursor and limit', async () => {
        for (const id of ['a', 'b', 'c', 'd', 'e']) await store.commit({ feeds: [{ feed: 'inbox', id }] });
        expect(await store.readFeed('inbox', 0, 2)).toEqual([
          { seq: 1, id: 'a' },
          { seq: 2, id: 'b' },
        ]);
        expect(await store.readFeed('inbox', 2, 2)).toEqual([
          { seq: 3, id: 'c' },
          { seq: 4, id: 'd' },
        ]);
        expect(await store.readFeed('inbox', 4, 10)).toEqual([{ seq: 5, id: 'e' }]);
        expect(await store.readFeed('inbox', 5, 10)).toEqual([]);
        expect(await store.readFeed('inbox', 0, 0)).toEqual([]);
        expect(await store.readFeed('empty', 0, 10)).toEqual([]);
      });

      it('pages backwards (newest first) from a cursor or from the end', async () => {
        for (const id of ['a', 'b', 'c', 'd', 'e']) await store.commit({ feeds: [{ feed: 'inbox', id }] });
        expect(await store.readFeedBackwards('inbox', Number.POSITIVE_INFINITY, 2)).toEqual([
          { seq: 5, id: 'e' },
          { seq: 4, id: 'd' },
        ]);
        expect(await store.readFeedBackwards('inbox', 4, 2)).toEqual([
          { seq: 3, id: 'c' },
          { seq: 2, id: 'b' },
        ]);
        expect(await store.readFeedBackwards('inbox', 2, 10)).toEqual([{ seq: 1, id: 'a' }]);
        expect(await store.readFeedBackwards('inbox', 1, 10)).toEqual([]);
        expect(await store.readFeedBackwards('empty', Number.POSITIVE_INFINITY, 10)).toEqual([]);
      });

      it('trims entries up to a seq; the sequence goes on without reuse', async () => {
        for (const id of ['a', 'b', 'c', 'd', 'e']) await store.commit({ feeds: [{ feed: 'journal', id }] });
        await store.commit({ feeds: [{ feed: 'inbox', id: 'other' }] });
        expect(await store.trimFeed('journal', 3)).toBe(3);
        expect(await store.readFeed('journal', 0, 10)).toEqual([
          { seq: 4, id: 'd' },
          { seq: 5, id: 'e' },
        ]);
        expect(await store.readFeedBackwards('journal', Number.POSITIVE_INFINITY, 10)).toEqual([
          { seq: 5, id: 'e' },
          { seq: 4, id: 'd' },
        ]);
        // Trimming again, or below what is left, removes nothing; other feeds are untouched.
        expect(await store.trimFeed('journal', 3)).toBe(0);
        expect(await store.trimFeed('journal', 0)).toBe(0);
        expect(await store.trimFeed('empty', 10)).toBe(0);
        expect(await store.readFeed('inbox', 0, 10)).toEqual([{ seq: 1, id: 'other' }]);
        expect(await store.commit({ feeds: [{ feed: 'journal', id: 'f' }] })).toEqual({ applied: true, seqs: [6] });
        // Everything, even past the end.
        expect(await store.trimFeed('journal', Number.POSITIVE_INFINITY)).toBe(3);
        expect(await store.readFeed('journal', 0, 10)).toEqual([]);
        expect(await store.commit({ feeds: [{ feed: 'journal', id: 'g' }] })).toEqual({ applied: true, seqs: [7] });
      });

      it('rejects a bad feed name or cursor for trimFeed', async () => {
        await expect(store.trimFeed('a:b', 1)).rejects.toThrow(/feed/);
        await expect(store.trimFeed('journal', Number.NaN)).rejects.toThrow(/uptoSeq/);
      });

      it('atLeastNow: the seq is at least the clock (ms), still above the last one, and never reused', async () => {
        const t = clock.now();
        await store.commit({ feeds: [{ feed: 'inbox', id: 'a' }, { feed: 'inbox', id: 'b', atLeastNow: true }, { feed: 'inbox', id: 'c', atLeastNow: true }] });
        const [a, b, c] = await store.readFeed('inbox', 0, 10);
        expect(a!.seq).toBe(1);
        expect(b!.seq).toBe(Math.floor(t));
        expect(c!.seq).toBe(Math.floor(t) + 1);
        clock.advance(5_000);
        await store.commit({ feeds: [{ feed: 'inbox', id: 'd' }, { feed: 'inbox', id: 'e', atLeastNow: true }] });
        const later = await store.readFeed('inbox', c!.seq, 10);
        expect(later).toEqual([
          { seq: Math.floor(t) + 2, id: 'd' },
          { seq: Math.floor(t) + 5_000, id: 'e' },
        ]);
      });

      it('keeps repeated appends of one id as separate entries', async () => {
        await store.commit({ feeds: [{ feed: 'journal', id: 'same' }, { feed: 'journal', id: 'same' }] });
        expect(await store.readFeed('journal', 0, 10)).toEqual([
          { seq: 1, id: 'same' },
          { seq: 2, id: 'same' },
        ]);
      });
    });

    describe('queues', () => {
      it('enqueues with defaults', async () => {
        const q = store.queue('jobs');
        expect(q.name).toBe('jobs');
        const job = await q.enqueue({ id: 'j1', payload: { to: 'x' } });
        expect(job).toEqual({
          queue: 'jobs',
          id: 'j1',
          payload: { to: 'x' },
          state: 'pending',
          group: null,
          attempts: 0,
          maxAttempts: 10,
          availableAt: clock.now(),
          leaseUntil: null,
          leaseToken: null,
          lastError: null,
          createdAt: clock.now(),
          updatedAt: clock.now(),
        });
        expect(await q.get('j1')).toEqual(job);
        expect(await q.get('missing')).toBeNull();
      });

      it('uses the configured default attempt limit', async () => {
        const { store: s } = await another({ defaultMaxAttempts: 3 });
        expect((await s.queue('jobs').enqueue({ id: 'j', payload: null })).maxAttempts).toBe(3);
      });

      it('enqueue is idempotent by id', async () => {
        const q = store.queue('jobs');
        const first = await q.enqueue({ id: 'j1', payload: 'first' });
        clock.advance(100);
        const second = await q.enqueue({ id: 'j1', payload: 'second', availableAt: clock.now() + 999 });
        expect(second).toEqual(first);
        expect(await q.stats()).toMatchObject({ pending: 1, waiting: 0 });
        // Also while in flight: no second copy appears.
        const leased = await reserveOrThrow(q);
        expect((await q.enqueue({ id: 'j1', payload: 'third' })).state).toBe('inflight');
        expect(await q.reserve(LEASE)).toBeNull();
        expect(await q.ack('j1', leased.leaseToken ?? '')).toBe(true);
      });

      it('reserves the earliest due job, only when it is due', async () => {
        const q = store.queue('jobs');
        const t0 = clock.now();
        await q.enqueue({ id: 'late', payload: null, availableAt: t0 + 2000 });
        await q.enqueue({ id: 'soon', payload: null, availableAt: t0 + 1000 });
        await q.enqueue({ id: 'now', payload: null });
        const long = 60_000; // leases outlive the test's clock moves
        expect((await reserveOrThrow(q, long)).id).toBe('now');
        expect(await q.reserve({ leaseMs: long })).toBeNull();
        clock.advance(999);
        expect(await q.reserve({ leaseMs: long })).toBeNull();
        clock.advance(1);
        expect((await reserveOrThrow(q, long)).id).toBe('soon');
        clock.advance(5000);
        expect((await reserveOrThrow(q, long)).id).toBe('late');
        expect(await q.reserve({ leaseMs: long })).toBeNull();
      });

      it('hands out jobs due at the same time in enqueue order', async () => {
        const q = store.queue('jobs');
        for (const id of ['z', 'a', 'm', 'b']) await q.enqueue({ id, payload: null });
        expect(await reserveAll(q)).toEqual(['z', 'a', 'm', 'b']);
      });

      it('leases with a token, counts attempts and sets leaseUntil', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: { a: 1 } });
        clock.advance(10);
        const job = await reserveOrThrow(q, 30_000);
        expect(job).toMatchObject({
          id: 'j',
          state: 'inflight',
          attempts: 1,
          leaseUntil: clock.now() + 30_000,
          updatedAt: clock.now(),
          payload: { a: 1 },
        });
        expect(typeof job.leaseToken).toBe('string');
        expect(await q.get('j')).toEqual(job);
        expect(await q.list('inflight', 10)).toEqual([job]);
      });

      it('ack finishes the job', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const job = await reserveOrThrow(q);
        clock.advance(5);
        expect(await q.ack('j', job.leaseToken ?? '')).toBe(true);
        expect(await q.get('j')).toMatchObject({ state: 'done', leaseToken: null, leaseUntil: null, updatedAt: clock.now() });
        expect(await q.ack('j', job.leaseToken ?? '')).toBe(false);
        expect(await q.reserve(LEASE)).toBeNull();
        expect((await q.list('done', 10)).map((j) => j.id)).toEqual(['j']);
      });

      it('an expired lease hands the job out again with a new token; the stale holder loses', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const first = await reserveOrThrow(q, 1000);
        clock.advance(999);
        expect(await q.reserve(LEASE)).toBeNull();
        clock.advance(1);
        const second = await reserveOrThrow(q, 1000);
        expect(second.id).toBe('j');
        expect(second.attempts).toBe(2);
        expect(second.lastError).toBe('lease expired');
        expect(second.leaseToken).not.toBe(first.leaseToken);
        const stale = first.leaseToken ?? '';
        expect(await q.ack('j', stale)).toBe(false);
        expect(await q.retry('j', stale, clock.now(), 'x')).toBeNull();
        expect(await q.fail('j', stale, 'x')).toBe(false);
        expect(await q.extend('j', stale, 1000)).toBe(false);
        expect((await q.get('j'))?.leaseToken).toBe(second.leaseToken);
        expect(await q.ack('j', second.leaseToken ?? '')).toBe(true);
      });

      it('extend keeps a lease alive', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const job = await reserveOrThrow(q, 1000);
        clock.advance(900);
        expect(await q.extend('j', job.leaseToken ?? '', 1000)).toBe(true);
        expect((await q.get('j'))?.leaseUntil).toBe(clock.now() + 1000);
        clock.advance(900);
        expect(await q.reserve(LEASE)).toBeNull();
        expect(await q.ack('j', job.leaseToken ?? '')).toBe(true);
      });

      it('retry schedules another attempt for later', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const job = await reserveOrThrow(q);
        const at = clock.now() + 5000;
        expect(await q.retry('j', job.leaseToken ?? '', at, 'HTTP 503')).toBe('pending');
        expect(await q.get('j')).toMatchObject({ state: 'pending', availableAt: at, lastError: 'HTTP 503', leaseToken: null });
        expect(await q.reserve(LEASE)).toBeNull();
        clock.advance(5000);
        const again = await reserveOrThrow(q);
        expect(again).toMatchObject({ id: 'j', attempts: 2, lastError: 'HTTP 503' });
      });

      it('goes dead when retries use up maxAttempts', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null, maxAttempts: 2 });
        let job = await reserveOrThrow(q);
        expect(await q.retry('j', job.leaseToken ?? '', clock.now(), 'e1')).toBe('pending');
        job = await reserveOrThrow(q);
        expect(await q.retry('j', job.leaseToken ?? '', clock.now(), 'e2')).toBe('dead');
        expect(await q.get('j')).toMatchObject({ state: 'dead', attempts: 2, lastError: 'e2', leaseToken: null });
        expect(await q.reserve(LEASE)).toBeNull();
        expect((await q.list('dead', 10)).map((j) => j.id)).toEqual(['j']);
      });

      it('goes dead when the lease expires on the last attempt', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null, maxAttempts: 1 });
        await reserveOrThrow(q, 1000);
        clock.advance(1000);
        expect(await q.reserve(LEASE)).toBeNull();
        expect(await q.get('j')).toMatchObject({ state: 'dead', lastError: 'lease expired', attempts: 1 });
      });

      it('fail sends a job dead at once', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const job = await reserveOrThrow(q);
        expect(await q.fail('j', job.leaseToken ?? '', 'schema error')).toBe(true);
        expect(await q.get('j')).toMatchObject({ state: 'dead', lastError: 'schema error', attempts: 1 });
        expect(await q.fail('j', job.leaseToken ?? '', 'again')).toBe(false);
      });

      it('replay puts a dead job back with attempts reset', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: { p: 1 }, maxAttempts: 1 });
        const job = await reserveOrThrow(q);
        await q.fail('j', job.leaseToken ?? '', 'boom');
        clock.advance(60_000);
        expect(await q.replay('j')).toBe(true);
        expect(await q.get('j')).toMatchObject({ state: 'pending', attempts: 0, availableAt: clock.now() });
        expect(await q.replay('j')).toBe(false);
        const again = await reserveOrThrow(q);
        expect(again).toMatchObject({ id: 'j', attempts: 1, payload: { p: 1 } });
        expect(await q.ack('j', again.leaseToken ?? '')).toBe(true);
        expect(await q.replay('j')).toBe(false);
        expect(await q.replay('missing')).toBe(false);
      });

      it('discard removes a dead job or a pending one (stuck before its next attempt), never one in flight or waiting behind its group', async () => {
        const q = store.queue('jobs');
        await q.enqueue({ id: 'j', payload: null });
        const job = await reserveOrThrow(q);
        expect(await q.discard('j')).toBe(false);
        await q.fail('j', job.leaseToken ?? '', 'x');
        expect(await q.discard('j')).toBe(true);
        expect(await q.get('j')).toBeNull();
        expect(await q.stats()).toMatchObject({ dead: 0, pending: 0, inflight: 0 });
        expect(await q.discard('j')).toBe(false);

        await q.enqueue({ id: 's1', payload: null, group: 'g' });
        await q.enqueue({ id: 's2', payload: null, group: 'g' });
        expect(await q.discard('s2')).toBe(false);
        const s1 = await reserveOrThrow(q);
        expect(await q.retry('s1', s1.leaseToken ?? '', clock.now() + 60_000, 'HTTP 503')).toBe('pending');
        expect(await q.discard('s1')).toBe(true);
        expect(await q.get('s1')).toBeNull();
        // Its group goes on: the next job is pending now.
        expect(await q.get('s2')).toMatchObject({ state: 'pending' });
        expect(await q.stats()).toMatchObject({ waiting: 0, pending: 1, inflight: 0, dead: 0 });
      });

      it('keeps queues apart', async () => {
        await store.queue('a').enqueue({ id: 'j', payload: 'a' });
        await store.queue('b').enqueue({ id: 'j', payload: 'b' });
        expect((await reserveOrThrow(store.queue('b'))).payload).toBe('b');
        expect((await store.queue('a').get('j'))?.state).toBe('pending');
      });

      it('lists by state with a limit, in index order', async () => {
        const q = store.queue('jobs');
        const t0 = clock.now();
        await q.enqueue({ id: 'p3', payload: null, availableAt: t0 + 3 });
        await q.enqueue({ id: 'p1', payload: null, availableAt: t0 + 1 });
        await q.enqueue({ id: 'p2', payload: null, availableAt: t0 + 2 });
        expect((await q.list('pending', 10)).map((j) => j.id)).toEqual(['p1', 'p2', 'p3']);
        expect((await q.list('pending', 2)).map((j) => j.id)).toEqual(['p1', 'p2']);
        expect(await q.list('pending', 0)).toEqual([]);
        clock.advance(10);
        for (let i = 0; i < 3; i++) {
          const job = await reserveOrThrow(q);
          clock.advance(1);
          await q.ack(job.id, job.leaseToken ?? '');
        }
        // done: newest first
        expect((await q.list('done', 10)).map((j) => j.id)).toEqual(['p3', 'p2', 'p1']);
        await expect(q.list('waiting' as 'done', 10)).rejects.toThrow(/state/);
      });

      it('counts states, due jobs and the oldest open job', async () => {
        const q = store.queue('jobs');
        expect(await q.stats()).toEqual({
          waiting: 0,
          pending: 0,
          due: 0,
          inflight: 0,
          done: 0,
          dead: 0,
          oldestOpenCreatedAt: null,
        });
        const t0 = clock.now();
        await q.enqueue({ id: 'a', payload: null });
        clock.advance(10);
        await q.enqueue({ id: 'b', payload: null, availableAt: clock.now() + 10_000 });
        await q.enqueue({ id: 'g1', payload: null, group: 'g' });
        await q.enqueue({ id: 'g2', payload: null, group: 'g' });
        await q.enqueue({ id: 'c', payload: null });
        await q.enqueue({ id: 'd', payload: null, maxAttempts: 1 });
        expect(await q.stats()).toEqual({
          waiting: 1,
          pending: 5,
          due: 4,
          inflight: 0,
          done: 0,
          dead: 0,
          oldestOpenCreatedAt: t0,
        });
        const a = await reserveOrThrow(q);
        expect(a.id).toBe('a');
        const g1 = await reserveOrThrow(q);
        expect(g1.id).toBe('g1');
        await q.ack('a', a.leaseToken ?? '');
        // g2 still waits behind the in-flight g1.
        expect(await q.stats()).toEqual({
          waiting: 1,
          pending: 3,
          due: 2,
          inflight: 1,
          done: 1,
          dead: 0,
          oldestOpenCreatedAt: t0 + 10,
        });
        const c = await reserveOrThrow(q);
        const d = await reserveOrThrow(q);
        expect([c.id, d.id]).toEqual(['c', 'd']);
        await q.fail('d', d.leaseToken ?? '', 'x');
        expect(await q.stats()).toEqual({
          waiting: 1,
          pending: 1,
          due: 0,
          inflight: 2,
          done: 1,
          dead: 1,
          oldestOpenCreatedAt: t0 + 10,
        });
      });

      it('trims done jobs to keepDone, oldest first', async () => {
        const { store: s, clock: c } = await another({ keepDone: 2 });
        const q = s.queue('jobs');
        for (const id of ['j1', 'j2', 'j3', 'j4']) {
          await q.enqueue({ id, payload: null });
          const job = await reserveOrThrow(q);
          c.advance(1);
          expect(await q.ack(job.id, job.leaseToken ?? '')).toBe(true);
        }
        expect((await q.list('done', 10)).map((j) => j.id)).toEqual(['j4', 'j3']);
        expect(await q.get('j1')).toBeNull();
        expect(await q.get('j2')).toBeNull();
        expect((await q.stats()).done).toBe(2);
      });

      it('keepDone 0 removes finished jobs at once and still releases their group', async () => {
        const { store: s } = await another({ keepDone: 0 });
        const q = s.queue('jobs');
        await q.enqueue({ id: 'a', payload: null, group: 'g' });
        await q.enqueue({ id: 'b', payload: null, group: 'g' });
        const a = await reserveOrThrow(q);
        expect(await q.ack('a', a.leaseToken ?? '')).toBe(true);
        expect(await q.get('a')).toBeNull();
        expect((await reserveOrThrow(q)).id).toBe('b');
        expect((await q.stats()).done).toBe(0);
      });

      it('copies payloads in and out', async () => {
        const q = store.queue('jobs');
        const payload = { list: [1] };
        const enqueued = await q.enqueue({ id: 'j', payload });
        payload.list.push(2);
        (enqueued.payload as { list: number[] }).list.push(3);
        const reserved = await reserveOrThrow(q);
        expect(reserved.payload).toEqual({ list: [1] });
        (reserved.payload as { list: number[] }).list.push(4);
        reserved.state = 'done';
        expect(await q.get('j')).toMatchObject({ payload: { list: [1] }, state: 'inflight' });
      });

      it('concurrent reservers never get the same job', async () => {
        const q = store.queue('jobs');
        for (let i = 0; i < 10; i++) await q.enqueue({ id: `j${i}`, payload: i });
        const results = await Promise.all(Array.from({ length: 20 }, () => q.reserve(LEASE)));
        const got = results.filter((j): j is Job => j !== null);
        expect(got).toHaveLength(10);
        expect(new Set(got.map((j) => j.id)).size).toBe(10);
        expect(new Set(got.map((j) => j.leaseToken)).size).toBe(10);
        expect(await q.stats()).toMatchObject({ pending: 0, inflight: 10 });
      });

      it('rejects invalid input', async () => {
        const q = store.queue('jobs');
        expect(() => store.queue('no:colons')).toThrow(/queue/);
        await expect(q.enqueue({ id: '', payload: null })).rejects.toThrow(/id/);
        await expect(q.enqueue({ id: 'x', payload: null, maxAttempts: 0 })).rejects.toThrow(/maxAttempts/);
        await expect(q.enqueue({ id: 'x', payload: null, availableAt: Number.NaN })).rejects.toThrow(/availableAt/);
        await expect(q.reserve({ leaseMs: 0 })).rejects.toThrow(/leaseMs/);
        expect(await q.get('x')).toBeNull();
      });
    });

    describe('ordering groups', () => {
      it('hands out one job per group at a time, in enqueue order; other groups are not blocked', async () => {
        const q = store.queue('deliveries');
        await q.enqueue({ id: 'a1', payload: null, group: 'app-a' });
        await q.enqueue({ id: 'a2', payload: null, group: 'app-a' });
        await q.enqueue({ id: 'b1', payload: null, group: 'app-b' });
        await q.enqueue({ id: 'a3', payload: null, group: 'app-a' });
        await q.enqueue({ id: 'u', payload: null });
        expect((await q.get('a2'))?.state).toBe('waiting');
        expect((await q.get('a3'))?.state).toBe('waiting');
        expect((await q.list('pending', 10)).map((j) => j.id)).toEqual(['a1', 'b1', 'u']);

        const leased = new Map<string, Job>();
        for (const job of await Promise.all([q.reserve(LEASE), q.reserve(LEASE), q.reserve(LEASE), q.reserve(LEASE)])) {
          if (job) leased.set(job.id, job);
        }
        expect([...leased.keys()].sort()).toEqual(['a1', 'b1', 'u']);

        clock.advance(1);
        expect(await q.ack('a1', leased.get('a1')?.leaseToken ?? '')).toBe(true);
        expect(await q.get('a2')).toMatchObject({ state: 'pending', updatedAt: clock.now() });
        expect((await q.get('a3'))?.state).toBe('waiting');
        const a2 = await reserveOrThrow(q);
        expect(a2.id).toBe('a2');
        expect(await q.reserve(LEASE)).toBeNull();
        await q.ack('a2', a2.leaseToken ?? '');
        expect((await reserveOrThrow(q)).id).toBe('a3');
      });

      it('a later job is never handed out while an earlier one is scheduled, retried or in flight', async () => {
        const q = store.queue('deliveries');
        await q.enqueue({ id: 'first', payload: null, group: 'g', availableAt: clock.now() + 1000 });
        await q.enqueue({ id: 'second', payload: null, group: 'g' });
        await q.enqueue({ id: 'free', payload: null, group: 'other' });
        const free = await reserveOrThrow(q);
        expect(free.id).toBe('free');
        expect(await q.reserve(LEASE)).toBeNull();
        await q.ack('free', free.leaseToken ?? '');
        clock.advance(1000);
        let first = await reserveOrThrow(q);
        expect(first.id).toBe('first');
        expect(await q.reserve(LEASE)).toBeNull();
        // Retry: still the head, 'second' keeps waiting.
        await q.retry('first', first.leaseToken ?? '', clock.now() + 500, 'later');
        expect(await q.reserve(LEASE)).toBeNull();
        expect((await q.get('second'))?.state).toBe('waiting');
        clock.advance(500);
        first = await reserveOrThrow(q);
        expect(first.id).toBe('first');
        // Lease expiry: handed out again, still before 'second'.
        clock.advance(LEASE.leaseMs);
        first = await reserveOrThrow(q);
        expect(first.id).toBe('first');
        expect(await q.reserve(LEASE)).toBeNull();
        await q.ack('first', first.leaseToken ?? '');
        expect((await reserveOrThrow(q)).id).toBe('second');
      });

      it('a dead job blocks its group until replayed or discarded', async () => {
        const q = store.queue('deliveries');
        await q.enqueue({ id: 'a1', payload: null, group: 'g' });
        await q.enqueue({ id: 'a2', payload: null, group: 'g' });
        await q.enqueue({ id: 'a3', payload: null, group: 'g' });
        await q.enqueue({ id: 'b1', payload: null, group: 'h' });
        const a1 = await reserveOrThrow(q);
        expect(a1.id).toBe('a1');
        await q.fail('a1', a1.leaseToken ?? '', 'rejected');
        // The other group goes on; this one is blocked, even for jobs enqueued later.
        await q.enqueue({ id: 'a4', payload: null, group: 'g' });
        expect(await reserveAll(q)).toEqual(['b1']);
        expect((await q.get('a2'))?.state).toBe('waiting');
        expect((await q.get('a4'))?.state).toBe('waiting');

        // Replay: the dead head goes first again.
        expect(await q.replay('a1')).toBe(true);
        const again = await reserveOrThrow(q);
        expect(again.id).toBe('a1');
        expect(await q.reserve(LEASE)).toBeNull();
        await q.fail('a1', again.leaseToken ?? '', 'rejected again');

        // Discard: the next one is released.
        expect(await q.discard('a1')).toBe(true);
        expect((await q.get('a2'))?.state).toBe('pending');
        const a2 = await reserveOrThrow(q);
        expect(a2.id).toBe('a2');
        await q.ack('a2', a2.leaseToken ?? '');
        expect((await reserveOrThrow(q)).id).toBe('a3');
      });

      it('a released job keeps its own schedule', async () => {
        const q = store.queue('deliveries');
        await q.enqueue({ id: 'a1', payload: null, group: 'g' });
        await q.enqueue({ id: 'a2', payload: null, group: 'g', availableAt: clock.now() + 5000 });
        const a1 = await reserveOrThrow(q);
        await q.ack('a1', a1.leaseToken ?? '');
        expect((await q.get('a2'))?.state).toBe('pending');
        expect(await q.reserve(LEASE)).toBeNull();
        clock.advance(5000);
        expect((await reserveOrThrow(q)).id).toBe('a2');
      });

      it('concurrent reservers get at most one job per group', async () => {
        const q = store.queue('deliveries');
        for (let g = 0; g < 3; g++) {
          for (let i = 0; i < 4; i++) await q.enqueue({ id: `g${g}-${i}`, payload: null, group: `g${g}` });
        }
        const results = await Promise.all(Array.from({ length: 12 }, () => q.reserve(LEASE)));
        const ids = results.filter((j): j is Job => j !== null).map((j) => j.id);
        expect(ids.sort()).toEqual(['g0-0', 'g1-0', 'g2-0']);
      });
    });
  });
}
