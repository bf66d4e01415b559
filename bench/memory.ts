/**
 * `npm run bench:memory [-- --messages N] [-- --kb K] [-- --against <git-ref>]`: Redis bytes per
 * accepted application alone (the full bench's memory stage, bench/lib/memory-stage.ts), with the
 * breakdown by key family, hot and archived. With --against, the ref is built in a temporary
 * worktree (bench/lib/ref-build.ts) and measured in the same run on the same redis-server
 * (this build, the ref, this build again; Redis emptied before each), and the report gives
 * this ÷ ref. Issue 26 point 1 quotes these figures.
 *
 * Prints a table; `--json FILE` writes the stages too.
 */
import { writeFileSync } from 'node:fs';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { memoryStage, type MemoryStage } from './lib/memory-stage.js';
import { buildRef, resolveRef } from './lib/ref-build.js';
import { root } from './lib/requests.js';

const argv = process.argv.slice(2);
const usage = (m: string): never => {
  console.error(`${m}\nusage: npm run bench:memory [-- --messages N] [-- --kb K] [-- --against <git-ref>] [-- --json FILE]`);
  process.exit(2);
};
let messages = 300;
let kb = 10;
let against: string | null = null;
let jsonOut: string | null = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]!;
  const value = () => {
    const v = argv[++i];
    if (v === undefined || v.startsWith('--')) usage(`${a} needs a value`);
    return v!;
  };
  if (a === '--messages') messages = Number(value());
  else if (a === '--kb') kb = Number(value());
  else if (a === '--against') against = value();
  else if (a === '--json') jsonOut = value();
  else usage(`unknown argument ${a}`);
}
if (!Number.isInteger(messages) || messages < 1) usage('--messages must be a whole number ≥ 1');
if (!(kb > 0)) usage('--kb must be > 0');

const log = (s: string) => process.stderr.write(`[bench:memory] ${s}\n`);
const commit = against !== null ? resolveRef(root, against) : null;
if (against !== null && !commit) {
  console.error(`bench:memory: --against ${against}: no such commit in this repository`);
  process.exit(2);
}
const ref = against !== null ? buildRef(root, against, commit!, log) : null;

const redis = await startRedisServer();
const runs: Array<{ label: string; stage: MemoryStage }> = [];
try {
  const plan: Array<{ label: string; home: string }> = ref ? [{ label: 'this', home: root }, { label: `ref ${ref.short}`, home: ref.dir }, { label: 'this', home: root }] : [{ label: 'this', home: root }];
  for (const p of plan) {
    log(`${p.label}: ${messages} applications of ${kb} KB`);
    runs.push({ label: p.label, stage: await memoryStage({ redisUrl: redis.url, messages, contentBytes: kb * 1024, log, home: p.home }) });
  }
} finally {
  await redis.stop();
}

const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : '–');
const families = [...new Set(runs.flatMap((r) => [...Object.keys(r.stage.hot.byFamily), ...Object.keys(r.stage.archived.byFamily)]))].sort();
const header = ['B per application', ...runs.flatMap((r) => [`${r.label} hot`, `${r.label} archived`])];
const rows: string[][] = [header];
rows.push(['Σ MEMORY USAGE', ...runs.flatMap((r) => [f0(r.stage.hot.keyBytesPerMessage), f0(r.stage.archived.keyBytesPerMessage)])]);
rows.push(['INFO used_memory', ...runs.flatMap((r) => [f0(r.stage.hot.usedMemoryPerMessage), f0(r.stage.archived.usedMemoryPerMessage)])]);
rows.push(['sent to Redis (net input)', ...runs.flatMap((r) => [f0(r.stage.hot.writtenPerMessage ?? NaN), '–'])]);
rows.push(['keys', ...runs.flatMap((r) => [r.stage.hot.keysPerMessage.toFixed(1), r.stage.archived.keysPerMessage.toFixed(1)])]);
for (const family of families) rows.push([`  ${family}`, ...runs.flatMap((r) => [f0(r.stage.hot.byFamily[family] ?? 0), f0(r.stage.archived.byFamily[family] ?? 0)])]);
const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
const first = runs[0]!.stage;
console.log(`Redis per accepted application: ${first.messages} SendRequests, ${(first.contentBytes / 1024).toFixed(1)} KB content, ${(first.envelopeBytes / 1024).toFixed(1)} KB signed envelope`);
for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
if (ref) {
  const refRun = runs[1]!.stage;
  const mine = (runs[0]!.stage.hot.keyBytesPerMessage + runs[2]!.stage.hot.keyBytesPerMessage) / 2;
  const mineUsed = (runs[0]!.stage.hot.usedMemoryPerMessage + runs[2]!.stage.hot.usedMemoryPerMessage) / 2;
  console.log(`this ÷ ref ${ref.short}, hot: Σ MEMORY USAGE ${(mine / refRun.hot.keyBytesPerMessage).toFixed(2)}, used_memory ${(mineUsed / refRun.hot.usedMemoryPerMessage).toFixed(2)}`);
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ against: ref ? { ref: ref.ref, commit: ref.commit } : null, runs }, null, 2));
