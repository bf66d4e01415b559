/**
 * Files in the SMEV exchange's file store, end to end over real servers: the exchange
 * simulator with its FTP (ftp-srv) and S3 (s3rver) file store, a gateway in pull mode, the
 * city's webhook receiver. The sender uploads over FTP and signs a RefAttachmentHeaderList;
 * the exchange adds FSAttachmentsList with per-file credentials; the gateway accepts and acks
 * the message, then fetches the file (S3 first, FTP as the fallback), checks size and the
 * signed Hash, stores it, and tells the city (attachments.ready). The credentials appear in no
 * log line, inbox item, application, webhook body or journal record.
 */
import { randomBytes, createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV1 } from '../../src/soap/message-id.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { fileHash, sendWithFile, startFileStoreWorld, startWebhookReceiver, uploadByFtp, type FileStoreWorld } from '../helpers/file-store.js';
import { eventually } from '../helpers/pull.js';
import { CITY, OPS } from '../helpers/smev.js';
import { downloadExchangeFile } from '../../src/attachments/file-store-download.js';
import { issueCertificate, tempDir } from '../helpers/tls-pki.js';
import { projectRoot } from '../helpers/gateway.js';
import { readFileSync } from 'node:fs';

type FileView = { uuid: string; fileName: string; state: string; attachmentId: string | null; size: number | null; sha256: string | null; reason: string | null; via: string | null };
interface Item { id: string; messageId: string; applicationId: string | null; exchangeFiles?: FileView[] }

async function item(gw: RunningGateway, messageId: string): Promise<Item | undefined> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY });
  return ((await res.json()) as { items: Item[] }).items.find((i) => i.messageId === messageId);
}

async function settled(gw: RunningGateway, messageId: string, timeoutMs = 15_000): Promise<FileView> {
  return eventually(async () => {
    const f = (await item(gw, messageId))?.exchangeFiles?.[0];
    return f && f.state !== 'pending' ? f : null;
  }, `the file of ${messageId} settled`, timeoutMs);
}

async function journalTexts(gw: RunningGateway, messageId: string): Promise<string> {
  const list = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${messageId}&limit=50`, { headers: OPS })).json()) as { items: Array<{ id: string }> };
  expect(list.items.length).toBeGreaterThan(0);
  const records = await Promise.all(list.items.map(async (r) => (await fetch(`${gw.url}/api/v1/journal/${r.id}`, { headers: OPS })).text()));
  return records.join('\n');
}

describe('S3 first, FTP as the fallback', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    world = await startFileStoreWorld();
    hook = await startWebhookReceiver();
    gw = await startGateway({ ...world.env, CITY_WEBHOOK_URL: hook.url });
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
    await hook?.close();
  });

  it('a file uploaded by the sender reaches the city: stored, hash checked, streamed by the API, announced; no credentials anywhere', async () => {
    const content = randomBytes(300_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'проект перепланировки.pdf', content);
    const sent = await sendWithFile(world.portal, { uuid, hash: fileHash(content, 'sha256') });
    expect(sent.status).toBe(200);
    const file = await settled(gw, sent.messageId);
    expect(file).toMatchObject({ uuid, fileName: 'проект перепланировки.pdf', state: 'stored', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), reason: null, via: 's3' });
    // The message itself was acked to the exchange as any other.
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked');

    const res = await fetch(`${gw.url}/api/v1/attachments/${file.attachmentId}`, { headers: CITY });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/pdf');
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);

    const ready = await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.ready' && p.body.messageId === sent.messageId), 'attachments.ready');
    expect(ready.headers['idempotency-key']).toMatch(/:attachments\.ready$/);
    expect(ready.body.files).toEqual([expect.objectContaining({ uuid, state: 'stored', attachmentId: file.attachmentId })]);

    // The credentials the exchange gave: nowhere the gateway writes.
    const grant = world.sim.message(sent.messageId)!;
    expect(grant).toBeDefined();
    const secrets = (world.sim as unknown as { byId: Map<string, { fsAttachments: Array<{ password: string; userName: string }> }> }).byId.get(sent.messageId)!.fsAttachments;
    expect(secrets).toHaveLength(1);
    const { password } = secrets[0]!;
    const i = (await item(gw, sent.messageId))!;
    const application = await (await fetch(`${gw.url}/api/v1/applications/${i.applicationId}`, { headers: CITY })).text();
    const everything = [JSON.stringify(i), application, JSON.stringify(hook.posts), JSON.stringify(gw.logs), await journalTexts(gw, sent.messageId)].join('\n');
    expect(everything).toContain(uuid);
    expect(everything).not.toContain(password);
  });

  it('a file whose bytes do not match the signed Hash fails for good: marked, announced as attachments.failed', async () => {
    const content = randomBytes(10_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'forged.pdf', content);
    const sent = await sendWithFile(world.portal, { uuid, hash: fileHash(randomBytes(10), 'sha256') });
    const file = await settled(gw, sent.messageId);
    expect(file).toMatchObject({ state: 'failed', attachmentId: null });
    expect(file.reason).toMatch(/does not match the signed RefAttachmentHeader Hash/);
    await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.failed' && p.body.messageId === sent.messageId), 'attachments.failed');
    expect(readdirSync(path.join(world.attachmentDir, 'partial'))).toEqual([]);
  });
});

describe('S3 unreachable, FTP the fallback; the FTP server stopping mid-file', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;

  beforeAll(async () => {
    // The registry names an S3 endpoint nobody listens on: every attempt falls back to FTP.
    world = await startFileStoreWorld({ s3: false, bytesPerSecond: 400_000, registryS3: 'http://127.0.0.1:9' });
    gw = await startGateway(world.env);
  });

  afterAll(async () => {
    const t = Date.now();
    await gw?.close();
    if (Date.now() - t > 5_000) console.log(`gateway close took ${Date.now() - t} ms`);
    await world?.sim.close();
    await world?.files.close();
  });

  it('the transfer is cut, the server comes back: the download resumes where it stopped and the file is whole', async () => {
    const content = randomBytes(1_200_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'passport.pdf', content);
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
    await eventually(async () => partialBytes() > 200_000, 'part of the file on disk');
    await world.files.stopFtp();
    const cutAt = partialBytes();
    expect(cutAt).toBeLessThan(content.length);
    // The gateway notices (a retry with the reason), while the server is down.
    await eventually(async () => (await item(gw, sent.messageId))?.exchangeFiles?.[0]?.reason, 'a failed attempt recorded');
    expect((await item(gw, sent.messageId))!.exchangeFiles![0]!.state).toBe('pending');
    const readsBefore = world.files.ftpReads.length;
    world.files.bytesPerSecond = null;
    await world.files.startFtp();
    const file = await settled(gw, sent.messageId);
    expect(file).toMatchObject({ state: 'stored', size: content.length, via: 'ftp' });
    // Resumed: the first download after the restart began (REST) where the partial file ended, not at 0.
    const after = world.files.ftpReads.slice(readsBefore).filter((r) => r.uuid === uuid);
    expect(after).toHaveLength(1);
    expect(after[0]!.start).toBeGreaterThanOrEqual(cutAt);
    expect(after[0]!.start).toBeLessThan(content.length);
    const res = await fetch(`${gw.url}/api/v1/attachments/${file.attachmentId}`, { headers: CITY });
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
  });
});

describe('FTPS: the file store with TLS (AUTH TLS), its certificate checked against OUTBOUND_TLS_CA_FILE', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;
  const caFile = path.join(projectRoot, 'certs-sample/ca.crt.pem');

  beforeAll(async () => {
    const server = issueCertificate(tempDir('okno-ftps-'), { cn: 'file-store-ftps', loopback: true });
    world = await startFileStoreWorld({ s3: false, tls: { key: server.keyPem, cert: server.certPem }, ftps: true });
    gw = await startGateway({ ...world.env, OUTBOUND_TLS_CA_FILE: caFile });
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
  });

  it('ftps:// in the registry: the file comes over TLS', async () => {
    const content = randomBytes(120_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'birth-certificate.pdf', content);
    const sent = await sendWithFile(world.portal, { uuid, hash: fileHash(content, 'sha256') });
    const file = await settled(gw, sent.messageId);
    expect(file).toMatchObject({ state: 'stored', size: content.length, via: 'ftps' });
  });

  it('ftp:// with a server offering AUTH TLS upgrades; a certificate from an unknown CA is refused, not ignored', async () => {
    const content = randomBytes(10_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'x.pdf', content);
    const grant = (await world.files.grant(uuid))!;
    const dir = tempDir('okno-ftps-dl-');
    const store = { ftp: world.files.ftpUrl, s3: null, insecureTls: false };
    const got = await downloadExchangeFile(store, { uuid, fileName: 'x.pdf' }, grant, path.join(dir, 'a'), { timeoutMs: 3_000, maxBytes: 1e9, startAt: 0, ca: readFileSync(caFile) });
    expect(got.via).toBe('ftps');
    expect(readFileSync(path.join(dir, 'a')).equals(content)).toBe(true);
    await expect(downloadExchangeFile(store, { uuid, fileName: 'x.pdf' }, grant, path.join(dir, 'b'), { timeoutMs: 3_000, maxBytes: 1e9, startAt: 0 })).rejects.toThrow(/certificate/i);
  });
});

describe('a file store that never answers', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;
  let hook: Awaited<ReturnType<typeof startWebhookReceiver>>;

  beforeAll(async () => {
    world = await startFileStoreWorld({ s3: false, registryFtp: 'ftp://127.0.0.1:9' });
    hook = await startWebhookReceiver();
    gw = await startGateway({ ...world.env, FILE_STORE_MAX_ATTEMPTS: '3', CITY_WEBHOOK_URL: hook.url });
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
    await hook?.close();
  });

  it('after FILE_STORE_MAX_ATTEMPTS the file is failed with the last error, and the city gets attachments.failed', async () => {
    const content = randomBytes(1_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'never.pdf', content);
    const sent = await sendWithFile(world.portal, { uuid, hash: fileHash(content, 'sha256') });
    const file = await settled(gw, sent.messageId);
    expect(file.state).toBe('failed');
    expect(file.reason).toMatch(/^ftp: .*ECONNREFUSED/);
    const event = await eventually(async () => hook.posts.find((p) => p.headers['x-okno-event'] === 'attachments.failed' && p.body.messageId === sent.messageId), 'attachments.failed');
    expect(event.body.files).toEqual([expect.objectContaining({ uuid, state: 'failed', reason: file.reason })]);
    const job = await gw.gateway.store.queue('exchange-files').get(`${(await item(gw, sent.messageId))!.id}:${uuid}`);
    expect(job).toMatchObject({ state: 'done', attempts: 3 });
  });
});
