/** Top self-time functions of one or more V8 .cpuprofile files (node --cpu-prof), merged. */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
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
  totalMs: number;
  top: ProfileEntry[];
  /** Self time grouped by source area (src/xml, src/signature, node internals, GC, idle …). */
  byArea: Array<{ area: string; selfMs: number; selfPct: number }>;
}

function area(url: string, fn: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  const m = /\/(src|dist)\/([^/]+)\//.exec(url);
  if (m) return `okno ${m[2]}`;
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url.replace(/^node:(internal\/)?/, 'node:').split('/').slice(0, 2).join('/');
  return url ? 'other' : '(native)';
}

export function summarizeProfiles(files: string[], top = 20): ProfileSummary {
  const self = new Map<string, { fn: string; where: string; us: number }>();
  const areas = new Map<string, number>();
  let total = 0;
  for (const file of files) {
    const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < p.samples.length; i++) {
      const n = byId.get(p.samples[i]!)!;
      const dt = p.timeDeltas[i] ?? 0;
      total += dt;
      const cf = n.callFrame;
      const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(src|dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
      const key = `${cf.functionName}|${where}`;
      const e = self.get(key) ?? { fn: cf.functionName || '(anonymous)', where, us: 0 };
      e.us += dt;
      self.set(key, e);
      const a = area(cf.url, cf.functionName);
      areas.set(a, (areas.get(a) ?? 0) + dt);
    }
  }
  const pct = (us: number) => (100 * us) / (total || 1);
  return {
    files,
    totalMs: total / 1000,
    top: [...self.values()].sort((a, b) => b.us - a.us).slice(0, top).map((e) => ({ function: e.fn, where: e.where, selfMs: e.us / 1000, selfPct: pct(e.us) })),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([a, us]) => ({ area: a, selfMs: us / 1000, selfPct: pct(us) })),
  };
}
