/**
 * The dashboard's charts: per partner, per 5-minute bucket, messages, errors
 * and a latency histogram, kept in the store (Redis: one hash per bucket,
 * expiring after SERIES_TTL_MS), so the last 24 hours survive a restart and
 * every worker process adds its own traffic to the same buckets.
 *
 * Each process sums its events in memory and writes them every FLUSH_MS (one
 * MULTI per bucket touched), not one round trip per message. p95 comes from a
 * fixed histogram (LATENCY_BOUNDS_MS): the upper bound of the bucket that
 * holds the 95th percentile, an honest over-estimate by at most one step.
 */
import type { Store } from '../../store/types.js';
import type { MessageEvent } from '../../events/messages.js';
import { isError } from './recent.js';

export const SERIES_BUCKET_MS = 5 * 60_000;
export const SERIES_WINDOW_MS = 24 * 60 * 60_000;
/** A bucket lives this long after its last update: the window plus some slack. */
export const SERIES_TTL_MS = SERIES_WINDOW_MS + 60 * 60_000;
export const FLUSH_MS = 2_000;
/** Histogram upper bounds (ms); the last bucket is everything above the last bound. */
export const LATENCY_BOUNDS_MS = [5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000] as const;
/** Traffic without a partner (a message nobody signed that we know) is counted under this name. */
export const UNKNOWN = '(unknown)';

const keyOf = (t: number) => `ops-series.${Math.floor(t / SERIES_BUCKET_MS)}`;

export interface SeriesPoint {
  /** Start of the bucket (ISO). */
  t: string;
  messages: number;
  errors: number;
  /** null when there were no messages. */
  p95Ms: number | null;
}

export interface Series {
  bucketMs: number;
  from: string;
  to: string;
  /** One line per partner (or exchange, or UNKNOWN) seen in the window, points oldest first (every bucket, zeros included). */
  partners: Array<{ partner: string; points: SeriesPoint[] }>;
}

/** Which line an event belongs to: its partner, the exchange it went through (pull mode's own traffic), or UNKNOWN. */
export function seriesKeyOf(e: MessageEvent): string {
  return e.partner ?? (e.exchange ? `exchange:${e.exchange}` : UNKNOWN);
}

function latencyBucket(ms: number): number {
  const i = LATENCY_BOUNDS_MS.findIndex((b) => ms <= b);
  return i < 0 ? LATENCY_BOUNDS_MS.length : i;
}

export function p95(histogram: number[]): number | null {
  const total = histogram.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = Math.ceil(total * 0.95);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Number.POSITIVE_INFINITY;
  }
  return null;
}

export class SeriesRecorder {
  private pending = new Map<string, Record<string, number>>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly onError: (error: Error) => void = () => {},
  ) {}

  add(e: MessageEvent): void {
    const at = Date.parse(e.at);
    const key = keyOf(Number.isNaN(at) ? this.now() : at);
    let fields = this.pending.get(key);
    if (!fields) {
      fields = {};
      this.pending.set(key, fields);
    }
    const p = seriesKeyOf(e);
    const inc = (f: string) => (fields![`${p}|${f}`] = (fields![`${p}|${f}`] ?? 0) + 1);
    inc('n');
    if (isError(e)) inc('e');
    inc(`l${latencyBucket(Math.max(0, e.durationMs))}`);
    if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }

  /** Writes what this process has counted; resolves when it is in the store. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = new Map();
    this.flushing = this.flushing.then(async () => {
      for (const [key, fields] of batch) {
        try {
          await this.store.addCounters(key, fields, SERIES_TTL_MS);
        } catch (error) {
          this.onError(error as Error);
        }
      }
    });
    return this.flushing;
  }

  /** The last `windowMs` (at most 24 h), bucket by bucket. */
  async read(windowMs = SERIES_WINDOW_MS): Promise<Series> {
    await this.flush();
    const now = this.now();
    const last = Math.floor(now / SERIES_BUCKET_MS) * SERIES_BUCKET_MS;
    const count = Math.max(1, Math.ceil(Math.min(windowMs, SERIES_WINDOW_MS) / SERIES_BUCKET_MS));
    const starts = Array.from({ length: count }, (_, i) => last - (count - 1 - i) * SERIES_BUCKET_MS);
    const hashes = await this.store.readCounters(starts.map(keyOf));
    const lines = new Map<string, Array<{ n: number; e: number; h: number[] }>>();
    hashes.forEach((hash, i) => {
      for (const [field, value] of Object.entries(hash)) {
        const bar = field.lastIndexOf('|');
        if (bar < 0) continue;
        const partner = field.slice(0, bar);
        const what = field.slice(bar + 1);
        let line = lines.get(partner);
        if (!line) {
          line = starts.map(() => ({ n: 0, e: 0, h: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0) }));
          lines.set(partner, line);
        }
        const point = line[i]!;
        if (what === 'n') point.n += value;
        else if (what === 'e') point.e += value;
        else if (what.startsWith('l')) {
          const b = Number(what.slice(1));
          if (Number.isInteger(b) && b >= 0 && b < point.h.length) point.h[b]! += value;
        }
      }
    });
    return {
      bucketMs: SERIES_BUCKET_MS,
      from: new Date(starts[0]!).toISOString(),
      to: new Date(last + SERIES_BUCKET_MS).toISOString(),
      partners: [...lines.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([partner, points]) => ({
          partner,
          points: points.map((p, i) => {
            const q = p95(p.h);
            return { t: new Date(starts[i]!).toISOString(), messages: p.n, errors: p.e, p95Ms: q === null ? null : Number.isFinite(q) ? q : LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1]! * 2 };
          }),
        })),
    };
  }

  async close(): Promise<void> {
    await this.flush();
  }
}
