/**
 * The gateway process (node dist/main.js, real Redis) SIGKILLed in the middle of a download from
 * the exchange's FTP file store, then started again: the job's lease runs out, the new process
 * takes it, continues the partial file from where it ended (REST), checks the signed hash, and the
 * file arrives exactly once — one blob, one stored state, one attachments.ready event.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV1 } from '../../src/soap/message-id.js';
import { fileHash, sendWithFile, startFileStoreWorld, startWebhookReceiver, uploadByFtp, type FileStoreWorld } from '../helpers/file-store.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { eventually } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY } from '../helpers/smev.js';

let redis: RedisTestServer;
let world: FileStoreWorld;
let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;
let gateway: GatewayProcess | null = null;

// 30 s to start: the machine's cores are shared, and a loaded start must not fail the test.
const start = () => startGatewayProcess({ ...world.env, REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info', CITY_WEBHOOK_URL: hook.url }, 30_000);

beforeAll(async () => {
  redis = await startRedisServer();
  world = await startFileStoreWorld({ s3: false, bytesPerSecond: 500_000 });
  hook = await startWebhookReceiver();
});

afterAll(async () => {
  if (gateway) {
    gateway.child.kill('SIGKILL');
    await gateway.exited;
  }
  await world?.sim.close();
  await world?.files.close();
  await hook?.close();
  await redis?.dispose();
});

interface FileView { state: string; attachmentId: string | null; size: number | null; sha256: string | null }

async function fileOf(url: string, messageId: string): Promise<{ items: number; file: FileView | undefined }> {
  const { items } = (await (await fetch(`${url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; exchangeFiles?: FileView[] }> };
  const mine = items.filter((i) => i.messageId === messageId);
  return { items: mine.length, file: mine[0]?.exchangeFiles?.[0] };
}

describe('the gateway killed mid-download', () => {
  it('restarted, it finishes the file from where it stopped: stored once, hash verified, announced once', async () => {
    const content = randomBytes(2_000_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'title-deed.pdf', content);
    gateway = await start();
    const sent = await sendWithFile(world.portal, { uuid, hash: fileHash(content, 'sha256') });
    expect(sent.status).toBe(200);
    const partialDir = path.join(world.attachmentDir, 'partial');
    const partialBytes = () => {
      try {
        return readdirSync(partialDir).reduce((n, f) => n + statSync(path.join(partialDir, f)).size, 0);
      } catch {
        return 0;
      }
    };
    await eventually(async () => partialBytes() > 400_000, 'part of the file on disk');
    gateway.child.kill('SIGKILL');
    await gateway.exited;
    const cutAt = partialBytes();
    expect(cutAt).toBeLessThan(content.length);
    const readsBefore = world.files.ftpReads.length;
    world.files.bytesPerSecond = null;

    gateway = await start();
    const url = gateway.url;
    const done = await eventually(async () => {
      const f = await fileOf(url, sent.messageId);
      return f.file?.state === 'stored' ? f : null;
    }, 'the file stored by the restarted gateway', 20_000);
    expect(done.items).toBe(1);
    expect(done.file).toMatchObject({ state: 'stored', size: content.length, sha256: createHash('sha256').update(content).digest('hex') });
    // Resumed, not fetched again: one download after the restart, from the partial file's end.
    const after = world.files.ftpReads.slice(readsBefore).filter((r) => r.uuid === uuid);
    if (after.length !== 1) console.log(JSON.stringify({ cutAt, after, reads: world.files.ftpReads, lines: gateway.lines.filter((l) => /file/.test(String(l.msg))) }));
    expect(after).toHaveLength(1);
    expect(after[0]!.start).toBeGreaterThanOrEqual(cutAt);
    // Exactly once: one blob with the file's bytes, nothing partial left, one event.
    const blobs = readdirSync(path.join(world.attachmentDir, 'blobs'));
    expect(blobs).toEqual([done.file!.attachmentId]);
    expect(readFileSync(path.join(world.attachmentDir, 'blobs', blobs[0]!)).equals(content)).toBe(true);
    expect(readdirSync(partialDir)).toEqual([]);
    const res = await fetch(`${url}/api/v1/attachments/${done.file!.attachmentId}`, { headers: CITY });
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
    await eventually(async () => hook.posts.some((p) => p.headers['x-okno-event'] === 'attachments.ready' && p.body.messageId === sent.messageId), 'attachments.ready');
    expect(hook.posts.filter((p) => p.headers['x-okno-event'] === 'attachments.ready' && p.body.messageId === sent.messageId)).toHaveLength(1);
    // The message itself was acknowledged to the exchange once.
    expect(world.sim.message(sent.messageId)).toMatchObject({ state: 'acked' });
  }, 90_000);
});
