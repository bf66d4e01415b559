/**
 * The seeded fuzzer (test/security/fuzz.ts) against a real gateway process
 * (node dist/main.js) on a real Redis: every reply is a valid signed success
 * or a well-formed known SMEV fault, the process stays up, whatever was
 * accepted is in the inbox exactly once and nothing else is — and the
 * process's memory returns to its post-warm-up baseline afterwards.
 *
 * FUZZ_CASES (default 2000), FUZZ_SEED (default: a new one per run, printed),
 * FUZZ_ONLY (one case index). E.g. FUZZ_CASES=50000 npm run fuzz.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import type { ServiceCatalogue } from '../../src/catalogue/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, postSoap } from '../helpers/smev.js';
import { sign, unsignedRequest } from './envelopes.js';
import { runFuzz, type FuzzReport } from './fuzz.js';

const CASES = Number(process.env.FUZZ_CASES ?? 2000);
const SEED = process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : Math.floor(Math.random() * 2 ** 31);
const ONLY = process.env.FUZZ_ONLY !== undefined ? Number(process.env.FUZZ_ONLY) : undefined;
const MB = 1024 * 1024;
/** Allowed growth over the warmed-up baseline once the process is idle again. */
const HEAP_MARGIN = 32 * MB;
// Memory outside the JS heap (Buffers, ArrayBuffers) is checked as V8 reports it, not through RSS:
// on Node 24 the allocator keeps a run's pages mapped once idle (CI, 2026-12-07: the heap came back
// below its baseline, 113.6 → 92.1 MB, while RSS stayed 221 MB above it), so RSS no longer tells a
// leak from retention. RSS is still printed.
const EXTERNAL_MARGIN = 64 * MB;

async function memory(url: string): Promise<{ rss: number; heap: number; external: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: value('okno_process_resident_memory_bytes'), heap: value('okno_nodejs_heap_size_used_bytes'), external: value('okno_nodejs_external_memory_bytes') };
}

async function inboxMessageIds(url: string): Promise<string[]> {
  const ids: string[] = [];
  let after = '0';
  for (;;) {
    const page = (await (await fetch(`${url}/api/v1/inbox?after=${after}&limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string }>; next: string };
    ids.push(...page.items.map((i) => i.messageId));
    if (page.items.length < 500) return ids;
    after = page.next;
  }
}

const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

describe(`seeded fuzzer against the gateway process (seed ${SEED}, ${ONLY !== undefined ? `case ${ONLY}` : `${CASES} cases`})`, () => {
  let redis: RedisTestServer;
  let gw: GatewayProcess;
  let catalogue: ServiceCatalogue;
  let report: FuzzReport;
  let baseline: { rss: number; heap: number; external: number };
  /** Every MessageID the gateway answered with a success, warm-up included. */
  const succeeded = new Set<string>();

  beforeAll(async () => {
    catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    redis = await startRedisServer();
    gw = await startGatewayProcess({ PORT: String(await freePort()), REDIS_URL: redis.url });
    // Warm-up: valid messages and a fuzz run of another seed, so that JIT, caches and pools are full.
    for (let i = 0; i < 50; i++) {
      const { xml, messageId } = unsignedRequest(catalogue);
      expect((await postSoap(gw.url, await sign(xml))).status).toBe(200);
      succeeded.add(messageId);
    }
    const warm = await runFuzz({ url: gw.url, catalogue, seed: SEED ^ 0x5a5a5a5a, cases: ONLY !== undefined ? 0 : 300 });
    expect(warm.failures.map((f) => `${f.problem} (${warm.reproduce(f.index)})`)).toEqual([]);
    for (const id of warm.accepted) succeeded.add(id);
    await new Promise((r) => setTimeout(r, 3000));
    baseline = await memory(gw.url);
    process.stdout.write(`fuzz: seed ${SEED}; baseline after warm-up: rss ${mb(baseline.rss)}, heap used ${mb(baseline.heap)}\n`);
    report = await runFuzz({ url: gw.url, catalogue, seed: SEED, cases: CASES, only: ONLY, concurrency: 4, onProgress: (n) => process.stdout.write(`fuzz: ${n} cases\n`), progressEvery: 5000 });
    for (const id of report.accepted) succeeded.add(id);
  }, 600_000);

  afterAll(async () => {
    if (gw) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
    await redis?.dispose();
  });

  it('every reply is a valid signed success or a well-formed known SMEV fault (never SMEVFailure, never a non-XML 5xx)', () => {
    process.stdout.write(`fuzz: seed ${SEED}, outcomes ${JSON.stringify(report.outcomes)}\n`);
    const failures = report.failures.slice(0, 10).map((f) => ({ case: f.index, mutations: f.mutations.join('; '), status: f.status, problem: f.problem, reproduce: report.reproduce(f.index), reply: f.reply.slice(0, 400) }));
    expect(failures, `seed ${SEED}: ${report.failures.length} failing cases`).toEqual([]);
    const total = Object.values(report.outcomes).reduce((a, b) => a + b, 0);
    expect(total).toBe(report.cases);
    // The mutations reach deep: not only the parser refuses them.
    if (ONLY === undefined) expect(Object.keys(report.outcomes).length).toBeGreaterThanOrEqual(5);
  });

  it('the process stayed up and still serves a valid request', async () => {
    expect(gw.child.exitCode).toBeNull();
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    const { xml, messageId } = unsignedRequest(catalogue);
    const res = await postSoap(gw.url, await sign(xml));
    expect(res.status).toBe(200);
    succeeded.add(messageId);
  });

  it('what was accepted is stored exactly once, and nothing was accepted without a success reply', async () => {
    const ids = await inboxMessageIds(gw.url);
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1), `seed ${SEED}`).toEqual([]);
    expect(new Set(ids), `seed ${SEED}: the inbox holds exactly the messages answered with a success`).toEqual(succeeded);
  });

  it('memory returns to the warmed-up baseline once the process is idle', async () => {
    const peak = await memory(gw.url);
    let now = peak;
    // V8 shrinks the heap only after some idle time (its memory reducer): give it up to a minute.
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && (now.heap > baseline.heap + HEAP_MARGIN || now.external > baseline.external + EXTERNAL_MARGIN)) {
      await new Promise((r) => setTimeout(r, 1000));
      now = await memory(gw.url);
    }
    process.stdout.write(`fuzz: memory baseline rss ${mb(baseline.rss)} heap ${mb(baseline.heap)} external ${mb(baseline.external)}; right after the run rss ${mb(peak.rss)} heap ${mb(peak.heap)} external ${mb(peak.external)}; idle rss ${mb(now.rss)} heap ${mb(now.heap)} external ${mb(now.external)}\n`);
    expect(now.heap).toBeLessThanOrEqual(baseline.heap + HEAP_MARGIN);
    expect(Number.isFinite(now.external) && Number.isFinite(baseline.external)).toBe(true);
    expect(now.external).toBeLessThanOrEqual(baseline.external + EXTERNAL_MARGIN);
  }, 90_000);
});
