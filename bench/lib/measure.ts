/**
 * Time-boxed operation timing: a warm-up (at least one run), then runs until
 * the budget is spent, but never fewer than `minRuns` — so a very slow
 * operation ends up capped by count (minRuns runs) instead of by time, and the
 * result says so.
 */
import { performance } from 'node:perf_hooks';

export interface MeasureOptions {
  warmupMs: number;
  runMs: number;
  minRuns: number;
}

export interface Measurement {
  runs: number;
  totalMs: number;
  opsPerSec: number;
  meanMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** The run count came from minRuns, not the time budget (each run took longer than runMs / minRuns). */
  cappedByCount: boolean;
}

type Op = () => unknown;

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function';
}

/** Runs `op` once (awaiting it when it returns a promise); returns its duration in ms. */
async function once(op: Op): Promise<number> {
  const t0 = performance.now();
  const r = op();
  if (isThenable(r)) await r;
  return performance.now() - t0;
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Per-run samples of one operation, gathered in one or more time slices. */
class Sampler {
  readonly samples: number[] = [];
  constructor(private readonly op: Op) {}

  async warmUp(ms: number): Promise<void> {
    const start = performance.now();
    do await once(this.op);
    while (performance.now() - start < ms);
  }

  /** Runs for `ms` (at least once); with `atLeast`, also until that many samples exist. */
  async slice(ms: number, atLeast = 0): Promise<void> {
    const start = performance.now();
    do this.samples.push(await once(this.op));
    while (performance.now() - start < ms || this.samples.length < atLeast);
  }

  result(options: MeasureOptions): Measurement {
    const samples = this.samples;
    const total = samples.reduce((a, b) => a + b, 0);
    const sorted = [...samples].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    // How many runs the time budget alone would have allowed; fewer than minRuns means the count decided.
    let byBudget = 0;
    for (let acc = 0; byBudget < samples.length && acc < options.runMs; byBudget++) acc += samples[byBudget]!;
    return {
      runs: samples.length,
      totalMs: total,
      opsPerSec: (samples.length * 1000) / total,
      meanMs: total / samples.length,
      medianMs: median,
      minMs: sorted[0]!,
      maxMs: sorted[sorted.length - 1]!,
      cappedByCount: byBudget < options.minRuns,
    };
  }
}

export async function measure(op: Op, options: MeasureOptions): Promise<Measurement> {
  gc?.();
  const s = new Sampler(op);
  await s.warmUp(options.warmupMs);
  await s.slice(options.runMs, options.minRuns);
  return s.result(options);
}

/**
 * Two operations measured in alternating slices (A, B, A, B, …), each getting
 * `runMs` in total, so a load change on a shared machine hits both alike and
 * their ratio stays meaningful.
 */
export async function measurePair(a: Op, b: Op, options: MeasureOptions, rounds = 4): Promise<[Measurement, Measurement]> {
  const sa = new Sampler(a);
  const sb = new Sampler(b);
  gc?.();
  await sa.warmUp(options.warmupMs);
  await sb.warmUp(options.warmupMs);
  for (let r = 0; r < rounds; r++) {
    gc?.();
    await sa.slice(options.runMs / rounds);
    gc?.();
    await sb.slice(options.runMs / rounds);
  }
  // A very slow operation may still be short of minRuns: top it up by count.
  if (sa.samples.length < options.minRuns) await sa.slice(0, options.minRuns);
  if (sb.samples.length < options.minRuns) await sb.slice(0, options.minRuns);
  return [sa.result(options), sb.result(options)];
}
