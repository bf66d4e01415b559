/**
 * Finding journal records: filters and bounded paging over the `journal`
 * feed (newest first by default, or oldest first from a cursor). Filters are
 * applied while paging, so one request reads at most `scanLimit` records; when
 * it stops there it says so and returns the cursor to continue from.
 */
import type { Store } from '../store/types.js';
import { JOURNAL, type JournalRecord } from './records.js';

export interface JournalFilter {
  messageId?: string;
  applicationId?: string;
  service?: string;
  partner?: string;
  direction?: 'inbound' | 'outbound';
  outcome?: 'succeeded' | 'failed';
  /** ms since epoch, inclusive: the record's time (see recordTime) is at or after it. */
  from?: number;
  /** ms since epoch, exclusive. */
  to?: number;
}

export interface JournalPage {
  items: Array<{ seq: number; record: JournalRecord }>;
  /** Cursor for the next page in the same direction, or null when there is nothing more. */
  next: string | null;
  /** Records read to make this page. */
  scanned: number;
  /** True when the scan limit ended the page before it was full (more may match: continue with `next`). */
  scanLimitReached: boolean;
}

/**
 * Records are appended about when they happen, but not strictly in time
 * order (an outbound record is written when the partner's answer arrives,
 * up to DELIVERY_TIMEOUT_MS after requestOutTs). A scan towards older records
 * stops once it is this far before `from` (or towards newer ones, past `to`).
 */
export const TIME_ORDER_SLACK_MS = 15 * 60_000;

/** When the exchange began: the request's arrival (inbound) or departure (outbound). */
export function recordTime(record: JournalRecord): number | null {
  const at = record.requestInTs ?? record.requestOutTs ?? record.responseInTs ?? record.responseOutTs;
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

export function matchesFilter(r: JournalRecord, f: JournalFilter): boolean {
  if (f.messageId !== undefined && r.messageId !== f.messageId) return false;
  if (f.applicationId !== undefined && r.applicationId !== f.applicationId) return false;
  if (f.service !== undefined && r.service !== f.service) return false;
  if (f.partner !== undefined && r.partner !== f.partner) return false;
  if (f.direction !== undefined && r.direction !== f.direction) return false;
  if (f.outcome !== undefined && r.succeeded !== (f.outcome === 'succeeded')) return false;
  if (f.from !== undefined || f.to !== undefined) {
    const t = recordTime(r);
    if (t === null) return false;
    if (f.from !== undefined && t < f.from) return false;
    if (f.to !== undefined && t >= f.to) return false;
  }
  return true;
}

export interface SearchOptions {
  limit: number;
  /** Newest first, from seq < before (default: from the newest). */
  before?: number;
  /** Oldest first, from seq > after. Exclusive with `before`. */
  after?: number;
  /** Most records read per call (default 10,000). */
  scanLimit?: number;
}

export async function searchJournal(store: Store, filter: JournalFilter, options: SearchOptions): Promise<JournalPage> {
  const forward = options.after !== undefined;
  const scanLimit = options.scanLimit ?? 10_000;
  let cursor = forward ? options.after! : (options.before ?? Number.POSITIVE_INFINITY);
  const items: JournalPage['items'] = [];
  let scanned = 0;
  let exhausted = false;
  outer: while (items.length < options.limit) {
    if (scanned >= scanLimit) break;
    const n = Math.min(200, scanLimit - scanned);
    const entries = forward ? await store.readFeed(JOURNAL, cursor, n) : await store.readFeedBackwards(JOURNAL, cursor, n);
    if (entries.length === 0) {
      exhausted = true;
      break;
    }
    const records = await Promise.all(entries.map((e) => store.getDoc(JOURNAL, e.id)));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const record = records[i];
      scanned += 1;
      cursor = entry.seq;
      if (!record) continue;
      const t = recordTime(record);
      if (t !== null && !forward && filter.from !== undefined && t < filter.from - TIME_ORDER_SLACK_MS) {
        exhausted = true;
        break outer;
      }
      if (t !== null && forward && filter.to !== undefined && t >= filter.to + TIME_ORDER_SLACK_MS) {
        exhausted = true;
        break outer;
      }
      if (matchesFilter(record, filter)) {
        items.push({ seq: entry.seq, record });
        if (items.length >= options.limit) break outer;
      }
    }
    if (entries.length < n) {
      exhausted = true;
      break;
    }
  }
  return {
    items,
    next: exhausted ? null : String(cursor),
    scanned,
    scanLimitReached: !exhausted && items.length < options.limit,
  };
}
