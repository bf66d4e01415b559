/**
 * A small, strict parser of the Prometheus text exposition format (0.0.4),
 * enough to check what GET /metrics serves: every line must be a comment
 * (# HELP / # TYPE), blank, or a sample `name{label="value",…} value`.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  help: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

function parseValue(raw: string): number {
  if (raw === '+Inf') return Infinity;
  if (raw === '-Inf') return -Infinity;
  // Prometheus reads NaN in any case (Go's ParseFloat); prom-client writes "Nan".
  if (raw.toLowerCase() === 'nan') return NaN;
  const n = Number(raw);
  if (raw.trim() === '' || Number.isNaN(n)) throw new Error(`not a sample value: ${raw}`);
  return n;
}

function parseLabels(raw: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < raw.length) {
    const m = LABEL.exec(raw);
    if (!m) throw new Error(`bad labels in: ${line}`);
    const name = m[1]!;
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    labels[name] = m[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    if (m[3] === '') break;
  }
  return labels;
}

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) continue; // other comments are allowed
      if (m[1] === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(m[3]!)) throw new Error(`bad TYPE: ${line}`);
        if (types.has(m[2]!)) throw new Error(`TYPE twice: ${line}`);
        types.set(m[2]!, m[3]!);
      } else help.set(m[2]!, m[3]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    let value: number;
    try {
      value = parseValue(m[3]!);
    } catch (error) {
      throw new Error(`${(error as Error).message} in: ${line}`);
    }
    samples.push({ name: m[1]!, labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  return { samples, types, help };
}

/** Samples of `name` whose labels include `labels`. */
export function select(exp: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
  return exp.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** The sum of the matching samples (0 when there are none: a counter not yet incremented). */
export function total(exp: Exposition, name: string, labels: Record<string, string> = {}): number {
  return select(exp, name, labels).reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  return parsePrometheusText(await res.text());
}
