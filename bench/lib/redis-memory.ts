/**
 * Redis memory of the gateway's data (issue 23 point 6): pure functions over what Redis reports,
 * so test/bench/redis-memory.test.ts can check that they compute what the bench and the soak
 * claim. The I/O (INFO, SCAN, MEMORY USAGE) is in redis-probe.ts.
 *
 * Two measures, both reported:
 *  - `used_memory` (INFO memory): everything the server holds, including its own overhead and the
 *    allocator's view; what an operator sizes RAM by, but noisy (buffers, fragmentation, lazy frees).
 *  - the sum of `MEMORY USAGE key SAMPLES 0` over the gateway's keys (SCAN by REDIS_KEY_PREFIX):
 *    exact per key (key, value and the object's overhead), grouped by family (`doc:<collection>`,
 *    `feed:<feed>`, `q:<queue>`), so a figure per message says where the bytes are.
 */

/** The fields of `INFO memory` (or any INFO section): `name:value` lines, numbers where they are numbers. */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf(':');
    if (at > 0) out[line.slice(0, at)] = line.slice(at + 1);
  }
  return out;
}

/** `used_memory` from INFO memory text, bytes. */
export function usedMemory(infoText: string): number {
  const v = Number(parseInfo(infoText).used_memory);
  if (!Number.isFinite(v)) throw new Error('INFO memory has no used_memory');
  return v;
}

/**
 * The family of one of the gateway's keys (see src/store/redis-scripts.ts for the layout):
 * `doc:<collection>:<id>` → `doc:<collection>`, `feed:<feed>` and `feed:<feed>:seq` → `feed:<feed>`,
 * `q:<queue>:…` → `q:<queue>`, anything else → its first segment. Keys without the prefix → null.
 */
export function keyFamily(key: string, prefix: string): string | null {
  if (!key.startsWith(prefix)) return null;
  const rest = key.slice(prefix.length);
  const parts = rest.split(':');
  if ((parts[0] === 'doc' || parts[0] === 'blob' || parts[0] === 'feed' || parts[0] === 'q') && parts.length >= 2) return `${parts[0]}:${parts[1]}`;
  return parts[0]!;
}

/** What a family of keys is for, as far as memory goes. */
export type FamilyGroup = 'journal-hot' | 'journal-index' | 'other';

/**
 * `journal-hot`: the records in the hot window with their envelopes, seals and checkpoints (what
 * the archiver moves out of Redis); `journal-index`: what stays in Redis per archived record and
 * segment (src/journal/archiver.ts: ARCHIVED_RECORDS, ARCHIVED_FEED, ARCHIVE_SEGMENTS); `other`:
 * everything else (applications, inbox items, idempotency records, queues…), which the journal
 * archive does not touch.
 */
export function familyGroup(family: string): FamilyGroup {
  if (family === 'doc:journal-archived' || family === 'feed:journal-archived' || family === 'doc:journal-archive-segments') return 'journal-index';
  if (family === 'blob:evidence' || family === 'doc:evidence' || family === 'doc:journal' || family.startsWith('doc:journal-') || family === 'feed:journal') return 'journal-hot';
  return 'other';
}

/** Bytes per group (from a per-family map of bytes, or of bytes per message). */
export function byGroup(byFamily: Record<string, number>): Record<FamilyGroup, number> {
  const out: Record<FamilyGroup, number> = { 'journal-hot': 0, 'journal-index': 0, other: 0 };
  for (const [family, bytes] of Object.entries(byFamily)) out[familyGroup(family)] += bytes;
  return out;
}

export interface FamilyUsage {
  keys: number;
  bytes: number;
}

export interface KeyUsage {
  /** Keys under the prefix. */
  keys: number;
  /** Sum of MEMORY USAGE over them, bytes. */
  bytes: number;
  byFamily: Record<string, FamilyUsage>;
}

/** Sums MEMORY USAGE by family; keys outside the prefix are left out. */
export function summarizeKeys(entries: Iterable<{ key: string; bytes: number }>, prefix: string): KeyUsage {
  const byFamily: Record<string, FamilyUsage> = {};
  let keys = 0;
  let bytes = 0;
  for (const e of entries) {
    const family = keyFamily(e.key, prefix);
    if (family === null) continue;
    const f = (byFamily[family] ??= { keys: 0, bytes: 0 });
    f.keys++;
    f.bytes += e.bytes;
    keys++;
    bytes += e.bytes;
  }
  return { keys, bytes, byFamily };
}

/** One moment: INFO's used_memory and the gateway's keys. */
export interface MemorySnapshot {
  usedMemory: number;
  keys: KeyUsage;
  /**
   * INFO stats total_net_input_bytes: every byte clients sent the server so far (commands with
   * their arguments: what the gateway writes, plus its reads' small commands). Absent in
   * snapshots taken by older code.
   */
  netInputBytes?: number;
}

export interface PerMessage {
  messages: number;
  /** (used_memory − used_memory before) ÷ messages. */
  usedMemoryPerMessage: number;
  /** (Σ MEMORY USAGE − Σ before) ÷ messages: the gateway's own keys only. */
  keyBytesPerMessage: number;
  /** Keys added per message. */
  keysPerMessage: number;
  /** (total_net_input_bytes − before) ÷ messages: bytes sent to Redis per message (null when not read). */
  writtenPerMessage: number | null;
  /** Per family, bytes added ÷ messages (families that grew or shrank). */
  byFamily: Record<string, number>;
  /** The same per group (familyGroup). */
  byGroup: Record<FamilyGroup, number>;
}

/** What each message left in Redis between two snapshots. */
export function perMessage(before: MemorySnapshot, after: MemorySnapshot, messages: number): PerMessage {
  if (!(messages > 0)) throw new Error('perMessage needs at least one message');
  const byFamily: Record<string, number> = {};
  for (const family of new Set([...Object.keys(before.keys.byFamily), ...Object.keys(after.keys.byFamily)])) {
    const delta = (after.keys.byFamily[family]?.bytes ?? 0) - (before.keys.byFamily[family]?.bytes ?? 0);
    if (delta !== 0) byFamily[family] = delta / messages;
  }
  return {
    messages,
    usedMemoryPerMessage: (after.usedMemory - before.usedMemory) / messages,
    keyBytesPerMessage: (after.keys.bytes - before.keys.bytes) / messages,
    keysPerMessage: (after.keys.keys - before.keys.keys) / messages,
    writtenPerMessage: before.netInputBytes !== undefined && after.netInputBytes !== undefined ? (after.netInputBytes - before.netInputBytes) / messages : null,
    byFamily,
    byGroup: byGroup(byFamily),
  };
}

/** Ordinary least-squares slope of y over x (0 with fewer than two distinct x). */
export function slope(points: ReadonlyArray<{ x: number; y: number }>): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/** The samples in quarters by position (the first quarter holds the extra ones when n is not a multiple of 4). */
export function quarters<T>(xs: readonly T[]): [T[], T[], T[], T[]] {
  const n = xs.length;
  const size = Math.floor(n / 4);
  const first = n - 3 * size;
  return [xs.slice(0, first), xs.slice(first, first + size), xs.slice(first + size, first + 2 * size), xs.slice(first + 2 * size)];
}

export interface SoakSample {
  /** Seconds since the soak started. */
  t: number;
  /** Accepted messages so far. */
  sent: number;
  /** Redis used_memory, bytes. */
  usedMemory: number;
  /** Σ MEMORY USAGE of the gateway's keys, bytes (null when not sampled). */
  keyBytes: number | null;
  /** Records still hot (the store's journal feed length). */
  hotRecords: number;
  /** Bytes of segment files in the archive directory. */
  archiveBytes: number;
  archiveSegments: number;
}

export interface Flatness {
  /** Mean of the metric over the second quarter of the samples. */
  secondQuarterMean: number;
  lastQuarterMean: number;
  /** (last − second) ÷ second: informative only (a time-based window holds rate × window, and the rate moves). */
  change: number;
  /** Least-squares slope of the metric over the second half of the samples, per accepted message (bytes / message). */
  slopePerMessage: number;
  /** What each message would add if nothing left Redis (bytes / message). */
  unboundedPerMessage: number;
  /** slopePerMessage ÷ unboundedPerMessage. */
  ratio: number;
  /** The bound it was held to: |ratio| ≤ tolerance. */
  tolerance: number;
  flat: boolean;
}

/**
 * "Flat": over the second half of the soak (the first half includes the hot window filling up and
 * the archiver catching up), the metric grows by at most `tolerance` (a fraction, e.g. 0.05) of
 * what each message would add if nothing left Redis: |slope per message| ≤ tolerance ×
 * `unboundedPerMessage`. A store that keeps everything has a ratio of 1; a bounded one, about 0
 * (its level follows the rate × the hot window, not the count). The quarter means are reported too.
 */
export function flatness(samples: readonly SoakSample[], metric: (s: SoakSample) => number, opts: { unboundedPerMessage: number; tolerance: number }): Flatness {
  if (samples.length < 8) throw new Error(`flatness needs at least 8 samples, got ${samples.length}`);
  if (!(opts.unboundedPerMessage > 0)) throw new Error('flatness needs the unbounded bytes per message (> 0)');
  const [, q2, , q4] = quarters(samples);
  const secondQuarterMean = mean(q2.map(metric));
  const lastQuarterMean = mean(q4.map(metric));
  const half = samples.slice(Math.floor(samples.length / 2));
  const slopePerMessage = slope(half.map((s) => ({ x: s.sent, y: metric(s) })));
  const ratio = slopePerMessage / opts.unboundedPerMessage;
  return {
    secondQuarterMean,
    lastQuarterMean,
    change: (lastQuarterMean - secondQuarterMean) / secondQuarterMean,
    slopePerMessage,
    unboundedPerMessage: opts.unboundedPerMessage,
    ratio,
    tolerance: opts.tolerance,
    flat: Math.abs(ratio) <= opts.tolerance,
  };
}

/** The journal's hot bytes per hot record, over the samples that hold any: Σ keyBytes ÷ Σ hotRecords. */
export function bytesPerHotRecord(samples: readonly SoakSample[]): number {
  let bytes = 0;
  let records = 0;
  for (const s of samples) {
    if (s.hotRecords > 0 && s.keyBytes !== null) {
      bytes += s.keyBytes;
      records += s.hotRecords;
    }
  }
  return records > 0 ? bytes / records : NaN;
}
