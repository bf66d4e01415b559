/**
 * The durable store on Redis (ioredis). Every state change is one Lua script
 * from redis-scripts.ts (atomic, all-or-nothing); reads are single commands
 * or read-only scripts. Several gateway processes may share one Redis: leases
 * and idempotency records live in Redis, so no two of them ever hold the same
 * job or accept the same message twice.
 *
 * Not supported: Redis Cluster (the scripts compute their keys; see
 * redis-scripts.ts). A single instance, or a Sentinel group's primary
 * (redis-connection.ts: the client follows a failover), is fine.
 *
 * Connection behaviour, chosen for a gateway that must answer every request:
 * - while Redis is unreachable every call rejects at once (no offline queue),
 *   so the caller can answer SMEVFailure instead of hanging;
 * - a command whose connection drops is rejected, never silently re-sent
 *   after the reconnect: its outcome is unknown, and the caller's retry path
 *   (idempotency by MessageID, idempotent enqueue by id) is the safe way to
 *   repeat it;
 * - the client reconnects by itself, forever, with a short backoff.
 *
 * No acknowledged loss (waitReplicas > 0, REDIS_WAIT_REPLICAS): Redis
 * replicates asynchronously, so a write the primary acknowledged can be lost
 * when a replica is promoted before it got it. Every write script is then
 * followed by `WAIT waitReplicas waitTimeoutMs` on the connection that ran it
 * (WAIT counts the writes of its own connection), and rejects with
 * StoreReplicationError when fewer replicas acknowledged in time. WAIT blocks
 * its connection, so writes go over two connections of their own: one for
 * commits and sequences (what precedes a reply), one for queue bookkeeping;
 * reads and PING stay on the first and are never held up by a WAIT. A
 * sequence (INCR, no WAIT of its own) runs on the commit connection, so the
 * commit's WAIT that follows covers it too.
 */
import { Redis } from 'ioredis';
import { connectedServer, createRedisClient, formatAddress, redisClientOptions, watchSwitchMaster, type RedisTarget } from './redis-connection.js';
import { prepareBatch, prepareJob } from './batch.js';
import { typedQueue } from './typed-queue.js';
import { arg, decodeFeedMember, decodeJob, mustDecodeJob } from './redis-codec.js';
import { RECLAIM_BATCH, SCRIPTS, type ScriptName } from './redis-scripts.js';
import { StoreReplicationError } from './types.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { decodeBlob, decodeJsonValue, encodeBlob, encodeJsonValue } from './redis-value.js';
import type { RateLimiter } from './rate-limiter.js';
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
  ReplicationStatus,
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

export const DEFAULT_KEY_PREFIX = 'okno:';

export interface RedisStoreOptions extends Partial<StoreOptions> {
  /** Prefix of every key (default `okno:`); lets several deployments share one Redis. */
  keyPrefix?: string;
  /**
   * Upper bound for one call when Redis doesn't answer (e.g. a network
   * partition that doesn't close the socket). Default 5000 ms. Only used for
   * clients the store creates itself.
   */
  commandTimeoutMs?: number;
  /**
   * Told about connection errors of a client the store creates (for logs);
   * the calls themselves reject either way. Library code never prints.
   */
  onError?: (error: Error) => void;
  /** Replicas that must have every write before it counts as done (Redis WAIT); default 0 (no waiting). */
  waitReplicas?: number;
  /** How long a write waits for them before StoreReplicationError (default 1000 ms). */
  waitTimeoutMs?: number;
  /** Told when the sentinels announce a new primary (`host:port`), for the log (Sentinel targets only). */
  onPrimaryChange?: (primary: string) => void;
}

export { redisClientOptions } from './redis-connection.js';

type ScriptFn = (...args: Array<string | number | Buffer>) => Promise<unknown>;

/** Scripts that only read: never followed by WAIT. */
const READ_ONLY_SCRIPTS: ReadonlySet<ScriptName> = new Set<ScriptName>(['oknoList', 'oknoStats']);

/** Which connection a write runs on (see the file comment). */
type WriteLane = 'commit' | 'queue';

export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly keyPrefix: string;
  private readonly client: Redis;
  private readonly ownsClient: boolean;
  private readonly target: RedisTarget | null;
  private readonly stopWatching: () => void = () => {};
  /** Write connections (the read client itself when nothing waits for replicas). */
  private readonly lanes: Record<WriteLane, Redis>;
  private readonly waitReplicas: number;
  private readonly waitTimeoutMs: number;
  private readonly options: StoreOptions;
  private cachedInfo: StoreInfo | null = null;
  /** The server `cachedInfo` was read from (a failover changes it). */
  private cachedInfoServer: string | null = null;
  private closed = false;
  private limiter: RedisRateLimiter | null = null;

  /**
   * `redis` is a URL (redis:// or rediss://), a target (a URL, or a Sentinel
   * group: see redis-connection.ts), or an ioredis client the caller keeps owning.
   */
  constructor(redis: string | RedisTarget | Redis, options: RedisStoreOptions = {}) {
    const { keyPrefix, commandTimeoutMs, onError, waitReplicas, waitTimeoutMs, onPrimaryChange, ...storeOptions } = options;
    this.options = resolveOptions(storeOptions);
    this.keyPrefix = keyPrefix ?? DEFAULT_KEY_PREFIX;
    this.waitReplicas = waitReplicas ?? 0;
    this.waitTimeoutMs = waitTimeoutMs ?? 1000;
    if (!Number.isInteger(this.waitReplicas) || this.waitReplicas < 0) throw new RangeError('waitReplicas must be an integer >= 0');
    if (!Number.isInteger(this.waitTimeoutMs) || this.waitTimeoutMs <= 0) throw new RangeError('waitTimeoutMs must be an integer > 0');
    // A WAIT must be able to time out by itself before the client gives up on the command.
    const timeout = Math.max(commandTimeoutMs ?? 5000, this.waitReplicas > 0 ? this.waitTimeoutMs + 2000 : 0);
    if (!(redis instanceof Redis)) {
      this.target = typeof redis === 'string' ? { url: redis } : redis;
      this.client = createRedisClient(this.target, timeout);
      this.ownsClient = true;
      // Without a listener ioredis prints 'error' events; failures surface as rejected calls.
      this.client.on('error', (error: Error) => onError?.(error));
      this.client.once('ready', () => {
        this.client.options.enableOfflineQueue = false;
      });
      if ('sentinel' in this.target) {
        let announced: string | null = null;
        // A switchover: leave the old primary now (it takes writes until it is demoted); the reconnect asks the sentinels.
        this.stopWatching = watchSwitchMaster(
          this.target.sentinel,
          (primary) => {
            // Every sentinel announces it: told once per new primary.
            if (!this.closed && primary !== announced) onPrimaryChange?.(primary);
            announced = primary;
            // Every connection of the store: the read client and the write lanes (duplicates: they reconnect through the sentinels too).
            for (const connection of new Set([this.client, this.lanes.commit, this.lanes.queue])) {
              if (!this.closed && connection.status === 'ready' && connectedServer(connection) !== primary) connection.disconnect(true);
            }
          },
          (error) => onError?.(error),
        );
      }
    } else {
      if (redis.options.keyPrefix) {
        // ioredis would prefix plain commands but not the keys the scripts compute.
        throw new Error('pass keyPrefix to RedisStore, not to the ioredis client');
      }
      this.client = redis;
      this.ownsClient = false;
      this.target = null;
    }
    this.lanes =
      this.waitReplicas > 0
        ? { commit: this.writeConnection(timeout, onError), queue: this.writeConnection(timeout, onError) }
        : { commit: this.client, queue: this.client };
    defineScripts(this.client);
  }

  /** A connection of the store's own for writes that WAIT (same server and options as the read client). */
  private writeConnection(commandTimeoutMs: number, onError?: (error: Error) => void): Redis {
    const connection = this.client.duplicate({ ...redisClientOptions(commandTimeoutMs), lazyConnect: false });
    connection.on('error', (error: Error) => onError?.(error));
    connection.once('ready', () => {
      connection.options.enableOfflineQueue = false;
    });
    defineScripts(connection);
    return connection;
  }

  /**
   * After a write on `connection`: WAIT until waitReplicas replicas have every
   * write of that connection so far, or throw StoreReplicationError.
   */
  private async confirm(connection: Redis): Promise<void> {
    if (this.waitReplicas === 0) return;
    const acknowledged = Number(await connection.call('WAIT', String(this.waitReplicas), String(this.waitTimeoutMs)));
    if (acknowledged < this.waitReplicas) throw new StoreReplicationError(this.waitReplicas, acknowledged, this.waitTimeoutMs);
  }

  async replication(): Promise<ReplicationStatus> {
    this.assertOpen();
    const info = parseInfo(await this.client.info('replication'));
    return { connected: Number(info.get('connected_slaves') ?? 0), required: this.waitReplicas, role: info.get('role') ?? 'unknown' };
  }

  /** Subscribes to the client's `sentinelError` events (a sentinel that failed to name the primary); returns the unsubscriber. */
  onSentinelError(listener: (error: Error) => void): () => void {
    this.client.on('sentinelError', listener);
    return () => this.client.off('sentinelError', listener);
  }

  /**
   * The shared rate limiter (redis-rate-limiter.ts), on the read connection:
   * a limiter's take is not a commit and never waits for replicas.
   */
  rateLimiter(): RateLimiter {
    this.assertOpen();
    return (this.limiter ??= new RedisRateLimiter(this.client, this.keyPrefix));
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.client.ping();
  }

  /** Read once per server (facts don't change while connected to it); a failed read is retried next time. */
  async info(): Promise<StoreInfo> {
    this.assertOpen();
    const connectedTo = connectedServer(this.client);
    if (!this.cachedInfo || connectedTo !== this.cachedInfoServer) {
      const server = parseInfo(await this.client.info('server'));
      const persistence = parseInfo(await this.client.info('persistence'));
      const aof = persistence.get('aof_enabled') === '1';
      let fsync = 'unknown';
      try {
        // CONFIG is often disabled or renamed on managed Redis.
        const reply = (await this.client.config('GET', 'appendfsync')) as unknown;
        if (Array.isArray(reply) && typeof reply[1] === 'string') fsync = reply[1];
      } catch {
        // keep 'unknown'
      }
      const version = server.get('redis_version') ?? 'unknown';
      this.cachedInfo = {
        kind: 'redis',
        durable: aof,
        detail: `redis ${version}, aof=${aof ? 'yes' : 'no'}, fsync=${fsync}`,
      };
      this.cachedInfoServer = connectedTo;
    }
    return { ...this.cachedInfo, detail: `${this.whereDetail()}${this.cachedInfo.detail}` };
  }

  /** For a Sentinel group: which primary the client is connected to now (it changes with a failover). */
  private whereDetail(): string {
    if (!this.target || !('sentinel' in this.target)) return '';
    const { name, sentinels } = this.target.sentinel;
    return `sentinel group "${name}", primary ${connectedServer(this.client) ?? 'not connected'} (via sentinels ${sentinels.map(formatAddress).join(', ')}); `;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopWatching();
    const own = new Set<Redis>([this.lanes.commit, this.lanes.queue]);
    if (this.ownsClient) own.add(this.client);
    else own.delete(this.client);
    for (const connection of own) {
      try {
        await connection.quit();
      } catch {
        // Not connected right now: just stop reconnecting.
        connection.disconnect();
      }
    }
  }

  async commit(batch: WriteBatch): Promise<CommitResult> {
    const now = this.now();
    const p = prepareBatch(batch, now, this.options);
    // Encoded before the script: large values compress on the thread pool (redis-value.ts).
    const [record, docValues, blobValues] = await Promise.all([
      p.idempotency ? encodeJsonValue(p.idempotency.recordJson) : '',
      Promise.all(p.docs.map((d) => encodeJsonValue(d.valueJson))),
      Promise.all(p.blobs.map((b) => encodeBlob(b.bytes))),
    ]);
    const args: Array<string | Buffer> = [p.idempotency ? '1' : '0', p.idempotency?.key ?? '', record, String(p.docs.length)];
    p.docs.forEach((d, i) => args.push(d.collection, d.id, d.ifAbsent ? '1' : '0', docValues[i]!));
    args.push(String(p.blobs.length));
    p.blobs.forEach((b, i) => args.push(b.collection, b.id, b.ifAbsent ? '1' : '0', blobValues[i]!));
    args.push(String(p.deletes.length));
    for (const d of p.deletes) args.push(d.collection, d.id, d.blob ? 'b' : 'd');
    args.push(String(p.feeds.length));
    for (const f of p.feeds) args.push(f.feed, f.id, f.atLeastNow ? '1' : '0');
    args.push(String(p.jobs.length));
    for (const j of p.jobs) {
      args.push(j.queue, j.id, j.payloadJson, arg(j.availableAt), j.group ?? '', String(j.maxAttempts));
    }
    // The Buffer form of the script: a duplicate's stored record comes back as bytes (it may be compressed).
    const reply = await this.run('oknoCommit', now, ...args);
    // A duplicate wrote nothing, but the first commit it found may not be replicated yet: WAIT either way.
    if (!Array.isArray(reply)) throw new Error('unexpected reply from Redis commit');
    if (reply[0] === 0) return { applied: false, existing: JSON.parse(await decodeJsonValue(asBuffer(reply[1]))) as IdempotencyRecord };
    return { applied: true, seqs: reply.slice(1).map(Number) };
  }

  async getDoc<T = JsonValue>(collection: Collection<T>, id: string): Promise<T | null> {
    this.assertOpen();
    assertName(collection, 'collection');
    assertId(id, 'document id');
    const stored = await this.client.getBuffer(`${this.keyPrefix}doc:${collection}:${id}`);
    return stored === null ? null : (JSON.parse(await decodeJsonValue(stored)) as T /* the JSON parse boundary: the collection's declared type is trusted */);
  }

  async getBlob(collection: string, id: string): Promise<Buffer | null> {
    this.assertOpen();
    assertName(collection, 'collection');
    assertId(id, 'blob id');
    const stored = await this.client.getBuffer(`${this.keyPrefix}blob:${collection}:${id}`);
    return stored === null ? null : decodeBlob(stored);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | null> {
    this.assertOpen();
    assertId(key, 'idempotency key');
    const stored = await this.client.getBuffer(`${this.keyPrefix}idem:${key}`);
    return stored === null ? null : (JSON.parse(await decodeJsonValue(stored)) as IdempotencyRecord);
  }

  async nextSequence(name: string): Promise<number> {
    this.assertOpen();
    assertName(name, 'sequence');
    // On the commit connection: the next commit's WAIT covers this INCR too.
    return this.lanes.commit.incr(`${this.keyPrefix}seq:${name}`);
  }

  async addCounters(key: string, increments: Record<string, number>, ttlMs: number): Promise<void> {
    this.assertOpen();
    assertName(key, 'counters');
    const k = `${this.keyPrefix}counters:${key}`;
    const multi = this.client.multi();
    for (const [field, by] of Object.entries(increments)) if (by !== 0) multi.hincrby(k, field, Math.round(by));
    multi.pexpire(k, Math.max(1, Math.round(ttlMs)));
    await multi.exec();
  }

  async readCounters(keys: string[]): Promise<Array<Record<string, number>>> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const pipeline = this.client.pipeline();
    for (const key of keys) {
      assertName(key, 'counters');
      pipeline.hgetall(`${this.keyPrefix}counters:${key}`);
    }
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, hash]) => {
      if (error) throw error;
      const out: Record<string, number> = {};
      for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>)) out[field] = Number(value);
      return out;
    });
  }

  async readFeed(feed: string, after: number, limit: number): Promise<FeedEntry[]> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(after, 'after');
    assertLimit(limit);
    if (limit === 0) return [];
    const members = await this.client.zrangebyscore(
      `${this.keyPrefix}feed:${feed}`,
      exclusive(after),
      '+inf',
      'LIMIT',
      0,
      limit,
    );
    return members.map(decodeFeedMember);
  }

  async readFeedBackwards(feed: string, before: number, limit: number): Promise<FeedEntry[]> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(before, 'before');
    assertLimit(limit);
    if (limit === 0) return [];
    const members = await this.client.zrevrangebyscore(
      `${this.keyPrefix}feed:${feed}`,
      exclusive(before),
      '-inf',
      'LIMIT',
      0,
      limit,
    );
    return members.map(decodeFeedMember);
  }

  async trimFeed(feed: string, uptoSeq: number): Promise<number> {
    this.assertOpen();
    assertName(feed, 'feed');
    assertCursor(uptoSeq, 'uptoSeq');
    // One command, so atomic; the `:seq` counter is another key and stays.
    const connection = this.lanes.queue;
    const removed = await connection.zremrangebyscore(`${this.keyPrefix}feed:${feed}`, '-inf', arg(uptoSeq));
    await this.confirm(connection);
    return removed;
  }

  queue<P = JsonValue>(name: QueueName<P>): Queue<P> {
    assertName(name, 'queue');
    return typedQueue<P>(new RedisQueue(name, this));
  }

  /** @internal The caller's clock, after checking the store is open. */
  now(): number {
    this.assertOpen();
    return this.options.clock.now();
  }

  /** @internal */
  get storeOptions(): StoreOptions {
    return this.options;
  }

  /** @internal One job hash as a flat field/value array (a single read needs no script). */
  readJob(queue: string, id: string): Promise<unknown> {
    this.assertOpen();
    return this.client.call('HGETALL', `${this.keyPrefix}q:${queue}:job:${id}`);
  }

  /**
   * @internal Runs a registered script with the standard prefix/now arguments;
   * a write script runs on its lane's connection and is followed by WAIT there.
   */
  async run(name: ScriptName, now: number, ...args: Array<string | Buffer>): Promise<unknown> {
    const connection = READ_ONLY_SCRIPTS.has(name) ? this.client : name === 'oknoCommit' ? this.lanes.commit : this.lanes.queue;
    // The commit's reply may carry a stored (binary) record: its Buffer form keeps the bytes.
    const fn = (connection as unknown as Record<string, ScriptFn>)[name === 'oknoCommit' ? 'oknoCommitBuffer' : name]!;
    const reply = await fn.call(connection, this.keyPrefix, arg(now), ...args);
    if (!READ_ONLY_SCRIPTS.has(name)) await this.confirm(connection);
    return reply;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('store is closed');
  }
}

function defineScripts(connection: Redis): void {
  for (const [name, lua] of Object.entries(SCRIPTS)) connection.defineCommand(name, { numberOfKeys: 0, lua });
}

/** A ZRANGEBYSCORE bound that excludes `n` (infinities have no exclusive form). */
function exclusive(n: number): string {
  return Number.isFinite(n) ? `(${n}` : arg(n);
}

function asBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw new Error('unexpected reply from Redis: expected a stored value');
}

function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

class RedisQueue implements Queue {
  constructor(
    readonly name: string,
    private readonly store: RedisStore,
  ) {}

  async enqueue(job: Omit<JobInput, 'queue'>): Promise<Job> {
    const now = this.store.now();
    const j = prepareJob({ ...job, queue: this.name }, now, this.store.storeOptions);
    const reply = await this.store.run(
      'oknoEnqueue',
      now,
      j.queue,
      j.id,
      j.payloadJson,
      arg(j.availableAt),
      j.group ?? '',
      String(j.maxAttempts),
    );
    return mustDecodeJob(reply);
  }

  async reserve(options: ReserveOptions): Promise<Job | null> {
    assertLeaseMs(options.leaseMs);
    const now = this.store.now();
    const reply = await this.store.run('oknoReserve', now, this.name, arg(now + options.leaseMs), String(RECLAIM_BATCH));
    return reply === null ? null : mustDecodeJob(reply);
  }

  async ack(id: string, leaseToken: string): Promise<boolean> {
    const now = this.store.now();
    const keepDone = String(this.store.storeOptions.keepDone);
    return (await this.store.run('oknoAck', now, this.name, id, String(leaseToken), keepDone)) === 1;
  }

  async retry(id: string, leaseToken: string, availableAt: number, error: string): Promise<JobState | null> {
    assertTime(availableAt, 'availableAt');
    const now = this.store.now();
    const reply = await this.store.run('oknoRetry', now, this.name, id, String(leaseToken), arg(availableAt), String(error));
    return reply === 'pending' || reply === 'dead' ? reply : null;
  }

  async fail(id: string, leaseToken: string, error: string): Promise<boolean> {
    const now = this.store.now();
    return (await this.store.run('oknoFail', now, this.name, id, String(leaseToken), String(error))) === 1;
  }

  async extend(id: string, leaseToken: string, leaseMs: number): Promise<boolean> {
    assertLeaseMs(leaseMs);
    const now = this.store.now();
    return (await this.store.run('oknoExtend', now, this.name, id, String(leaseToken), arg(now + leaseMs))) === 1;
  }

  async replay(id: string): Promise<boolean> {
    return (await this.store.run('oknoReplay', this.store.now(), this.name, id)) === 1;
  }

  async discard(id: string): Promise<boolean> {
    return (await this.store.run('oknoDiscard', this.store.now(), this.name, id)) === 1;
  }

  async get(id: string): Promise<Job | null> {
    return decodeJob(await this.store.readJob(this.name, id));
  }

  async list(state: 'pending' | 'inflight' | 'dead' | 'done', limit: number): Promise<Job[]> {
    assertListState(state);
    assertLimit(limit);
    const reply = await this.store.run('oknoList', this.store.now(), this.name, state, String(limit));
    if (!Array.isArray(reply)) throw new Error('unexpected reply from Redis list');
    return reply.map(decodeJob).filter((job): job is Job => job !== null);
  }

  async stats(): Promise<QueueStats> {
    const now = this.store.now();
    const reply = await this.store.run('oknoStats', now, this.name);
    if (!Array.isArray(reply)) throw new Error('unexpected reply from Redis stats');
    const [open, pending, due, inflight, done, dead, oldest] = reply.map((v: unknown) => (v === null ? null : Number(v)));
    return {
      waiting: (open ?? 0) - (pending ?? 0) - (inflight ?? 0),
      pending: pending ?? 0,
      due: due ?? 0,
      inflight: inflight ?? 0,
      done: done ?? 0,
      dead: dead ?? 0,
      oldestOpenCreatedAt: oldest ?? null,
    };
  }
}
