/**
 * Smoke run of the end-to-end bench (`npm run bench -- --quick --gost --against HEAD`): proves it
 * starts Redis, both servers and the load generator, checks replies, prints
 * its table and writes the JSON; that --gost runs Okno on GOST-signed traffic with the GOST
 * gateway key (every reply's GOST signature checked), and that --against builds HEAD in a
 * temporary worktree, interleaves it with this build cell by cell, reports this ÷ ref and
 * removes the worktree. No speed is asserted here, ever: the figures
 * of a few-second run on a shared CI machine mean nothing.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

const run = promisify(execFile);

const worktrees = () => execFileSync('git', ['worktree', 'list', '--porcelain'], { cwd: projectRoot, encoding: 'utf8' });

describe('npm run bench -- --quick --gost --against HEAD', () => {
  it('refuses a ref that names no commit: exit 2, one line', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/run.ts'), '--quick', '--against', 'no-such-ref-okno-bench'], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['bench: --against no-such-ref-okno-bench: no such commit in this repository']);
  });

  it('completes, prints the table and writes the JSON report', { timeout: 420_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/run.ts'), '--quick', '--gost', '--against', 'HEAD'], {
      cwd: projectRoot,
      env: { ...process.env, NODE_ENV: '' },
      maxBuffer: 16 * 2 ** 20,
      timeout: 400_000,
    });
    expect(stdout).toContain('Okno end-to-end bench');
    expect(stdout).toMatch(/target\s+mix\s+conc\s+req\/s\s+p50 ms\s+p99 ms/);
    expect(stdout).toContain('Okno ×1');
    expect(stdout).toContain('baseline ×1');
    expect(stdout).toContain('goals:');
    expect(stdout).toContain('CPU per request by size class');
    expect(stdout).toMatch(/why, from the CPU per request above: the mix costs Okno \d+\.\d+ ms/);
    const jsonPath = /^JSON: (.+\.json)$/m.exec(stdout)?.[1];
    expect(jsonPath).toBeDefined();
    const file = path.join(projectRoot, jsonPath!);
    const report = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    rmSync(file, { force: true });
    expect(Object.keys(report)).toEqual(expect.arrayContaining(['benchmark', 'mode', 'machine', 'setup', 'pool', 'e2e', 'memory', 'micro', 'goals']));
    expect(report.mode).toBe('quick');
    const cells = (report.e2e as { cells: Array<Record<string, unknown>> }).cells;
    expect(cells.length).toBeGreaterThanOrEqual(4);
    for (const c of cells) {
      expect(Object.keys(c)).toEqual(expect.arrayContaining(['target', 'concurrency', 'throughput', 'latencyMs', 'errors', 'serverCpuCores', 'loadGenCpuCores']));
      // the load generator checked the replies it counted as successful
      expect(c.repliesChecked).toBeGreaterThan(0);
    }
    // each size class alone, one at a time, on both ×1 targets: what a request of that size costs in CPU
    for (const target of ['Okno ×1', 'baseline ×1']) {
      const costs = cells.filter((c) => c.target === target && c.kind === 'class-cost');
      expect(costs.map((c) => c.mix)).toEqual(['2 KB', '10 KB', '100 KB', '1 MB']);
      for (const c of costs) {
        expect(c.repliesChecked).toBeGreaterThan(0);
        expect(c.cpuMsPerRequest).toBeGreaterThan(0);
      }
    }
    // the mix with 1 MB messages flowing besides (issue 26): per-class figures, the 1 MB ones counted, paired with the ref
    expect(stdout).toContain('small messages beside large ones');
    const alongside = cells.filter((c) => c.kind === 'large-alongside' && c.pki === 'rsa');
    expect(alongside.map((c) => c.build).sort()).toEqual(['ref', 'this']);
    for (const c of alongside) {
      const byClass = c.byClass as Record<string, { count: number }>;
      for (const label of ['2 KB', '10 KB', '1 MB']) expect(byClass[label]!.count).toBeGreaterThan(0);
    }
    const micro = report.micro as Record<string, unknown>;
    expect(Object.keys(micro)).toEqual(expect.arrayContaining(['signVerify', 'c14n', 'rsaFloor', 'gost']));
    const memory = report.memory as { peakRssUnderLoad: unknown[]; bigMessage: Array<{ status: number }> };
    expect(memory.peakRssUnderLoad.length).toBeGreaterThan(0);
    expect(memory.bigMessage[0]!.status).toBe(200);
    // Redis per accepted application: the journal's records leave Redis once archived, their index stays
    expect(stdout).toMatch(/Redis per accepted application \(500 of/);
    type PerMessage = { keyBytesPerMessage: number; byGroup: Record<'journal-hot' | 'journal-index' | 'other', number> };
    const redis = (report.memory as { redisPerMessage: { messages: number; failed: number; hot: PerMessage; archived: PerMessage; archive: { segments: number } } }).redisPerMessage;
    expect(redis).toMatchObject({ messages: 500, failed: 0 });
    expect(redis.hot.byGroup['journal-hot']).toBeGreaterThan(redis.archived.byGroup['journal-hot']);
    expect(redis.archived.byGroup['journal-hot']).toBeLessThan(100);
    expect(redis.archived.byGroup['journal-index']).toBeGreaterThan(0);
    expect(redis.archive.segments).toBeGreaterThan(0);
    expect(Object.keys(report.goals as object)).toEqual(expect.arrayContaining(['endToEnd', 'verify86KB', 'perCore', 'smallBesideLarge']));

    // --gost: Okno on GOST traffic, every request accepted, every reply's GOST signature checked
    expect(stdout).toMatch(/^Okno ×1 GOST\s+mix\s+8\s/m);
    expect(stdout).toMatch(/GOST \(rows "… GOST" above\)/);
    const gost = cells.filter((c) => c.pki === 'gost' && c.build === 'this');
    expect(gost.filter((c) => c.kind === 'mix').map((c) => c.concurrency)).toEqual([1, 8]);
    expect(gost.filter((c) => c.kind === 'class-cost').map((c) => c.mix)).toEqual(['2 KB', '10 KB', '100 KB', '1 MB']);
    for (const c of gost) {
      expect(c.errors).toBe(0);
      expect(c.repliesChecked).toBeGreaterThan(0);
    }
    expect((report.gostPool as { total: number }).total).toBeGreaterThan(0);

    // --against HEAD: built in a worktree, every Okno cell of both builds side by side, this ÷ ref
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: projectRoot, encoding: 'utf8' }).trim();
    expect(stdout).toContain(`against HEAD (${head.slice(0, 10)}`);
    expect(stdout).toMatch(/ref req\/s\s+this req\/s\s+this÷ref/);
    type Side = { target: string; throughput: number; p50: number; p99: number; cpuMsPerRequest: number };
    const against = report.against as { commit: string; lockfileDiffers: boolean; cells: Array<{ pki: string; kind: string; mix: string; concurrency: number; ref: Side; this: Side; ratio: Record<'throughput' | 'p50' | 'p99' | 'cpuMsPerRequest', number> }> };
    expect(against.commit).toBe(head);
    expect(against.lockfileDiffers).toBe(false);
    const okno1 = (pki: string) => cells.filter((c) => c.pki === pki && c.build === 'this' && c.workers === 1 && String(c.target).startsWith('Okno'));
    expect(against.cells.filter((a) => a.pki === 'rsa').length).toBeGreaterThanOrEqual(okno1('rsa').length);
    expect(against.cells.filter((a) => a.pki === 'gost').length).toBe(okno1('gost').length);
    for (const a of against.cells) {
      expect(a.ref.target).toMatch(new RegExp(`^ref ${head.slice(0, 10)} ×\\d`));
      expect(a.this.target).toMatch(/^Okno ×\d/);
      expect(a.ratio.throughput).toBeCloseTo(a.this.throughput / a.ref.throughput, 9);
      expect(a.ratio.throughput).toBeGreaterThan(0);
    }
    for (const c of cells.filter((x) => x.build === 'ref')) expect(c.repliesChecked).toBeGreaterThan(0);
    // the temporary worktree is gone
    expect(worktrees()).not.toContain('okno-bench-against-');
  });
});
