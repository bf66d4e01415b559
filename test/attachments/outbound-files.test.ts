/**
 * Files the city sends (issue 21, point 3, push mode): POST /api/v1/files streams a file into
 * ATTACHMENT_DIR (FILE_MAX_BYTES, the service's MIME types), a final status references it, the
 * gateway signs it (detached CMS with its own key) and sends it as an MTOM part to the portal
 * simulator, which checks the signature. Real redis-server, real HTTP; independent judges:
 * `openssl cms -verify` on the signature the portal received, xmllint on the ELK content as sent
 * (from the journal's evidence), and the journal's seal over the files' digests.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { statusLines } from '../../src/cli/simulate-command.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { signDetachedCms } from '../../src/pki/cms/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { signDocument } from '../../src/signature/sign.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { buildMtom } from '../../src/soap/mtom.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { makeGostCa, makeGostLeaf } from '../helpers/gost-openssl-pki.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, OPS, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const sampleCaPem = readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');
const sampleCaFile = path.join(projectRoot, 'certs-sample/ca.crt.pem');
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;
const FAST_DELIVERY = { DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '200', DELIVERY_TIMEOUT_MS: '2000', DELIVERY_MAX_ATTEMPTS: '5' };
const FILE_MAX = 1024 * 1024;
const INLINE_MAX = 256 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A small PDF (header, one page, xref, trailer): what a permit looks like to a reader. */
function permitPdf(text: string): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>',
  ];
  const stream = `BT /F1 12 Tf 72 770 Td (${text}) Tj ET`;
  objects.push(`<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`);
  let pdf = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(Buffer.byteLength(pdf, 'latin1'));
    pdf += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = Buffer.byteLength(pdf, 'latin1');
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1');
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function upload(url: string, body: Uint8Array | ReadableStream<Uint8Array>, query: Record<string, string>, contentType = 'application/pdf') {
  const qs = new URLSearchParams(query).toString();
  const init: RequestInit & { duplex?: 'half' } = { method: 'POST', headers: { ...CITY, 'content-type': contentType }, body: body instanceof Uint8Array ? new Uint8Array(body) : body };
  if (!(body instanceof Uint8Array)) init.duplex = 'half';
  const res = await fetch(`${url}/api/v1/files?${qs}`, init);
  return { status: res.status, body: (await res.json()) as { id: string; fileName: string; mimeType: string; size: number; sha256: string; error?: { code: string; message: string } } };
}

/** A body of `size` bytes sent in 64 KiB chunks with no Content-Length (chunked). */
function chunked(size: number): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= size) return controller.close();
      const n = Math.min(65536, size - sent);
      sent += n;
      controller.enqueue(new Uint8Array(n).fill(0x41));
    },
  });
}

async function submitApplication(url: string, orderId: number): Promise<string> {
  const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services/advertising-permit/example.request.person.json'), 'utf8')) as object), orderId };
  const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', content: example });
  const res = await postSoap(url, xml);
  expect(res.status, res.body).toBe(200);
  const inbox = (await (await fetch(`${url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
  return inbox.items.find((i) => i.messageId === messageId)!.applicationId;
}

async function setStatus(url: string, applicationId: string, body: object) {
  const res = await fetch(`${url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { deliveryId?: string; error?: { code: string; message: string } } };
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v).slice(0, 500)}`);
    await sleep(50);
  }
}

const deliveryOf = async (url: string, id: string) => (await (await fetch(`${url}/api/v1/deliveries/${id}`, { headers: CITY })).json()) as { state: string; attempts: number; messageId: string; lastError: string | null; files: Array<{ id: string; transport: string; docTypeId: string }> };

/** Walks an application to `completed`, the last status carrying `files`; returns the delivery. */
async function completeWith(url: string, orderId: number, files: object[]) {
  const applicationId = await submitApplication(url, orderId);
  for (const code of ['registered', 'in_progress']) {
    const r = await setStatus(url, applicationId, { code });
    expect(r.status, JSON.stringify(r.body)).toBe(202);
  }
  const done = await setStatus(url, applicationId, { code: 'completed', comment: 'Разрешение выдано', files });
  expect(done.status, JSON.stringify(done.body)).toBe(202);
  return until('delivered', () => deliveryOf(url, done.body.deliveryId!), (d) => d.state === 'delivered');
}

interface JournalItem {
  id: string;
  direction: string;
  messageId: string;
  succeeded: boolean;
  files?: Array<{ id: string; fileName: string; size: number; sha256: string }>;
}

async function journalOf(url: string, messageId: string): Promise<JournalItem[]> {
  const res = await fetch(`${url}/api/v1/journal?messageId=${messageId}&direction=outbound`, { headers: OPS });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: JournalItem[] }).items;
}

async function journalRecord(url: string, id: string) {
  return (await (await fetch(`${url}/api/v1/journal/${id}`, { headers: OPS })).json()) as { record: JournalItem; evidence: { request: { text: string } | null }; verified: boolean | null; evidenceVerified: boolean | null };
}

function opensslCmsVerify(signature: Buffer, content: Buffer, caFile: string, engine: string[] = []): { ok: boolean; output: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'okno-cms-judge-'));
  try {
    writeFileSync(path.join(dir, 'sig.der'), signature);
    writeFileSync(path.join(dir, 'permit.pdf'), content);
    const r = spawnSync('openssl', ['cms', '-verify', ...engine, '-binary', '-inform', 'DER', '-in', path.join(dir, 'sig.der'), '-content', path.join(dir, 'permit.pdf'), '-CAfile', caFile, '-purpose', 'any', '-out', '/dev/null'], { encoding: 'utf8' });
    if (r.error) throw r.error;
    const output = `${r.stdout}${r.stderr}`;
    return { ok: r.status === 0 && /Verification successful/.test(output), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const listDir = (dir: string) => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

describe('files the city sends (RSA sample key, push mode)', () => {
  let redis: RedisTestServer;
  let portal: PortalSimulator;
  let gw: RunningGateway;
  let dir: string;
  const attachmentDir = () => path.join(dir, 'attachments');

  beforeAll(async () => {
    requireTool('openssl', ['version'], 'openssl');
    requireXmllint();
    dir = mkdtempSync(path.join(tmpdir(), 'okno-outbound-files-'));
    redis = await startRedisServer();
    portal = await PortalSimulator.start({ port: 0, trust: new TrustAnchorSet([sampleCaPem]), expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
    gw = await startGateway({
      REDIS_URL: redis.url,
      PORTAL_URL: `${portal.url}/ws/smev3`,
      ATTACHMENT_DIR: attachmentDir(),
      FILE_MAX_BYTES: String(FILE_MAX),
      ATTACHMENT_INLINE_MAX_BYTES: String(INLINE_MAX),
      ...FAST_DELIVERY,
    });
  });
  afterAll(async () => {
    await gw?.close();
    await portal?.close();
    await redis?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('takes a file streamed as the raw body: 201 with id, name, type, size and SHA-256; the blob is in ATTACHMENT_DIR', async () => {
    const pdf = permitPdf('Permit 1');
    const name = 'Разрешение № 17-2026 (реклама).pdf';
    const r = await upload(gw.url, pdf, { name, service: 'elk-order-status' });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toEqual({ id: expect.stringMatching(UUID), fileName: name, mimeType: 'application/pdf', size: pdf.length, sha256: sha256(pdf) });
    expect(readFileSync(path.join(attachmentDir(), 'blobs', `sha256-${sha256(pdf)}`)).equals(pdf)).toBe(true);
    expect(listDir(path.join(attachmentDir(), 'partial'))).toEqual([]);
    const doc = (await (await fetch(`${gw.url}/api/v1/files/${r.body.id}`, { headers: CITY })).json()) as object;
    expect(doc).toMatchObject({ id: r.body.id, fileName: name, size: pdf.length, sha256: sha256(pdf), service: 'elk-order-status', signature: null });
    const content = await fetch(`${gw.url}/api/v1/files/${r.body.id}/content`, { headers: CITY });
    expect(content.headers.get('content-type')).toMatch(/^application\/pdf/);
    expect(Buffer.from(await content.arrayBuffer()).equals(pdf)).toBe(true);

    // A chunked upload (no Content-Length) is streamed too; a JSON file is a file, not parsed.
    const streamed = await upload(gw.url, chunked(300_000), { name: 'scan.bin' }, 'application/octet-stream');
    expect(streamed.status).toBe(201);
    expect(streamed.body.size).toBe(300_000);
    expect(streamed.body.sha256).toBe(sha256(Buffer.alloc(300_000, 0x41)));
    const json = await upload(gw.url, Buffer.from('{"not": "parsed"'), { name: 'data.json' }, 'application/json');
    expect(json.status).toBe(201);
    expect(json.body.mimeType).toBe('application/json');
    // …while the other routes still take JSON only.
    const plain = await fetch(`${gw.url}/api/v1/applications/x/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'text/plain' }, body: 'code=completed' });
    expect(plain.status).toBe(415);
  });

  it('refuses a file above FILE_MAX_BYTES with 413 naming it, and keeps nothing (announced and chunked)', async () => {
    const before = listDir(path.join(attachmentDir(), 'blobs')).length;
    const big = Buffer.alloc(FILE_MAX + 1, 0x42);
    const announced = await upload(gw.url, big, { name: 'big.pdf' });
    expect(announced.status).toBe(413);
    expect(announced.body.error!.code).toBe('FILE_TOO_LARGE');
    expect(announced.body.error!.message).toMatch(/FILE_MAX_BYTES \(1048576\)/);
    const streamed = await upload(gw.url, chunked(FILE_MAX + 100_000), { name: 'big.pdf' });
    expect(streamed.status).toBe(413);
    expect(streamed.body.error!.message).toMatch(/FILE_MAX_BYTES/);
    expect(listDir(path.join(attachmentDir(), 'partial'))).toEqual([]);
    expect(listDir(path.join(attachmentDir(), 'blobs')).length).toBe(before);
    // exactly at the limit is fine
    const edge = await upload(gw.url, Buffer.alloc(FILE_MAX, 0x43), { name: 'edge.bin' }, 'application/octet-stream');
    expect(edge.status).toBe(201);
  });

  it('a client that goes away mid-upload leaves no partial file and no document', async () => {
    const { request } = await import('node:http');
    const target = new URL(`${gw.url}/api/v1/files?name=half.pdf`);
    const req = request(target, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf', 'transfer-encoding': 'chunked' } });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(200_000, 0x44));
    // the partial file exists while the bytes arrive…
    await until('the partial file', async () => listDir(path.join(attachmentDir(), 'partial')).length, (n) => n === 1);
    req.destroy();
    // …and is gone once the connection is
    await until('no partial file', async () => listDir(path.join(attachmentDir(), 'partial')).length, (n) => n === 0);
    expect(listDir(path.join(attachmentDir(), 'blobs')).some((b) => b === `sha256-${sha256(Buffer.alloc(200_000, 0x44))}`)).toBe(false);
  });

  it('refuses a MIME type the service does not take (415 naming it and the allowed ones), and bad names (400)', async () => {
    const wrong = await upload(gw.url, Buffer.from('hello'), { name: 'note.txt', service: 'elk-order-status' }, 'text/plain; charset=utf-8');
    expect(wrong.status).toBe(415);
    expect(wrong.body.error!.code).toBe('MIME_TYPE_NOT_ALLOWED');
    expect(wrong.body.error!.message).toMatch(/text\/plain.*application\/pdf/);
    for (const name of ['', '../etc/passwd', 'a\\b.pdf', 'line\nbreak.pdf', 'nul\u0000.pdf']) {
      const r = await upload(gw.url, Buffer.from('%PDF-1.4'), { name });
      expect(r.status, name).toBe(400);
      expect(r.body.error!.message).toMatch(/^name: /);
    }
    const noName = await fetch(`${gw.url}/api/v1/files`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: '%PDF-1.4' });
    expect(noName.status).toBe(400);
    // no Content-Type: a file of unknown type (application/octet-stream); an empty body is no file
    const untyped = await fetch(`${gw.url}/api/v1/files?name=blob.bin`, { method: 'POST', headers: CITY, body: new Uint8Array([1, 2, 3]) });
    expect(untyped.status).toBe(201);
    expect(((await untyped.json()) as { mimeType: string }).mimeType).toBe('application/octet-stream');
    const empty = await fetch(`${gw.url}/api/v1/files?name=empty.pdf`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(0) });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe('EMPTY_FILE');
    const notAType = await upload(gw.url, Buffer.from('x'), { name: 'x.bin' }, 'pdf');
    expect(notAType.status).toBe(415);
    const unknown = await upload(gw.url, Buffer.from('%PDF-1.4'), { name: 'a.pdf', service: 'no-such-service' });
    expect(unknown.status).toBe(400);
    const ops = await fetch(`${gw.url}/api/v1/files?name=a.pdf`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/pdf' }, body: '%PDF' });
    expect(ops.status).toBe(403);
  });

  it('a permit PDF goes with the final status: signed by the gateway, an MTOM part, checked by the portal and by openssl; ELK content valid per xmllint; digests journaled and sealed', async () => {
    const pdf = permitPdf('Advertising permit 2026-000017');
    const up = await upload(gw.url, pdf, { name: 'Разрешение.pdf', service: 'elk-order-status' });
    expect(up.status).toBe(201);
    const d = await completeWith(gw.url, 7100000001, [{ id: up.body.id }]);
    expect(d.files).toEqual([expect.objectContaining({ id: up.body.id, transport: 'mtom', docTypeId: 'ELK_RESULT' })]);

    const received = portal.statuses().find((s) => s.messageId === d.messageId)!;
    expect(received.files).toHaveLength(1);
    const file = received.files[0]!;
    expect(file).toMatchObject({ contentId: up.body.id, mimeType: 'application/pdf', size: pdf.length, sha256: sha256(pdf), mtom: true });
    expect(file.bytes.equals(pdf)).toBe(true);
    expect(file.verdict).toMatchObject({ valid: true, trusted: true });
    expect(file.verdict!.signer).toMatch(/okno-gateway/);
    // what `okno simulate portal` prints for it
    expect(statusLines(received).join('\n')).toMatch(new RegExp(`file ${up.body.id}  application/pdf  ${pdf.length} bytes .* signature valid \\(RSA`));
    const last = received.orders[0]!.statusHistory.at(-1)!;
    expect(last).toMatchObject({ status: 3, attachments: [{ FSuuid: up.body.id, docTypeId: 'ELK_RESULT' }] });

    // the independent judge: openssl, on the signature and the bytes the portal received
    const judge = opensslCmsVerify(file.signaturePkcs7!, file.bytes, sampleCaFile);
    expect(judge.output).toMatch(/Verification successful/);
    expect(judge.ok).toBe(true);
    // …and it fails on other bytes
    expect(opensslCmsVerify(file.signaturePkcs7!, Buffer.concat([pdf, Buffer.from(' ')]), sampleCaFile).ok).toBe(false);

    // the file's document keeps the signature it was sent with
    const doc = (await (await fetch(`${gw.url}/api/v1/files/${up.body.id}`, { headers: CITY })).json()) as { signature: { pkcs7: string; algorithm: string; signer: string } };
    expect(Buffer.from(doc.signature.pkcs7, 'base64').equals(file.signaturePkcs7!)).toBe(true);
    expect(doc.signature.signer).toBe(gatewayFingerprint);

    // the journal: the attempt names the file with its digest; the envelope as sent; the seal covers it
    const [record] = await journalOf(gw.url, d.messageId);
    expect(record!.files).toEqual([{ id: up.body.id, fileName: 'Разрешение.pdf', size: pdf.length, sha256: sha256(pdf), via: 'mtom' }]);
    const full = await until('sealed', () => journalRecord(gw.url, record!.id), (r) => r.verified !== null);
    expect(full.verified).toBe(true);
    expect(full.evidenceVerified).toBe(true);
    const envelope = full.evidence.request!.text;
    expect(envelope).toContain(`<b:contentId>${up.body.id}</b:contentId>`);
    expect(envelope).toMatch(/<xop:Include [^>]*href="cid:/);
    const elk = /<ElkOrderRequest[\s\S]*<\/ElkOrderRequest>/.exec(envelope)![0];
    const [verdict] = xmllintVerdicts(path.join(projectRoot, 'config/services/elk-order-status/request.xsd'), [elk]);
    expect(verdict!.messages).toEqual([]);
    expect(verdict!.valid).toBe(true);
    expect(elk).toContain(`<attachments><attachment><FSuuid>${up.body.id}</FSuuid><docTypeId>ELK_RESULT</docTypeId></attachment></attachments>`);
  });

  it('retries send the same signed file: identical SignaturePKCS7 and digests on every attempt', async () => {
    const pdf = permitPdf('Permit for retries');
    const up = await upload(gw.url, pdf, { name: 'permit.pdf' });
    const applicationId = await submitApplication(gw.url, 7100000002);
    for (const code of ['registered', 'in_progress']) {
      const r = await setStatus(gw.url, applicationId, { code });
      await until('delivered', () => deliveryOf(gw.url, r.body.deliveryId!), (d) => d.state === 'delivered');
    }
    portal.failNext(2, 'http:503');
    const done = await setStatus(gw.url, applicationId, { code: 'completed', files: [{ id: up.body.id, docTypeId: 'ELK_RESULT' }] });
    expect(done.status).toBe(202);
    const d = await until('delivered', () => deliveryOf(gw.url, done.body.deliveryId!), (x) => x.state === 'delivered');
    expect(d.attempts).toBe(3);
    const records = await journalOf(gw.url, d.messageId);
    expect(records).toHaveLength(3);
    const signatures = new Set<string>();
    for (const r of records) {
      expect(r.files).toEqual([{ id: up.body.id, fileName: 'permit.pdf', size: pdf.length, sha256: sha256(pdf), via: 'mtom' }]);
      const text = (await journalRecord(gw.url, r.id)).evidence.request!.text;
      signatures.add(/<b:SignaturePKCS7>([^<]+)<\/b:SignaturePKCS7>/.exec(text)![1]!);
    }
    expect(signatures.size).toBe(1);
    const received = portal.statuses().find((s) => s.messageId === d.messageId)!;
    expect(received.files[0]!.signaturePkcs7!.toString('base64')).toBe([...signatures][0]);
  });

  it('refuses a status naming an unknown file, or a file above ATTACHMENT_INLINE_MAX_BYTES in push mode (422 naming the field)', async () => {
    const applicationId = await submitApplication(gw.url, 7100000003);
    const unknown = await setStatus(gw.url, applicationId, { code: 'registered', files: [{ id: '00000000-0000-4000-8000-000000000000' }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'UNKNOWN_FILE' });
    expect(unknown.body.error!.message).toMatch(/^files\/0\/id: /);
    const big = await upload(gw.url, Buffer.alloc(INLINE_MAX + 1, 0x25), { name: 'big-scan.pdf' });
    expect(big.status).toBe(201);
    const tooBig = await setStatus(gw.url, applicationId, { code: 'registered', files: [{ id: big.body.id }] });
    expect(tooBig.status).toBe(422);
    expect(tooBig.body.error).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(tooBig.body.error!.message).toMatch(/ATTACHMENT_INLINE_MAX_BYTES \(262144\)/);
    const text = await upload(gw.url, Buffer.from('plain'), { name: 'note.txt' }, 'text/plain');
    const wrongType = await setStatus(gw.url, applicationId, { code: 'registered', files: [{ id: text.body.id }] });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.error).toMatchObject({ code: 'MIME_TYPE_NOT_ALLOWED' });
    // nothing of the refused changes was stored: the application can still move on
    expect((await setStatus(gw.url, applicationId, { code: 'registered' })).status).toBe(202);
  });

  it('OpenAPI documents the upload, the file routes and files on a status', async () => {
    const doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: { content: Record<string, { schema: { properties?: Record<string, unknown> } }> }; responses: Record<string, unknown> }>> };
    const post = doc.paths['/api/v1/files']!.post!;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '400', '401', '403', '413', '415']));
    expect(post.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(expect.arrayContaining(['query:name', 'query:service']));
    expect(doc.paths['/api/v1/files/{id}']!.get!.responses['200']).toBeDefined();
    expect(doc.paths['/api/v1/files/{id}/content']!.get).toBeDefined();
    const status = doc.paths['/api/v1/applications/{id}/status']!.post!;
    expect(status.requestBody!.content['application/json']!.schema.properties!.files).toBeDefined();
    expect(status.responses['422']).toBeDefined();
  });

  it('the portal simulator refuses a file whose SignaturePKCS7 does not verify with InvalidContent', async () => {
    const pdf = permitPdf('forged');
    const fileId = '11111111-2222-4333-8444-555555555555';
    const signature = await signDetachedCms(permitPdf('another document'), sampleSigner('gateway'));
    const content = {
      env: 'EPGU',
      updateOrders: { orders: [{ orderNumber: '7100000009', statusHistory: [{ status: 3, statusDate: '2026-12-07T12:00:00+03:00', attachments: [{ FSuuid: fileId, docTypeId: 'ELK_RESULT' }] }] }] },
    };
    const envelope = sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: catalogue.get('elk-order-status')!.request.toXml(content), attachments: [{ contentId: fileId, mimeType: 'application/pdf', part: fileId, signaturePkcs7: signature }] });
    const signed = await signDocument(envelope, { signer: sampleSigner('gateway'), profile: 'smev' });
    const body = buildMtom(signed, [{ contentId: fileId, contentType: 'application/pdf', bytes: pdf }], 'urn:SendRequest');
    const res = await fetch(`${portal.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': body.contentType, soapaction: 'urn:SendRequest' }, body: new Uint8Array(body.body) });
    const text = await res.text();
    expect(res.status).toBe(500);
    expect(faultOf(text).fault).toBe('InvalidContent');
    expect(faultOf(text).faultstring).toMatch(new RegExp(`attachment ${fileId}: its SignaturePKCS7 does not verify`));
  });
});

describe('files the city sends, signed with a GOST gateway key (OpenSSL gost engine PKI)', () => {
  let redis: RedisTestServer;
  let portal: PortalSimulator;
  let gw: RunningGateway;
  let dir: string;
  let gostCa: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'okno-outbound-gost-'));
    const ca = makeGostCa(dir);
    gostCa = ca.cert;
    const leaf = makeGostLeaf(dir, ca, 'gateway', { algorithm: 'gost2012_256', paramset: 'A', cn: 'okno-gateway-gost' });
    const trustFile = path.join(dir, 'trust.pem');
    writeFileSync(trustFile, sampleCaPem + readFileSync(ca.cert, 'utf8'));
    redis = await startRedisServer();
    portal = await PortalSimulator.start({
      port: 0,
      trust: new TrustAnchorSet([sampleCaPem, readFileSync(ca.cert, 'utf8')]),
      expectedSigner: parseCertificate(readFileSync(leaf.cert, 'utf8')).fingerprintSha256,
      signer: sampleSigner('portal'),
      catalogue,
    });
    gw = await startGateway({
      REDIS_URL: redis.url,
      PORTAL_URL: `${portal.url}/ws/smev3`,
      ATTACHMENT_DIR: path.join(dir, 'attachments'),
      GATEWAY_KEY_FILE: leaf.key,
      GATEWAY_CERT_FILE: leaf.cert,
      TRUST_CA_FILE: trustFile,
      ...FAST_DELIVERY,
    });
  });
  afterAll(async () => {
    await gw?.close();
    await portal?.close();
    await redis?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a permit PDF reaches the portal with a GOST R 34.10-2012 signature that the portal and openssl (gost engine) verify', async () => {
    const pdf = permitPdf('GOST-signed permit');
    const up = await upload(gw.url, pdf, { name: 'permit.pdf', service: 'elk-order-status' });
    expect(up.status).toBe(201);
    const d = await completeWith(gw.url, 7200000001, [{ id: up.body.id }]);
    const file = portal.statuses().find((s) => s.messageId === d.messageId)!.files[0]!;
    expect(file.verdict).toMatchObject({ valid: true, trusted: true });
    expect(file.verdict!.algorithm).toMatch(/GOST R 34\.10-2012/);
    const judge = opensslCmsVerify(file.signaturePkcs7!, file.bytes, gostCa, ['-engine', 'gost']);
    expect(judge.output).toMatch(/Verification successful/);
    expect(judge.ok).toBe(true);
  });
});
