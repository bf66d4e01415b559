/**
 * Files the gateway sends through the SMEV exchange's file store (pull mode), end to end over
 * real servers: the exchange simulator with its FTP (ftp-srv) and S3 (s3rver) store, Redis, a
 * gateway in pull mode as the recipient. The sender's side is sendViaFileStore (hash, upload
 * under the transliterated name with the registry's upload account) and an envelope built with
 * refAttachments; the exchange checks the file is there and relays the message with
 * FSAttachmentsList; the recipient downloads it (the existing download worker), checks the
 * signed Hash and stores it — byte-identical. A cut FTP upload is resumed (APPE) and whole.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refAttachmentHash, refAttachmentHashAlgorithm } from '../../src/attachments/file-store-hash.js';
import { uploadExchangeFile } from '../../src/attachments/file-store-upload.js';
import { downloadExchangeFile } from '../../src/attachments/file-store-download.js';
import { sendViaFileStore, FileStoreNotConfigured } from '../../src/attachments/send-via-file-store.js';
import type { FlowContext } from '../../src/flows/context.js';
import { loadPartners, type Exchange } from '../../src/registry/partners.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { GOST2012_256_URI } from '../../src/crypto/index.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { startFileStoreWorld, type FileStoreWorld } from '../helpers/file-store.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/pull.js';
import { CITY, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const PASSWORD_ENV = 'OKNO_TEST_FILE_STORE_UPLOAD_PASSWORD';
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const contentXml = catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));

type FileView = { uuid: string; fileName: string; state: string; attachmentId: string | null; size: number | null; sha256: string | null; reason: string | null; via: string | null };

async function storedFile(gw: RunningGateway, messageId: string, timeoutMs = 20_000): Promise<FileView> {
  return eventually(async () => {
    const res = await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY });
    const f = ((await res.json()) as { items: Array<{ messageId: string; exchangeFiles?: FileView[] }> }).items.find((i) => i.messageId === messageId)?.exchangeFiles?.[0];
    return f && f.state !== 'pending' ? f : null;
  }, `the file of ${messageId} settled`, timeoutMs);
}

/** The sender's context: the registry as the gateway loads it, the portal's signer, a logger that keeps its lines. */
function senderOf(world: FileStoreWorld, timeoutMs = 5000): { ctx: Pick<FlowContext, 'config' | 'signer' | 'logger'>; exchange: Exchange; lines: string[] } {
  const { registry } = loadPartners(world.partnersFile);
  const exchange = registry.exchanges[0]!;
  const lines: string[] = [];
  const log = (obj: unknown, msg?: string) => void lines.push(JSON.stringify(obj) + (msg ?? ''));
  const logger = { info: log, warn: log, error: log, debug: log } as unknown as FlowContext['logger'];
  const config = { fileStore: { timeoutMs }, outboundTls: null } as unknown as FlowContext['config'];
  return { ctx: { config, signer: world.portal.signer, logger }, exchange, lines };
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'okno-upload-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(bytes: Buffer): string {
  const p = path.join(dir, randomBytes(6).toString('hex'));
  writeFileSync(p, bytes);
  return p;
}

describe('the RefAttachmentHeader Hash', () => {
  it('SHA-256 for an RSA signer, GOST R 34.11-2012 256 for a GOST one — as openssl computes it', async () => {
    requireTool('openssl', ['version'], 'openssl');
    const bytes = randomBytes(200_001);
    const p = fileOf(bytes);
    expect(refAttachmentHashAlgorithm({ signatureAlgorithm: { uri: GOST2012_256_URI } as never })).toBe('gost3411-2012-256');
    expect(refAttachmentHashAlgorithm({ signatureAlgorithm: { uri: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256' } as never })).toBe('sha256');
    const sha = await refAttachmentHash(p, 'sha256');
    expect(sha).toEqual({ hash: createHash('sha256').update(bytes).digest('base64'), size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    const gost = await refAttachmentHash(p, 'gost3411-2012-256');
    const r = spawnSync('openssl', ['dgst', '-engine', 'gost', '-md_gost12_256', '-binary', p]);
    if (r.status !== 0) throw new Error(`openssl dgst -md_gost12_256 failed (the gost engine: apt-get install libengine-gost-openssl): ${r.stderr}`);
    expect(gost.hash).toBe(r.stdout.toString('base64'));
  });
});

describe('through S3 (the exchange has one): upload, relay, download by a gateway in pull mode', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;

  beforeAll(async () => {
    world = await startFileStoreWorld({ uploadPasswordEnv: PASSWORD_ENV });
    gw = await startGateway(world.env);
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
  });

  it('the city-named file arrives at the recipient byte-identical, the Hash matching; the password is in no log line', async () => {
    const bytes = randomBytes(700_000);
    const uuid = uuidV1();
    const { ctx, exchange, lines } = senderOf(world);
    expect(exchange.fileStore!.upload).toMatchObject({ user: world.files.uploadUser, passwordEnv: PASSWORD_ENV });
    expect(JSON.stringify(exchange.fileStore)).not.toContain(world.files.uploadPassword);
    const [ref] = await sendViaFileStore(ctx, exchange, [{ uuid, fileName: 'Разрешение на установку рекламной конструкции.pdf', mimeType: 'application/pdf', path: fileOf(bytes) }]);
    expect(ref).toMatchObject({ uuid, fileName: 'Razreshenie_na_ustanovku_reklamnoi_konstruktsii.pdf', via: 's3', size: bytes.length, hash: createHash('sha256').update(bytes).digest('base64') });
    // The sender's upload landed in S3 only; the exchange finds it there when the message names it.
    expect(world.files.ftpWrites).toEqual([]);

    const sent = await world.portal.sendRequest({ contentXml, refAttachments: [{ uuid: ref!.uuid, hash: ref!.hash, mimeType: ref!.mimeType }] });
    expect(sent.status).toBe(200);
    const file = await storedFile(gw, sent.messageId);
    expect(file).toMatchObject({ uuid, fileName: 'Razreshenie_na_ustanovku_reklamnoi_konstruktsii.pdf', state: 'stored', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), reason: null, via: 's3' });
    const res = await fetch(`${gw.url}/api/v1/attachments/${file.attachmentId}`, { headers: CITY });
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
    expect(lines.join('\n')).toContain(uuid);
    expect(lines.join('\n')).not.toContain(world.files.uploadPassword);
  });

  it('a SendResponse built with refAttachments: the requester gets FSAttachmentsList and downloads the file, the Hash matching', async () => {
    const egrn = catalogue.get('egrn-extract')!;
    const query = await world.portal.sendRequest({ contentXml: egrn.request.toXml(serviceExample('egrn-extract')) });
    expect(query.status).toBe(200);
    const got = (await world.agency.poll('GetRequest')).message!;
    expect(got.messageId).toBe(query.messageId);
    const replyTo = /<(?:\w+:)?ReplyTo>([^<]+)</.exec(got.xml)![1]!;
    await world.agency.ack(query.messageId);
    // The agency uploads over FTP only (the store without S3), with the upload account.
    const bytes = randomBytes(250_000);
    const uuid = uuidV1();
    const { exchange } = senderOf(world);
    const store = { ...exchange.fileStore!, s3: null };
    const uploaded = await uploadExchangeFile(store, { uuid, fileName: 'Vypiska_iz_EGRN.pdf', path: fileOf(bytes) }, { userName: world.files.uploadUser, password: world.files.uploadPassword }, { timeoutMs: 5000 });
    expect(uploaded).toMatchObject({ via: 'ftp', size: bytes.length, attempts: 1, resumedFrom: [] });
    const hash = (await refAttachmentHash(fileOf(bytes), 'sha256')).hash;
    const responseXml = egrn.response!.toXml(serviceExample('egrn-extract', 'response'));
    const answered = await world.agency.sendResponse({ to: replyTo, body: { kind: 'content', contentXml: responseXml }, refAttachments: [{ uuid, hash, mimeType: 'application/pdf' }] });
    expect(answered.status).toBe(200);
    const resp = (await world.portal.poll('GetResponse', { namespaceURI: egrn.response!.namespace, rootElementLocalName: egrn.response!.rootElement })).message!;
    expect(resp.messageId).toBe(answered.messageId);
    expect(resp.refAttachments).toEqual([{ uuid, hash, mimeType: 'application/pdf' }]);
    const [access] = resp.fsAttachments;
    expect(access).toMatchObject({ uuid, fileName: 'Vypiska_iz_EGRN.pdf' });
    const target = path.join(dir, `dl-${uuid}`);
    const result = await downloadExchangeFile(exchange.fileStore!, { uuid, fileName: access!.fileName }, { userName: access!.userName, password: access!.password }, target, { timeoutMs: 5000, maxBytes: 10_000_000, startAt: 0 });
    expect(result.via).toBe('s3');
    expect(readFileSync(target).equals(bytes)).toBe(true);
    expect((await refAttachmentHash(target, 'sha256')).hash).toBe(hash);
  });

  it('a message naming a file nobody uploaded is refused by the exchange (InvalidContent)', async () => {
    const sent = await world.portal.sendRequest({ contentXml, refAttachments: [{ uuid: uuidV1(), hash: createHash('sha256').update('x').digest('base64'), mimeType: 'application/pdf' }] });
    expect(sent.status).toBe(500);
    expect(sent.text).toMatch(/InvalidContent/);
    expect(sent.text).toMatch(/no file was uploaded to the file store under that uuid/);
  });

  it('a wrong upload password fails without naming it; no upload account: FileStoreNotConfigured', async () => {
    const { exchange } = senderOf(world);
    const p = fileOf(randomBytes(1000));
    const wrong = 'not-the-password-' + randomBytes(4).toString('hex');
    const error = await uploadExchangeFile({ ...exchange.fileStore!, s3: null }, { uuid: uuidV1(), fileName: 'a.pdf', path: p }, { userName: 'upload', password: wrong }, { timeoutMs: 1000, attempts: 2, backoffMs: 10 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/^ftp: /);
    expect((error as Error).message).not.toContain(wrong);
    const { ctx } = senderOf(world);
    await expect(sendViaFileStore(ctx, { ...exchange, fileStore: { ...exchange.fileStore!, upload: null } }, [])).rejects.toBeInstanceOf(FileStoreNotConfigured);
  });
});

describe('over FTP (S3 unreachable): the upload cut mid-file is resumed', () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;

  beforeAll(async () => {
    world = await startFileStoreWorld({ uploadPasswordEnv: PASSWORD_ENV, s3: false, registryS3: 'http://127.0.0.1:9', uploadBytesPerSecond: 1_000_000 });
    gw = await startGateway(world.env);
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
  });

  it('the FTP server stops mid-file and comes back: the upload appends the rest, the recipient gets the file whole', async () => {
    const bytes = randomBytes(1_500_000);
    const uuid = uuidV1();
    const { ctx, exchange } = senderOf(world);
    const upload = sendViaFileStore(ctx, exchange, [{ uuid, fileName: 'Скан паспорта заявителя.pdf', mimeType: 'application/pdf', path: fileOf(bytes) }]);
    // Cut when a third has arrived; back shortly after.
    await eventually(async () => (world.files.ftpWrites[0]?.bytes ?? 0) > 500_000, 'a third of the file uploaded', 10_000);
    await world.files.stopFtp();
    const cutAt = world.files.ftpWrites[0]!.bytes;
    await new Promise((r) => setTimeout(r, 200));
    await world.files.startFtp();
    const [ref] = await upload;
    expect(ref).toMatchObject({ uuid, fileName: 'Skan_pasporta_zaiavitelia.pdf', via: 'ftp', size: bytes.length });
    // Two transfers: the first from the start, the second an APPE of the rest.
    expect(world.files.ftpWrites.map((w) => ({ path: w.path, append: w.append }))).toEqual([
      { path: `/${uuid}/Skan_pasporta_zaiavitelia.pdf`, append: false },
      { path: `/${uuid}/Skan_pasporta_zaiavitelia.pdf`, append: true },
    ]);
    // The rest only (the cut came after 500 000 bytes; a few chunks may still have landed after it).
    expect(cutAt).toBeGreaterThan(500_000);
    expect(world.files.ftpWrites[1]!.bytes).toBeLessThan(bytes.length - 400_000);
    expect(readFileSync(path.join(world.files.dir, 'ftp', uuid, 'Skan_pasporta_zaiavitelia.pdf')).equals(bytes)).toBe(true);

    const sent = await world.portal.sendRequest({ contentXml, refAttachments: [{ uuid, hash: ref!.hash, mimeType: 'application/pdf' }] });
    expect(sent.status).toBe(200);
    const file = await storedFile(gw, sent.messageId, 30_000);
    expect(file).toMatchObject({ state: 'stored', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), via: 'ftp' });
  });
});

