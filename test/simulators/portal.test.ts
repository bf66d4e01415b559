import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { signDocument } from '../../src/signature/sign.js';
import type { Signer } from '../../src/pki/signer.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import type { JsonValue } from '../../src/store/types.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { spawnOkno } from '../helpers/cli-process.js';
import { faultOf, sampleSigner, serviceExamples } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet(splitPem(readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')));
const gateway = sampleSigner('gateway');
const [create, update] = serviceExamples('elk-order-status') as [any, any];
const elk = catalogue.get('elk-order-status')!.request;

/** A signed SendRequest carrying an ElkOrderRequest, built the way the gateway builds it. */
async function statusMessage(o: { content?: JsonValue; contentXml?: string; messageId?: string; signer?: Signer; edit?: (xml: string) => string } = {}) {
  const messageId = o.messageId ?? uuidV1();
  const contentXml = o.contentXml ?? elk.toXml(o.content ?? create);
  const envelope = sendRequestEnvelope({ version: '1.1', messageId, contentXml });
  const xml = await signDocument(envelope, { signer: o.signer ?? gateway, profile: 'xmldsig' });
  return { xml: o.edit ? o.edit(xml) : xml, messageId };
}

async function post(sim: PortalSimulator, body: string, init: { signal?: AbortSignal; headers?: Record<string, string> } = {}) {
  const res = await fetch(sim.endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: 'urn:SendRequest', ...init.headers }, body, signal: init.signal });
  return { status: res.status, body: await res.text() };
}

function find(el: XmlElement, localName: string): XmlElement | null {
  for (const c of childElements(el)) {
    if (c.localName === localName) return c;
    const deeper = find(c, localName);
    if (deeper) return deeper;
  }
  return null;
}

/** The reply's MessageMetadata, after checking the portal's signature over it against the sample CA. */
function verifiedReply(body: string): { messageId: string; status: string; signer: string } {
  const doc = parseXml(body);
  const metadata = find(doc.root, 'MessageMetadata')!;
  const signature = find(find(doc.root, 'SMEVSignature')!, 'Signature')!;
  expect(signature.namespaceURI).toBe(DSIG_NS);
  const v = verifySignature(doc, signature, metadata, { trust });
  expect(v.message).toMatch(/^valid/);
  expect(v.valid).toBe(true);
  return { messageId: textContent(find(metadata, 'MessageId')!), status: textContent(find(metadata, 'Status')!), signer: v.details.certificate!.subject };
}

function codes(sim: PortalSimulator, orderNumber: string): number[] {
  return sim.historyOf(orderNumber).map((h) => h.status);
}

describe('PortalSimulator: the portal receiving ELK statuses', () => {
  let sim: PortalSimulator;

  beforeAll(async () => {
    sim = await PortalSimulator.start({ port: 0, trust, expectedSigner: gateway.certificate.fingerprintSha256, signer: sampleSigner('portal'), catalogue });
  });
  afterAll(() => sim.close());
  afterEach(async () => {
    await sim.setDown(false);
    sim.reset();
  });

  it('listens on loopback and serves POST /ws/smev3 only', async () => {
    expect(sim.url).toBe(`http://127.0.0.1:${sim.port}`);
    expect(sim.endpoint).toBe(`${sim.url}/ws/smev3`);
    expect((await fetch(sim.endpoint)).status).toBe(405);
    expect((await fetch(`${sim.url}/other`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect(sim.attempts).toBe(0);
  });

  it('accepts a signed status: 200, a reply signed by the portal, recorded once with the content as JSON', async () => {
    const { xml, messageId } = await statusMessage();
    const res = await post(sim, xml);
    expect(res.status).toBe(200);
    expect(res.body).toContain('<t:SendRequestResponse');
    const reply = verifiedReply(res.body);
    expect(reply).toEqual({ messageId, status: 'requestIsQueued', signer: sampleSigner('portal').certificate.subject });

    const [status, ...rest] = sim.statuses();
    expect(rest).toEqual([]);
    expect(status).toMatchObject({ messageId, kind: 'create', env: 'EPGU', orders: create.createOrders.orders, signerSubject: gateway.certificate.subject });
    expect(status!.receivedAt).toBeInstanceOf(Date);
    expect(sim.byOrder('3571300121')).toEqual([status]);
    expect(codes(sim, '3571300121')).toEqual([1, 6]);
    expect(sim.duplicates).toBe(0);
  });

  it('is idempotent by MessageID: the same message again gets the first reply, counted as a duplicate, not recorded twice', async () => {
    const first = await statusMessage();
    const a = await post(sim, first.xml);
    // A retry is signed again by the gateway: the same content under the same MessageID.
    const again = await statusMessage({ messageId: first.messageId });
    const b = await post(sim, again.xml);
    expect(b).toEqual(a);
    expect(sim.duplicates).toBe(1);
    expect(sim.statuses().map((s) => s.messageId)).toEqual([first.messageId]);
    expect(sim.attempts).toBe(2);
  });

  it('the same MessageID with other content is MessageIsAlreadySent, and is not recorded', async () => {
    const first = await statusMessage();
    expect((await post(sim, first.xml)).status).toBe(200);
    const other = await statusMessage({ messageId: first.messageId, content: update });
    const res = await post(sim, other.xml);
    expect(res.status).toBe(500);
    expect(faultOf(res.body).fault).toBe('MessageIsAlreadySent');
    expect(sim.statuses()).toHaveLength(1);
    expect(sim.duplicates).toBe(0);
  });

  it('records in arrival order: create, then updates, per order', async () => {
    await post(sim, (await statusMessage()).xml);
    await post(sim, (await statusMessage({ content: update })).xml);
    expect(sim.statuses().map((s) => s.kind)).toEqual(['create', 'update']);
    expect(codes(sim, '3571300121')).toEqual([1, 6, 14]);
    expect(codes(sim, '3571294406')).toEqual([3]);
    expect(sim.historyOf('3571300121')[2]).toMatchObject({ kind: 'update', status: 14, statusDate: '2026-11-25T10:15:00+03:00' });
    expect(sim.byOrder('3571294406').map((s) => s.kind)).toEqual(['update']);
    expect(sim.byOrder('0')).toEqual([]);
  });

  it('a tampered message is refused with SignatureVerificationFault', async () => {
    const { xml } = await statusMessage({ edit: (x) => x.replace('<status>6</status>', '<status>4</status>') });
    const res = await post(sim, xml);
    expect(res.status).toBe(500);
    expect(faultOf(res.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    expect(sim.statuses()).toEqual([]);
  });

  it('a message signed by another trusted key than the gateway\'s (the portal\'s own), or an untrusted one, is refused', async () => {
    const byPortal = await post(sim, (await statusMessage({ signer: sampleSigner('portal') })).xml);
    expect(byPortal.status).toBe(500);
    expect(faultOf(byPortal.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    expect(faultOf(byPortal.body).faultstring).toMatch(/not by the expected certificate/);
    const untrusted = await post(sim, (await statusMessage({ signer: sampleSigner('untrusted') })).xml);
    expect(faultOf(untrusted.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    const unsigned = await post(sim, sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: elk.toXml(create) }));
    expect(faultOf(unsigned.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'NoSignatureFound' });
    expect(sim.statuses()).toEqual([]);
  });

  it('without expectedSigner any trusted signer is accepted', async () => {
    const open = await PortalSimulator.start({ trust, signer: sampleSigner('portal'), catalogue });
    try {
      expect((await post(open, (await statusMessage({ signer: sampleSigner('agency') })).xml)).status).toBe(200);
      expect(open.statuses()[0]?.signerSubject).toBe(sampleSigner('agency').certificate.subject);
    } finally {
      await open.close();
    }
  });

  it('content that is not a valid ELK status is InvalidContent, naming the problem', async () => {
    const badCode = await post(sim, (await statusMessage({ contentXml: elk.toXml(create).replace('<status>6</status>', '<status>5</status>') })).xml);
    expect(badCode.status).toBe(500);
    expect(faultOf(badCode.body).fault).toBe('InvalidContent');
    expect(badCode.body).toContain('<f:ValidationError errorPosition="0">/ElkOrderRequest/CreateOrdersRequest/orders/order/statusHistoryList/statusHistory[2]/status');

    const other = serviceExamples('advertising-permit')[0]!;
    const wrongService = await post(sim, (await statusMessage({ contentXml: catalogue.get('advertising-permit')!.request.toXml(other) })).xml);
    expect(faultOf(wrongService.body).fault).toBe('InvalidContent');
    expect(faultOf(wrongService.body).faultstring).toMatch(/must be ElkOrderRequest/);

    const notXml = await post(sim, '<soap:Envelope');
    expect(faultOf(notXml.body).fault).toBe('InvalidContent');
    expect(sim.statuses()).toEqual([]);
  });

  it('failNext scripts each answer for the next requests, which are not recorded; then it accepts again', async () => {
    sim.failNext(1, 'fault:InvalidContent');
    sim.failNext(1, 'fault:SMEVFailure');
    sim.failNext(1, 'http:503');
    sim.failNext(1, 'reset');
    const { xml, messageId } = await statusMessage();

    const invalid = await post(sim, xml);
    expect([invalid.status, faultOf(invalid.body).fault]).toEqual([500, 'InvalidContent']);
    const failure = await post(sim, xml);
    expect([failure.status, faultOf(failure.body).fault]).toEqual([500, 'SMEVFailure']);
    expect(failure.body).toContain('<faultcode>soap:Server</faultcode>');
    const unavailable = await post(sim, xml);
    expect(unavailable.status).toBe(503);
    const reset = await post(sim, xml).catch((error: Error & { cause?: { code?: string } }) => error);
    expect(reset).toBeInstanceOf(Error);
    expect((reset as Error & { cause?: { code?: string } }).cause?.code ?? (reset as Error & { cause?: Error }).cause?.message).toMatch(/ECONNRESET|UND_ERR_SOCKET|other side closed/);
    expect(sim.statuses()).toEqual([]);

    const accepted = await post(sim, xml);
    expect(accepted.status).toBe(200);
    expect(verifiedReply(accepted.body).messageId).toBe(messageId);
    expect(sim.statuses()).toHaveLength(1);
    expect(sim.duplicates).toBe(0);
    expect(sim.attempts).toBe(5);
    expect(() => sim.failNext(1, 'http:500' as never)).toThrow(RangeError);
  });

  it('setDown refuses connections on the same port, and it comes back there', async () => {
    const url = sim.url;
    await sim.setDown(true);
    const refused = await post(sim, (await statusMessage()).xml).catch((error: Error & { cause?: { code?: string } }) => error);
    expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    await sim.setDown(false);
    expect(sim.url).toBe(url);
    expect((await post(sim, (await statusMessage()).xml)).status).toBe(200);
    expect(sim.statuses()).toHaveLength(1);
  });

  it('setDelay answers late: a gateway that gives up retries with the same MessageID and gets the first reply', async () => {
    sim.setDelay(400);
    const { xml, messageId } = await statusMessage();
    const started = Date.now();
    const timedOut = await post(sim, xml, { signal: AbortSignal.timeout(100) }).catch((error: Error) => error);
    expect((timedOut as Error).name).toBe('TimeoutError');
    // The portal took the message at once; only its answer is late.
    await sim.waitFor((statuses) => statuses.some((s) => s.messageId === messageId), 1000);
    expect(sim.inFlight).toBe(1);

    const slow = await post(sim, xml);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(slow.status).toBe(200);
    expect(sim.duplicates).toBe(1);
    expect(sim.statuses()).toHaveLength(1);
    await sim.waitFor((_s, p) => p.inFlight === 0, 1000);

    sim.setDelay(0);
    const t = Date.now();
    expect((await post(sim, (await statusMessage()).xml)).status).toBe(200);
    expect(Date.now() - t).toBeLessThan(400);
  });

  it('waitFor resolves when the predicate holds and rejects after its timeout', async () => {
    const waiting = sim.waitFor((s) => s.length === 2, 2000);
    await post(sim, (await statusMessage()).xml);
    await post(sim, (await statusMessage({ content: update })).xml);
    expect((await waiting).map((s) => s.kind)).toEqual(['create', 'update']);
    await expect(sim.waitFor((s) => s.length > 5, 50)).rejects.toThrow(/not met within 50 ms \(2 statuses/);
  });
});

describe('npx okno simulate portal', () => {
  it('runs in the foreground, prints one line per status received, stops on SIGTERM', async () => {
    const cli = spawnOkno(['simulate', 'portal', '--port', '0', '--expect-cert', 'certs-sample/gateway.crt.pem']);
    const { child, exited, until } = cli;
    try {
      const endpoint = (await until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
      const { xml } = await statusMessage();
      const res = await fetch(endpoint, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: xml });
      expect(res.status).toBe(200);
      await until(/create {2}order 3571300121 {2}status 6 {2}2026-11-23T15:00:00\+03:00 {2}Заявление зарегистрировано/);
      expect(cli.out).toMatch(/create {2}order 3571300121 {2}status 1 {2}2026-11-23T14:52:10\+03:00 {2}Заявление принято от заявителя\n/);
      const byPortal = await fetch(endpoint, { method: 'POST', body: (await statusMessage({ signer: sampleSigner('portal') })).xml });
      expect(byPortal.status).toBe(500);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(cli.out).toMatch(/stopped: 1 status messages, 0 duplicates/);
    expect(cli.err).toMatch(/refused: SignatureVerificationFault/);
  }, 20_000);

  it('exits 2 on a usage error', async () => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'simulate', 'agency'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(2);
    expect(err).toMatch(/usage: okno simulate portal/);
  });
});
