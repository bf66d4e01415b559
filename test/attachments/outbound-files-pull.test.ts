/**
 * A result document with a status in pull mode: the gateway sends the status to the SMEV 3
 * exchange simulator as MTOM (the file ≤ ATTACHMENT_INLINE_MAX_BYTES), the exchange delivers it
 * to the portal's GetRequest, and the file arrives with the gateway's SignaturePKCS7, which the
 * gateway's own verifier and `openssl cms -verify` accept. Real redis-server, real HTTP.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAttachmentSignature } from '../../src/pki/cms/index.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { caPem, eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

let redis: RedisTestServer;
let world: PullWorld;
let gw: RunningGateway;
let dir: string;

beforeAll(async () => {
  requireTool('openssl', ['version'], 'openssl');
  dir = mkdtempSync(path.join(tmpdir(), 'okno-outbound-pull-'));
  redis = await startRedisServer();
  world = await startPullWorld();
  gw = await startGateway({ ...world.env, REDIS_URL: redis.url, ATTACHMENT_DIR: path.join(dir, 'attachments') });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
  await redis?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a result document through the SMEV exchange (pull mode)', () => {
  it('the final status carries the signed file as an MTOM part; the portal gets it from GetRequest with a valid SignaturePKCS7', async () => {
    const contentXml = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    const item = await eventually(
      async () => ((await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> }).items.find((i) => i.messageId === sent.messageId),
      'the application in the inbox',
      15_000,
    );
    const pdf = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
    const up = await fetch(`${gw.url}/api/v1/files?name=${encodeURIComponent('Направление.pdf')}&service=elk-order-status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(pdf) });
    expect(up.status).toBe(201);
    const file = (await up.json()) as { id: string };

    let last = '';
    for (const [code, files] of [['registered', undefined], ['in_progress', undefined], ['completed', [{ id: file.id }]]] as const) {
      const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(files ? { code, files } : { code }) });
      expect(res.status).toBe(202);
      last = ((await res.json()) as { deliveryId: string }).deliveryId;
    }
    await eventually(async () => ((await (await fetch(`${gw.url}/api/v1/deliveries/${last}`, { headers: CITY })).json()) as { state: string }).state === 'delivered', 'the status delivered to the exchange', 15_000);

    // The portal polls its queue: three status messages, the last with the document.
    let withFile = null;
    for (let i = 0; i < 3 && !withFile; i++) {
      const polled = await world.portal.poll('GetRequest');
      const m = polled.message!;
      expect((await world.portal.ack(m.messageId!)).status).toBe(200);
      if (m.attachments.length > 0) withFile = m;
    }
    expect(withFile).not.toBeNull();
    const [a] = withFile!.attachments;
    expect(a!.id).toBe(file.id);
    expect(a!.mimeType).toBe('application/pdf');
    expect(a!.bytes.equals(pdf)).toBe(true);
    const check = checkAttachmentSignature(a!.bytes, a!.signaturePkcs7!, 'required', new TrustAnchorSet([caPem]), { name: a!.id });
    expect(check).toMatchObject({ status: 'valid', accepted: true });
    expect(withFile!.content!.localName).toBe('ElkOrderRequest');

    // openssl, independently
    writeFileSync(path.join(dir, 'sig.der'), a!.signaturePkcs7!);
    writeFileSync(path.join(dir, 'file.pdf'), a!.bytes);
    const r = spawnSync('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', path.join(dir, 'sig.der'), '-content', path.join(dir, 'file.pdf'), '-CAfile', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '-purpose', 'any', '-out', '/dev/null'], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toMatch(/Verification successful/);
    expect(readFileSync(path.join(dir, 'file.pdf')).equals(pdf)).toBe(true);
  });

  it("a query carries a file too: the agency takes it from GetRequest with the gateway's valid SignaturePKCS7; the query shows it", async () => {
    const scan = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(100_000, 0x20), Buffer.from('\n%%EOF\n')]);
    const up = await fetch(`${gw.url}/api/v1/files?name=${encodeURIComponent('Доверенность.pdf')}&service=egrn-extract`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/pdf' }, body: new Uint8Array(scan) });
    expect(up.status).toBe(201);
    const file = (await up.json()) as { id: string; sha256: string };
    const unknown = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract'), files: [{ id: '00000000-0000-4000-8000-000000000001' }] }) });
    expect(unknown.status).toBe(422);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/^body\/files\/0\/id: no file/);
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract'), files: [{ id: file.id }] }) });
    expect(created.status).toBe(202);
    const { id, messageId } = (await created.json()) as { id: string; messageId: string };
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue', 15_000);
    expect(delivered.messageId).toBe(messageId);
    expect((await world.agency.ack(messageId)).status).toBe(200);
    const [a] = delivered.attachments;
    expect(a).toMatchObject({ id: file.id, mimeType: 'application/pdf', sha256: file.sha256 });
    expect(checkAttachmentSignature(a!.bytes, a!.signaturePkcs7!, 'required', new TrustAnchorSet([caPem]), { name: a!.id })).toMatchObject({ status: 'valid', accepted: true });
    const query = (await (await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY })).json()) as { files: Array<{ id: string; transport: string }> };
    expect(query.files).toEqual([expect.objectContaining({ id: file.id, transport: 'mtom' })]);
  });
});
