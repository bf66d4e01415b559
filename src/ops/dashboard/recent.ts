/**
 * What the dashboard needs to know about the last few minutes when it
 * connects: per-partner counts in 10-second buckets (so the page can show the
 * last minute and the last five minutes at once) and the latest events for
 * its event list. In memory only, bounded, and per process.
 */
import type { MessageEvent, PollEvent } from '../../events/messages.js';

export const BUCKET_MS = 10_000;
export const WINDOW_MS = 5 * 60_000;
const KEEP_EVENTS = 50;

export interface FlowBucket {
  /** Start of the bucket (ms since epoch, a multiple of BUCKET_MS). */
  t: number;
  partner: string | null;
  /** Pull mode: with partner null, the gateway's own traffic with this exchange (Acks). */
  exchange: string | null;
  direction: 'inbound' | 'outbound';
  total: number;
  errors: number;
}

/** Outcomes the dashboard counts as errors (shown red). */
export function isError(event: Pick<MessageEvent, 'outcome'>): boolean {
  return event.outcome === 'fault' || event.outcome === 'refused' || event.outcome === 'retry';
}

export class RecentFlow {
  private readonly buckets = new Map<string, FlowBucket>();
  private readonly events: MessageEvent[] = [];
  /** Polls per exchange and 10-second bucket. */
  private readonly polls = new Map<string, { t: number; exchange: string; total: number; failed: number; last: string }>();

  constructor(private readonly now: () => number = Date.now) {}

  add(event: MessageEvent): void {
    const at = Date.parse(event.at);
    const t = Math.floor((Number.isNaN(at) ? this.now() : at) / BUCKET_MS) * BUCKET_MS;
    const exchange = event.partner === null ? (event.exchange ?? null) : null;
    const key = `${t}|${event.direction}|${event.partner ?? ''}|${exchange ?? ''}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { t, partner: event.partner, exchange, direction: event.direction, total: 0, errors: 0 };
      this.buckets.set(key, bucket);
    }
    bucket.total += 1;
    if (isError(event)) bucket.errors += 1;
    this.events.push(event);
    if (this.events.length > KEEP_EVENTS) this.events.splice(0, this.events.length - KEEP_EVENTS);
    this.prune();
  }

  addPoll(poll: PollEvent): void {
    const at = Date.parse(poll.at);
    const t = Math.floor((Number.isNaN(at) ? this.now() : at) / BUCKET_MS) * BUCKET_MS;
    const key = `${t}|${poll.exchange}`;
    let bucket = this.polls.get(key);
    if (!bucket) {
      bucket = { t, exchange: poll.exchange, total: 0, failed: 0, last: poll.at };
      this.polls.set(key, bucket);
    }
    bucket.total += 1;
    if (poll.outcome === 'failed') bucket.failed += 1;
    bucket.last = poll.at;
    this.prune();
  }

  /** Per exchange: polls in the last minute and five minutes, failed ones, and when the last one began. */
  pollCounts(): Array<{ exchange: string; polls1m: number; polls5m: number; failed1m: number; failed5m: number; lastPollAt: string | null }> {
    this.prune();
    const now = this.now();
    const out = new Map<string, { exchange: string; polls1m: number; polls5m: number; failed1m: number; failed5m: number; lastPollAt: string | null }>();
    for (const b of this.polls.values()) {
      const row = out.get(b.exchange) ?? { exchange: b.exchange, polls1m: 0, polls5m: 0, failed1m: 0, failed5m: 0, lastPollAt: null };
      if (b.t + BUCKET_MS > now - WINDOW_MS) {
        row.polls5m += b.total;
        row.failed5m += b.failed;
      }
      if (b.t + BUCKET_MS > now - 60_000) {
        row.polls1m += b.total;
        row.failed1m += b.failed;
      }
      if (!row.lastPollAt || b.last > row.lastPollAt) row.lastPollAt = b.last;
      out.set(b.exchange, row);
    }
    return [...out.values()];
  }

  snapshot(): { at: string; bucketMs: number; windowMs: number; buckets: FlowBucket[]; events: MessageEvent[] } {
    this.prune();
    return {
      at: new Date(this.now()).toISOString(),
      bucketMs: BUCKET_MS,
      windowMs: WINDOW_MS,
      buckets: [...this.buckets.values()].sort((a, b) => a.t - b.t).map((b) => ({ ...b })),
      events: [...this.events],
    };
  }

  private prune(): void {
    const oldest = this.now() - WINDOW_MS - BUCKET_MS;
    for (const [key, bucket] of this.buckets) if (bucket.t < oldest) this.buckets.delete(key);
    for (const [key, bucket] of this.polls) if (bucket.t < oldest) this.polls.delete(key);
  }
}
