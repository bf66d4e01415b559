/**
 * The bench's and the soak's Redis memory analysis (bench/lib/redis-memory.ts) computes what it
 * claims: INFO parsing, key families and their groups, bytes per message between snapshots, the
 * quarters, the slope and the "flat" verdict.
 */
import { describe, expect, it } from 'vitest';
import { byGroup, bytesPerHotRecord, familyGroup, flatness, keyFamily, parseInfo, perMessage, quarters, slope, summarizeKeys, usedMemory, type MemorySnapshot, type SoakSample } from '../../bench/lib/redis-memory.js';

const INFO = '# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nmaxmemory_policy:noeviction\r\n\r\n';

describe('INFO memory', () => {
  it('reads the fields and used_memory', () => {
    expect(parseInfo(INFO)).toEqual({ used_memory: '1048576', used_memory_human: '1.00M', maxmemory_policy: 'noeviction' });
    expect(usedMemory(INFO)).toBe(1_048_576);
    expect(() => usedMemory('# Memory\r\n')).toThrow(/used_memory/);
  });
});

describe('key families', () => {
  const P = 'okno:';
  it('follow the store layout: doc:<collection>, feed:<feed> with its :seq, q:<queue>, else the first segment', () => {
    expect(keyFamily('okno:doc:journal:00abc', P)).toBe('doc:journal');
    expect(keyFamily('okno:doc:journal-seals:000000000000001', P)).toBe('doc:journal-seals');
    expect(keyFamily('okno:feed:journal', P)).toBe('feed:journal');
    expect(keyFamily('okno:feed:journal:seq', P)).toBe('feed:journal');
    expect(keyFamily('okno:q:delivery:job:1', P)).toBe('q:delivery');
    expect(keyFamily('okno:blob:evidence:r1.request', P)).toBe('blob:evidence');
    expect(keyFamily('okno:idem:portal:3f0c', P)).toBe('idem');
    expect(keyFamily('other:doc:journal:1', P)).toBeNull();
  });

  it('group into what the archiver moves, what it leaves as an index, and the rest', () => {
    for (const f of ['doc:journal', 'blob:evidence', 'doc:evidence', 'doc:journal-seals', 'doc:journal-seal-index', 'doc:journal-checkpoints', 'doc:journal-head', 'doc:journal-anchor', 'feed:journal']) expect(familyGroup(f), f).toBe('journal-hot');
    for (const f of ['doc:journal-archived', 'feed:journal-archived', 'doc:journal-archive-segments']) expect(familyGroup(f), f).toBe('journal-index');
    for (const f of ['doc:applications', 'doc:inbox', 'idem', 'feed:inbox', 'q:delivery', 'doc:journalist']) expect(familyGroup(f), f).toBe('other');
    expect(byGroup({ 'doc:evidence': 100, 'doc:journal': 20, 'doc:journal-archived': 7, 'feed:journal-archived': 1, 'doc:inbox': 50, idem: -5 })).toEqual({ 'journal-hot': 120, 'journal-index': 8, other: 45 });
  });

  it('sums MEMORY USAGE per family and leaves out keys outside the prefix', () => {
    const u = summarizeKeys(
      [
        { key: 'okno:doc:inbox:a', bytes: 100 },
        { key: 'okno:doc:inbox:b', bytes: 140 },
        { key: 'okno:feed:inbox', bytes: 60 },
        { key: 'okno:feed:inbox:seq', bytes: 10 },
        { key: 'someone-else:doc:inbox:a', bytes: 1000 },
      ],
      'okno:',
    );
    expect(u).toEqual({ keys: 4, bytes: 310, byFamily: { 'doc:inbox': { keys: 2, bytes: 240 }, 'feed:inbox': { keys: 2, bytes: 70 } } });
  });
});

describe('bytes per message', () => {
  const snap = (usedMemory: number, byFamily: Record<string, [number, number]>): MemorySnapshot => {
    const fam = Object.fromEntries(Object.entries(byFamily).map(([f, [keys, bytes]]) => [f, { keys, bytes }]));
    return { usedMemory, keys: { keys: Object.values(fam).reduce((a, f) => a + f.keys, 0), bytes: Object.values(fam).reduce((a, f) => a + f.bytes, 0), byFamily: fam } };
  };
  it('is the difference between two snapshots divided by the messages, per family and group', () => {
    const before = snap(1_000_000, { counters: [1, 200] });
    const hot = snap(1_000_000 + 10 * 46_000, { counters: [1, 200], 'doc:evidence': [20, 10 * 18_000], 'doc:journal': [10, 10 * 1_400], 'doc:inbox': [10, 10 * 10_000] });
    const archived = snap(1_000_000 + 10 * 11_000, { counters: [1, 200], 'doc:journal-archived': [10, 10 * 440], 'doc:inbox': [10, 10 * 10_000] });
    const h = perMessage(before, hot, 10);
    expect(h).toMatchObject({ messages: 10, usedMemoryPerMessage: 46_000, keyBytesPerMessage: 29_400, keysPerMessage: 4 });
    expect(h.byFamily).toEqual({ 'doc:evidence': 18_000, 'doc:journal': 1_400, 'doc:inbox': 10_000 });
    expect(h.byGroup).toEqual({ 'journal-hot': 19_400, 'journal-index': 0, other: 10_000 });
    const a = perMessage(before, archived, 10);
    expect(a).toMatchObject({ usedMemoryPerMessage: 11_000, keyBytesPerMessage: 10_440, keysPerMessage: 2, byGroup: { 'journal-hot': 0, 'journal-index': 440, other: 10_000 } });
    // a family that shrank between two later snapshots counts negative
    expect(perMessage(hot, archived, 10).byFamily).toEqual({ 'doc:evidence': -18_000, 'doc:journal': -1_400, 'doc:journal-archived': 440 });
    expect(() => perMessage(before, hot, 0)).toThrow();
    // Bytes sent to Redis: from total_net_input_bytes when both snapshots have it, else null.
    expect(h.writtenPerMessage).toBeNull();
    expect(perMessage({ ...before, netInputBytes: 5_000 }, { ...hot, netInputBytes: 5_000 + 10 * 21_000 }, 10).writtenPerMessage).toBe(21_000);
  });
});

describe('the soak: quarters, slope, flat', () => {
  it('splits into quarters in order, the first taking the remainder', () => {
    expect(quarters([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])).toEqual([[1, 2, 3, 4], [5, 6], [7, 8], [9, 10]]);
    expect(quarters([1, 2, 3, 4, 5, 6, 7, 8]).map((q) => q.length)).toEqual([2, 2, 2, 2]);
  });

  it('slope is the least-squares slope', () => {
    expect(slope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }])).toBeCloseTo(2, 10);
    expect(slope([{ x: 0, y: 0 }, { x: 1, y: 2 }, { x: 2, y: 0 }, { x: 3, y: 2 }])).toBeCloseTo(0.4, 10);
    expect(slope([{ x: 1, y: 5 }])).toBe(0);
    expect(slope([{ x: 1, y: 5 }, { x: 1, y: 7 }])).toBe(0);
  });

  const soak = (n: number, metric: (i: number) => number, hot: (i: number) => number = () => 0): SoakSample[] =>
    Array.from({ length: n }, (_, i) => ({ t: i * 3, sent: i * 300, usedMemory: metric(i), keyBytes: metric(i), hotRecords: hot(i), archiveBytes: i * 1e6, archiveSegments: i }));
  const metric = (s: SoakSample) => s.usedMemory;

  it('a bounded store (fills, then saws around a level) is flat; the first half does not count', () => {
    // 0 → 20 MB over the first 15 samples (rising 400 KB per 300 messages: ~1 333 B/message), then 20 MB ± 2 MB as segments leave
    const samples = soak(40, (i) => (i < 15 ? i * 4e5 * 3.33 : 20e6 + (i % 2 ? 2e6 : -2e6)));
    const f = flatness(samples, metric, { unboundedPerMessage: 20_000, tolerance: 0.05 });
    expect(f.lastQuarterMean).toBe(20e6);
    // the quarters still see the fill (second quarter 18.2 MB): informative only, not the verdict
    expect(f.change).toBeCloseTo(20 / 18.1924 - 1, 4);
    // the saw's own tilt over 20 samples, ~100 B per message: 0.5 % of 20 000
    expect(Math.abs(f.slopePerMessage)).toBeLessThan(200);
    expect(Math.abs(f.ratio)).toBeLessThan(0.01);
    expect(f.flat).toBe(true);
  });

  it('a store that keeps everything grows by a fixed amount per message: its slope is that amount, ratio 1, not flat', () => {
    const samples = soak(40, (i) => 1e6 + i * 300 * 26_000);
    const f = flatness(samples, metric, { unboundedPerMessage: 26_000, tolerance: 0.05 });
    expect(f.slopePerMessage).toBeCloseTo(26_000, 6);
    expect(f.ratio).toBeCloseTo(1, 9);
    expect(f.flat).toBe(false);
    // second quarter = samples 10..19 (mean at 14.5), last = 30..39 (mean at 34.5)
    expect(f.secondQuarterMean).toBeCloseTo(1e6 + 14.5 * 300 * 26_000, 3);
    expect(f.change).toBeCloseTo((20 * 300 * 26_000) / (1e6 + 14.5 * 300 * 26_000), 10);
  });

  it('the bound is |slope| ≤ tolerance × the unbounded bytes per message, both ways, and needs enough samples', () => {
    // 300 messages per sample: a slope of s B/message is s × 300 per sample
    const grows = (perMessage: number) => soak(8, (i) => 5e6 + i * 300 * perMessage);
    expect(flatness(grows(1_000), metric, { unboundedPerMessage: 20_000, tolerance: 0.05 }).flat).toBe(true);
    expect(flatness(grows(1_001), metric, { unboundedPerMessage: 20_000, tolerance: 0.05 }).flat).toBe(false);
    expect(flatness(grows(-1_000), metric, { unboundedPerMessage: 20_000, tolerance: 0.05 }).flat).toBe(true);
    expect(flatness(grows(-1_001), metric, { unboundedPerMessage: 20_000, tolerance: 0.05 }).flat).toBe(false);
    expect(() => flatness(soak(7, () => 1), metric, { unboundedPerMessage: 1, tolerance: 0.05 })).toThrow(/8 samples/);
    expect(() => flatness(soak(8, () => 1), metric, { unboundedPerMessage: 0, tolerance: 0.05 })).toThrow();
  });

  it('bytes per hot record is Σ bytes ÷ Σ records over the samples that hold records', () => {
    const samples = soak(4, (i) => [0, 20_000, 50_000, 0][i]!, (i) => [0, 1, 2, 0][i]!);
    expect(bytesPerHotRecord(samples)).toBeCloseTo(70_000 / 3, 9);
    expect(bytesPerHotRecord(soak(3, () => 0))).toBeNaN();
  });
});
