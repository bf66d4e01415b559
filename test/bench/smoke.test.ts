/**
 * Smoke run of the end-to-end bench (`npm run bench -- --quick`): proves it
 * starts Redis, both servers and the load generator, checks replies, prints
 * its table and writes the JSON. No speed is asserted here, ever: the figures
 * of a few-second run on a shared CI machine mean nothing.
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';

const run = promisify(execFile);

describe('npm run bench -- --quick', () => {
  it('completes, prints the table and writes the JSON report', { timeout: 240_000 }, async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'bench/run.ts'), '--quick'], {
      cwd: projectRoot,
      env: { ...process.env, NODE_ENV: '' },
      maxBuffer: 16 * 2 ** 20,
      timeout: 230_000,
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
    expect(Object.keys(report.goals as object)).toEqual(expect.arrayContaining(['endToEnd', 'verify86KB', 'perCore']));
  });
});
