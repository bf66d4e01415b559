/**
 * Queue state machine of the in-memory store. Every method is synchronous and
 * finishes before anything else can run, which makes it atomic the same way a
 * Lua script is in Redis. The logic mirrors `redis-scripts.ts` step by step;
 * keep the two in sync (the shared contract tests check they agree).
 */
import type { PreparedJob } from './batch.js';
import { SortedIndex } from './sorted-index.js';
import type { Job, JobState, QueueStats } from './types.js';

/** A job as kept in memory: the payload stays JSON text so every read is a copy. */
interface StoredJob extends Omit<Job, 'payload'> {
  payloadJson: string;
  /** Enqueue sequence within the queue: breaks ties in the indexes (FIFO). */
  order: number;
}

class QueueState {
  readonly jobs = new Map<string, StoredJob>();
  /** Score availableAt. Only ungrouped jobs and group heads are here. */
  readonly pending = new SortedIndex();
  /** Score leaseUntil. */
  readonly inflight = new SortedIndex();
  /** Score: when the job died. */
  readonly dead = new SortedIndex();
  /** Score: when the job was done; trimmed to keepDone. */
  readonly done = new SortedIndex();
  /** Every job not yet done or dead (waiting, pending, inflight), score createdAt. */
  readonly open = new SortedIndex();
  /** Per-group FIFO of job ids; the head is the only one that may be pending/inflight/dead. */
  readonly groups = new Map<string, string[]>();
  seq = 0;
}

export const LEASE_EXPIRED = 'lease expired';

function toJob(stored: StoredJob): Job {
  const { payloadJson, order: _order, ...rest } = stored;
  return { ...rest, payload: JSON.parse(payloadJson) };
}

export class MemoryQueues {
  private readonly queues = new Map<string, QueueState>();
  /** Lease tokens are unique across the store so a stale holder can never match. */
  private leaseCounter = 0;

  constructor(private readonly keepDone: number) {}

  private state(queue: string): QueueState {
    let state = this.queues.get(queue);
    if (!state) {
      state = new QueueState();
      this.queues.set(queue, state);
    }
    return state;
  }

  /** Creates the job unless the id exists in this queue; returns the job either way. */
  enqueue(input: PreparedJob, now: number): Job {
    const q = this.state(input.queue);
    const existing = q.jobs.get(input.id);
    if (existing) return toJob(existing);
    const order = ++q.seq;
    let state: JobState = 'pending';
    if (input.group !== null) {
      const fifo = q.groups.get(input.group) ?? [];
      fifo.push(input.id);
      q.groups.set(input.group, fifo);
      if (fifo.length > 1) state = 'waiting';
    }
    const job: StoredJob = {
      queue: input.queue,
      id: input.id,
      payloadJson: input.payloadJson,
      state,
      group: input.group,
      attempts: 0,
      maxAttempts: input.maxAttempts,
      availableAt: input.availableAt,
      leaseUntil: null,
      leaseToken: null,
      lastError: null,
      createdAt: now,
      updatedAt: now,
      order,
    };
    q.jobs.set(job.id, job);
    if (state === 'pending') q.pending.add(job.id, job.availableAt, order);
    q.open.add(job.id, now, order);
    return toJob(job);
  }

  reserve(queue: string, now: number, leaseUntil: number): Job | null {
    const q = this.state(queue);
    this.reclaimExpired(q, now);
    const next = q.pending.upTo(now, 1)[0];
    if (!next) return null;
    const job = this.mustGet(q, next.id);
    q.pending.remove(job.id);
    job.state = 'inflight';
    job.attempts += 1;
    job.leaseUntil = leaseUntil;
    job.leaseToken = String(++this.leaseCounter);
    job.updatedAt = now;
    q.inflight.add(job.id, leaseUntil, job.order);
    return toJob(job);
  }

  ack(queue: string, id: string, token: string, now: number): boolean {
    const q = this.state(queue);
    const job = this.leased(q, id, token);
    if (!job) return false;
    this.endLease(q, job);
    q.open.remove(job.id);
    job.state = 'done';
    job.updatedAt = now;
    // Release the group before trimming: with keepDone 0 the job is removed at once.
    this.releaseGroup(q, job, now);
    q.done.add(job.id, now, job.order);
    const excess = q.done.size - this.keepDone;
    if (excess > 0) {
      for (const old of q.done.slice(excess)) {
        q.done.remove(old.id);
        q.jobs.delete(old.id);
      }
    }
    return true;
  }

  retry(queue: string, id: string, token: string, availableAt: number, error: string, now: number): JobState | null {
    const q = this.state(queue);
    const job = this.leased(q, id, token);
    if (!job) return null;
    this.endLease(q, job);
    job.lastError = error;
    job.updatedAt = now;
    if (job.attempts >= job.maxAttempts) {
      this.toDead(q, job, now);
      return 'dead';
    }
    job.state = 'pending';
    job.availableAt = availableAt;
    q.pending.add(job.id, availableAt, job.order);
    return 'pending';
  }

  fail(queue: string, id: string, token: string, error: string, now: number): boolean {
    const q = this.state(queue);
    const job = this.leased(q, id, token);
    if (!job) return false;
    this.endLease(q, job);
    job.lastError = error;
    job.updatedAt = now;
    this.toDead(q, job, now);
    return true;
  }

  extend(queue: string, id: string, token: string, leaseUntil: number, now: number): boolean {
    const q = this.state(queue);
    const job = this.leased(q, id, token);
    if (!job) return false;
    job.leaseUntil = leaseUntil;
    job.updatedAt = now;
    q.inflight.add(job.id, leaseUntil, job.order);
    return true;
  }

  replay(queue: string, id: string, now: number): boolean {
    const q = this.state(queue);
    const job = q.jobs.get(id);
    if (!job || job.state !== 'dead') return false;
    q.dead.remove(id);
    job.state = 'pending';
    job.attempts = 0;
    job.availableAt = now;
    job.updatedAt = now;
    q.pending.add(id, now, job.order);
    q.open.add(id, job.createdAt, job.order);
    return true;
  }

  discard(queue: string, id: string, now: number): boolean {
    const q = this.state(queue);
    const job = q.jobs.get(id);
    if (!job || (job.state !== 'dead' && job.state !== 'pending')) return false;
    if (job.state === 'dead') q.dead.remove(id);
    else {
      q.pending.remove(id);
      q.open.remove(id);
    }
    this.releaseGroup(q, job, now);
    q.jobs.delete(id);
    return true;
  }

  get(queue: string, id: string): Job | null {
    const job = this.queues.get(queue)?.jobs.get(id);
    return job ? toJob(job) : null;
  }

  /** pending by availableAt, inflight by leaseUntil, dead oldest death first, done newest first. */
  list(queue: string, state: 'pending' | 'inflight' | 'dead' | 'done', limit: number): Job[] {
    const q = this.queues.get(queue);
    if (!q) return [];
    const entries = q[state].slice(limit, state === 'done');
    return entries.map((entry) => toJob(this.mustGet(q, entry.id)));
  }

  stats(queue: string, now: number): QueueStats {
    const q = this.queues.get(queue) ?? new QueueState();
    return {
      waiting: q.open.size - q.pending.size - q.inflight.size,
      pending: q.pending.size,
      due: q.pending.countUpTo(now),
      inflight: q.inflight.size,
      done: q.done.size,
      dead: q.dead.size,
      oldestOpenCreatedAt: q.open.first()?.score ?? null,
    };
  }

  /** Expired leases go back to pending (from when the lease ran out), or dead when attempts are used up. */
  private reclaimExpired(q: QueueState, now: number): void {
    for (const entry of q.inflight.upTo(now, Number.POSITIVE_INFINITY)) {
      const job = this.mustGet(q, entry.id);
      const expiredAt = entry.score;
      this.endLease(q, job);
      job.lastError = LEASE_EXPIRED;
      job.updatedAt = now;
      if (job.attempts >= job.maxAttempts) {
        this.toDead(q, job, now);
      } else {
        job.state = 'pending';
        job.availableAt = expiredAt;
        q.pending.add(job.id, expiredAt, job.order);
      }
    }
  }

  private leased(q: QueueState, id: string, token: string): StoredJob | null {
    const job = q.jobs.get(id);
    return job && job.state === 'inflight' && job.leaseToken === token ? job : null;
  }

  private endLease(q: QueueState, job: StoredJob): void {
    q.inflight.remove(job.id);
    job.leaseUntil = null;
    job.leaseToken = null;
  }

  /** A dead job stays at the head of its group, blocking it until replay or discard. */
  private toDead(q: QueueState, job: StoredJob, now: number): void {
    job.state = 'dead';
    q.dead.add(job.id, now, job.order);
    q.open.remove(job.id);
  }

  /** Removes the job from its group and makes the next one pending. */
  private releaseGroup(q: QueueState, job: StoredJob, now: number): void {
    if (job.group === null) return;
    const fifo = q.groups.get(job.group);
    if (!fifo) return;
    const at = fifo.indexOf(job.id);
    if (at >= 0) fifo.splice(at, 1);
    if (fifo.length === 0) {
      q.groups.delete(job.group);
      return;
    }
    const headId = fifo[0];
    const head = headId === undefined ? undefined : q.jobs.get(headId);
    if (head && head.state === 'waiting') {
      head.state = 'pending';
      head.updatedAt = now;
      q.pending.add(head.id, head.availableAt, head.order);
    }
  }

  private mustGet(q: QueueState, id: string): StoredJob {
    const job = q.jobs.get(id);
    if (!job) throw new Error(`store invariant broken: job ${id} is indexed but missing`);
    return job;
  }
}
