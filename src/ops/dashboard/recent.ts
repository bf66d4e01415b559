/**
 * What the dashboard needs to know about the last few minutes when it
 * connects: per-partner counts in 10-second buckets (so the page can show the
 * last minute and the last five minutes at once) and the latest events for
 * its event list. In memory only, bounded, and per process.
 */
import type { MessageEvent } from '../events.js';

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
  }
}
