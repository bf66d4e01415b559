/**
 * `npm run bench`: the end-to-end benchmark (issue 5).
 *
 *   npm run bench [-- --quick] [-- --no-micro] [-- --no-profile] [-- --gost] [-- --against <git-ref>]
 *
 * 1. redis-server (test/helpers/redis-server.ts: own port and dir; AOF on,
 *    switched to appendfsync everysec for the bench; README's production advice
 *    is fsync always);
 * 2. per target (Okno = node dist/main.js; baseline = bench/baseline/server.ts),
 *    started alone, warmed up: the load generator (bench/load.ts, its own
 *    process) at each concurrency with the size mix, Redis emptied between
 *    cells; server, Redis and load-generator CPU measured; peak RSS (VmHWM);
 * 3. micro figures: bench/signature.ts (full) or bench/lib/micro-quick.ts (--quick);
 * 4. memory for one ~10 MB message (fresh process, RSS sampled during it), and Redis memory per
 *    accepted application, its journal record hot and after archiving (bench/lib/memory-stage.ts);
 * 5. goals; when one is missed (full run), a CPU profile of Okno under load.
 *
 * Cells of Okno ×1 (RSA): the mix at each concurrency; "2 KB only" (small-only); each class alone
 * at CLASS_COST_CONCURRENCY (class-cost, CPU per request); and "mix + 1 MB" (large-alongside: the
 * mix at concurrency 16 while one more sender posts a 1 MB message every 500 ms; its 2 KB and 10 KB
 * p99 are the goal "small messages never queue behind large ones", < 50 ms, issue 26).
 *
 * --gost: Okno's cells once more on GOST traffic (portal and gateway keys of certs-sample/gost/,
 * GOST R 34.10-2012-256: every request a GOST verify, every reply a GOST sign), beside the RSA ones.
 * --against <ref>: that ref built in a temporary git worktree (bench/lib/ref-build.ts); every Okno
 * cell runs both builds in turn (ref, this, this, ref; each half the cell), Redis emptied between,
 * and the report gives this ÷ ref per cell.
 *
 * Prints a table and writes bench/results/<timestamp>.json.
 */
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisTestServer } from '../test/helpers/redis-server.js';
import type { CellResult, CellSpec, PoolReport, PoolSpec } from './load.js';
import { checkReply } from './lib/reply-check.js';
import { quickMicro, type Micro } from './lib/micro-quick.js';
import { memoryStage, type MemoryStage } from './lib/memory-stage.js';
import { summarizeProfiles, type ProfileSummary } from './lib/profile-summary.js';
import { mergeSlices } from './lib/merge-slices.js';
import { buildRef, resolveRef, type RefBuild } from './lib/ref-build.js';
import { contentOfSize, gostGatewayEnv, root, signedRequest, SIZE_MIX, tamper, type Pki } from './lib/requests.js';

// ------------------------------------------------------------------ settings

const argv = process.argv.slice(2);
function usage(message: string): never {
  console.error(`${message}\nusage: npm run bench [-- --quick] [-- --no-micro] [-- --no-profile] [-- --gost] [-- --against <git-ref>]`);
  process.exit(2);
}
let againstRef: string | null = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  if (a === '--against') {
    const v = argv[++i];
    if (!v || v.startsWith('--')) usage('--against needs a git ref');
    againstRef = v;
  } else if (!['--quick', '--no-micro', '--no-profile', '--gost'].includes(a)) usage(`unknown argument ${a}`);
}
const withGost = argv.includes('--gost');
let againstCommit: string | null = null;
if (againstRef !== null) {
  againstCommit = resolveRef(root, againstRef);
  if (!againstCommit) {
    console.error(`bench: --against ${againstRef}: no such commit in this repository`);
    process.exit(2);
  }
}
const quick = argv.includes('--quick');
const settings = quick
  ? { concurrencies: [1, 8], cellMs: 1000, warmupMs: 500, pool: 150, smallest: 150, bigMB: 2, profileMs: 0, smallOnlyConcurrency: 8, classCellMs: 400, alongsideMs: 2000 }
  : { concurrencies: [1, 2, 4, 8, 32, 64], cellMs: 6000, warmupMs: 3000, pool: 4000, smallest: 4000, bigMB: 10, profileMs: 8000, smallOnlyConcurrency: 16, classCellMs: 3000, alongsideMs: 6000 };
const runMicro = !argv.includes('--no-micro');
/** Concurrency of the one-class cells that measure CPU per request by size. */
const CLASS_COST_CONCURRENCY = 4;
/** The large-alongside cell: the mix at this concurrency, and a message of the largest class every `everyMs` besides. */
const ALONGSIDE = { concurrency: 16, only: SIZE_MIX[SIZE_MIX.length - 1]!.label, everyMs: 500 };
/** The classes whose p99 that cell is about, and the bound (ms). */
const ALONGSIDE_SMALL = ['2 KB', '10 KB'];
const ALONGSIDE_P99_MS = 50;
const runProfile = !quick && !argv.includes('--no-profile');
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const resultsDir = path.join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

// The gateway runs a worker per core once WORKERS exists (src/config/env.ts); until then one process.
const oknoHasWorkers = /\bWORKERS\b/.test(readFileSync(path.join(root, 'src/config/env.ts'), 'utf8'));
const cores = os.availableParallelism();

// ------------------------------------------------------------------ processes

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** CPU seconds (user + system) of a process and all its descendants. */
function treePids(pid: number): number[] {
  const out = [pid];
  try {
    for (const t of readdirSync(`/proc/${pid}/task`)) {
      const kids = readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim();
      for (const k of kids ? kids.split(/\s+/) : []) out.push(...treePids(Number(k)));
    }
  } catch {
    // gone
  }
  return out;
}
const TICK = 100; // USER_HZ on Linux
function cpuSeconds(pid: number): number {
  let total = 0;
  for (const p of treePids(pid)) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(f[11]) + Number(f[12])) / TICK;
    } catch {
      // gone
    }
  }
  return total;
}
function statusKB(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

interface Target {
  name: string;
  label: string;
  workers: number;
  proc: ChildProcess;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(1000, () => req.destroy());
  });
}

/** Which Okno: this checkout's dist/ or the --against ref's. */
type Build = { kind: 'this' } | { kind: 'ref'; ref: RefBuild };
const THIS: Build = { kind: 'this' };

function targetLabel(name: 'okno' | 'baseline', workers: number, build: Build = THIS, pki: Pki = 'rsa'): string {
  const who = name === 'baseline' ? 'baseline' : build.kind === 'ref' ? `ref ${build.ref.short}` : 'Okno';
  return `${who} ×${workers}${pki === 'gost' ? ' GOST' : ''}`;
}

async function startTarget(name: 'okno' | 'baseline', workers: number, redisUrl: string, extra: { env?: Record<string, string>; nodeArgs?: string[]; build?: Build; pki?: Pki } = {}): Promise<Target> {
  const port = await freePort();
  const build = extra.build ?? THIS;
  const home = build.kind === 'ref' ? build.ref.dir : root;
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: String(port), REDIS_URL: redisUrl, ...(extra.pki === 'gost' ? gostGatewayEnv() : {}), ...extra.env };
  delete env.NODE_ENV;
  let args: string[];
  if (name === 'okno') {
    if (workers > 1) env.WORKERS = String(workers);
    else delete env.WORKERS;
    env.MAX_BODY_BYTES ??= String(64 * 2 ** 20);
    args = [...(extra.nodeArgs ?? []), path.join(home, 'dist/main.js')];
  } else {
    env.WORKERS = String(workers);
    args = [...(extra.nodeArgs ?? []), '--import', 'tsx', path.join(root, 'bench/baseline/server.ts')];
  }
  const proc = spawn(process.execPath, args, { cwd: home, env, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(proc);
  let stderr = '';
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  // Okno answers /health; the baseline serves its WSDL (?wsdl) only once node-soap has loaded it.
  while ((await get(name === 'okno' ? `${base}/health` : `${base}/ws/smev3?wsdl`)) !== 200) {
    if (proc.exitCode !== null) throw new Error(`${name} exited at start (${proc.exitCode}):\n${stderr}`);
    if (Date.now() > deadline) throw new Error(`${name} did not start within 30 s:\n${stderr}`);
    await sleep(100);
  }
  if (workers > 1) await sleep(1500);
  const label = targetLabel(name, workers, build, extra.pki);
  return {
    name,
    label,
    workers,
    proc,
    url: `${base}/ws/smev3`,
    pid: proc.pid!,
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
      children.delete(proc);
    },
  };
}

// ------------------------------------------------------------------ load generator

interface LoadGen {
  pid: number;
  call<T>(m: unknown): Promise<T>;
  stop(): void;
}

async function startLoadGen(): Promise<LoadGen> {
  const child = fork(path.join(root, 'bench/load.ts'), [], { execArgv: ['--import', 'tsx'], cwd: root, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.add(child);
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`load generator exited (${code})`)));
  });
  return {
    pid: child.pid!,
    call<T>(m: unknown): Promise<T> {
      return new Promise((resolve, reject) => {
        child.once('message', (r: { ok: boolean; result?: T; error?: string }) => (r.ok ? resolve(r.result!) : reject(new Error(r.error))));
        child.send(m as object);
      });
    },
    stop() {
      child.send({ type: 'exit' });
      children.delete(child);
    },
  };
}

// ------------------------------------------------------------------ e2e

interface Cell extends CellResult {
  target: string;
  workers: number;
  serverCpuCores: number;
  redisCpuCores: number;
  /** Requests per second per core of gateway CPU actually used. */
  perServerCore: number;
  /** Gateway CPU (all its processes and threads) per request, ms. */
  cpuMsPerRequest: number;
  /**
   * What the cell is for: the mix at a concurrency, the smallest class alone at high concurrency, each class alone
   * (CLASS_COST_CONCURRENCY) for its CPU cost, or the mix with 1 MB messages flowing besides (ALONGSIDE).
   */
  kind: 'mix' | 'small-only' | 'class-cost' | 'large-alongside';
  /** Which sample PKI signed the traffic (and the gateway's replies). */
  pki: Pki;
  /** This checkout's Okno or the --against ref's (the baseline is always 'this'). */
  build: 'this' | 'ref';
}

async function postXml(url: string, body: string, timeoutMs = 120_000): Promise<{ status: number; body: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:SendRequest"' }, body, signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.text(), ms: performance.now() - t0 };
}

/** Before any timing: the target accepts a valid request (signed reply checked) and refuses a tampered one. */
async function sanityCheck(t: Target, pki: Pki = 'rsa'): Promise<void> {
  const req = await signedRequest(contentOfSize(2048).xml, 'xmldsig', pki);
  const ok = await postXml(t.url, req.xml);
  const problem = ok.status === 200 ? checkReply(ok.body, req.messageId) : `HTTP ${ok.status}: ${ok.body.slice(0, 500)}`;
  if (problem) throw new Error(`${t.label} does not accept a valid SendRequest: ${problem}`);
  const bad = await signedRequest(contentOfSize(2048).xml, 'xmldsig', pki);
  const refused = await postXml(t.url, tamper(bad.xml));
  if (refused.status === 200) throw new Error(`${t.label} accepted a tampered SendRequest: it does not really verify`);
}

interface RunOptions {
  /** One build, or [ref, this] with --against: then every cell is run A B B A, half the cell each. */
  builds: Build[];
  pki: Pki;
  /** Besides the mix at each concurrency: the small-only cell and the one-class cells (single process). */
  smallOnly: boolean;
  classCost: boolean;
  /** The mix at ALONGSIDE.concurrency with a 1 MB message every ALONGSIDE.everyMs besides. */
  largeAlongside: boolean;
}

/** Starts the target for each build, checks and warms each, then runs the cells (interleaved when two builds). */
async function runTargets(name: 'okno' | 'baseline', workers: number, redis: RedisTestServer, flush: () => Promise<void>, load: LoadGen, o: RunOptions): Promise<Array<{ build: Build; cells: Cell[]; peakRssKB: Record<string, number> }>> {
  const redisPid = redisPidOf(redis);
  const targets: Target[] = [];
  try {
    for (const build of o.builds) {
      const t = await startTarget(name, workers, redis.url, { build, pki: o.pki });
      targets.push(t);
      log(`${t.label}: started (pid ${t.pid}), checking valid and tampered requests`);
      await sanityCheck(t, o.pki);
      await load.call<CellResult>({ type: 'run', spec: { url: t.url, concurrency: 8, durationMs: settings.warmupMs, pki: o.pki } satisfies CellSpec });
      await flush();
    }
    const cells: Cell[][] = targets.map(() => []);
    const specs: Array<{ concurrency: number; only?: string; kind: Cell['kind']; ms: number; alongside?: CellSpec['alongside'] }> = settings.concurrencies.map((concurrency) => ({ concurrency, kind: 'mix', ms: settings.cellMs }));
    // One cell of small messages only: how close per-core throughput gets to the RSA floor without the big ones.
    if (o.smallOnly) specs.push({ concurrency: settings.smallOnlyConcurrency, only: SIZE_MIX[0]!.label, kind: 'small-only', ms: settings.cellMs });
    // Each class alone at a moderate concurrency: what one request of that size costs the gateway in CPU
    // when it is busy (at c=1 every request also pays its own wake-ups and Redis round trips unbatched).
    if (o.classCost) for (const c of SIZE_MIX) specs.push({ concurrency: CLASS_COST_CONCURRENCY, only: c.label, kind: 'class-cost', ms: settings.classCellMs });
    // Small messages while large ones flow: do the 2 KB and 10 KB classes wait behind the 1 MB ones?
    if (o.largeAlongside) specs.push({ concurrency: ALONGSIDE.concurrency, kind: 'large-alongside', ms: settings.alongsideMs, alongside: { only: ALONGSIDE.only, everyMs: ALONGSIDE.everyMs } });
    // With two builds: A B B A, each half the cell, so drift over the run (heat, other load) hits both alike.
    const order = targets.length === 2 ? [0, 1, 1, 0] : [0];
    for (const { concurrency, only, kind, ms, alongside } of specs) {
      log(`${targets.map((t) => t.label).join(' / ')}: concurrency ${concurrency}${only ? `, ${only} only` : ''}${alongside ? `, a ${alongside.only} message every ${alongside.everyMs} ms besides` : ''}, ${ms / 1000} s${targets.length === 2 ? ' per build, in halves: ref, this, this, ref' : ''}`);
      const slices: Array<{ r: CellResult; serverCpu: number; redisCpu: number; wall: number }>[] = targets.map(() => []);
      for (const k of order) {
        const t = targets[k]!;
        const s0 = cpuSeconds(t.pid);
        const r0 = redisPid ? cpuSeconds(redisPid) : 0;
        const w0 = performance.now();
        const r = await load.call<CellResult>({ type: 'run', spec: { url: t.url, concurrency, durationMs: (ms * targets.length) / order.length, pki: o.pki, raw: order.length > 1, ...(only ? { only } : {}), ...(alongside ? { alongside } : {}) } satisfies CellSpec });
        slices[k]!.push({ r, serverCpu: cpuSeconds(t.pid) - s0, redisCpu: redisPid ? cpuSeconds(redisPid) - r0 : NaN, wall: (performance.now() - w0) / 1000 });
        await flush();
      }
      targets.forEach((t, k) => {
        const ss = slices[k]!;
        const r = ss.length === 1 ? ss[0]!.r : mergeSlices(ss.map((x) => x.r));
        const wall = ss.reduce((a, x) => a + x.wall, 0);
        const serverCpuCores = ss.reduce((a, x) => a + x.serverCpu, 0) / wall;
        const redisCpuCores = ss.reduce((a, x) => a + x.redisCpu, 0) / wall;
        const perServerCore = r.throughput / Math.max(serverCpuCores, 0.01);
        cells[k]!.push({ ...r, target: t.label, workers, serverCpuCores, redisCpuCores, perServerCore, cpuMsPerRequest: 1000 / perServerCore, kind, pki: o.pki, build: o.builds[k]!.kind });
      });
    }
    return targets.map((t, k) => {
      const peakRssKB: Record<string, number> = {};
      for (const pid of treePids(t.pid)) peakRssKB[String(pid)] = statusKB(pid, 'VmHWM');
      return { build: o.builds[k]!, cells: cells[k]!, peakRssKB };
    });
  } finally {
    for (const t of targets) await t.stop();
  }
}

function redisPidOf(redis: RedisTestServer): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      // redis-server rewrites its title to "redis-server 127.0.0.1:<port>"
      if (cmd[0]?.includes('redis-server') && (cmd.join(' ').includes(`:${redis.port}`) || cmd.includes(String(redis.port)))) return Number(entry);
    } catch {
      // gone
    }
  }
  return null;
}

// ------------------------------------------------------------------ 10 MB message

interface BigMessage {
  target: string;
  contentBytes: number;
  envelopeBytes: number;
  status: number;
  replyValid: boolean;
  ms: number;
  rssBeforeMB: number;
  rssPeakMB: number;
  rssGrowthMB: number;
  error?: string;
}

async function bigMessage(name: 'okno' | 'baseline', redisUrl: string): Promise<BigMessage> {
  const content = contentOfSize(settings.bigMB * 2 ** 20);
  const req = await signedRequest(content.xml, 'xmldsig');
  const t = await startTarget(name, 1, redisUrl, { env: { MAX_BODY_BYTES: String(64 * 2 ** 20) } });
  try {
    await sanityCheck(t);
    const small = await signedRequest(contentOfSize(10 * 1024).xml, 'xmldsig');
    await postXml(t.url, small.xml);
    await sleep(300);
    const before = statusKB(t.pid, 'VmRSS');
    let peak = before;
    const timer = setInterval(() => (peak = Math.max(peak, statusKB(t.pid, 'VmRSS'))), 5);
    let r: { status: number; body: string; ms: number } | null = null;
    let error: string | undefined;
    try {
      r = await postXml(t.url, req.xml, quick ? 60_000 : 90_000);
    } catch (e) {
      error = (e as Error).message;
    }
    clearInterval(timer);
    peak = Math.max(peak, statusKB(t.pid, 'VmHWM'));
    return {
      target: `${name === 'okno' ? 'Okno' : 'baseline'} ×1`,
      contentBytes: Buffer.byteLength(content.xml),
      envelopeBytes: Buffer.byteLength(req.xml),
      status: r?.status ?? 0,
      replyValid: r ? checkReply(r.body, req.messageId) === null : false,
      ms: r?.ms ?? NaN,
      rssBeforeMB: before / 1024,
      rssPeakMB: peak / 1024,
      rssGrowthMB: (peak - before) / 1024,
      ...(error ? { error } : {}),
    };
  } finally {
    await t.stop();
  }
}

// ------------------------------------------------------------------ micro

async function microFigures(): Promise<Micro & { table?: string }> {
  if (quick) return quickMicro();
  const out = path.join(os.tmpdir(), `okno-bench-signature-${process.pid}.json`);
  const table = execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(root, 'bench/signature.ts'), '--json', out], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  type M = { opsPerSec: number };
  const j = JSON.parse(readFileSync(out, 'utf8')) as {
    results: Array<{ size: string; envelopeBytes: number; operation: 'sign' | 'verify'; okno: M; xmlCrypto: M; ratio: number }>;
    c14n: { element: string; okno: { mbPerSec: number }; xmlCrypto: { mbPerSec: number }; ratio: number };
    floor: { rsa2048: { sign: M; verify: M }; gost2012_256: { rawSign: M; rawVerify: M; envelopeSign: M; envelopeVerify: M } };
  };
  rmSync(out, { force: true });
  return {
    source: 'bench/signature.ts (full mode), run as a child process in this bench',
    signVerify: j.results.map((r) => ({ size: r.size, envelopeBytes: r.envelopeBytes, operation: r.operation, oknoOpsPerSec: r.okno.opsPerSec, xmlCryptoOpsPerSec: r.xmlCrypto.opsPerSec, ratio: r.ratio })),
    c14n: { element: j.c14n.element, oknoMBps: j.c14n.okno.mbPerSec, xmlCryptoMBps: j.c14n.xmlCrypto.mbPerSec, ratio: j.c14n.ratio },
    rsaFloor: { signOpsPerSec: j.floor.rsa2048.sign.opsPerSec, verifyOpsPerSec: j.floor.rsa2048.verify.opsPerSec },
    gost: {
      rawSignOpsPerSec: j.floor.gost2012_256.rawSign.opsPerSec,
      rawVerifyOpsPerSec: j.floor.gost2012_256.rawVerify.opsPerSec,
      envelopeSignOpsPerSec: j.floor.gost2012_256.envelopeSign.opsPerSec,
      envelopeVerifyOpsPerSec: j.floor.gost2012_256.envelopeVerify.opsPerSec,
    },
    table,
  };
}

// ------------------------------------------------------------------ profile

async function profileOkno(workers: number, concurrency: number, redisUrl: string, flush: () => Promise<void>, load: LoadGen): Promise<ProfileSummary & { dir: string; cell: CellResult }> {
  const dir = path.join(resultsDir, `profile-${stamp}`);
  mkdirSync(dir, { recursive: true });
  const t = await startTarget('okno', workers, redisUrl, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
  let cell: CellResult;
  let window = { fromUs: 0, toUs: Number.MAX_SAFE_INTEGER };
  try {
    await load.call<CellResult>({ type: 'run', spec: { url: t.url, concurrency, durationMs: 1500 } });
    await flush();
    // V8 stamps profile samples with the monotonic clock process.hrtime reads (µs): only the samples
    // inside this window count, not start-up (module compile, schema compile) or shutdown.
    const fromUs = Number(process.hrtime.bigint() / 1000n);
    cell = await load.call<CellResult>({ type: 'run', spec: { url: t.url, concurrency, durationMs: settings.profileMs } });
    window = { fromUs, toUs: Number(process.hrtime.bigint() / 1000n) };
    await flush();
  } finally {
    await t.stop();
  }
  await sleep(500);
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  return { ...summarizeProfiles(files, { window }), dir: path.relative(root, dir), cell };
}

// ------------------------------------------------------------------ main

function ensureBuilt(): void {
  const dist = path.join(root, 'dist/main.js');
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return t;
  };
  if (existsSync(dist) && statSync(dist).mtimeMs >= newest(path.join(root, 'src'))) return;
  log('dist/ is older than src/: npm run build');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    if (!existsSync(dist)) throw new Error('no dist/main.js and the build failed');
    log('the build failed: measuring the existing dist/ (may be stale)');
  }
}

ensureBuilt();
log(`${quick ? 'quick' : 'full'} run; ${cores} cores; Okno ${oknoHasWorkers ? 'has' : 'has no'} WORKERS (src/config/env.ts)`);
const refBuild: RefBuild | null = againstRef !== null ? buildRef(root, againstRef, againstCommit!, log) : null;
if (refBuild) log(`${refBuild.ref} (${refBuild.short}) built in ${(refBuild.buildMs / 1000).toFixed(1)} s${refBuild.lockfileDiffers ? ' (with its own npm ci)' : ''}`);
const refHasWorkers = refBuild !== null && /\bWORKERS\b/.test(readFileSync(path.join(refBuild.dir, 'src/config/env.ts'), 'utf8'));
const redis = await startRedisServer({ appendonly: true });
const rc = new Redis(redis.url, { lazyConnect: false });
await rc.config('SET', 'appendfsync', 'everysec');
const flush = async () => {
  await rc.flushall();
};

const load = await startLoadGen();
log(`building the request pool (${settings.pool} signed envelopes)`);
/** Enough 1 MB envelopes that the large-alongside cell sends no repeats. */
const largest = Math.ceil(settings.alongsideMs / ALONGSIDE.everyMs) + 10;
const poolReport = await load.call<PoolReport>({ type: 'pool', spec: { total: settings.pool, smallest: settings.smallest, largest } satisfies PoolSpec });
log(`pool: ${poolReport.total} envelopes in ${(poolReport.buildMs / 1000).toFixed(1)} s`);
let gostPoolReport: PoolReport | null = null;
if (withGost) {
  log(`building the GOST request pool (${settings.pool} envelopes signed GOST R 34.10-2012-256)`);
  gostPoolReport = await load.call<PoolReport>({ type: 'pool', spec: { total: settings.pool, smallest: settings.smallest, pki: 'gost' } satisfies PoolSpec });
  log(`GOST pool: ${gostPoolReport.total} envelopes in ${(gostPoolReport.buildMs / 1000).toFixed(1)} s`);
}

// Okno on RSA, the baseline, then (--gost) Okno on GOST traffic; with --against every Okno entry runs the ref beside this build.
const plan: Array<{ name: 'okno' | 'baseline'; workers: number; pki: Pki }> = [{ name: 'okno', workers: 1, pki: 'rsa' }, { name: 'baseline', workers: 1, pki: 'rsa' }];
if (oknoHasWorkers && cores > 1) plan.push({ name: 'okno', workers: cores, pki: 'rsa' }, { name: 'baseline', workers: cores, pki: 'rsa' });
if (withGost) plan.push({ name: 'okno', workers: 1, pki: 'gost' });
const cells: Cell[] = [];
const peakRss: Array<{ target: string; processes: Record<string, number>; totalMB: number }> = [];
for (const { name, workers, pki } of plan) {
  // The ref runs ×N only when it has WORKERS too; otherwise this build's ×N cells stand alone.
  const withRef = refBuild !== null && name === 'okno' && (workers === 1 || refHasWorkers);
  const builds: Build[] = withRef ? [{ kind: 'ref', ref: refBuild }, THIS] : [THIS];
  const runs = await runTargets(name, workers, redis, flush, load, { builds, pki, smallOnly: workers === 1 && pki === 'rsa', classCost: workers === 1, largeAlongside: name === 'okno' && workers === 1 && pki === 'rsa' });
  for (const r of runs) {
    cells.push(...r.cells);
    peakRss.push({ target: r.cells[0]!.target, processes: Object.fromEntries(Object.entries(r.peakRssKB).map(([k, v]) => [k, v / 1024])), totalMB: Object.values(r.peakRssKB).reduce((a, b) => a + b, 0) / 1024 });
  }
}

/** --against: this build ÷ the ref, cell by cell (same pki, kind, class and concurrency). */
const against = refBuild
  ? {
      ref: refBuild.ref,
      commit: refBuild.commit,
      lockfileDiffers: refBuild.lockfileDiffers,
      buildMs: refBuild.buildMs,
      order: 'per cell: ref, this, this, ref — each half the cell; Redis emptied between; figures of the two halves together',
      ratios: 'this ÷ ref: req/s above 1 = this build is faster; p50, p99 and CPU ms per request below 1 = this build is better',
      cells: cells
        .filter((c) => c.build === 'ref')
        .flatMap((r) => {
          const t = cells.find((c) => c.build === 'this' && c.pki === r.pki && c.kind === r.kind && c.mix === r.mix && c.concurrency === r.concurrency && c.workers === r.workers);
          if (!t) return [];
          const pick = (c: Cell) => ({ target: c.target, throughput: c.throughput, p50: c.latencyMs.p50, p99: c.latencyMs.p99, cpuMsPerRequest: c.cpuMsPerRequest, errors: c.errors, p99ByClass: Object.fromEntries(Object.entries(c.byClass).map(([k, v]) => [k, v.p99])) });
          return [{
            pki: r.pki,
            kind: r.kind,
            mix: r.mix,
            concurrency: r.concurrency,
            workers: r.workers,
            ref: pick(r),
            this: pick(t),
            ratio: { throughput: t.throughput / r.throughput, p50: t.latencyMs.p50 / r.latencyMs.p50, p99: t.latencyMs.p99 / r.latencyMs.p99, cpuMsPerRequest: t.cpuMsPerRequest / r.cpuMsPerRequest },
          }];
        }),
    }
  : null;

log(`memory: one ${settings.bigMB} MB message`);
const big: BigMessage[] = [await bigMessage('okno', redis.url)];
await flush();
if (!quick) big.push(await bigMessage('baseline', redis.url));
await flush();

/** Redis memory per accepted application (10 KB class), journal hot and archived: MEMORY_MESSAGES of them, about 25 s. */
const MEMORY_MESSAGES = 500;
log(`memory: Redis bytes per accepted message, hot and archived (${MEMORY_MESSAGES} messages)`);
const redisMemory: MemoryStage = await memoryStage({ redisUrl: redis.url, messages: MEMORY_MESSAGES, contentBytes: 10 * 1024, log });
await flush();

let micro: (Micro & { table?: string }) | null = null;
if (runMicro) {
  log('micro figures');
  micro = await microFigures();
}

// ------------------------------------------------------------------ goals

const byTarget = (label: string) => cells.filter((c) => c.target === label && c.kind === 'mix');
/** The goals compare this build on RSA with the baseline (the only traffic the baseline speaks). */
const rsaCells = cells.filter((c) => c.pki === 'rsa' && c.build === 'this');
const smallCell = (label: string) => cells.find((c) => c.target === label && c.kind === 'small-only');
const classCost = (label: string, size: string) => cells.find((c) => c.target === label && c.kind === 'class-cost' && c.mix === size);
/** CPU ms per request of the mix, weighted by the shares, from the one-class cells. */
const mixCost = (label: string) => SIZE_MIX.reduce((sum, c) => sum + c.share * (classCost(label, c.label)?.cpuMsPerRequest ?? NaN), 0);
const best = (cs: Cell[]) => [...cs].sort((a, b) => b.throughput - a.throughput)[0]!;
/** Okno's best concurrency: highest throughput with p99 < 50 ms, else highest throughput. */
const bestUnder50 = (cs: Cell[]) => best(cs.filter((c) => c.latencyMs.p99 < 50).length ? cs.filter((c) => c.latencyMs.p99 < 50) : cs);
// Each side at its best: any worker count (the gateway may run one per core), any concurrency.
const oknoCells = rsaCells.filter((c) => c.target.startsWith('Okno') && c.kind === 'mix');
const baseCells = rsaCells.filter((c) => c.target.startsWith('baseline') && c.kind === 'mix');
const oknoBest = bestUnder50(oknoCells);
const baseBest = best(baseCells);
const oknoLabel = oknoBest.target;
const baseLabel = baseBest.target;
const verify86 = micro?.signVerify.find((r) => r.size === '86 KB' && r.operation === 'verify') ?? null;
const oknoSingle = best(byTarget('Okno ×1'));
const goals = {
  endToEnd: {
    goal: 'Okno ≥ 10× the baseline throughput, p99 < 50 ms at its best concurrency',
    compared: `best of Okno (${oknoLabel}) vs best of baseline (${baseLabel})`,
    oknoBest: { concurrency: oknoBest.concurrency, throughput: oknoBest.throughput, p99: oknoBest.latencyMs.p99 },
    baselineBest: { concurrency: baseBest.concurrency, throughput: baseBest.throughput, p99: baseBest.latencyMs.p99 },
    ratio: oknoBest.throughput / baseBest.throughput,
    met: oknoBest.throughput / baseBest.throughput >= 10 && oknoBest.latencyMs.p99 < 50,
  },
  verify86KB: {
    goal: 'verify at 86 KB ≥ 30× xml-crypto',
    ratio: verify86?.ratio ?? null,
    met: verify86 ? verify86.ratio >= 30 : null,
  },
  perCore: {
    goal: 'per-core throughput ≥ half the RSA-2048 sign floor',
    note: 'per core = requests/s ÷ gateway CPU cores actually used in that cell (from /proc), best cell of Okno ×1',
    perCore: oknoSingle.perServerCore,
    floorSign: micro?.rsaFloor.signOpsPerSec ?? null,
    ratioToFloor: micro ? oknoSingle.perServerCore / micro.rsaFloor.signOpsPerSec : null,
    met: micro ? oknoSingle.perServerCore >= micro.rsaFloor.signOpsPerSec / 2 : null,
    smallOnly: smallCell('Okno ×1')
      ? { mix: smallCell('Okno ×1')!.mix, perCore: smallCell('Okno ×1')!.perServerCore, ratioToFloor: micro ? smallCell('Okno ×1')!.perServerCore / micro.rsaFloor.signOpsPerSec : null }
      : null,
  },
  /** Issue 26: small messages never queue behind large ones (this build's large-alongside cell). */
  smallBesideLarge: (() => {
    const c = rsaCells.find((x) => x.kind === 'large-alongside');
    if (!c) return null;
    const p99 = Object.fromEntries(ALONGSIDE_SMALL.map((label) => [label, c.byClass[label]?.p99 ?? NaN]));
    return {
      goal: `p99 of the ${ALONGSIDE_SMALL.join(' and ')} classes < ${ALONGSIDE_P99_MS} ms in the mix at concurrency ${ALONGSIDE.concurrency} while a ${ALONGSIDE.only} message is sent every ${ALONGSIDE.everyMs} ms besides`,
      p99,
      met: Object.values(p99).every((x) => x < ALONGSIDE_P99_MS),
    };
  })(),
  /** Where the CPU goes, from the one-class cells: what a request of each size costs (ms of gateway CPU). */
  cost: {
    okno: Object.fromEntries(SIZE_MIX.map((c) => [c.label, classCost('Okno ×1', c.label)?.cpuMsPerRequest ?? null])),
    baseline: Object.fromEntries(SIZE_MIX.map((c) => [c.label, classCost('baseline ×1', c.label)?.cpuMsPerRequest ?? null])),
    oknoMixMs: mixCost('Okno ×1'),
    baselineMixMs: mixCost('baseline ×1'),
    /** CPU per request that half the RSA sign floor allows: 2 / floor. */
    halfFloorBudgetMs: micro ? 2000 / micro.rsaFloor.signOpsPerSec : null,
    rsaSignMs: micro ? 1000 / micro.rsaFloor.signOpsPerSec : null,
  },
};

let profile: (ProfileSummary & { dir: string; cell: CellResult }) | null = null;
if (runProfile && (!goals.endToEnd.met || goals.perCore.met === false)) {
  // One process (its event loop and large-message threads): the per-core view the goals are about.
  const at = bestUnder50(byTarget('Okno ×1')).concurrency;
  log(`a goal is missed: CPU profile of Okno ×1 at concurrency ${at}`);
  profile = await profileOkno(1, at, redis.url, flush, load);
}

load.stop();
await rc.quit();
await redis.dispose();

// ------------------------------------------------------------------ report

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '–');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');
function table(rows: string[][], numericFrom = 1): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i >= numericFrom ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  return [line(rows[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...rows.slice(1).map(line)];
}

const out: string[] = [];
const cpu = os.cpus()[0]?.model ?? 'unknown';
out.push(`Okno end-to-end bench (${quick ? 'QUICK smoke run: figures are not meaningful' : 'full run'}) — ${startedAt.toISOString()}, ${cores}× ${cpu}, node ${process.version}`);
out.push(`SendRequest (portal, RSA-2048${withGost ? ' — and with --gost GOST R 34.10-2012-256' : ''}, exc-c14n) of dwelling-replanning → verify → translate → Redis (AOF, appendfsync everysec) → signed reply; HTTP keep-alive on loopback`);
out.push(`mix: ${poolReport.classes.map((c) => `${c.label} ${Math.round(c.share * 100)}% (envelope ${(c.envelopeBytes / 1024).toFixed(1)} KB, pool ${c.count})`).join(', ')}; ${settings.cellMs / 1000} s per cell after a ${settings.warmupMs / 1000} s warm-up; every reply's signature checked by the load generator`);
out.push(`Okno = node dist/main.js, LOG_LEVEL info to /dev/null, large-message lane at its defaults (≥ 64 KiB in 2 threads; ≥ 512 KiB in the second, at nice 10); baseline = node-soap + xml-crypto + fast-xml-parser + ioredis (bench/baseline); ${oknoHasWorkers ? `×N = N worker processes` : `one process each (Okno has no WORKERS yet; the baseline runs one process too, for a fair comparison)`}; all on the same ${cores} cores as Redis and the load generator`);
out.push('');
const baseAt = (label: string, c: number, mix: string, kind: Cell['kind']) => cells.find((x) => x.target === label.replace('Okno', 'baseline') && x.concurrency === c && x.mix === mix && x.kind === kind);
const cellName = (c: Cell) => (c.kind === 'large-alongside' ? `mix + ${ALONGSIDE.only}` : c.mix === 'mix' ? 'mix' : `${c.mix} only`);
const rows = [['target', 'mix', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'repeats', 'server CPU', 'req/s/core', 'redis CPU', 'loadgen CPU', 'Okno/base']];
for (const c of cells.filter((x) => x.kind !== 'class-cost')) {
  const b = c.target.startsWith('Okno') ? baseAt(c.target, c.concurrency, c.mix, c.kind) : undefined;
  rows.push([c.target, cellName(c), String(c.concurrency), f0(c.throughput), f1(c.latencyMs.p50), f1(c.latencyMs.p99), f1(c.latencyMs.max), String(c.errors), String(c.repeats), f2(c.serverCpuCores), f0(c.perServerCore), f2(c.redisCpuCores), f2(c.loadGenCpuCores), b ? `${f1(c.throughput / b.throughput)}×` : '']);
}
out.push(...table(rows, 2));
out.push('server/redis/loadgen CPU = cores used on average during the cell (/proc, process.cpuUsage); req/s/core = req/s ÷ server CPU');
out.push('');
if (withGost) {
  const g = cells.filter((c) => c.pki === 'gost' && c.build === 'this');
  const costG = (label: string) => g.find((c) => c.kind === 'class-cost' && c.mix === label)?.cpuMsPerRequest ?? NaN;
  const costR = (label: string) => classCost('Okno ×1', label)?.cpuMsPerRequest ?? NaN;
  out.push(`GOST (rows "… GOST" above): the same mix signed by certs-sample/gost/portal (GOST R 34.10-2012-256, CryptoPro-XchA), the gateway on certs-sample/gost/gateway: every request one GOST verify, every reply one GOST sign`);
  const gRows = [['size', 'GOST ms CPU', 'RSA ms CPU', 'GOST/RSA']];
  for (const c of SIZE_MIX) gRows.push([c.label, f2(costG(c.label)), f2(costR(c.label)), `${f1(costG(c.label) / costR(c.label))}×`]);
  out.push(...table(gRows, 1).map((l) => `  ${l}`));
  for (const c of g.filter((x) => x.kind === 'mix')) {
    const r = cells.find((x) => x.pki === 'rsa' && x.build === 'this' && x.target === 'Okno ×1' && x.kind === 'mix' && x.concurrency === c.concurrency);
    if (r) out.push(`  mix at c=${c.concurrency}: GOST ${f0(c.throughput)} req/s (p99 ${f1(c.latencyMs.p99)} ms) vs RSA ${f0(r.throughput)} req/s (p99 ${f1(r.latencyMs.p99)} ms): ${f2(c.throughput / r.throughput)}× the RSA throughput`);
  }
  out.push('');
}
if (against) {
  out.push(`against ${against.ref} (${against.commit.slice(0, 10)}${against.lockfileDiffers ? ', its own npm ci: package-lock.json differs' : ''}), built in a temporary worktree, same run; ${against.order}:`);
  const aRows = [['pki', 'cell', 'conc', 'ref req/s', 'this req/s', 'this÷ref', 'ref p50', 'this p50', 'this÷ref', 'ref p99', 'this p99', 'this÷ref', 'ref CPU ms', 'this CPU ms', 'this÷ref']];
  for (const a of against.cells) {
    aRows.push([a.pki.toUpperCase() + (a.workers > 1 ? ` ×${a.workers}` : ''), a.kind === 'mix' ? 'mix' : a.kind === 'small-only' ? `${a.mix} only` : a.kind === 'large-alongside' ? `mix + ${ALONGSIDE.only}` : `${a.mix} cost`, String(a.concurrency), f0(a.ref.throughput), f0(a.this.throughput), f2(a.ratio.throughput), f1(a.ref.p50), f1(a.this.p50), f2(a.ratio.p50), f1(a.ref.p99), f1(a.this.p99), f2(a.ratio.p99), f2(a.ref.cpuMsPerRequest), f2(a.this.cpuMsPerRequest), f2(a.ratio.cpuMsPerRequest)]);
  }
  out.push(...table(aRows, 2).map((l) => `  ${l}`));
  out.push(`  ${against.ratios}`);
  out.push('');
}
{
  const alongside = cells.filter((c) => c.kind === 'large-alongside');
  if (alongside.length) {
    out.push(`small messages beside large ones: the mix at concurrency ${ALONGSIDE.concurrency} and a ${ALONGSIDE.only} message every ${ALONGSIDE.everyMs} ms besides (${settings.alongsideMs / 1000} s); goal: ${ALONGSIDE_SMALL.join(' and ')} p99 < ${ALONGSIDE_P99_MS} ms`);
    const aRows = [['target', 'req/s', ...SIZE_MIX.map((c) => `${c.label} p50/p99 ms (n)`)]];
    for (const c of alongside) aRows.push([c.target, f0(c.throughput), ...SIZE_MIX.map((s) => `${f1(c.byClass[s.label]!.p50)} / ${f1(c.byClass[s.label]!.p99)} (${c.byClass[s.label]!.count})`)]);
    const ref = alongside.find((c) => c.build === 'ref');
    const mine = alongside.find((c) => c.build === 'this');
    if (ref && mine) aRows.push(['this ÷ ref (req/s; p99)', f2(mine.throughput / ref.throughput), ...SIZE_MIX.map((s) => f2(mine.byClass[s.label]!.p99 / ref.byClass[s.label]!.p99))]);
    out.push(...table(aRows, 1).map((l) => `  ${l}`));
    out.push('');
  }
}
out.push(`p99 by size class at the best cell of each target:`);
const classRows = [['target', 'conc', ...SIZE_MIX.map((c) => `${c.label} p50/p99 ms`)]];
for (const label of [...new Set(cells.map((c) => c.target))]) {
  const c = label.startsWith('Okno') ? bestUnder50(byTarget(label)) : best(byTarget(label));
  classRows.push([label, String(c.concurrency), ...SIZE_MIX.map((s) => `${f1(c.byClass[s.label]!.p50)} / ${f1(c.byClass[s.label]!.p99)}`)]);
}
out.push(...table(classRows, 1));
out.push('');
out.push(`CPU per request by size class (×1, each class alone at concurrency ${CLASS_COST_CONCURRENCY}, ${settings.classCellMs / 1000} s; gateway CPU of all its threads from /proc ÷ requests):`);
const costRows = [['size', 'Okno ms CPU', 'Okno req/s', 'baseline ms CPU', 'baseline req/s', 'baseline/Okno']];
for (const s of [...SIZE_MIX.map((c) => c.label), 'mix (weighted)']) {
  const cost = (label: string) => (s === 'mix (weighted)' ? { cpu: mixCost(label), rps: NaN } : { cpu: classCost(label, s)?.cpuMsPerRequest ?? NaN, rps: classCost(label, s)?.throughput ?? NaN });
  const o = cost('Okno ×1');
  const b = cost('baseline ×1');
  costRows.push([s, f2(o.cpu), f0(o.rps), f2(b.cpu), b.rps >= 10 ? f0(b.rps) : f2(b.rps), `${f1(b.cpu / o.cpu)}×`]);
}
out.push(...table(costRows, 1));
const errs = cells.filter((c) => c.errors > 0);
if (errs.length) {
  out.push('');
  out.push('errors:');
  for (const c of errs) out.push(`  ${c.target} c=${c.concurrency}: ${JSON.stringify(c.errorsByKind)} e.g. ${c.firstErrors[0] ?? ''}`);
}
out.push('');
out.push('memory:');
for (const p of peakRss) out.push(`  peak RSS under load (VmHWM), ${p.target}: ${f1(p.totalMB)} MB (${Object.entries(p.processes).map(([pid, mb]) => `pid ${pid} ${f1(mb)} MB`).join(', ')})`);
for (const b of big) {
  out.push(`  one ${(b.envelopeBytes / 2 ** 20).toFixed(1)} MB message, ${b.target} (fresh process): HTTP ${b.status}${b.replyValid ? ', signed reply valid' : ', reply NOT valid'}, ${f0(b.ms)} ms, RSS ${f1(b.rssBeforeMB)} → peak ${f1(b.rssPeakMB)} MB (+${f1(b.rssGrowthMB)} MB)${b.error ? `; ${b.error}` : ''}`);
}
{
  const m = redisMemory;
  const KB = (b: number) => (b / 1024).toFixed(1);
  out.push(`  Redis per accepted application (${m.messages} of ${KB(m.contentBytes)} KB content, ${m.journalRecords} journal records; Σ MEMORY USAGE of the gateway's keys by SCAN, and INFO used_memory):`);
  const r = [['', 'keys B/msg', 'used_memory B/msg', 'journal B/msg', 'journal index B/msg', 'the rest B/msg', 'keys/msg', 'sent to Redis B/msg']];
  for (const [label, p] of [['hot', m.hot], ['archived', m.archived]] as const) {
    r.push([label, f0(p.keyBytesPerMessage), f0(p.usedMemoryPerMessage), f0(p.byGroup['journal-hot']), f0(p.byGroup['journal-index']), f0(p.byGroup.other), f1(p.keysPerMessage), label === 'hot' && p.writtenPerMessage !== null ? f0(p.writtenPerMessage) : '–']);
  }
  out.push(...table(r, 1).map((l) => `    ${l}`));
  out.push(`    archive: ${m.archive.segments} segment(s), ${f0(m.archive.bytesPerMessage)} B/msg on disk; archived in ${f1(m.archiveSeconds)} s (gateway restart with JOURNAL_HOT_HOURS=0.0003 included); the rest = application, inbox item, idempotency record, registration number (not archived)`);
}
if (micro) {
  out.push('');
  out.push(`micro (${micro.source}):`);
  const m = [['size', 'envelope', 'op', 'Okno ops/s', 'xml-crypto ops/s', 'Okno/xml-crypto']];
  for (const r of micro.signVerify) m.push([r.size, `${(r.envelopeBytes / 1024).toFixed(1)} KB`, r.operation, f0(r.oknoOpsPerSec), r.xmlCryptoOpsPerSec >= 10 ? f0(r.xmlCryptoOpsPerSec) : f2(r.xmlCryptoOpsPerSec), `${f1(r.ratio)}×`]);
  out.push(...table(m, 3).map((l) => `  ${l}`));
  out.push(`  exc-c14n (${micro.c14n.element}): Okno ${f1(micro.c14n.oknoMBps)} MB/s${micro.c14n.xmlCryptoMBps !== null ? `, xml-crypto ${f1(micro.c14n.xmlCryptoMBps)} MB/s (${f2(micro.c14n.ratio!)}×)` : ''}`);
  out.push(`  crypto floor (node:crypto RSA-2048, same run): sign ${f0(micro.rsaFloor.signOpsPerSec)}/s, verify ${f0(micro.rsaFloor.verifyOpsPerSec)}/s`);
  out.push(`  GOST R 34.10-2012-256: raw sign ${f0(micro.gost.rawSignOpsPerSec)}/s, raw verify ${f0(micro.gost.rawVerifyOpsPerSec)}/s${micro.gost.envelopeSignOpsPerSec !== null ? `; 8 KB envelope sign ${f0(micro.gost.envelopeSignOpsPerSec)}/s, verify ${f0(micro.gost.envelopeVerifyOpsPerSec!)}/s` : ''}`);
  out.push(`  Okno 0.4 KB sign = ${f1((100 * micro.signVerify[0]!.oknoOpsPerSec) / micro.rsaFloor.signOpsPerSec)}% of the RSA sign floor`);
}
out.push('');
out.push('goals:');
const verdict = (met: boolean | null) => (met === null ? 'not measured' : met ? 'MET' : 'MISSED');
out.push(`  end to end ≥ 10× baseline, p99 < 50 ms (${goals.endToEnd.compared}): ${f1(goals.endToEnd.ratio)}× (Okno ${f0(oknoBest.throughput)} req/s at c=${oknoBest.concurrency}, p99 ${f1(oknoBest.latencyMs.p99)} ms; baseline ${f0(baseBest.throughput)} req/s at c=${baseBest.concurrency}) — ${verdict(goals.endToEnd.met)}`);
if (goals.smallBesideLarge) out.push(`  ${goals.smallBesideLarge.goal}: ${Object.entries(goals.smallBesideLarge.p99).map(([k, v]) => `${k} ${f1(v)} ms`).join(', ')} — ${verdict(goals.smallBesideLarge.met)}`);
out.push(`  verify at 86 KB ≥ 30× xml-crypto: ${goals.verify86KB.ratio !== null ? `${f1(goals.verify86KB.ratio)}×` : 'not in this run'} — ${verdict(goals.verify86KB.met)}`);
out.push(`  per-core throughput ≥ ½ RSA sign floor: ${f0(goals.perCore.perCore)} req/s per core vs floor ${goals.perCore.floorSign !== null ? f0(goals.perCore.floorSign) : '–'}/s (${goals.perCore.ratioToFloor !== null ? `${f2(goals.perCore.ratioToFloor)} of it` : '–'}) — ${verdict(goals.perCore.met)}${goals.perCore.smallOnly ? `; ${goals.perCore.smallOnly.mix} only: ${f0(goals.perCore.smallOnly.perCore)} req/s per core (${goals.perCore.smallOnly.ratioToFloor !== null ? f2(goals.perCore.smallOnly.ratioToFloor) : '–'} of the floor)` : ''}`);
{
  const c = goals.cost;
  const okno = (label: string) => c.okno[label] ?? NaN;
  out.push(`  why, from the CPU per request above: the mix costs Okno ${f2(c.oknoMixMs)} ms of CPU per request (baseline ${f2(c.baselineMixMs)} ms), at most ${f0(1000 / c.oknoMixMs)} req/s per core;` +
    (c.halfFloorBudgetMs !== null ? ` half the RSA sign floor allows ${f2(c.halfFloorBudgetMs)} ms per request, while one RSA signature alone is ${f2(c.rsaSignMs!)} ms and the smallest class costs ${f2(okno('2 KB'))} ms.` : ''));
  out.push(`  p99 of the mix: 1 request in 100 is 1 MB and costs ${f0(okno('1 MB'))} ms of CPU on its own (100 KB: ${f1(okno('100 KB'))} ms); p99 < 50 ms needs the other 99 to finish within 50 ms while those hold a core, on ${cores} cores shared with Redis and the load generator.`);
}
if (profile) {
  out.push('');
  out.push(`CPU profile of Okno ×1 at c=${profile.cell.concurrency}, the mix (${f0(profile.cell.throughput)} req/s during the ${settings.profileMs / 1000} s profiled; ${profile.dir}):`);
  out.push(`  busy CPU in the window: ${profile.threads.map((th) => `${th.thread} ${f2(th.busyMs / 1000)} s`).join(', ')} (idle excluded; percentages are of busy time)`);
  out.push('  by area (self time):');
  for (const a of profile.byArea.slice(0, 10)) out.push(`    ${f1(a.selfPct).padStart(5)}%  ${a.area}`);
  out.push('  top functions (self time):');
  for (const e of profile.top.slice(0, 15)) out.push(`    ${f1(e.selfPct).padStart(5)}%  ${e.function}  ${e.where}`);
}
const jsonPath = path.join(resultsDir, `${stamp}.json`);
out.push('');
out.push(`JSON: ${path.relative(root, jsonPath)}`);
console.log(out.join('\n'));

const machine = { cpuModel: cpu, cores, totalMemoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1), loadAverage: os.loadavg(), node: process.version, platform: `${os.platform()} ${os.release()}` };
let commit: string | null = null;
try {
  commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
} catch {
  // not a checkout
}
writeFileSync(
  jsonPath,
  JSON.stringify(
    {
      benchmark: 'okno end-to-end (issue 5)',
      generatedAt: new Date().toISOString(),
      mode: quick ? 'quick' : 'full',
      gitCommit: commit,
      machine,
      setup: {
        redis: 'redis-server, AOF on, appendfsync everysec (bench setting), emptied (FLUSHALL) between cells',
        okno: { command: 'node dist/main.js', workersVariable: oknoHasWorkers, env: 'PORT, REDIS_URL, MAX_BODY_BYTES=64 MiB, NODE_ENV unset, LOG_LEVEL default (info) to /dev/null; LARGE_MESSAGE_* default (bodies of 64 KiB or more in two worker threads per process: from 512 KiB in the second, at nice 10, the others in the first at normal priority)' },
        baseline: 'bench/baseline/server.ts: node-soap soap.listen + xml-crypto verify/sign + fast-xml-parser + ioredis SET + RPUSH',
        plan: plan.map((p) => `${p.name} ×${p.workers}${p.pki === 'gost' ? ' GOST' : ''}`),
        gost: withGost
          ? { env: gostGatewayEnv(), requests: 'signed by certs-sample/gost/portal (GOST R 34.10-2012-256, CryptoPro-XchA), exc-c14n; the gateway signs its replies with certs-sample/gost/gateway' }
          : null,
        settings,
      },
      pool: poolReport,
      gostPool: gostPoolReport,
      against,
      e2e: { cells },
      memory: { peakRssUnderLoad: peakRss, bigMessage: big, redisPerMessage: redisMemory },
      micro: micro ? { ...micro, table: undefined } : null,
      goals,
      profile,
    },
    null,
    2,
  ) + '\n',
);
log(`wrote ${path.relative(root, jsonPath)}`);
process.exit(0);
