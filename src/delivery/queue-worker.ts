/**
 * A consumer of one durable queue: leases jobs, runs the handler, and moves
 * each job on atomically — done, retried later (exponential backoff with full
 * jitter and a cap), or dead. A crash mid-job leaves the lease to expire, and
 * another worker (or this one after restart) takes the job again. Stopping
 * waits for jobs in hand.
 */
import type { Logger } from '../log.js';
import { reportQueueOutcome } from '../events/queue-outcomes.js';
import type { Job, JsonValue, QueueName, Store } from '../store/types.js';

export type JobOutcome = { kind: 'done' } | { kind: 'retry'; error: string; delayMs?: number } | { kind: 'dead'; error: string };

export interface QueueWorkerOptions<P = JsonValue> {
  store: Store;
  queue: QueueName<P>;
  handle(job: Job<P>): Promise<JobOutcome>;
  logger: Logger;
  concurrency?: number;
  leaseMs?: number;
  /** Wait between polls of an empty queue. */
  idleMs?: number;
  backoff?: { baseMs: number; capMs: number };
  now?: () => number;
  /** Called after a job went dead (refused for good, or out of attempts). */
  onDead?: (job: Job<P>, error: string) => Promise<void>;
}

export interface QueueWorker {
  stop(): Promise<void>;
}

export function backoffDelay(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** The longest pause between tries while steps keep failing (the store is down). */
const FAILING_PAUSE_CAP_MS = 5_000;

export function startQueueWorker<P>(options: QueueWorkerOptions<P>): QueueWorker {
  const queue = options.store.queue(options.queue);
  const leaseMs = options.leaseMs ?? 30_000;
  const idleMs = options.idleMs ?? 250;
  const backoff = options.backoff ?? { baseMs: 1_000, capMs: 5 * 60_000 };
  const now = options.now ?? Date.now;
  let stopping = false;
  let wake: (() => void) | null = null;
  // While the store is down every step fails: one log line a minute per queue (not 4 a second per
  // loop), and each loop waits longer between tries, up to FAILING_PAUSE_CAP_MS.
  let failingSince: number | null = null;
  let lastFailureLog = 0;

  async function runOne(): Promise<boolean> {
    const job = await queue.reserve({ leaseMs });
    if (!job) return false;
    let outcome: JobOutcome;
    try {
      outcome = await options.handle(job);
    } catch (error) {
      outcome = { kind: 'retry', error: (error as Error).message };
    }
    const token = job.leaseToken!;
    if (outcome.kind === 'done') await queue.ack(job.id, token);
    else if (outcome.kind === 'dead') {
      if (await queue.fail(job.id, token, outcome.error)) {
        reportQueueOutcome(options.store, options.queue, 'dead');
        options.logger.warn({ queue: options.queue, job: job.id, error: outcome.error }, 'job refused for good: dead');
        await options.onDead?.(job, outcome.error);
      }
    } else {
      const state = await queue.retry(job.id, token, now() + (outcome.delayMs ?? backoffDelay(job.attempts, backoff.baseMs, backoff.capMs)), outcome.error);
      if (state) reportQueueOutcome(options.store, options.queue, state === 'dead' ? 'dead' : 'retry');
      if (state === 'dead') {
        options.logger.warn({ queue: options.queue, job: job.id, attempts: job.attempts, error: outcome.error }, 'job is dead after its last attempt');
        await options.onDead?.(job, outcome.error);
      }
    }
    return true;
  }

  async function loop(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let worked = false;
      try {
        worked = await runOne();
        failures = 0;
        if (failingSince !== null) {
          options.logger.info({ queue: options.queue, failingSince: new Date(failingSince).toISOString() }, 'queue worker steps succeed again');
          failingSince = null;
        }
      } catch (error) {
        failures++;
        const at = Date.now();
        if (failingSince === null || at - lastFailureLog >= 60_000) {
          lastFailureLog = at;
          options.logger.error({ err: error, queue: options.queue, failingSince: new Date(failingSince ?? at).toISOString() }, 'queue worker step failed; retrying');
        }
        failingSince ??= at;
      }
      if (!worked && !stopping) {
        const pause = failures === 0 ? idleMs : Math.min(FAILING_PAUSE_CAP_MS, idleMs * 2 ** Math.min(failures, 8));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, pause);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = null;
      }
    }
  }

  const loops = Array.from({ length: options.concurrency ?? 1 }, () => loop());
  return {
    async stop() {
      stopping = true;
      wake?.();
      await Promise.all(loops);
    },
  };
}
