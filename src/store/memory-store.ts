/**
 * The embedded store: everything in process memory, nothing survives a
 * restart (info() says so). Each operation runs synchronously to completion,
 * so it is atomic by construction; values are kept as JSON text and parsed on
 * every read, so callers never share objects with the store.
 */
import { prepareBatch, prepareJob } from './batch.js';
import { typedQueue } from './typed-queue.js';
import { MemoryQueues } from './memory-queues.js';
import type {
  Collection,
  CommitResult,
  FeedEntry,
  IdempotencyRecord,
  Job,
  JobInput,
  JobState,
  JsonValue,
  Queue,
  QueueName,
  QueueStats,
  ReserveOptions,
  Store,
  StoreInfo,
  StoreOptions,
  WriteBatch,
} from './types.js';
import {
  assertCursor,
  assertId,
  assertLeaseMs,
  assertLimit,
  assertListState,
  assertName,
  assertTime,
  resolveOptions,
} from './validate.js';

interface Feed {
  seq: number;
  /** Ascending by seq (appends only). */
  entries: FeedEntry[];
}

export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly options: StoreOptions;
  private readonly docs = new Map<string, Map<string, string>>();
  private readonly blobs = new Map<string, Map<string, Buffer>>();
  private readonly idempotency = new Map<string, string>();
  private readonly sequences = new Map<string, number>();
  private readonly counters = new Map<string, { expiresAt: number; values: Map<string, number> }>();
  private readonly feeds = new Map<string, Feed>();
  private readonly queues: MemoryQueues;
  private closed = false;

  constructor(options: Partial<StoreOptions> = {}) {
    this.options = resolveOptions(options);
    this.queues = new MemoryQueues(this.options.keepDone);
  }

  async ping(): Promise<void> {
    this.assertOpen();
  }

  async info(): Promise<StoreInfo> {
    return { kind: 'memory', durable: false, detail: 'in-memory (not durable: state is lost on restart)' };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  async commit(batch: WriteBatch): Promise<CommitResult> {
    this.assertOpen();
    const now = this.options.clock.now();
    const prepared = prepareBatch(batch, now, this.options);
    if (prepared.idempotency) {
      const existing = this.idempotency.get(prepared.idempotency.key);
      if (existing !== undefined) return { applied: false, existing: JSON.parse(existing) };
      this.idempotency.set(prepared.idempotency.key, prepared.idempotency.recordJson);
    }
    for (const doc of prepared.docs) {
      let collection = this.docs.get(doc.collection);
      if (!collection) {
        collection = new Map();
        this.docs.set(doc.collection, collection);
      }
      if (doc.ifAbsent && collection.has(doc.id)) continue;
      collection.set(doc.id, doc.valueJson);
    }
    for (const blob of prepared.blobs) {
      let collection = this.blobs.get(blob.collection);
      if (!collection) {
        collection = new Map();
        this.blobs.set(blob.collection, collection);
      }
      if (blob.ifAbsent && collection.has(blob.id)) continue;
      collection.set(blob.id, Buffer.from(blob.bytes)); // a copy: the caller's buffer stays the caller's
    }
    for (const d of prepared.deletes) (d.blob ? this.blobs : this.docs).get(d.collection)?.delete(d.id);
    const seqs: number[] = [];
    for (const append of prepared.feeds) {
      let feed = this.feeds.get(append.feed);
      if (!feed) {
        feed = { seq: 0, entries: [] };
        this.feeds.set(append.feed, feed);
      }
      const seq = (feed.seq = Math.max(feed.seq + 1, append.atLeastNow ? Math.floor(now) : 0));
      feed.entries.push({ seq, id: append.id });
      seqs.push(seq);
    }
    for (const job of prepared.jobs) this.queues.enqueue(job, now);
    return { applied: true, seqs };
  }

  async getDoc<T = JsonValue>(collection: Collection<T>, id: string): Promise<T | null> {
    this.assertOpen();
    assertName(collection, 'collection');
    assertId(id, 'document id');
    const text = this.docs.get(collection)?.get(id);
    return text === undefined ? null : (JSON.parse(text) as T /* the JSON parse boundary: the collection's declared type is trusted */);
  }

  async getBlob(collection: string, id: string): Promise<Buffer | null> {
    this.assertOpen();
    assertName(collection, 'collection');
    assertId(id, 'blob id');
    const bytes = this.blobs.get(collection)?.get(id);
    return bytes === undefined ? null : Buffer.from(bytes);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    this.assertOpen();
    assertId(key, 'idempotency key');
    const text = this.idempotency.get(key);
    return text === undefined ? null : (JSON.parse(text) as IdempotencyRecord);
  }

  async nextSequence(name: string): Promise<number> {
    this.assertOpen();
    assertName(name, 'sequence');
    const next = (this.sequences.get(name) ?? 0) + 1;
    this.sequences.set(name, next);
    return next;
  }

  async addCounters(key: string, increments: Record<string, number>, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertName(key, 'counters');
    const now = this.options.clock.now();
    let hash = this.counters.get(key);
    if (!hash || hash.expiresAt <= now) {
      hash = { expiresAt: 0, values: new Map() };
      this.counters.set(key, hash);
    }
    for (const [field, by] of Object.entries(increments)) if (by !== 0) hash.values.set(field, (hash.values.get(field) ?? 0) + Math.round(by));
    hash.expiresAt = now + Math.max(1, Math.round(ttlMs));
    // Expired hashes go when others are written (bounded by the number of live buckets).
    for (const [k, h] of this.counters) if (h.expiresAt <= now) this.counters.delete(k);
  }

  async readCounters(keys: string[]): Promise<Array<Record<string, number>>> {
    this.assertOpen();
    const now = this.options.clock.now();
    return keys.map((key) => {
      assertName(key, 'counters');
      const hash = this.counters.get(key);
      return hash && hash.expiresAt > now ? Object.fromEntries(hash.values) : {};
    });
  }

  async readFeed(feed: string, after: number, limit: number): Promise<FeedEntry[]> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(after, 'after');
    assertLimit(limit);
    const entries = this.feeds.get(feed)?.entries ?? [];
    const start = countWhere(entries, (seq) => seq <= after);
    return entries.slice(start, start + limit).map((e) => ({ ...e }));
  }

  async readFeedBackwards(feed: string, before: number, limit: number): Promise<FeedEntry[]> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(before, 'before');
    assertLimit(limit);
    const entries = this.feeds.get(feed)?.entries ?? [];
    const out: FeedEntry[] = [];
    for (let i = countWhere(entries, (seq) => seq < before) - 1; i >= 0 && out.length < limit; i--) {
      const entry = entries[i];
      if (entry) out.push({ ...entry });
    }
    return out;
  }

  async trimFeed(feed: string, uptoSeq: number): Promise<number> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(uptoSeq, 'uptoSeq');
    const f = this.feeds.get(feed);
    if (!f) return 0;
    const count = countWhere(f.entries, (seq) => seq <= uptoSeq);
    f.entries.splice(0, count);
    return count;
  }

  queue<P = JsonValue>(name: QueueName<P>): Queue<P> {
    assertName(name, 'queue');
    return typedQueue<P>(new MemoryQueue(name, this.queues, this.options, () => this.assertOpen()));
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

/**
 * How many leading entries satisfy `test`; entries are ascending by seq and
 * `test` is a prefix predicate (true up to some point, false after).
 */
function countWhere(entries: FeedEntry[], test: (seq: number) => boolean): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const entry = entries[mid];
    if (entry && test(entry.seq)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

class MemoryQueue implements Queue {
  constructor(
    readonly name: string,
    private readonly queues: MemoryQueues,
    private readonly options: StoreOptions,
    private readonly assertOpen: () => void,
  ) {}

  private now(): number {
    this.assertOpen();
    return this.options.clock.now();
  }

  async enqueue(job: Omit<JobInput, 'queue'>): Promise<Job> {
    const now = this.now();
    return this.queues.enqueue(prepareJob({ ...job, queue: this.name }, now, this.options), now);
  }

  async reserve(options: ReserveOptions): Promise<Job | null> {
    assertLeaseMs(options.leaseMs);
    const now = this.now();
    return this.queues.reserve(this.name, now, now + options.leaseMs);
  }

  async ack(id: string, leaseToken: string): Promise<boolean> {
    return this.queues.ack(this.name, id, leaseToken, this.now());
  }

  async retry(id: string, leaseToken: string, availableAt: number, error: string): Promise<JobState | null> {
    assertTime(availableAt, 'availableAt');
    return this.queues.retry(this.name, id, leaseToken, availableAt, String(error), this.now());
  }

  async fail(id: string, leaseToken: string, error: string): Promise<boolean> {
    return this.queues.fail(this.name, id, leaseToken, String(error), this.now());
  }

  async extend(id: string, leaseToken: string, leaseMs: number): Promise<boolean> {
    assertLeaseMs(leaseMs);
    const now = this.now();
    return this.queues.extend(this.name, id, leaseToken, now + leaseMs, now);
  }

  async replay(id: string): Promise<boolean> {
    return this.queues.replay(this.name, id, this.now());
  }

  async discard(id: string): Promise<boolean> {
    return this.queues.discard(this.name, id, this.now());
  }

  async get(id: string): Promise<Job | null> {
    this.assertOpen();
    return this.queues.get(this.name, id);
  }

  async list(state: 'pending' | 'inflight' | 'dead' | 'done', limit: number): Promise<Job[]> {
    this.assertOpen();
    assertListState(state);
    assertLimit(limit);
    return this.queues.list(this.name, state, limit);
  }

  async stats(): Promise<QueueStats> {
    return this.queues.stats(this.name, this.now());
  }
}
