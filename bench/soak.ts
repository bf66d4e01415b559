/**
 * `npm run bench:soak`: the journal's Redis memory stays bounded while the archive grows (issue 23
 * point 6). Not part of `npm test`.
 *
 *   npm run bench:soak [-- --messages 20000] [-- --size-kb 10] [-- --hot-hours 0.003]
 *                      [-- --interval-s 1] [-- --sample-s 3] [-- --concurrency 8] [-- --tolerance 0.05]
 *
 * A real redis-server (AOF, fsync every second, as the bench) and one gateway process
 * (dist/main.js) with a hot window of seconds (JOURNAL_HOT_HOURS=0.003 ≈ 11 s) and the archiver
 * looking every second; `--messages` signed SendRequests (every reply's signature checked) at
 * `--concurrency`. Every `--sample-s`: Redis `used_memory` (INFO), Σ MEMORY USAGE of the journal's
 * hot keys (records, envelopes, seals, checkpoints, the feed) and of the archived records' index,
 * the records still hot, the archive directory's segments and bytes, the gateway's RSS.
 *
 * "Flat" (the verdict, redis-memory.ts flatness): over the second half of the samples taken while
 * sending, the journal's hot bytes in Redis grow by at most `--tolerance` (default 5 %) of what
 * each message would add if none left (the journal's bytes per hot record, measured in the same
 * run): a journal kept whole has a ratio of 1, a bounded one about 0; and the archive grows.
 * Redis `used_memory` as a whole is reported too, with its growth per message over the second
 * half: what stays in Redis per application after archiving (the application, its inbox item, its
 * idempotency record and the archived record's index), which the journal archive does not remove.
 *
 * Prints a table and writes bench/results/soak-<time>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { JOURNAL } from '../src/journal/records.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { byGroup, bytesPerHotRecord, familyGroup, flatness, quarters, slope, type SoakSample } from './lib/redis-memory.js';
import { archiveSize, keyUsage, memorySnapshot, redisUsedMemory } from './lib/redis-probe.js';
import { contentOfSize, root } from './lib/requests.js';
import { sendAccepted } from './lib/send.js';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '20000' },
    'size-kb': { type: 'string', default: '10' },
    'hot-hours': { type: 'string', default: '0.003' },
    'interval-s': { type: 'string', default: '1' },
    'sample-s': { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    tolerance: { type: 'string', default: '0.05' },
  },
  strict: true,
});
const num = (name: keyof typeof args, min: number): number => {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min) {
    console.error(`--${name}: ${args[name]} is not a number ≥ ${min}`);
    process.exit(2);
  }
  return v;
};
const settings = {
  messages: num('messages', 1),
  sizeKB: num('size-kb', 0.5),
  hotHours: num('hot-hours', 0.0001),
  intervalS: num('interval-s', 0.01),
  sampleS: num('sample-s', 0.1),
  concurrency: num('concurrency', 1),
  tolerance: num('tolerance', 0),
};
const PREFIX = 'okno-soak:';
const log = (s: string) => process.stderr.write(`soak: ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');

function rssMB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const redis = await startRedisServer({ appendonly: true });
const client = new Redis(redis.url);
await client.config('SET', 'appendfsync', 'everysec');
const archiveDir = mkdtempSync(path.join(os.tmpdir(), 'okno-soak-archive-'));
const gw = await startGatewayProcess({
  REDIS_URL: redis.url,
  REDIS_KEY_PREFIX: PREFIX,
  LOG_LEVEL: 'warn',
  ARCHIVE_DIR: archiveDir,
  JOURNAL_HOT_HOURS: String(settings.hotHours),
  ARCHIVE_INTERVAL_S: String(settings.intervalS),
});
const feedKey = `${PREFIX}feed:${JOURNAL}`;
const journalKeys = (family: string) => familyGroup(family) !== 'other';

const before = await memorySnapshot(client, PREFIX);
const t0 = performance.now();
let sent = 0;
const samples: SoakSample[] = [];
const extra: Array<{ indexBytes: number; gatewayRssMB: number }> = [];
async function sample(): Promise<void> {
  const usage = await keyUsage(client, PREFIX, journalKeys);
  const groups = byGroup(Object.fromEntries(Object.entries(usage.byFamily).map(([f, u]) => [f, u.bytes])));
  const a = archiveSize(archiveDir);
  samples.push({
    t: (performance.now() - t0) / 1000,
    sent,
    usedMemory: await redisUsedMemory(client),
    keyBytes: groups['journal-hot'],
    hotRecords: await client.zcard(feedKey),
    archiveBytes: a.bytes,
    archiveSegments: a.segments,
  });
  extra.push({ indexBytes: groups['journal-index'], gatewayRssMB: rssMB(gw.pid) });
}

log(`${settings.messages} messages of ${settings.sizeKB} KB at concurrency ${settings.concurrency}; JOURNAL_HOT_HOURS=${settings.hotHours} (${(settings.hotHours * 3600).toFixed(1)} s), ARCHIVE_INTERVAL_S=${settings.intervalS}; a sample every ${settings.sampleS} s`);
let sending = true;
const sampler = (async () => {
  while (sending) {
    await sample();
    const s = samples[samples.length - 1]!;
    if (samples.length % 10 === 1) log(`${s.t.toFixed(0)} s: ${s.sent} sent, ${s.hotRecords} hot, used_memory ${(s.usedMemory / 2 ** 20).toFixed(1)} MB, journal hot ${(s.keyBytes! / 2 ** 20).toFixed(1)} MB, archive ${s.archiveSegments} segments ${(s.archiveBytes / 2 ** 20).toFixed(1)} MB`);
    await sleep(settings.sampleS * 1000);
  }
})();
const content = contentOfSize(settings.sizeKB * 1024);
const result = await sendAccepted({ url: gw.url, count: settings.messages, concurrency: settings.concurrency, contentXml: content.xml, onAccepted: () => sent++ });
sending = false;
await sampler;
const whileSending = samples.slice();
log(`sent: ${result.accepted} accepted, ${result.failed} failed in ${result.seconds.toFixed(0)} s; waiting for the last hot window to be archived`);

// After the load: everything older than the hot window leaves Redis (the last records stay hot
// until the window has passed: wait for it, plus a few archiver rounds).
const drainDeadline = Date.now() + settings.hotHours * 3_600_000 + 60_000;
while ((await client.zcard(feedKey)) > 0 && Date.now() < drainDeadline) await sleep(500);
await sleep(500);
await sample();
const drained = samples[samples.length - 1]!;
const after = await memorySnapshot(client, PREFIX);
const gatewayRss = rssMB(gw.pid);
await gw.stop();
await client.quit();
await redis.dispose();
rmSync(archiveDir, { recursive: true, force: true });

// ------------------------------------------------------------------ analysis

const perHotRecord = bytesPerHotRecord(whileSending);
const journal = flatness(whileSending, (s) => s.keyBytes ?? NaN, { unboundedPerMessage: perHotRecord, tolerance: settings.tolerance });
const secondHalf = whileSending.slice(Math.floor(whileSending.length / 2));
const usedSlope = slope(secondHalf.map((s) => ({ x: s.sent, y: s.usedMemory })));
const archiveSlope = slope(secondHalf.map((s) => ({ x: s.sent, y: s.archiveBytes })));
const [, q2, , q4] = quarters(whileSending);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const residualPerMessage = Object.fromEntries(
  [...new Set([...Object.keys(before.keys.byFamily), ...Object.keys(after.keys.byFamily)])]
    .map((f) => [f, ((after.keys.byFamily[f]?.bytes ?? 0) - (before.keys.byFamily[f]?.bytes ?? 0)) / result.accepted] as const)
    .filter(([, b]) => b !== 0),
);
const analysis = {
  definition: `flat: over the second half of the samples taken while sending, the journal's hot bytes in Redis (Σ MEMORY USAGE of its records, envelopes, seals, checkpoints and feed) grow by at most ${settings.tolerance * 100} % of the journal's bytes per hot record per message (|slope| ≤ ${settings.tolerance} × bytes per hot record), and the archive grows`,
  journalHot: { ...journal, bytesPerHotRecord: perHotRecord },
  usedMemory: { secondQuarterMean: mean(q2.map((s) => s.usedMemory)), lastQuarterMean: mean(q4.map((s) => s.usedMemory)), growthPerMessage: usedSlope },
  archive: { secondQuarterMean: mean(q2.map((s) => s.archiveBytes)), lastQuarterMean: mean(q4.map((s) => s.archiveBytes)), growthPerMessage: archiveSlope },
  hotRecords: { secondQuarterMean: q2.reduce((a, s) => a + s.hotRecords, 0) / q2.length, lastQuarterMean: q4.reduce((a, s) => a + s.hotRecords, 0) / q4.length, max: Math.max(...whileSending.map((s) => s.hotRecords)) },
  afterDrain: {
    hotRecords: drained.hotRecords,
    usedMemoryPerMessage: (after.usedMemory - before.usedMemory) / result.accepted,
    keyBytesPerMessage: (after.keys.bytes - before.keys.bytes) / result.accepted,
    byFamily: residualPerMessage,
    byGroup: byGroup(residualPerMessage),
    archiveBytesPerMessage: drained.archiveBytes / result.accepted,
  },
  verdict: journal.flat && archiveSlope > 0 ? 'FLAT' : 'NOT FLAT',
};

// ------------------------------------------------------------------ report

const MB = (b: number) => (b / 2 ** 20).toFixed(1);
const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
function table(rows: string[][]): string[] {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(rows[0]!), w.map((x) => '-'.repeat(x)).join('  '), ...rows.slice(1).map(line)];
}
const out: string[] = [];
out.push(`Okno journal soak — ${startedAt.toISOString()}, ${os.availableParallelism()}× ${os.cpus()[0]?.model ?? 'unknown'}, node ${process.version}`);
out.push(`${result.accepted} accepted SendRequests of ${(Buffer.byteLength(content.xml) / 1024).toFixed(1)} KB content (${result.failed} failed) in ${result.seconds.toFixed(0)} s (${f0(result.accepted / result.seconds)}/s, concurrency ${settings.concurrency}) through one gateway (dist/main.js) on redis-server (AOF, fsync every second)`);
out.push(`JOURNAL_HOT_HOURS=${settings.hotHours} (${(settings.hotHours * 3600).toFixed(1)} s hot), ARCHIVE_INTERVAL_S=${settings.intervalS}; ${whileSending.length} samples while sending, every ${settings.sampleS} s`);
out.push('');
const rows = [['t s', 'sent', 'hot records', 'journal hot MB', 'index MB', 'used_memory MB', 'archive MB', 'segments', 'gateway RSS MB']];
const step = Math.max(1, Math.ceil(whileSending.length / 12));
const shown = whileSending.map((s, i) => ({ s, i })).filter(({ i }) => i % step === 0 || i === whileSending.length - 1);
shown.push({ s: drained, i: samples.length - 1 });
for (const { s, i } of shown) {
  rows.push([`${s.t.toFixed(0)}${i === samples.length - 1 ? ' (drained)' : ''}`, f0(s.sent), f0(s.hotRecords), MB(s.keyBytes ?? NaN), MB(extra[i]!.indexBytes), MB(s.usedMemory), MB(s.archiveBytes), String(s.archiveSegments), extra[i]!.gatewayRssMB.toFixed(0)]);
}
out.push(...table(rows));
out.push('');
out.push(`journal hot bytes in Redis over the second half: ${f0(journal.slopePerMessage)} B per message sent, ${pct(journal.ratio)} of its ${f0(perHotRecord)} B per hot record (bound ±${settings.tolerance * 100} %) — ${analysis.verdict}; quarter means ${MB(journal.secondQuarterMean)} MB (second) and ${MB(journal.lastQuarterMean)} MB (last)`);
out.push(`hot records: second quarter ${f0(analysis.hotRecords.secondQuarterMean)}, last quarter ${f0(analysis.hotRecords.lastQuarterMean)}, at most ${f0(analysis.hotRecords.max)} (the hot window alone would hold ~${f0((result.accepted / result.seconds) * settings.hotHours * 3600)} at the mean rate; the rest is the archiver's lag)`);
out.push(`archive: ${MB(analysis.archive.secondQuarterMean)} → ${MB(analysis.archive.lastQuarterMean)} MB (quarter means), ${f0(archiveSlope)} B per message over the second half; at the end ${drained.archiveSegments} segments, ${MB(drained.archiveBytes)} MB (${f0(analysis.afterDrain.archiveBytesPerMessage)} B/message)`);
out.push(`Redis used_memory: ${MB(before.usedMemory)} MB before, ${MB(analysis.usedMemory.secondQuarterMean)} → ${MB(analysis.usedMemory.lastQuarterMean)} MB (quarter means), ${MB(after.usedMemory)} MB after the drain; grows ${f0(usedSlope)} B per message over the second half`);
const g = analysis.afterDrain.byGroup;
out.push(`left in Redis per message once archived: ${f0(analysis.afterDrain.keyBytesPerMessage)} B of keys (used_memory ${f0(analysis.afterDrain.usedMemoryPerMessage)} B): journal index ${f0(g['journal-index'])} B, journal hot ${f0(g['journal-hot'])} B, the rest ${f0(g.other)} B (${Object.entries(analysis.afterDrain.byFamily).filter(([f]) => familyGroup(f) === 'other' && Math.abs(analysis.afterDrain.byFamily[f]!) >= 50).map(([f, b]) => `${f} ${f0(b)}`).join(', ')})`);
out.push(`gateway RSS at the end: ${gatewayRss.toFixed(0)} MB`);

const resultsDir = path.join(root, 'bench/results');
mkdirSync(resultsDir, { recursive: true });
const jsonPath = path.join(resultsDir, `soak-${stamp}.json`);
out.push('');
out.push(`JSON: ${path.relative(root, jsonPath)}`);
console.log(out.join('\n'));
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
      benchmark: 'okno journal soak (issue 23 point 6)',
      generatedAt: new Date().toISOString(),
      gitCommit: commit,
      machine: { cpuModel: os.cpus()[0]?.model ?? null, cores: os.availableParallelism(), loadAverage: os.loadavg(), node: process.version },
      settings: { ...settings, prefix: PREFIX, contentBytes: Buffer.byteLength(content.xml) },
      send: result,
      analysis,
      samples: samples.map((s, i) => ({ ...s, ...extra[i] })),
      snapshots: { before, after },
    },
    null,
    2,
  ) + '\n',
);
log(`wrote ${path.relative(root, jsonPath)}`);
process.exit(0);
