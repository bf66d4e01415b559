/**
 * One cell from its interleaved slices (`npm run bench -- --against`: the ref and this build take
 * turns A B B A, each slice a separate load-generator run with `raw` latencies): counts and times
 * add up, throughput = successes ÷ total wall time, percentiles from all the latencies together.
 */
import type { CellResult } from '../load.js';
import { percentiles } from './percentiles.js';

export function mergeSlices(slices: readonly CellResult[]): CellResult {
  const first = slices[0];
  if (!first) throw new Error('no slices to merge');
  const sum = (f: (c: CellResult) => number) => slices.reduce((a, c) => a + f(c), 0);
  const durationMs = sum((c) => c.durationMs);
  const ok = sum((c) => c.ok);
  const errorsByKind: Record<string, number> = {};
  for (const c of slices) for (const [k, n] of Object.entries(c.errorsByKind)) errorsByKind[k] = (errorsByKind[k] ?? 0) + n;
  const all: number[] = [];
  const byClass: Record<string, number[]> = {};
  for (const c of slices) {
    if (!c.raw) throw new Error('a slice without raw latencies cannot be merged');
    for (const x of c.raw.all) all.push(x);
    for (const [label, xs] of Object.entries(c.raw.byClass)) (byClass[label] ??= []).push(...xs);
  }
  const user = sum((c) => c.loadGenCpuMs.user);
  const system = sum((c) => c.loadGenCpuMs.system);
  return {
    url: first.url,
    mix: first.mix,
    concurrency: first.concurrency,
    durationMs,
    requests: sum((c) => c.requests),
    ok,
    errors: sum((c) => c.errors),
    errorsByKind,
    firstErrors: slices.flatMap((c) => c.firstErrors).slice(0, 5),
    repeats: sum((c) => c.repeats),
    throughput: (ok * 1000) / durationMs,
    requestMBps: sum((c) => c.requestMBps * c.durationMs) / durationMs,
    latencyMs: percentiles(all),
    byClass: Object.fromEntries(Object.keys(first.byClass).map((label) => [label, percentiles(byClass[label] ?? [])])),
    repliesChecked: sum((c) => c.repliesChecked),
    loadGenCpuCores: (user + system) / durationMs,
    loadGenCpuMs: { user, system },
  };
}
