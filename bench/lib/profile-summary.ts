/** Top self-time functions of one or more V8 .cpuprofile files (node --cpu-prof), merged. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileEntry {
  function: string;
  where: string;
  selfMs: number;
  selfPct: number;
}

export interface ProfileSummary {
  files: string[];
  /** Busy (non-idle) sample time in the window, all threads. */
  totalMs: number;
  /** Busy time per profile file: the main thread is `main`, worker threads `thread <n>`. */
  threads: Array<{ thread: string; busyMs: number; idleMs: number }>;
  /** Top self-time functions, percentages of busy time. */
  top: ProfileEntry[];
  /** Self time grouped by source area (src/xml, src/signature, node internals, GC …), percentages of busy time. */
  byArea: Array<{ area: string; selfMs: number; selfPct: number }>;
}

export interface SummaryOptions {
  top?: number;
  /** Only samples stamped inside this window count (µs of the monotonic clock, as process.hrtime.bigint() / 1000n). */
  window?: { fromUs: number; toUs: number };
}

function area(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  // node_modules first: packages have dist/ folders of their own (ajv's dist/compile is not Okno's).
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  const m = /\/(src|dist)\/([^/]+)\//.exec(url);
  if (m) return `okno ${m[2]}`;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url ? 'other' : '(native)';
}

export function summarizeProfiles(files: string[], options: SummaryOptions = {}): ProfileSummary {
  const top = options.top ?? 20;
  const from = options.window?.fromUs ?? -Infinity;
  const to = options.window?.toUs ?? Infinity;
  const self = new Map<string, { fn: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  const threads: ProfileSummary['threads'] = [];
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    let at = p.startTime;
    let busy = 0;
    let idle = 0;
    for (let i = 0; i < p.samples.length; i++) {
      const dt = p.timeDeltas[i] ?? 0;
      at += dt;
      if (at < from || at > to) continue;
      const n = byId.get(p.samples[i]!)!;
      const cf = n.callFrame;
      if (cf.functionName === '(idle)') {
        idle += dt;
        continue;
      }
      busy += dt;
      const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(src|dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
      const key = `${cf.functionName}|${where}`;
      const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
      e.us += dt;
      self.set(key, e);
      const a = area(cf.url, cf.functionName);
      areas.set(a, (areas.get(a) ?? 0) + dt);
    }
    total += busy;
    // node --cpu-prof names files CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; thread 0 is the main thread.
    const tid = /\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(file)?.[1];
    threads.push({ thread: tid === undefined ? file : tid === '0' ? 'main' : `thread ${tid}`, busyMs: busy / 1000, idleMs: idle / 1000 });
  }
  const pct = (us: number) => (100 * us) / (total || 1);
  return {
    files,
    totalMs: total / 1000,
    threads,
    top: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => ({ function: e.fn, where: e.where, selfMs: e.us / 1000, selfPct: pct(e.us) })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([a, us]) => ({ area: a, selfMs: us / 1000, selfPct: pct(us) })),
  };
}
