/**
 * The bench's Redis memory stage (issue 23 point 6): what one accepted application costs Redis
 * while its journal record is hot, and after the archiver has moved the record to a segment.
 *
 *  1. a gateway with the archive off (JOURNAL_HOT_HOURS=0) on an empty Redis: snapshot `before`;
 *  2. N signed SendRequests of one size, every reply checked; once the sealer has checkpointed the
 *     last record: snapshot `hot`;
 *  3. the gateway restarted on the same Redis with a hot window of ~1 s (JOURNAL_HOT_HOURS=0.0003,
 *     ARCHIVE_INTERVAL_S=0.2): once the journal feed is empty (every record archived): `archived`.
 *
 * Every snapshot is taken with one gateway connected (its connections are in used_memory too).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { CHECKPOINTS, seqId } from '../../src/journal/chain.js';
import { JOURNAL } from '../../src/journal/records.js';
import { startGatewayProcess } from './gateway-process.js';
import { perMessage, type MemorySnapshot, type PerMessage } from './redis-memory.js';
import { archiveSize, memorySnapshot } from './redis-probe.js';
import { contentOfSize, signedRequest } from './requests.js';
import { sendAccepted } from './send.js';

export const BENCH_PREFIX = 'okno-bench:';

export interface MemoryStage {
  messages: number;
  failed: number;
  contentBytes: number;
  envelopeBytes: number;
  sendSeconds: number;
  archiveSeconds: number;
  journalRecords: number;
  snapshots: { before: MemorySnapshot; hot: MemorySnapshot; archived: MemorySnapshot };
  hot: PerMessage;
  archived: PerMessage;
  archive: { segments: number; bytes: number; bytesPerMessage: number };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`memory stage: ${what} did not happen within ${timeoutMs / 1000} s`);
    await sleep(100);
  }
}

export async function memoryStage(opts: { redisUrl: string; messages: number; contentBytes: number; concurrency?: number; log?: (s: string) => void; /** The checkout whose gateway runs (default this one). */ home?: string }): Promise<MemoryStage> {
  const log = opts.log ?? (() => undefined);
  const client = new Redis(opts.redisUrl);
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-bench-archive-'));
  const env = { REDIS_URL: opts.redisUrl, REDIS_KEY_PREFIX: BENCH_PREFIX, LOG_LEVEL: 'warn', ARCHIVE_DIR: dir };
  const feedKey = `${BENCH_PREFIX}feed:${JOURNAL}`;
  const content = contentOfSize(opts.contentBytes);
  try {
    await client.flushall();
    let gw = await startGatewayProcess({ ...env, JOURNAL_HOT_HOURS: '0' }, opts.home);
    let stage: Omit<MemoryStage, 'archived' | 'archiveSeconds' | 'archive' | 'snapshots'> & { snapshots: Partial<MemoryStage['snapshots']> };
    try {
      const before = await memorySnapshot(client, BENCH_PREFIX);
      log(`memory: ${opts.messages} accepted applications of ${(opts.contentBytes / 1024).toFixed(0)} KB, archive off`);
      const sent = await sendAccepted({ url: gw.url, count: opts.messages, concurrency: opts.concurrency ?? 8, contentXml: content.xml });
      if (sent.accepted === 0) throw new Error(`memory stage: nothing accepted: ${sent.firstErrors.join('; ')}`);
      const journalRecords = await client.zcard(feedKey);
      // Hot = sealed and checkpointed, as a record sits in Redis for the rest of its hot window.
      await until('the checkpoint of the last record', async () => (await client.exists(`${BENCH_PREFIX}doc:${CHECKPOINTS}:${seqId(journalRecords)}`)) === 1, 30_000);
      const hot = await memorySnapshot(client, BENCH_PREFIX);
      stage = {
        messages: sent.accepted,
        failed: sent.failed,
        contentBytes: Buffer.byteLength(content.xml),
        envelopeBytes: Buffer.byteLength((await signedRequest(content.xml, 'xmldsig')).xml),
        sendSeconds: sent.seconds,
        journalRecords,
        hot: perMessage(before, hot, sent.accepted),
        snapshots: { before, hot },
      };
    } finally {
      await gw.stop();
    }
    log('memory: gateway restarted with a hot window of ~1 s; waiting for the archiver');
    const t0 = performance.now();
    gw = await startGatewayProcess({ ...env, JOURNAL_HOT_HOURS: '0.0003', ARCHIVE_INTERVAL_S: '0.2' }, opts.home);
    try {
      await until('archiving every record', async () => (await client.zcard(feedKey)) === 0, 60_000);
      const archiveSeconds = (performance.now() - t0) / 1000;
      await sleep(200);
      const archived = await memorySnapshot(client, BENCH_PREFIX);
      const a = archiveSize(dir);
      return {
        ...stage,
        archiveSeconds,
        snapshots: { before: stage.snapshots.before!, hot: stage.snapshots.hot!, archived },
        archived: perMessage(stage.snapshots.before!, archived, stage.messages),
        archive: { ...a, bytesPerMessage: a.bytes / stage.messages },
      };
    } finally {
      await gw.stop();
    }
  } finally {
    await client.quit();
    rmSync(dir, { recursive: true, force: true });
  }
}
