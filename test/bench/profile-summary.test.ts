/**
 * The bench's profile summary: only samples inside the measured window count
 * (not start-up or shutdown), idle time is reported apart and percentages are
 * of busy time, threads are named from node --cpu-prof's file names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { summarizeProfiles } from '../../bench/lib/profile-summary.js';

const dir = mkdtempSync(path.join(tmpdir(), 'okno-profile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });
/** A profile starting at 1 000 000 µs: 10 samples of 1 ms each, in the given order of node ids. */
function write(name: string, samples: number[]): string {
  const file = path.join(dir, name);
  const profile = {
    startTime: 1_000_000,
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('compileSchema', 'file:///app/node_modules/ajv/dist/compile/index.js') },
      { id: 4, callFrame: frame('verifySignature', 'file:///app/dist/signature/verify.js') },
    ],
    samples,
    timeDeltas: samples.map(() => 1000),
  };
  writeFileSync(file, JSON.stringify(profile));
  return file;
}

describe('summarizeProfiles', () => {
  // start-up compile for 4 ms, then verify 3 ms, idle 3 ms
  const main = write('CPU.20261202.060000.100.0.001.cpuprofile', [3, 3, 3, 3, 4, 2, 4, 2, 4, 2]);
  const worker = write('CPU.20261202.060000.100.1.002.cpuprofile', [2, 2, 2, 2, 4, 4, 4, 4, 2, 2]);

  it('counts only the window, excludes idle from the percentages and names the threads', () => {
    // samples are stamped at 1 001 000, 1 002 000, …: the window [1 004 500, 1 010 000] keeps samples 5..10
    const s = summarizeProfiles([main, worker], { window: { fromUs: 1_004_500, toUs: 1_010_000 } });
    expect(s.threads).toEqual([
      { thread: 'main', busyMs: 3, idleMs: 3 },
      { thread: 'thread 1', busyMs: 4, idleMs: 2 },
    ]);
    expect(s.totalMs).toBe(7);
    expect(s.byArea).toEqual([{ area: 'okno signature', selfMs: 7, selfPct: 100 }]);
    expect(s.top[0]).toMatchObject({ function: 'verifySignature', where: 'dist/signature/verify.js:1', selfPct: 100 });
  });

  it('without a window, start-up counts too', () => {
    const s = summarizeProfiles([main]);
    expect(s.totalMs).toBe(7);
    expect(s.byArea.map((a) => a.area)).toEqual(['ajv', 'okno signature']);
    expect(s.byArea[0]!.selfPct).toBeCloseTo((100 * 4) / 7, 5);
  });
});
