/**
 * The gateway's state, behind one interface with two implementations:
 * Redis (durable, shared by several gateway processes) and in-memory (the
 * embedded default: nothing survives a restart).
 *
 * Design rules, taken from BullMQ: every state change is one atomic step (a
 * Lua script in Redis, one synchronous block in memory), so that a crash at
 * any point loses nothing and duplicates nothing. Time comes from the caller's
 * clock (passed into every script) so tests can drive it and both
 * implementations behave identically.
 *
 * The pieces later flows need:
 * - documents by collection and id (applications, inbox items, queries, deliveries,
 *   journal records, blobs such as raw envelopes and attachments);
 * - feeds: ordered indexes over documents with a monotonically increasing
 *   sequence (the inbox, the journal) that readers page through by cursor;
 * - an idempotency index by MessageID, checked and written in the same atomic
 *   step as everything the message causes;
 * - durable queues with pending / in-flight / done / dead states, leases
 *   (visibility timeouts), scheduled retries and optional per-group ordering.
 */

import type { RateLimiter } from './rate-limiter.js';

export type StoreKind = 'memory' | 'redis';

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Anything JSON can carry. Stored values are copied (never shared by reference). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

declare const VALUE: unique symbol;

/**
 * A collection's name that also carries the type of its documents. At run
 * time it is the plain name (so keys and stored bytes are the name's); the
 * type exists only for the compiler. Declare each collection once, next to
 * its value's type, with `defineCollection<T>(name)` (./collection.ts); then
 * `getDoc(c, id)` returns `T | null` and `write(c, id, value)` takes a `T`.
 * A bare string is still accepted and means a collection of JsonValue.
 */
export type Collection<T> = string & { readonly [VALUE]?: T };

declare const PAYLOAD: unique symbol;

/**
 * A queue's name that also carries the type of its jobs' payload, as
 * Collection does for documents: declared once with `defineQueue<P>(name)`
 * (./typed-queue.ts); `queue(q)` hands out jobs whose payload is a `P`, and
 * `jobInput(q, id, payload)` takes a `P`. A bare string means JsonValue payloads.
 */
export type QueueName<P> = string & { readonly [PAYLOAD]?: P };

// ---------------------------------------------------------------------------
// Atomic write batches

/** What the first accepted message left behind for its MessageID. */
export interface IdempotencyRecord {
  /** Digest of the signed content: same MessageID + same digest = a true duplicate. */
  digest: string;
  /** Anything the caller needs to answer a duplicate the same way (e.g. the reply). */
  result: JsonValue;
  /** Caller's clock at acceptance (ms since epoch). */
  createdAt: number;
}

export interface DocWrite {
  collection: string;
  id: string;
  value: JsonValue;
  /** Only write when no document with this id exists (the batch still applies). */
  ifAbsent?: boolean;
}

/**
 * Raw bytes by collection and id (evidence envelopes): kept as given, no JSON
 * encoding; read back byte for byte with `getBlob`. A blob collection is its
 * own namespace: a document and a blob of one collection and id are two things.
 */
export interface BlobWrite {
  collection: string;
  id: string;
  bytes: Uint8Array;
  /** Only write when no blob with this id exists (the batch still applies). */
  ifAbsent?: boolean;
}

/** Removes a document, or with `blob` the blob (absent ids are fine). Deletes apply after the batch's writes. */
export interface DocDelete {
  collection: string;
  id: string;
  blob?: boolean;
}

export interface FeedAppend {
  /** Feed name, e.g. `inbox` or `journal`. */
  feed: string;
  /** Id of a document (usually written in the same batch) the feed entry points to. */
  id: string;
  /**
   * The entry's seq is at least the store clock's now (ms), not only the feed's last seq + 1: for
   * a feed others page through by cursor (the city's inbox). A Redis failover can lose the last
   * commits of the old primary after a reader saw them; with the counter alone, later entries
   * would get those seqs again and a reader whose cursor is past them would skip them. From the
   * clock, they get seqs above any the lost ones had (unless those ran ahead of the clock by more
   * than the failover took: more than one entry per ms, sustained). Seqs then jump; readers only
   * rely on their order.
   */
  atLeastNow?: boolean;
}

export interface JobInput<P = JsonValue> {
  queue: string;
  /** Job id; enqueueing an id that already exists in this queue is a no-op. */
  id: string;
  payload: P;
  /** Earliest time the job may be reserved (ms since epoch); default now. */
  availableAt?: number;
  /**
   * Ordering group (e.g. an application id): jobs of one group are handed out
   * one at a time in enqueue order; the next becomes available only when the
   * previous one is done or discarded. A dead job blocks its group until it is
   * replayed or discarded, so that nothing overtakes it.
   */
  group?: string;
  /** Attempts before the job goes dead; default the queue's configured limit. */
  maxAttempts?: number;
}

export interface WriteBatch {
  /**
   * When set, the batch applies only if no idempotency record exists for `key`;
   * otherwise nothing is written and the existing record is returned.
   */
  idempotency?: { key: string; record: IdempotencyRecord };
  docs?: DocWrite[];
  blobs?: BlobWrite[];
  /** Documents and blobs to remove, after `docs` are written (so a write and a delete of one id leave it absent). */
  deletes?: DocDelete[];
  feeds?: FeedAppend[];
  jobs?: JobInput[];
}

export type CommitResult =
  | { applied: true; /** Sequence numbers assigned to `feeds`, in order. */ seqs: number[] }
  | { applied: false; existing: IdempotencyRecord };

export interface FeedEntry {
  seq: number;
  id: string;
}

// ---------------------------------------------------------------------------
// Durable queues

export type JobState = 'waiting' | 'pending' | 'inflight' | 'done' | 'dead';

export interface Job<P = JsonValue> {
  queue: string;
  id: string;
  payload: P;
  /**
   * waiting: behind an earlier job of its group; pending: available from
   * `availableAt`; inflight: leased until `leaseUntil`; done; dead.
   */
  state: JobState;
  group: string | null;
  attempts: number;
  maxAttempts: number;
  availableAt: number;
  leaseUntil: number | null;
  /** Changes on every reservation; ack/retry/fail must present the current one. */
  leaseToken: string | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface QueueStats {
  waiting: number;
  pending: number;
  /** Pending jobs whose availableAt has come (ready to be reserved now). */
  due: number;
  inflight: number;
  done: number;
  dead: number;
  /** createdAt of the oldest job not yet done or dead, or null when there is none. */
  oldestOpenCreatedAt: number | null;
}

export interface ReserveOptions {
  /** How long the lease lasts before the job is handed out again (visibility timeout). */
  leaseMs: number;
}

export interface StoreOptions {
  clock: Clock;
  /** Attempt limit for jobs that don't set their own (default 10). */
  defaultMaxAttempts: number;
  /** How many done jobs each queue keeps for inspection; older ones are removed (default 1000). */
  keepDone: number;
}

export interface Queue<P = JsonValue> {
  readonly name: string;
  enqueue(job: Omit<JobInput<P>, 'queue'>): Promise<Job<P>>;
  /**
   * Leases the earliest due job. Jobs whose lease expired are first put back
   * (or sent dead when they have used up their attempts), so a crashed
   * consumer's work is retried by another.
   */
  reserve(options: ReserveOptions): Promise<Job<P> | null>;
  /** Finishes a leased job. False when the lease token is stale (someone else has it now). */
  ack(id: string, leaseToken: string): Promise<boolean>;
  /** Puts a leased job back for another attempt at `availableAt`, or dead when attempts are used up. */
  retry(id: string, leaseToken: string, availableAt: number, error: string): Promise<JobState | null>;
  /** Sends a leased job dead at once (a permanent failure). */
  fail(id: string, leaseToken: string, error: string): Promise<boolean>;
  /** Extends a lease the holder still works on. */
  extend(id: string, leaseToken: string, leaseMs: number): Promise<boolean>;
  /** Dead → pending, attempts reset (ops action). */
  replay(id: string): Promise<boolean>;
  /** Dead or pending (waiting for its next attempt) → removed; releases its group (ops action). Not in flight or waiting. */
  discard(id: string): Promise<boolean>;
  get(id: string): Promise<Job<P> | null>;
  list(state: 'pending' | 'inflight' | 'dead' | 'done', limit: number): Promise<Array<Job<P>>>;
  stats(): Promise<QueueStats>;
}

// ---------------------------------------------------------------------------

export interface StoreInfo {
  kind: StoreKind;
  /** True when acknowledged writes survive a process or server restart. */
  durable: boolean;
  /** Human-readable detail for /ready, e.g. `redis 7.0.15, aof=yes, fsync=always`. */
  detail: string;
}

/**
 * A commit that was applied on the Redis primary but not confirmed by
 * REDIS_WAIT_REPLICAS replicas within REDIS_WAIT_TIMEOUT_MS (Redis WAIT).
 * The writes stay on the primary; the caller must not answer success (a
 * failover now could lose them) but a fault the partner retries: the retry
 * with the same MessageID then finds the idempotency record as usual.
 */
export class StoreReplicationError extends Error {
  constructor(
    /** Replicas required (REDIS_WAIT_REPLICAS). */
    readonly required: number,
    /** Replicas that acknowledged the write in time. */
    readonly acknowledged: number,
    /** How long the store waited (REDIS_WAIT_TIMEOUT_MS). */
    readonly timeoutMs: number,
  ) {
    super(`the store could not confirm replication: ${acknowledged} of ${required} replica(s) acknowledged the write within ${timeoutMs} ms`);
    this.name = 'StoreReplicationError';
  }
}

/** What /ready shows when writes wait for replicas (REDIS_WAIT_REPLICAS > 0). */
export interface ReplicationStatus {
  /** Replicas connected to the primary now (INFO replication connected_slaves). */
  connected: number;
  /** Replicas every commit waits for (REDIS_WAIT_REPLICAS). */
  required: number;
  /** The server's role (`master` or `slave`). */
  role: string;
}

export interface Store {
  readonly kind: StoreKind;
  /**
   * Present when commits wait for replicas (Redis with REDIS_WAIT_REPLICAS > 0):
   * how many are connected against how many are required.
   */
  replication?(): Promise<ReplicationStatus>;
  /**
   * Present when several gateway instances share the store (Redis): rate
   * limits counted in the store, so they hold across instances (see
   * rate-limiter.ts). Without it each process counts in its own memory.
   */
  rateLimiter?(): RateLimiter;
  /** Throws when the store cannot serve. */
  ping(): Promise<void>;
  info(): Promise<StoreInfo>;
  close(): Promise<void>;

  /**
   * Applies every write of the batch, or none (see WriteBatch.idempotency).
   * With REDIS_WAIT_REPLICAS > 0 it resolves only once that many replicas have
   * the writes, and rejects with StoreReplicationError when they do not in
   * time (the writes then stay on the primary).
   */
  commit(batch: WriteBatch): Promise<CommitResult>;

  /** The document, typed by the collection's handle (see Collection). */
  getDoc<T = JsonValue>(collection: Collection<T>, id: string): Promise<T | null>;
  /** A blob's bytes exactly as written (see BlobWrite), or null. */
  getBlob(collection: string, id: string): Promise<Buffer | null>;
  getIdempotency(key: string): Promise<IdempotencyRecord | null>;

  /**
   * The next value of a named counter (1, 2, 3, …), atomically across
   * processes; e.g. registration numbers per service and year. A value taken
   * by a request that then fails is not given again (gaps are possible,
   * duplicates never).
   */
  nextSequence(name: string): Promise<number>;

  /**
   * Adds to named counters of a hash that expires `ttlMs` after its last
   * update (time series for the ops dashboard's charts: one hash per time
   * bucket). Atomic across processes; no part of a commit.
   */
  addCounters(key: string, increments: Record<string, number>, ttlMs: number): Promise<void>;
  /** The counters of each key (an empty object for a missing or expired key). */
  readCounters(keys: string[]): Promise<Array<Record<string, number>>>;

  /** Entries with seq > after, oldest first. */
  readFeed(feed: string, after: number, limit: number): Promise<FeedEntry[]>;
  /** Entries with seq < before, newest first (for "latest" views). */
  readFeedBackwards(feed: string, before: number, limit: number): Promise<FeedEntry[]>;
  /**
   * Removes the entries with seq <= uptoSeq (retention); returns how many.
   * The feed's sequence goes on where it was: later appends never reuse a seq.
   */
  trimFeed(feed: string, uptoSeq: number): Promise<number>;

  /** The queue, its jobs typed by the handle (see QueueName). */
  queue<P = JsonValue>(name: QueueName<P>): Queue<P>;
}
