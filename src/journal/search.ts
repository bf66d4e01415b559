/**
 * Finding journal records: filters and bounded paging over the `journal`
 * feed (newest first by default, or oldest first from a cursor). Filters are
 * applied while paging, so one request reads at most `scanLimit` records; when
 * it stops there it says so and returns the cursor to continue from.
 */
import type { Store } from '../store/types.js';
import type { ArchiveReader } from './archive-reader.js';
import { ARCHIVED_FEED, ARCHIVED_RECORDS, type ArchivedRecord } from './archiver.js';
import { JOURNAL, recordTime, type JournalRecord } from './records.js';

export interface JournalFilter {
  messageId?: string;
  /** X-Road / Trembita records whose client is this subsystem, or any subsystem of this member. */
  xroadClient?: string;
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


export function matchesFilter(r: JournalRecord, f: JournalFilter): boolean {
  if (f.messageId !== undefined && r.messageId !== f.messageId) return false;
  if (f.applicationId !== undefined && r.applicationId !== f.applicationId) return false;
  if (f.xroadClient !== undefined && !isClientOf(r.xroad?.client ?? null, f.xroadClient)) return false;
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

/** The record's client is `wanted`, or a subsystem of the member `wanted` names. */
function isClientOf(client: string | null, wanted: string): boolean {
  return client !== null && (client === wanted || client.startsWith(`${wanted}/`));
}

export interface SearchOptions {
  limit: number;
  /** Newest first, from seq < before (default: from the newest). */
  before?: number;
  /** Oldest first, from seq > after (0: from the oldest, archived records first). Exclusive with `before`. */
  after?: number;
  /** A cursor into the archived records (`a<n>` as a page's `next` gives it): go on there, in the direction of `after`/`before`. */
  archived?: number;
  /** Most records read per call (default 10,000). */
  scanLimit?: number;
}

/**
 * Newest first by default: the store's journal, then (when an archive reader is given) the
 * archived records, newest first too. Oldest first from the start (`after: 0`): the archived
 * records, then the store's. A page's `next` is the cursor to go on from, a seq in the store's
 * journal or `a<n>` in the archived records.
 */
export async function searchJournal(store: Store, filter: JournalFilter, options: SearchOptions, archive?: ArchiveReader | null): Promise<JournalPage> {
  const forward = options.after !== undefined;
  const scanLimit = options.scanLimit ?? 10_000;
  const items: JournalPage['items'] = [];
  let scanned = 0;
  const full = () => items.length >= options.limit;
  // Phases in the order of the search: forward from the start, the archive comes first.
  type Phase = { kind: 'hot'; cursor: number } | { kind: 'archive'; cursor: number };
  const phases: Phase[] = [];
  if (options.archived !== undefined) {
    phases.push({ kind: 'archive', cursor: options.archived });
    if (forward) phases.push({ kind: 'hot', cursor: 0 });
  } else if (forward) {
    if (options.after === 0 && archive) phases.push({ kind: 'archive', cursor: 0 });
    phases.push({ kind: 'hot', cursor: options.after! });
  } else {
    phases.push({ kind: 'hot', cursor: options.before ?? Number.POSITIVE_INFINITY });
    if (archive) phases.push({ kind: 'archive', cursor: Number.POSITIVE_INFINITY });
  }
  for (const phase of phases) {
    const result = phase.kind === 'hot' ? await scanHot(store, filter, forward, phase.cursor, options.limit - items.length, scanLimit - scanned) : await scanArchived(store, archive!, filter, forward, phase.cursor, options.limit - items.length, scanLimit - scanned);
    items.push(...result.items);
    scanned += result.scanned;
    if (!result.exhausted) {
      const next = phase.kind === 'hot' ? String(result.cursor) : `a${result.cursor}`;
      return { items, next, scanned, scanLimitReached: !full() };
    }
    if (result.timeBound) break; // past the filter's time range: older (or newer) phases cannot match
  }
  return { items, next: null, scanned, scanLimitReached: false };
}

interface Scan {
  items: JournalPage['items'];
  scanned: number;
  cursor: number;
  /** Nothing more in this phase. */
  exhausted: boolean;
  /** Ended by the filter's time range (so the phases beyond cannot match either). */
  timeBound: boolean;
}

async function scanHot(store: Store, filter: JournalFilter, forward: boolean, from: number, limit: number, scanLimit: number): Promise<Scan> {
  let cursor = from;
  const items: JournalPage['items'] = [];
  let scanned = 0;
  while (items.length < limit) {
    if (scanned >= scanLimit) return { items, scanned, cursor, exhausted: false, timeBound: false };
    const n = Math.min(200, scanLimit - scanned);
    const entries = forward ? await store.readFeed(JOURNAL, cursor, n) : await store.readFeedBackwards(JOURNAL, cursor, n);
    if (entries.length === 0) return { items, scanned, cursor, exhausted: true, timeBound: false };
    const records = await Promise.all(entries.map((e) => store.getDoc(JOURNAL, e.id)));
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const record = records[i];
      scanned += 1;
      cursor = entry.seq;
      if (!record) continue;
      if (pastTimeRange(recordTime(record), filter, forward)) return { items, scanned, cursor, exhausted: true, timeBound: true };
      if (matchesFilter(record, filter)) {
        items.push({ seq: entry.seq, record });
        if (items.length >= limit) return { items, scanned, cursor, exhausted: i === entries.length - 1 && entries.length < n, timeBound: false };
      }
    }
    if (entries.length < n) return { items, scanned, cursor, exhausted: true, timeBound: false };
  }
  return { items, scanned, cursor, exhausted: false, timeBound: false };
}

async function scanArchived(store: Store, archive: ArchiveReader, filter: JournalFilter, forward: boolean, from: number, limit: number, scanLimit: number): Promise<Scan> {
  let cursor = from;
  const items: JournalPage['items'] = [];
  let scanned = 0;
  while (items.length < limit) {
    if (scanned >= scanLimit) return { items, scanned, cursor, exhausted: false, timeBound: false };
    const n = Math.min(200, scanLimit - scanned);
    const entries = forward ? await store.readFeed(ARCHIVED_FEED, cursor, n) : await store.readFeedBackwards(ARCHIVED_FEED, cursor, n);
    if (entries.length === 0) return { items, scanned, cursor, exhausted: true, timeBound: false };
    const ids = entries.map((e) => e.id.slice(e.id.indexOf(':') + 1));
    const indexes = await Promise.all(ids.map((id) => store.getDoc(ARCHIVED_RECORDS, id)));
    for (let i = 0; i < entries.length; i++) {
      const index = indexes[i];
      scanned += 1;
      cursor = entries[i]!.seq;
      if (!index) continue;
      if (pastTimeRange(index.time, filter, forward)) return { items, scanned, cursor, exhausted: true, timeBound: true };
      if (!matchesIndex(index, filter)) continue;
      const entry = await archive.entry(ids[i]!);
      if (!entry || !matchesFilter(entry.record, filter)) continue;
      items.push({ seq: entry.seq, record: entry.record });
      if (items.length >= limit) return { items, scanned, cursor, exhausted: i === entries.length - 1 && entries.length < n, timeBound: false };
    }
    if (entries.length < n) return { items, scanned, cursor, exhausted: true, timeBound: false };
  }
  return { items, scanned, cursor, exhausted: false, timeBound: false };
}

/** Beyond the filter's time range, with the slack for records written out of time order. */
function pastTimeRange(t: number | null, filter: JournalFilter, forward: boolean): boolean {
  if (t === null) return false;
  if (!forward && filter.from !== undefined && t < filter.from - TIME_ORDER_SLACK_MS) return true;
  if (forward && filter.to !== undefined && t >= filter.to + TIME_ORDER_SLACK_MS) return true;
  return false;
}

function matchesIndex(r: ArchivedRecord, f: JournalFilter): boolean {
  if (f.messageId !== undefined && r.messageId !== f.messageId) return false;
  if (f.applicationId !== undefined && r.applicationId !== f.applicationId) return false;
  if (f.service !== undefined && r.service !== f.service) return false;
  if (f.partner !== undefined && r.partner !== f.partner) return false;
  if (f.direction !== undefined && r.direction !== f.direction) return false;
  if (f.outcome !== undefined && r.succeeded !== (f.outcome === 'succeeded')) return false;
  if (f.from !== undefined && (r.time === null || r.time < f.from)) return false;
  if (f.to !== undefined && (r.time === null || r.time >= f.to)) return false;
  return true;
}
