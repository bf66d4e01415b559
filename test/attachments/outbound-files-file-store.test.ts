/**
 * A large result document through the exchange's file store (pull mode), end to end over real
 * servers: Redis, the SMEV exchange simulator with its FTP file store (no S3: the FTP path), a
 * gateway in pull mode with ATTACHMENT_INLINE_MAX_BYTES lowered to 64 KiB. A 6 MiB permit PDF on
 * a final status is uploaded by the gateway with its upload account; the SendRequest carries
 * RefAttachmentHeaderList (uuid = the file id, Hash, MimeType, the gateway's SignaturePKCS7) in
 * the signed data; the portal takes it from GetRequest with FSAttachmentsList, downloads the
 * file byte-identical, the Hash matches, the CMS signature verifies (and openssl agrees).
 * The first SendRequest carrying the file is refused transiently by a relay in front of the
 * exchange: the retry sends the same message without uploading the file again.
 * The city's answer to an agency's query in pull mode: its large file through the store, its
 * small one as MTOM, both reaching the agency's GetResponse with valid signatures.
 */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadExchangeFile } from '../../src/attachments/file-store-download.js';
import { refAttachmentHash, refAttachmentHashAlgorithm } from '../../src/attachments/file-store-hash.js';
import { FILE_STORE_UPLOADS } from '../../src/flows/outbound-files.js';
import { checkAttachmentSignature } from '../../src/pki/cms/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { loadPartners } from '../../src/registry/partners.js';
import { startFileStoreWorld, type FileStoreWorld } from '../helpers/file-store.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { caPem, eventually } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const PASSWORD_ENV = 'OKNO_TEST_OUTBOUND_FILE_STORE_PASSWORD';
const INLINE_MAX = 64 * 1024;

/** A relay in front of the exchange: refuses (503) the first SendRequest that names a file-store file, forwards everything else. */
async function startRelay(): Promise<{ url: string; target: { url: string }; refused: string[]; close(): Promise<void> }> {
  const target = { url: '' };
  const refused: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const text = body.toString('latin1');
      if (refused.length === 0 && text.includes('RefAttachmentHeaderList') && text.includes('SendRequestRequest')) {
        refused.push(/MessageID>([^<]+)</.exec(text)?.[1] ?? '?');
        res.writeHead(503, { 'content-type': 'text/plain' }).end('the relay refuses once');
        return;
      }
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length' && k !== 'connection') headers[k] = v;
      fetch(target.url, { method: req.method, headers, body: req.method === 'GET' ? undefined : body })
        .then(async (r) => {
          const out = Buffer.from(await r.arrayBuffer());
          const h: Record<string, string> = {};
          r.headers.forEach((v, k) => {
            if (k !== 'content-length' && k !== 'transfer-encoding' && k !== 'connection' && k !== 'content-encoding') h[k] = v;
          });
          res.writeHead(r.status, h).end(out);
        })
        .catch((e: Error) => res.writeHead(502).end(e.message));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, target, refused, close: () => new Promise((r) => server.close(() => r())) };
}

let redis: RedisTestServer;
let world: FileStoreWorld;
let relay: Awaited<ReturnType<typeof startRelay>>;
let gw: RunningGateway;
let dir: string;

beforeAll(async () => {
  requireTool('openssl', ['version'], 'openssl');
  dir = mkdtempSync(path.join(tmpdir(), 'okno-outbound-fs-'));
  redis = await startRedisServer();
  relay = await startRelay();
  world = await startFileStoreWorld({ s3: false, uploadPasswordEnv: PASSWORD_ENV, editRegistry: (r) => void (r.exchanges[0]!.url = relay.url) });
  relay.target.url = world.sim.endpoint;
  gw = await startGateway({ ...world.env, REDIS_URL: redis.url, ATTACHMENT_INLINE_MAX_BYTES: String(INLINE_MAX) });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
  await world?.files.close();
  await relay?.close();
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a result document larger than ATTACHMENT_INLINE_MAX_BYTES (pull mode): through the exchange file store', () => {
  it('the portal downloads the 6 MiB permit byte-identical, its Hash and SignaturePKCS7 check; uploaded once though the send was retried; journaled with via', async () => {
    const contentXml = gw.gateway.catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    const item = await eventually(
      async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> }).items.find((i) => i.messageId === sent.messageId),
      'the application in the inbox',
      15_000,
    );
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(6 * 1024 * 1024), Buffer.from('\n%%EOF\n')]);
    const small = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n');
    const upload = async (name: string, bytes: Buffer) => {
      const res = await fetch(`${gw.url}/api/v1/files?name=${encodeURIComponent(name)}&service=elk-order-status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(bytes) });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; sha256: string };
    };
    const permit = await upload('Разрешение на установку рекламной конструкции.pdf', pdf);
    const note = await upload('Сопроводительное письмо.pdf', small);

    let last = '';
    for (const [code, files] of [['registered', undefined], ['in_progress', undefined], ['completed', [{ id: permit.id }, { id: note.id }]]] as const) {
      const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(files ? { code, files } : { code }) });
      expect(res.status).toBe(202);
      last = ((await res.json()) as { deliveryId: string }).deliveryId;
    }
    const delivery = await eventually(async () => {
      const d = (await (await fetch(`${gw.url}/api/v1/deliveries/${last}`, { headers: CITY })).json()) as { state: string; messageId: string };
      return d.state === 'delivered' ? d : null;
    }, 'the status delivered to the exchange', 30_000);

    // The relay refused the first SendRequest with the file; the retry did not upload it again.
    expect(relay.refused).toEqual([delivery.messageId]);
    const writes = world.files.ftpWrites.filter((w) => w.path.includes(permit.id));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toMatchObject({ append: false, start: 0, bytes: pdf.length });
    expect(world.files.ftpWrites.filter((w) => w.path.includes(note.id))).toEqual([]);
    const recorded = await gw.gateway.store.getDoc(FILE_STORE_UPLOADS, delivery.messageId);
    expect(Object.keys(recorded!.files)).toEqual([permit.id]);
    expect(recorded!.files[permit.id]).toMatchObject({ fileName: 'Razreshenie_na_ustanovku_reklamnoi_konstruktsii.pdf', via: 'ftp' });

    // The portal polls its queue: three status messages, the last with both documents.
    let withFile = null;
    for (let i = 0; i < 3 && !withFile; i++) {
      const polled = await world.portal.poll('GetRequest');
      const m = polled.message!;
      expect((await world.portal.ack(m.messageId!)).status).toBe(200);
      if (m.refAttachments.length > 0) withFile = m;
    }
    expect(withFile).not.toBeNull();
    expect(withFile!.messageId).toBe(delivery.messageId);
    // The small one still travels as an MTOM part.
    expect(withFile!.attachments.map((a) => a.id)).toEqual([note.id]);
    expect(withFile!.attachments[0]!.bytes.equals(small)).toBe(true);
    const [ref] = withFile!.refAttachments;
    expect(ref).toMatchObject({ uuid: permit.id, mimeType: 'application/pdf' });
    // RefAttachmentHeaderList sits inside the signed SenderProvidedRequestData.
    expect(/<(?:\w+:)?SenderProvidedRequestData[\s\S]*RefAttachmentHeaderList[\s\S]*<\/(?:\w+:)?SenderProvidedRequestData>/.test(withFile!.xml)).toBe(true);
    const [access] = withFile!.fsAttachments;
    expect(access).toMatchObject({ uuid: permit.id, fileName: 'Razreshenie_na_ustanovku_reklamnoi_konstruktsii.pdf' });

    const { registry } = loadPartners(world.partnersFile);
    const target = path.join(dir, 'permit.pdf');
    const got = await downloadExchangeFile(registry.exchanges[0]!.fileStore!, { uuid: access!.uuid, fileName: access!.fileName }, { userName: access!.userName, password: access!.password }, target, { timeoutMs: 5000, maxBytes: 100_000_000, startAt: 0 });
    expect(got.via).toBe('ftp');
    const bytes = readFileSync(target);
    expect(bytes.equals(pdf)).toBe(true);
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(permit.sha256);
    expect((await refAttachmentHash(target, refAttachmentHashAlgorithm(gw.gateway.signer))).hash).toBe(ref!.hash);

    const check = checkAttachmentSignature(bytes, ref!.signaturePkcs7!, 'required', new TrustAnchorSet([caPem]), { name: ref!.uuid });
    expect(check).toMatchObject({ status: 'valid', accepted: true });
    writeFileSync(path.join(dir, 'permit.p7s'), ref!.signaturePkcs7!);
    const r = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'permit.p7s'), '-content', target, '-CAfile', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '-purpose', 'any', '-out', '/dev/null'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Verification successful/);

    // The journal: both attempts name the files, the large one with via ftp, the small one mtom.
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${delivery.messageId}`, { headers: OPS })).json()) as { items: Array<{ succeeded: boolean; files?: Array<{ id: string; via?: string; sha256: string }> }> };
    expect(journal.items.length).toBe(2);
    for (const rec of journal.items) {
      expect(rec.files).toEqual([
        expect.objectContaining({ id: permit.id, via: 'ftp', sha256: permit.sha256 }),
        expect.objectContaining({ id: note.id, via: 'mtom' }),
      ]);
    }
    expect(journal.items.map((i) => i.succeeded).sort()).toEqual([false, true]);
  }, 60_000);
  it("the city's answer in pull mode: a large file through the file store, a small one as MTOM; the agency gets both with valid signatures", async () => {
    const catalogue = gw.gateway.catalogue;
    const sent = await world.agency.sendRequest({ contentXml: catalogue.get('advertising-permit-register-extract')!.request.toXml(serviceExample('advertising-permit-register-extract')) });
    expect(sent.status).toBe(200);
    const item = await eventually(
      async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; requestId: string }> }).items.find((i) => i.messageId === sent.messageId),
      "the agency's query in the inbox",
      15_000,
    );
    const upload = async (name: string, bytes: Buffer) => {
      const res = await fetch(`${gw.url}/api/v1/files?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(bytes) });
      expect(res.status).toBe(201);
      return (await res.json()) as { id: string; sha256: string };
    };
    const large = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300_000), Buffer.from('\n%%EOF\n')]);
    const small = Buffer.from('%PDF-1.4\n%%EOF\n');
    const big = await upload('Выписка из реестра разрешений.pdf', large);
    const note = await upload('note.pdf', small);
    const data = serviceExample('advertising-permit-register-extract', 'response');
    const res = await fetch(`${gw.url}/api/v1/requests/${item.requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data, files: [{ id: big.id }, { id: note.id }] }) });
    expect(res.status).toBe(202);
    const { messageId } = (await res.json()) as { messageId: string };
    const got = await eventually(async () => {
      const p = await world.agency.poll('GetResponse');
      return p.message && !p.message.empty ? p.message : null;
    }, "the city's answer in the agency's response queue", 20_000);
    expect(got.messageId).toBe(messageId);
    expect((await world.agency.ack(messageId)).status).toBe(200);
    expect(got.attachments.map((a) => a.id)).toEqual([note.id]);
    expect(got.attachments[0]!.bytes.equals(small)).toBe(true);
    expect(checkAttachmentSignature(got.attachments[0]!.bytes, got.attachments[0]!.signaturePkcs7!, 'required', new TrustAnchorSet([caPem]), { name: note.id })).toMatchObject({ status: 'valid', accepted: true });
    const [ref] = got.refAttachments;
    expect(ref).toMatchObject({ uuid: big.id, mimeType: 'application/pdf' });
    const [access] = got.fsAttachments;
    const { registry } = loadPartners(world.partnersFile);
    const target = path.join(dir, 'answer-large.pdf');
    await downloadExchangeFile(registry.exchanges[0]!.fileStore!, { uuid: access!.uuid, fileName: access!.fileName }, { userName: access!.userName, password: access!.password }, target, { timeoutMs: 5000, maxBytes: 100_000_000, startAt: 0 });
    const bytes = readFileSync(target);
    expect(bytes.equals(large)).toBe(true);
    expect((await refAttachmentHash(target, refAttachmentHashAlgorithm(gw.gateway.signer))).hash).toBe(ref!.hash);
    expect(checkAttachmentSignature(bytes, ref!.signaturePkcs7!, 'required', new TrustAnchorSet([caPem]), { name: big.id })).toMatchObject({ status: 'valid', accepted: true });
    const view = (await (await fetch(`${gw.url}/api/v1/requests/${item.requestId}`, { headers: CITY })).json()) as { files: Array<{ id: string; transport: string }> };
    expect(view.files).toEqual([expect.objectContaining({ id: big.id, transport: 'file-store' }), expect.objectContaining({ id: note.id, transport: 'mtom' })]);
  }, 60_000);
  it('a failed upload is retried with backoff like a failed send: the FTP store down, the query waits (lastError names the file), then goes when it is back', async () => {
    const scan = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(200_000), Buffer.from('\n%%EOF\n')]);
    const up = await fetch(`${gw.url}/api/v1/files?name=scan.pdf&service=egrn-extract`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(scan) });
    expect(up.status).toBe(201);
    const file = (await up.json()) as { id: string; sha256: string };
    await world.files.stopFtp();
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract'), files: [{ id: file.id }] }) });
    expect(created.status).toBe(202);
    const { id, messageId } = (await created.json()) as { id: string; messageId: string };
    type View = { state: string; delivery: { state: string; attempts: number; lastError: string | null }; files: Array<{ id: string; transport: string }> };
    const view = async () => (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as View;
    const waiting = await eventually(async () => {
      const v = await view();
      return v.delivery.attempts >= 2 ? v : null;
    }, 'two failed upload attempts', 30_000);
    expect(waiting).toMatchObject({ state: 'sent', delivery: { state: 'pending' } });
    expect(waiting.delivery.lastError).toContain(`file ${file.id} not uploaded to the file store of exchange`);
    expect(waiting.files).toEqual([expect.objectContaining({ id: file.id, transport: 'file-store' })]);
    expect(await gw.gateway.store.getDoc(FILE_STORE_UPLOADS, messageId)).toBeNull();
    await world.files.startFtp();
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue', 30_000);
    expect(delivered.messageId).toBe(messageId);
    expect((await world.agency.ack(messageId)).status).toBe(200);
    expect(delivered.refAttachments).toEqual([expect.objectContaining({ uuid: file.id, mimeType: 'application/pdf' })]);
    expect((await gw.gateway.store.getDoc(FILE_STORE_UPLOADS, messageId))!.files[file.id]).toMatchObject({ via: 'ftp' });
  }, 90_000);
});
