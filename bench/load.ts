/**
 * The load generator: its own process. Builds a pool of signed SendRequests per
 * size class before any timing (signing is the client's cost), then sends them
 * at a fixed concurrency for a fixed time over keep-alive HTTP, records every
 * latency, checks every reply (status 200, MessageID, the SMEVSignature over
 * MessageMetadata verified with Okno's verifier against the sample CA) and
 * reports its own CPU time.
 *
 * Uniqueness: each request of a cell is a distinct envelope (fresh MessageID,
 * own signature). A cell takes envelopes from the start of the pool; the
 * driver (bench/run.ts) empties Redis between cells, so no gateway ever sees a
 * MessageID twice. Should a cell outrun the pool it wraps around, and
 * `repeats` says how many requests were repeats (Okno answers those as
 * duplicates, which is cheaper: the figure would flatter it).
 *
 *   forked by bench/run.ts (IPC), or on its own:
 *   tsx bench/load.ts --url http://127.0.0.1:8080/ws/smev3 [--concurrency 8] [--duration 5] [--pool 2000] [--large-every <ms>] [--raw]
 *
 * `--large-every <ms>`: a 1 MB message every <ms> alongside the mix (CellSpec `alongside`);
 * `--raw`: every latency in the output too.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { checkReply } from './lib/reply-check.js';
import { percentiles, type Percentiles } from './lib/percentiles.js';
import { contentOfSize, signedRequest, SIZE_MIX, type Pki } from './lib/requests.js';

export type { Percentiles };

export interface PoolSpec {
  /** Envelopes in the pool over all classes, split by the mix (at least 1 per class). */
  total: number;
  /** At least this many of the smallest class (for the single-class cells). */
  smallest?: number;
  /** At least this many of the largest class (for the cell that sends them `alongside` the mix). */
  largest?: number;
  /** Which sample PKI signs the envelopes (default rsa); one pool per PKI is kept. */
  pki?: Pki;
}

interface Pooled {
  body: Buffer;
  messageId: string;
}

interface PoolClass {
  label: string;
  share: number;
  contentBytes: number;
  envelopeBytes: number;
  consents: number;
  items: Pooled[];
}

export interface PoolReport {
  total: number;
  buildMs: number;
  classes: Array<{ label: string; share: number; count: number; envelopeBytes: number; consents: number }>;
  memoryMB: number;
}

export interface CellSpec {
  url: string;
  concurrency: number;
  durationMs: number;
  /** Check every n-th reply's signature (1 = all). */
  checkEvery?: number;
  /** Send only this size class (e.g. "2 KB") instead of the mix. */
  only?: string;
  /** Send the envelopes of this PKI's pool (default rsa). */
  pki?: Pki;
  /** Return every latency too (for merging interleaved slices of one cell exactly). */
  raw?: boolean;
  /**
   * Besides the `concurrency` senders of the mix: one more that posts a message of class `only`
   * every `everyMs` (from the start of one to the next; at once when the previous took longer),
   * so that large messages flow at a steady rate while the small ones are measured. Counted in
   * the cell and in `byClass` like the others.
   */
  alongside?: { only: string; everyMs: number };
}

export interface CellResult {
  url: string;
  mix: string;
  concurrency: number;
  durationMs: number;
  requests: number;
  ok: number;
  errors: number;
  errorsByKind: Record<string, number>;
  firstErrors: string[];
  repeats: number;
  throughput: number;
  /** Bytes of request bodies sent per second (MB = 2^20). */
  requestMBps: number;
  latencyMs: Percentiles;
  byClass: Record<string, Percentiles>;
  repliesChecked: number;
  /** The load generator's own CPU over the cell: user + system seconds / wall seconds. */
  loadGenCpuCores: number;
  loadGenCpuMs: { user: number; system: number };
  /** With `raw`: every successful request's latency (ms), overall and by class. */
  raw?: { all: number[]; byClass: Record<string, number[]> };
}

// ------------------------------------------------------------------ pool

const pools: Partial<Record<Pki, PoolClass[]>> = {};
/** The order of classes: 100 slots holding exactly the mix, shuffled with a fixed seed. */
let schedule: number[] = [];

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export async function buildPool(spec: PoolSpec): Promise<PoolReport> {
  const t0 = performance.now();
  const pki = spec.pki ?? 'rsa';
  const pool: PoolClass[] = (pools[pki] = []);
  for (const c of SIZE_MIX) {
    const content = contentOfSize(c.contentBytes);
    const count = Math.max(1, Math.round(spec.total * c.share), c === SIZE_MIX[0] ? (spec.smallest ?? 0) : 0, c === SIZE_MIX[SIZE_MIX.length - 1] ? (spec.largest ?? 0) : 0);
    const items: Pooled[] = [];
    for (let i = 0; i < count; i++) {
      // exc-c14n only (the portal partner's profile): xml-crypto, in the baseline, has no SMEV transform.
      const r = await signedRequest(content.xml, 'xmldsig', pki);
      items.push({ body: Buffer.from(r.xml, 'utf8'), messageId: r.messageId });
    }
    pool.push({ label: c.label, share: c.share, contentBytes: c.contentBytes, envelopeBytes: items[0]!.body.length, consents: content.consents, items });
  }
  const rnd = seeded(5);
  schedule = [];
  SIZE_MIX.forEach((c, i) => {
    for (let k = 0; k < Math.round(c.share * 100); k++) schedule.push(i);
  });
  for (let i = schedule.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [schedule[i], schedule[j]] = [schedule[j]!, schedule[i]!];
  }
  return {
    total: pool.reduce((a, c) => a + c.items.length, 0),
    buildMs: performance.now() - t0,
    classes: pool.map((c) => ({ label: c.label, share: c.share, count: c.items.length, envelopeBytes: c.envelopeBytes, consents: c.consents })),
    memoryMB: process.memoryUsage().rss / 2 ** 20,
  };
}

// ------------------------------------------------------------------ one cell

function post(agent: http.Agent, url: URL, body: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:SendRequest"', 'content-length': body.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function runCell(spec: CellSpec): Promise<CellResult> {
  const pool = pools[spec.pki ?? 'rsa'];
  if (!pool?.length) throw new Error(`build the ${spec.pki ?? 'rsa'} pool first`);
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency + (spec.alongside ? 1 : 0) });
  const checkEvery = Math.max(1, spec.checkEvery ?? 1);
  const next = pool.map(() => 0);
  let slot = 0;
  let repeats = 0;
  let sent = 0;
  let bytes = 0;
  let checked = 0;
  const latencies: number[] = [];
  const byClass: number[][] = pool.map(() => []);
  const errorsByKind: Record<string, number> = {};
  const firstErrors: string[] = [];
  const error = (kind: string, message: string) => {
    errorsByKind[kind] = (errorsByKind[kind] ?? 0) + 1;
    if (firstErrors.length < 5) firstErrors.push(`${kind}: ${message.slice(0, 300)}`);
  };

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + spec.durationMs;
  const onlyIndex = spec.only === undefined ? -1 : pool.findIndex((c) => c.label === spec.only);
  if (spec.only !== undefined && onlyIndex < 0) throw new Error(`no size class ${spec.only}`);
  const sendOne = async (k: number) => {
    const cls = pool[k]!;
    const i = next[k]!++;
    if (i >= cls.items.length) repeats++;
    const item = cls.items[i % cls.items.length]!;
    const n = sent++;
    bytes += item.body.length;
    const start = performance.now();
    try {
      const res = await post(agent, url, item.body);
      const ms = performance.now() - start;
      if (res.status !== 200) {
        error(`HTTP ${res.status}`, /<faultstring>([^<]*)/.exec(res.body)?.[1] ?? res.body);
        return;
      }
      if (n % checkEvery === 0) {
        checked++;
        const problem = checkReply(res.body, item.messageId);
        if (problem) {
          error('reply check', problem);
          return;
        }
      }
      latencies.push(ms);
      byClass[k]!.push(ms);
    } catch (e) {
      error('network', (e as Error).message);
    }
  };
  const worker = async () => {
    while (performance.now() < deadline) await sendOne(onlyIndex >= 0 ? onlyIndex : schedule[slot++ % schedule.length]!);
  };
  const alongside = spec.alongside;
  const alongsideIndex = alongside ? pool.findIndex((c) => c.label === alongside.only) : -1;
  if (alongside && alongsideIndex < 0) throw new Error(`no size class ${alongside.only}`);
  const side = async () => {
    if (!alongside) return;
    while (performance.now() < deadline) {
      const started = performance.now();
      await sendOne(alongsideIndex);
      const wait = Math.min(alongside.everyMs - (performance.now() - started), deadline - performance.now());
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
  await Promise.all([...Array.from({ length: spec.concurrency }, worker), side()]);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  const errors = Object.values(errorsByKind).reduce((a, b) => a + b, 0);
  return {
    url: spec.url,
    mix: spec.only ?? 'mix',
    concurrency: spec.concurrency,
    durationMs: wallMs,
    requests: sent,
    ok: latencies.length,
    errors,
    errorsByKind,
    firstErrors,
    repeats,
    throughput: (latencies.length * 1000) / wallMs,
    requestMBps: (bytes / 2 ** 20) / (wallMs / 1000),
    latencyMs: percentiles(latencies),
    byClass: Object.fromEntries(pool.map((c, k) => [c.label, percentiles(byClass[k]!)])),
    repliesChecked: checked,
    loadGenCpuCores: (cpu.user + cpu.system) / 1000 / wallMs,
    loadGenCpuMs: { user: cpu.user / 1000, system: cpu.system / 1000 },
    ...(spec.raw ? { raw: { all: latencies, byClass: Object.fromEntries(pool.map((c, k) => [c.label, byClass[k]!])) } } : {}),
  };
}

// ------------------------------------------------------------------ entry

type Command = { type: 'pool'; spec: PoolSpec } | { type: 'run'; spec: CellSpec } | { type: 'exit' };

if (process.send) {
  process.on('message', (m: Command) => {
    const reply = (r: unknown) => process.send!(r);
    if (m.type === 'exit') process.exit(0);
    const work = m.type === 'pool' ? buildPool(m.spec) : runCell(m.spec);
    work.then(
      (result) => reply({ ok: true, result }),
      (e: unknown) => reply({ ok: false, error: (e as Error).stack ?? String(e) }),
    );
  });
  process.send({ ready: true });
} else if (process.argv[1] && /load\.[tj]s$/.test(process.argv[1])) {
  const arg = (name: string, dflt: string) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? process.argv[i + 1]! : dflt;
  };
  const url = arg('url', '');
  if (!url) {
    console.error('usage: tsx bench/load.ts --url http://127.0.0.1:8080/ws/smev3 [--concurrency 8] [--duration 5] [--pool 2000] [--large-every <ms>] [--raw]');
    process.exit(2);
  }
  const largeEvery = Number(arg('large-every', '0'));
  const durationMs = Number(arg('duration', '5')) * 1000;
  const largest = SIZE_MIX[SIZE_MIX.length - 1]!.label;
  const report = await buildPool({ total: Number(arg('pool', '2000')), ...(largeEvery > 0 ? { largest: Math.ceil(durationMs / largeEvery) + 10 } : {}) });
  console.error(`pool: ${report.total} envelopes in ${(report.buildMs / 1000).toFixed(1)} s`);
  const alongside = largeEvery > 0 ? { alongside: { only: largest, everyMs: largeEvery } } : {};
  const raw = process.argv.includes('--raw') ? { raw: true } : {};
  console.log(JSON.stringify(await runCell({ url, concurrency: Number(arg('concurrency', '8')), durationMs, ...alongside, ...raw }), null, 2));
}
