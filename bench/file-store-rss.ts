/**
 * Memory while a large file comes from the exchange's file store and goes to the city
 * (`npm run bench:file-store`, or `node --import tsx bench/file-store-rss.ts [MB]`, default 100).
 *
 * The real gateway process (node dist/main.js, Redis), the exchange simulator with its FTP
 * file store; the sender uploads an N MB file, the gateway fetches it (FTP), hashes it (SHA-256,
 * or GOST R 34.11-2012 with `--gost`: the streaming Streebog), stores it in ATTACHMENT_DIR; then
 * the city reads it through GET /api/v1/attachments/{id}. The gateway's RSS (/proc/PID/status
 * VmRSS) is sampled every 50 ms: baseline before, peak while the file comes in, peak while it
 * is read out.
 *
 * Then the alternative measured: the same bytes as 1 MB chunks in Redis (used_memory before and
 * after) — what a Redis-chunk store would cost per file copy.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { uuidV1 } from '../src/soap/message-id.js';
import { fileHash, sendWithFile, startFileStoreWorld, uploadByFtp } from '../test/helpers/file-store.js';
import { startGatewayProcess } from '../test/helpers/process.js';
import { eventually } from '../test/helpers/pull.js';
import { startRedisServer } from '../test/helpers/redis-server.js';
import { CITY } from '../test/helpers/smev.js';

const mb = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100);
const size = mb * 1024 * 1024;

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

function sampler(pid: number): { peak(): number; stop(): void } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid));
    } catch {
      // gone
    }
  }, 50);
  return { peak: () => peak, stop: () => clearInterval(t) };
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

const redis = await startRedisServer({ appendonly: false });
const world = await startFileStoreWorld({ s3: false });
const file = path.join(tmpdir(), `okno-bench-${process.pid}.bin`);
// Written in 1 MB pieces: the bench process itself should not matter, but keep it small too.
writeFileSync(file, '');
const { appendFileSync } = await import('node:fs');
const { createHash } = await import('node:crypto');
const sha = createHash('sha256');
const { StreebogStream } = await import('../src/crypto/streebog-stream.js');
const gost = process.argv.includes('--gost') ? new StreebogStream(256) : null;
const tg = Date.now();
for (let i = 0; i < mb; i++) {
  const piece = randomBytes(1024 * 1024);
  appendFileSync(file, piece);
  sha.update(piece);
  gost?.update(piece);
}
const hash = sha.digest().toString('base64');
if (gost) {
  gost.digest();
  console.log(`(file made and hashed with SHA-256 + streaming Streebog in ${((Date.now() - tg) / 1000).toFixed(1)} s)`);
}
void fileHash;

const gateway = await startGatewayProcess({ ...world.env, REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info', FILE_STORE_TIMEOUT_MS: '30000' });
const pid = gateway.child.pid!;

async function transfer(name: string, fileOrBytes: { file: string } | Buffer, fileHashB64: string): Promise<{ inMs: number; outMs: number; inPeak: number; outPeak: number }> {
  const uuid = uuidV1();
  await world.files.put(uuid, name, fileOrBytes);
  const sampleIn = sampler(pid);
  const t0 = Date.now();
  const sent = await sendWithFile(world.portal, { uuid, hash: fileHashB64 });
  const stored = await eventually(async () => {
    const { items } = (await (await fetch(`${gateway.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; exchangeFiles?: Array<{ state: string; attachmentId: string | null; reason: string | null; size: number | null }> }> };
    const f = items.find((i) => i.messageId === sent.messageId)?.exchangeFiles?.[0];
    if (f?.state === 'failed') throw new Error(`failed: ${f.reason}`);
    return f?.state === 'stored' ? f : null;
  }, 'the file stored', 600_000);
  const inMs = Date.now() - t0;
  sampleIn.stop();
  const sampleOut = sampler(pid);
  const t1 = Date.now();
  const res = await fetch(`${gateway.url}/api/v1/attachments/${stored.attachmentId}`, { headers: CITY });
  let read = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) read += chunk.length;
  const outMs = Date.now() - t1;
  sampleOut.stop();
  if (read !== stored.size) throw new Error(`read ${read} of ${stored.size} bytes`);
  return { inMs, outMs, inPeak: sampleIn.peak(), outPeak: sampleOut.peak() };
}

// Warm-up: one small file through the same path (threads started, code compiled), then the baseline.
const small = randomBytes(1024 * 1024);
await transfer('warm-up.bin', small, createHash('sha256').update(small).digest('base64'));
await new Promise((r) => setTimeout(r, 1000));
const baseline = rssOf(pid);
const big = await transfer('big.bin', { file }, hash);
const inMs = big.inMs;
const outMs = big.outMs;
const sampleIn = { peak: () => big.inPeak };
const sampleOut = { peak: () => big.outPeak };

gateway.child.kill('SIGKILL');
await gateway.exited;

// The alternative: the same bytes as 1 MB chunks in Redis.
const client = new Redis(redis.url);
const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
const before = await used();
for (let i = 0; i < mb; i++) await client.set(`bench:chunk:${i}`, randomBytes(1024 * 1024));
const after = await used();
await client.quit();

console.log(`file ${mb} MiB (${size} bytes)`);
console.log(`gateway RSS baseline ${MiB(baseline)} (after a 1 MiB warm-up file)`);
console.log(`  fetch + hash + store: ${(inMs / 1000).toFixed(1)} s, peak RSS ${MiB(sampleIn.peak())} (+${MiB(sampleIn.peak() - baseline)})`);
console.log(`  city reads it via the API: ${(outMs / 1000).toFixed(1)} s, peak RSS ${MiB(sampleOut.peak())} (+${MiB(sampleOut.peak() - baseline)})`);
console.log(`Redis chunks instead: used_memory +${MiB(after - before)} for one copy of the file`);

await world.sim.close();
await world.files.close();
await redis.dispose();
