/**
 * The city's answer to an agency's query carries a file (push mode): POST /requests/{id}/response
 * names it by id, the gateway signs it (detached CMS) and sends the SendResponse as MTOM; the
 * agency simulator decodes the multipart body (soap/mtom.ts decodeSoapBody, through
 * readSmevMessage), verifies the envelope's signature and the file's SignaturePKCS7 (openssl
 * agrees). The envelope as sent, as its XOP infoset, validates against the official SMEV 3 1.1
 * XSD (AttachmentHeaderList in SenderProvidedResponseData, AttachmentContentList after it).
 * A file above ATTACHMENT_INLINE_MAX_BYTES is refused with 422 (push mode: no file store); a
 * rejection takes no files. Real redis-server, real HTTP.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { checkAttachmentSignature } from '../../src/pki/cms/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, sampleSigner, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';

const INLINE_MAX = 256 * 1024;
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const caFile = path.join(projectRoot, 'certs-sample/ca.crt.pem');
const trust = new TrustAnchorSet([readFileSync(caFile, 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;
const schema = path.join(projectRoot, 'test/fixtures/smev3-1.1/smev-message-exchange-types-1.1.xsd');

let redis: RedisTestServer;
let agency: AgencySimulator;
let portal: PortalSimulator;
let gw: RunningGateway;
let dir: string;

function partnersFileFor(agencyEndpoint: string): string {
  const partners = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[]; endpoint: string | null }> };
  for (const p of partners.partners) {
    p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    if (p.id === 'agency') p.endpoint = agencyEndpoint;
  }
  writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(partners));
  return path.join(dir, 'partners.json');
}

beforeAll(async () => {
  requireTool('openssl', ['version'], 'openssl');
  requireXmllint();
  dir = mkdtempSync(path.join(tmpdir(), 'okno-answer-files-'));
  redis = await startRedisServer();
  agency = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('agency'), catalogue });
  portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
  gw = await startGateway({
    REDIS_URL: redis.url,
    PARTNERS_FILE: partnersFileFor(`${agency.url}/ws/smev3`),
    PORTAL_URL: `${portal.url}/ws/smev3`,
    ATTACHMENT_DIR: path.join(dir, 'attachments'),
    ATTACHMENT_INLINE_MAX_BYTES: String(INLINE_MAX),
    DELIVERY_BACKOFF_MS: '50',
    DELIVERY_BACKOFF_CAP_MS: '200',
    DELIVERY_TIMEOUT_MS: '2000',
  });
  agency.setGatewayUrl(gw.url);
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await agency?.close();
  await portal?.close();
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function askedRequestId(): Promise<{ requestId: string; askId: string }> {
  const ask = await agency.askCity('advertising-permit-register-extract', serviceExample('advertising-permit-register-extract'));
  expect(ask.httpStatus).toBe(200);
  const item = await eventually(
    async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; requestId: string }> }).items.find((i) => i.messageId === ask.messageId),
    "the agency's query in the inbox",
    10_000,
  );
  return { requestId: item.requestId, askId: ask.messageId };
}

async function uploadFile(name: string, bytes: Buffer): Promise<{ id: string; sha256: string }> {
  const res = await fetch(`${gw.url}/api/v1/files?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(bytes) });
  expect(res.status).toBe(201);
  return (await res.json()) as { id: string; sha256: string };
}

const answer = (requestId: string, body: object) => fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe("the city's answer with a file (push mode)", () => {
  it('goes as MTOM: the agency decodes it, the file is byte-identical and its SignaturePKCS7 verifies (openssl agrees); the envelope validates against the official XSD', async () => {
    const { requestId, askId } = await askedRequestId();
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(100_000), Buffer.from('\n%%EOF\n')]);
    const file = await uploadFile('Выписка из реестра.pdf', pdf);
    // The id is the contentId, and AttachmentContent/Id is an xs:ID: a UUID that starts with a letter.
    expect(file.id).toMatch(/^[a-f][0-9a-f]{7}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const data = serviceExample('advertising-permit-register-extract', 'response');
    const res = await answer(requestId, { data, files: [{ id: file.id }] });
    expect(res.status).toBe(202);
    const { messageId } = (await res.json()) as { messageId: string };

    const received = await eventually(async () => agency.cityResponses().find((r) => r.to === askId), 'the answer at the agency', 15_000);
    expect(received).toMatchObject({ messageId, kind: 'content', content: data });
    expect(received.files).toHaveLength(1);
    const [got] = received.files!;
    expect(got).toMatchObject({ contentId: file.id, mimeType: 'application/pdf', sha256: file.sha256, mtom: true });
    expect(got!.bytes.equals(pdf)).toBe(true);
    expect(checkAttachmentSignature(got!.bytes, got!.signaturePkcs7, 'required', trust, { name: got!.contentId })).toMatchObject({ status: 'valid', accepted: true });
    writeFileSync(path.join(dir, 'answer.p7s'), got!.signaturePkcs7);
    writeFileSync(path.join(dir, 'answer.pdf'), got!.bytes);
    const r = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'answer.p7s'), '-content', path.join(dir, 'answer.pdf'), '-CAfile', caFile, '-purpose', 'any', '-out', '/dev/null'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Verification successful/);

    const view = (await (await fetch(`${gw.url}/api/v1/requests/${requestId}`, { headers: CITY })).json()) as { files: Array<{ id: string; transport: string }>; delivery: { state: string } };
    expect(view.files).toEqual([expect.objectContaining({ id: file.id, transport: 'mtom' })]);
    const delivered = await eventually(async () => {
      const v = (await (await fetch(`${gw.url}/api/v1/requests/${requestId}`, { headers: CITY })).json()) as { delivery: { state: string } };
      return v.delivery.state === 'delivered' ? v : null;
    }, 'the answer delivered', 10_000);
    expect(delivered.delivery.state).toBe('delivered');

    // The journal names the file (via mtom); the envelope as sent, as its XOP infoset, validates against the official XSD.
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${messageId}`, { headers: OPS })).json()) as { items: Array<{ id: string; operation: string; files?: Array<{ id: string; via?: string; sha256: string }> }> };
    const record = journal.items.find((i) => i.operation === 'SendResponse')!;
    expect(record.files).toEqual([expect.objectContaining({ id: file.id, via: 'mtom', sha256: file.sha256 })]);
    const full = (await (await fetch(`${gw.url}/api/v1/journal/${record.id}`, { headers: OPS })).json()) as { evidence: { request: { text: string } | null } };
    const sent = full.evidence.request!.text;
    expect(sent).toMatch(/<xop:Include[^>]*href="cid:/);
    const infoset = sent.replace(/<xop:Include[^>]*href="cid:([^"]+)"[^>]*\/>/g, (_m, cid: string) => {
      expect(decodeURIComponent(cid)).toBe(file.id);
      return pdf.toString('base64');
    });
    const start = infoset.indexOf('<t:SendResponseRequest');
    const end = infoset.indexOf('</t:SendResponseRequest>') + '</t:SendResponseRequest>'.length;
    const [verdict] = xmllintVerdicts(schema, [infoset.slice(start, end)]);
    expect(verdict!.messages).toEqual([]);
    expect(verdict!.valid).toBe(true);
    // The header is inside the signed data, the content after it.
    const signed = sent.slice(sent.indexOf('<t:SenderProvidedResponseData'), sent.indexOf('</t:SenderProvidedResponseData>'));
    expect(signed).toContain(`<b:AttachmentHeader><b:contentId>${file.id}</b:contentId>`);
    expect(sent.indexOf('<b:AttachmentContentList>')).toBeGreaterThan(sent.indexOf('</t:SenderProvidedResponseData>'));
    expect(createHash('sha256').update(got!.bytes).digest('hex')).toBe(file.sha256);
  });

  it('refuses a file above ATTACHMENT_INLINE_MAX_BYTES (422 naming it: push mode has no file store), and files with a rejection (400)', async () => {
    const { requestId } = await askedRequestId();
    const big = await uploadFile('big.pdf', Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(INLINE_MAX + 1, 0x20)]));
    const data = serviceExample('advertising-permit-register-extract', 'response');
    const tooBig = await answer(requestId, { data, files: [{ id: big.id }] });
    expect(tooBig.status).toBe(422);
    const body = (await tooBig.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('FILE_TOO_LARGE');
    expect(body.error.message).toMatch(/^body\/files\/0\/id: .*ATTACHMENT_INLINE_MAX_BYTES \(262144\)/);
    const rejectWithFiles = await answer(requestId, { reject: { code: 'NO_DATA', description: 'нет' }, files: [{ id: big.id }] });
    expect(rejectWithFiles.status).toBe(400);
    // Still unanswered: a good answer goes through.
    expect((await answer(requestId, { data })).status).toBe(202);
  });
});
