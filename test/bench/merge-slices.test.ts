/**
 * bench/lib/merge-slices.ts: the halves of an interleaved cell (`npm run bench -- --against`)
 * merge into one cell whose counts add up, whose throughput is successes ÷ total time and
 * whose percentiles are those of all the latencies together (not an average of percentiles).
 */
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../bench/load.js';
import { mergeSlices } from '../../bench/lib/merge-slices.js';
import { percentiles } from '../../bench/lib/percentiles.js';

function slice(latencies: number[], durationMs: number, extra: Partial<CellResult> = {}): CellResult {
  return {
    url: 'http://127.0.0.1:1/ws/smev3',
    mix: 'mix',
    concurrency: 4,
    durationMs,
    requests: latencies.length,
    ok: latencies.length,
    errors: 0,
    errorsByKind: {},
    firstErrors: [],
    repeats: 0,
    throughput: (latencies.length * 1000) / durationMs,
    requestMBps: 1,
    latencyMs: percentiles(latencies),
    byClass: { '2 KB': percentiles(latencies), '1 MB': percentiles([]) },
    repliesChecked: latencies.length,
    loadGenCpuCores: 0.1,
    loadGenCpuMs: { user: durationMs / 20, system: durationMs / 20 },
    raw: { all: latencies, byClass: { '2 KB': latencies, '1 MB': [] } },
    ...extra,
  };
}

describe('mergeSlices', () => {
  it('adds counts and time, and takes percentiles over all latencies', () => {
    const a = Array.from({ length: 100 }, (_, i) => 1 + i * 0.01); // 1 … 1.99 ms
    const b = Array.from({ length: 300 }, (_, i) => 10 + i * 0.01); // 10 … 12.99 ms
    const m = mergeSlices([
      slice(a, 500, { errors: 2, requests: 102, errorsByKind: { 'HTTP 500': 2 }, firstErrors: ['HTTP 500: x'] }),
      slice(b, 1500, { errors: 1, requests: 301, errorsByKind: { 'HTTP 500': 1 }, firstErrors: ['HTTP 500: y'] }),
    ]);
    expect(m.durationMs).toBe(2000);
    expect(m.ok).toBe(400);
    expect(m.requests).toBe(403);
    expect(m.errors).toBe(3);
    expect(m.errorsByKind).toEqual({ 'HTTP 500': 3 });
    expect(m.firstErrors).toEqual(['HTTP 500: x', 'HTTP 500: y']);
    expect(m.throughput).toBe(200);
    expect(m.latencyMs).toEqual(percentiles([...a, ...b]));
    // a quarter of the requests are fast: the median is in the slow slice
    expect(m.latencyMs.p50).toBeGreaterThanOrEqual(10);
    expect(m.byClass['2 KB']).toEqual(percentiles([...a, ...b]));
    expect(m.byClass['1 MB']!.count).toBe(0);
    expect(m.loadGenCpuCores).toBeCloseTo(0.1, 12);
    expect(m.raw).toBeUndefined();
  });

  it('refuses slices without raw latencies', () => {
    const { raw: _raw, ...bare } = slice([1, 2], 100);
    expect(() => mergeSlices([bare])).toThrow(/raw latencies/);
  });
});
