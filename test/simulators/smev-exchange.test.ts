/**
 * The SMEV exchange simulator over real HTTP: systems registered with sample
 * certificates send, poll, answer and acknowledge; every answer of the
 * exchange is checked with our own signature engine.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import type { Signer } from '../../src/pki/signer.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { SmevExchangeSimulator, uuidV1Time } from '../../src/simulators/smev-exchange.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { buildMtom } from '../../src/soap/mtom.js';
import type { SmevMessage } from '../../src/soap/smev-message.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { spawnOkno } from '../helpers/cli-process.js';
import { ExchangeClient, issuedSigner, postTo, toMtom } from '../helpers/exchange.js';
import { faultOf, sampleSigner, serviceExample } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const trust = new TrustAnchorSet(splitPem(readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')));
const pem = (name: string) => readFileSync(path.join(projectRoot, `certs-sample/${name}.crt.pem`), 'utf8');

const PERMIT_NS = 'urn://okno/test/exchange/permit/1.0.0';
const OTHER_NS = 'urn://okno/test/exchange/other/1.0.0';
const AGENCY_NS = 'urn://okno/test/exchange/agency/1.0.0';
const permit = (n: string) => `<p:PermitRequest xmlns:p="${PERMIT_NS}" Id="PERSONAL_SIGNATURE"><p:Number>${n}</p:Number><p:Note>заявка &amp; проверка</p:Note></p:PermitRequest>`;
const other = (n: string) => `<o:OtherRequest xmlns:o="${OTHER_NS}"><o:Number>${n}</o:Number></o:OtherRequest>`;
const answerXml = (n: string) => `<p:PermitResponse xmlns:p="${PERMIT_NS}"><p:Number>${n}</p:Number><p:Granted>true</p:Granted></p:PermitResponse>`;

let exchange: { signer: Signer; certPem: string };
let sim: SmevExchangeSimulator;
let clock = Date.now();
let portal: ExchangeClient;
let okno: ExchangeClient;
let agency: ExchangeClient;

beforeAll(async () => {
  exchange = issuedSigner('smev-exchange-simulator');
  sim = await SmevExchangeSimulator.start({
    trust,
    signer: exchange.signer,
    systems: [
      { mnemonic: 'portal', name: 'ЕПГУ', certificatePem: pem('portal') },
      { mnemonic: 'okno', name: 'Окно города', certificatePem: pem('gateway'), provides: [PERMIT_NS, OTHER_NS] },
      { mnemonic: 'agency', certificatePem: pem('agency'), provides: [AGENCY_NS] },
    ],
    visibilityTimeoutMs: 30_000,
    now: () => new Date(clock),
  });
  portal = new ExchangeClient(sim.endpoint, sampleSigner('portal'));
  okno = new ExchangeClient(sim.endpoint, sampleSigner('gateway'));
  agency = new ExchangeClient(sim.endpoint, sampleSigner('agency'));
});

afterAll(async () => {
  await sim.close();
});

beforeEach(() => {
  sim.reset();
  sim.setAttachmentDelivery('mtom');
  clock = Date.now();
});

/** A version-1 UUID carrying time `ms` (uuidV1 never goes back in time within a process). */
function v1At(ms: number): string {
  const t = BigInt(ms) * 10_000n + 122_192_928_000_000_000n;
  const hex = (n: bigint, w: number) => n.toString(16).padStart(w, '0');
  return `${hex(t & 0xffffffffn, 8)}-${hex((t >> 32n) & 0xffffn, 4)}-${hex(((t >> 48n) & 0x0fffn) | 0x1000n, 4)}-8a3c-0123456789ab`;
}

function child(el: XmlElement, localName: string): XmlElement {
  const c = childElements(el).find((e) => e.localName === localName);
  if (!c) throw new Error(`no ${localName} in ${el.localName}`);
  return c;
}

/** The exchange's SMEVSignature over Request/Response verifies, and is made with the simulator's certificate. */
function expectExchangeSigned(m: SmevMessage): void {
  const v = verifySignature(m.doc, m.smevSignature!, m.message!, { trust });
  expect(v.message).toMatch(/^valid/);
  expect(v.details.certificate!.fingerprintSha256).toBe(exchange.signer.certificate.fingerprintSha256);
}

/** The sender's signature, carried through the exchange, still verifies over SenderProvided…Data; returns its signer's CN. */
function senderOf(m: SmevMessage): string {
  const v = verifySignature(m.doc, m.senderSignature!, m.senderData!, { trust });
  expect(v.message).toMatch(/^valid/);
  return v.details.certificate!.subject;
}

function metadataField(m: SmevMessage, path: string[]): string {
  let el = child(m.message!, 'MessageMetadata');
  for (const p of path) el = child(el, p);
  return textContent(el);
}

describe('SMEV exchange simulator', () => {
  it('portal SendRequest → okno GetRequest (intact, both signatures verify) → Ack → gone', async () => {
    const sent = await portal.sendRequest({ contentXml: permit('77-1') });
    expect(sent.status).toBe(200);
    // SendRequestResponse: MessageMetadata signed by the exchange
    const doc = parseXml(sent.text);
    const op = childElements(childElements(doc.root)[0]!)[0]!;
    expect(op.localName).toBe('SendRequestResponse');
    const md = child(op, 'MessageMetadata');
    const v = verifySignature(doc, childElements(child(op, 'SMEVSignature'))[0]!, md, { trust });
    expect(v.valid).toBe(true);
    expect(v.details.certificate!.fingerprintSha256).toBe(exchange.signer.certificate.fingerprintSha256);
    expect(textContent(child(md, 'MessageId'))).toBe(sent.messageId);
    expect(textContent(child(md, 'MessageType'))).toBe('REQUEST');
    expect(textContent(child(child(md, 'Recipient'), 'Mnemonic'))).toBe('okno');
    expect(textContent(child(md, 'Status'))).toBe('requestIsQueued');
    expect(sim.queue('okno').map((m) => m.messageId)).toEqual([sent.messageId]);

    const got = await okno.poll('GetRequest');
    expect(got.status).toBe(200);
    const m = got.message!;
    expect(m.operation).toBe('GetRequestResponse');
    expect(m.empty).toBe(false);
    expect(m.messageId).toBe(sent.messageId);
    expect(m.content!.localName).toBe('PermitRequest');
    expect(textContent(childElements(m.content!)[1]!)).toBe('заявка & проверка');
    expectExchangeSigned(m);
    expect(senderOf(m)).toMatch(/CN=portal/);
    expect(metadataField(m, ['Sender', 'Mnemonic'])).toBe('portal');
    expect(metadataField(m, ['MessageType'])).toBe('REQUEST');
    const replyTo = textContent(child(m.message!, 'ReplyTo'));
    expect(replyTo).toBe(sim.message(sent.messageId)!.replyTo);
    // The exact signed data: the text the portal signed, byte for byte, inside the delivery.
    const signedData = /<t:SenderProvidedRequestData[\s\S]*<\/t:SenderProvidedRequestData>/.exec(sent.xml)![0];
    expect(got.text).toContain(signedData.slice(signedData.indexOf('>')));
    expect(sim.message(sent.messageId)).toMatchObject({ state: 'delivered', deliveries: 1 });

    expect((await okno.ack(sent.messageId)).status).toBe(200);
    expect(sim.message(sent.messageId)).toMatchObject({ state: 'acked', accepted: true });
    expect(sim.queue('okno')).toEqual([]);
    const after = await okno.poll('GetRequest');
    expect(after.message!.empty).toBe(true);
    expect(sim.counts).toMatchObject({ sent: 1, delivered: 1, redelivered: 0, acked: 1, emptyPolls: 1 });
  });

  it('an empty queue is an empty GetRequestResponse / GetResponseResponse', async () => {
    for (const op of ['GetRequest', 'GetResponse'] as const) {
      const r = await okno.poll(op);
      expect(r.status).toBe(200);
      expect(r.message!.empty).toBe(true);
      expect(r.message!.operation).toBe(`${op}Response`);
      expect(childElements(childElements(childElements(r.message!.doc.root)[0]!)[0]!)).toEqual([]);
    }
  });

  it('a delivered message not acked is delivered again after the visibility timeout, not before', async () => {
    const sent = await portal.sendRequest({ contentXml: permit('77-2') });
    expect((await okno.poll('GetRequest')).message!.messageId).toBe(sent.messageId);
    clock += 29_000;
    expect((await okno.poll('GetRequest')).message!.empty).toBe(true);
    clock += 1_500;
    const again = await okno.poll('GetRequest');
    expect(again.message!.messageId).toBe(sent.messageId);
    expectExchangeSigned(again.message!);
    expect(sim.message(sent.messageId)).toMatchObject({ deliveries: 2, state: 'delivered' });
    expect(sim.counts).toMatchObject({ delivered: 1, redelivered: 1 });
    expect((await okno.ack(sent.messageId)).status).toBe(200);
    // acked twice: the second finds nothing, and both are counted for that MessageID
    expect(faultOf((await okno.ack(sent.messageId)).text).fault).toBe('TargetMessageIsNotFound');
    expect(sim.acksOf(sent.messageId)).toBe(2);
    expect(sim.acksOf(uuidV1())).toBe(0);
  });

  it('on the real clock too: redelivered once the (short) visibility timeout has passed', async () => {
    const quick = await SmevExchangeSimulator.start({ trust, signer: exchange.signer, systems: [{ mnemonic: 'portal', certificatePem: pem('portal') }, { mnemonic: 'okno', certificatePem: pem('gateway'), provides: [PERMIT_NS] }], visibilityTimeoutMs: 300 });
    try {
      const p = new ExchangeClient(quick.endpoint, sampleSigner('portal'));
      const o = new ExchangeClient(quick.endpoint, sampleSigner('gateway'));
      const sent = await p.sendRequest({ contentXml: permit('RT') });
      const deliveredAt = Date.now();
      expect((await o.poll('GetRequest')).message!.messageId).toBe(sent.messageId);
      let again: SmevMessage | null = null;
      while (!again) {
        const r = (await o.poll('GetRequest')).message!;
        if (!r.empty) again = r;
        else await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(Date.now() - deliveredAt).toBeGreaterThanOrEqual(300);
      expect(again.messageId).toBe(sent.messageId);
      expect(quick.counts.redelivered).toBe(1);
    } finally {
      await quick.close();
    }
  });

  it('concurrent polls by one system never get the same message', async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await portal.sendRequest({ contentXml: permit(`C${i}`) })).messageId);
    const polls = await Promise.all(Array.from({ length: 6 }, () => okno.poll('GetRequest')));
    const got = polls.map((p) => p.message!).filter((m) => !m.empty).map((m) => m.messageId);
    expect(got.sort()).toEqual([...ids].sort());
    expect(polls.filter((p) => p.message!.empty)).toHaveLength(2);
  });

  it('GetRequest with a MessageTypeSelector filter takes the oldest message of that type only', async () => {
    const a = await portal.sendRequest({ contentXml: permit('1') });
    const b = await portal.sendRequest({ contentXml: other('2') });
    const c = await portal.sendRequest({ contentXml: other('3') });
    const filtered = await okno.poll('GetRequest', { namespaceURI: OTHER_NS, rootElementLocalName: 'OtherRequest' });
    expect(filtered.message!.messageId).toBe(b.messageId);
    const wrongName = await okno.poll('GetRequest', { namespaceURI: OTHER_NS, rootElementLocalName: 'PermitRequest' });
    expect(wrongName.message!.empty).toBe(true);
    const any = await okno.poll('GetRequest');
    expect(any.message!.messageId).toBe(a.messageId);
    const next = await okno.poll('GetRequest');
    expect(next.message!.messageId).toBe(c.messageId);
    // routing is per recipient: the agency's queue saw none of it
    expect((await agency.poll('GetRequest')).message!.empty).toBe(true);
  });

  it('SendResponse to the ReplyTo → requester GetResponse (Response signed, OriginalMessageId) → Ack; GetStatus follows the exchange', async () => {
    const sent = await portal.sendRequest({ contentXml: permit('9') });
    const got = (await okno.poll('GetRequest')).message!;
    const replyTo = textContent(child(got.message!, 'ReplyTo'));
    await okno.ack(sent.messageId);
    const answered = await okno.sendResponse({ to: replyTo, body: { kind: 'content', contentXml: answerXml('9') } });
    expect(answered.status).toBe(200);
    expect(answered.text).toContain('responseIsAcceptedBySmev');

    const resp = (await portal.poll('GetResponse', { namespaceURI: PERMIT_NS, rootElementLocalName: 'PermitResponse' })).message!;
    expect(resp.operation).toBe('GetResponseResponse');
    expect(resp.messageId).toBe(answered.messageId);
    expect(textContent(child(resp.message!, 'OriginalMessageId'))).toBe(sent.messageId);
    expect(resp.content!.localName).toBe('PermitResponse');
    expectExchangeSigned(resp);
    expect(senderOf(resp)).toMatch(/CN=okno-gateway/);
    expect(metadataField(resp, ['MessageType'])).toBe('RESPONSE');
    expect((await portal.ack(answered.messageId)).status).toBe(200);
    expect(sim.queue('portal', 'responses')).toEqual([]);

    // each side's status messages about what it sent, in order, then none
    const statuses = async (client: ExchangeClient): Promise<string[]> => {
      const out: string[] = [];
      for (;;) {
        const s = await client.getStatus();
        expect(s.status).toBe(200);
        const m = /<t:OriginalMessageId>([^<]+)<\/t:OriginalMessageId><t:StatusCategory>(\w+)</.exec(s.text);
        if (!m) return out;
        out.push(`${m[1]} ${m[2]}`);
      }
    };
    expect(await statuses(portal)).toEqual([`${sent.messageId} requestIsQueued`, `${sent.messageId} underProcessing`]);
    expect(await statuses(okno)).toEqual([`${answered.messageId} responseIsDelivered`]);
  });

  it('a rejection (no business element) is found by the original request type', async () => {
    const sent = await portal.sendRequest({ contentXml: permit('10') });
    const got = (await okno.poll('GetRequest')).message!;
    await okno.ack(sent.messageId);
    const r = await okno.sendResponse({ to: textContent(child(got.message!, 'ReplyTo')), body: { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'нет сведений' }] } });
    expect(r.status).toBe(200);
    const resp = (await portal.poll('GetResponse', { namespaceURI: PERMIT_NS, rootElementLocalName: 'PermitRequest' })).message!;
    expect(resp.messageId).toBe(r.messageId);
    expect(resp.content).toBeNull();
    expectExchangeSigned(resp);
  });

  it('SendResponse to an unknown ReplyTo, or by a system the request was not delivered to, is refused', async () => {
    const bogus = await okno.sendResponse({ to: 'okno-smev-sim|nothing|x', body: { kind: 'content', contentXml: answerXml('1') } });
    expect(bogus.status).toBe(500);
    expect(faultOf(bogus.text).fault).toBe('InvalidContent');
    await portal.sendRequest({ contentXml: permit('11') });
    const got = (await okno.poll('GetRequest')).message!;
    const stolen = await agency.sendResponse({ to: textContent(child(got.message!, 'ReplyTo')), body: { kind: 'content', contentXml: answerXml('1') } });
    expect(faultOf(stolen.text).fault).toBe('InvalidContent');
    expect(sim.queue('portal', 'responses')).toEqual([]);
  });

  it('the same MessageID again: the same signed answer for the same data, MessageIsAlreadySent for other data', async () => {
    const first = await portal.sendRequest({ contentXml: permit('5') });
    const again = await postTo(sim.endpoint, first.xml, { soapaction: 'urn:SendRequest' });
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    const other5 = await portal.sendRequest({ contentXml: permit('6'), messageId: first.messageId });
    expect(other5.status).toBe(500);
    expect(faultOf(other5.text).fault).toBe('MessageIsAlreadySent');
    expect(sim.queue('okno')).toHaveLength(1);
    expect(sim.counts).toMatchObject({ sent: 1, duplicates: 1 });
  });

  it('wrong signers: untrusted or expired → SignatureVerificationFault; trusted but unregistered → SenderIsNotRegistered', async () => {
    const untrusted = await new ExchangeClient(sim.endpoint, sampleSigner('untrusted')).sendRequest({ contentXml: permit('1') });
    expect(untrusted.status).toBe(500);
    expect(faultOf(untrusted.text)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    const expired = await new ExchangeClient(sim.endpoint, sampleSigner('expired')).poll('GetRequest');
    expect(faultOf(expired.text)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    const stranger = new ExchangeClient(sim.endpoint, issuedSigner('stranger').signer);
    for (const r of [await stranger.sendRequest({ contentXml: permit('1') }), await stranger.poll('GetRequest'), await stranger.ack(uuidV1()), await stranger.getStatus()]) {
      expect(r.status).toBe(500);
      expect(faultOf(r.text).fault).toBe('SenderIsNotRegistered');
    }
    // a tampered envelope: the digest no longer matches
    const sent = await portal.sendRequest({ contentXml: permit('12') });
    const tampered = await postTo(sim.endpoint, sent.xml.replace('<p:Number>12<', '<p:Number>13<').replace(sent.messageId, uuidV1()), { soapaction: 'urn:SendRequest' });
    expect(faultOf(tampered.text).fault).toBe('SignatureVerificationFault');
    expect(sim.counts.sent).toBe(1);
  });

  it('a MessageID with an old time is StaleMessageId; malformed is InvalidMessageIdFormat; an unprovided type is BusinessDataTypeIsNotSupported', async () => {
    const threeDaysAgo = Date.now() - 3 * 24 * 3600 * 1000;
    const old = v1At(threeDaysAgo);
    expect(uuidV1Time(old)).toBe(threeDaysAgo);
    expect(Math.abs(uuidV1Time(uuidV1()) - Date.now())).toBeLessThan(5000);
    const stale = await portal.sendRequest({ contentXml: permit('1'), messageId: old });
    expect(stale.status).toBe(500);
    expect(faultOf(stale.text).fault).toBe('StaleMessageId');
    const bad = await portal.sendRequest({ contentXml: permit('1'), messageId: '6FEFA07C-5E7F-11E4-A9FF-D4C9EFF07B77' });
    expect(faultOf(bad.text).fault).toBe('InvalidMessageIdFormat');
    const unknown = await portal.sendRequest({ contentXml: '<x:Nobody xmlns:x="urn://nobody/1.0"/>' });
    expect(faultOf(unknown.text).fault).toBe('BusinessDataTypeIsNotSupported');
    expect(unknown.text).toContain('<f:RootElementNamespaceURI>urn://nobody/1.0</f:RootElementNamespaceURI>');
    expect(sim.messages()).toEqual([]);
  });

  it('Ack: unknown id, a message delivered to someone else, or not delivered yet → TargetMessageIsNotFound', async () => {
    expect(faultOf((await okno.ack(uuidV1())).text).fault).toBe('TargetMessageIsNotFound');
    const sent = await portal.sendRequest({ contentXml: permit('3') });
    expect(faultOf((await okno.ack(sent.messageId)).text).fault).toBe('TargetMessageIsNotFound'); // queued, not delivered
    await okno.poll('GetRequest');
    expect(faultOf((await agency.ack(sent.messageId)).text).fault).toBe('TargetMessageIsNotFound');
    expect((await okno.ack(sent.messageId, false)).status).toBe(200);
    expect(sim.message(sent.messageId)).toMatchObject({ state: 'acked', accepted: false });
  });

  it('a test message is accepted and answered but not put in the recipient\'s live queue', async () => {
    const sent = await portal.sendRequest({ contentXml: permit('T'), test: true });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain('requestIsQueued');
    expect(sim.message(sent.messageId)).toMatchObject({ test: true, state: 'test', recipient: 'okno' });
    expect((await okno.poll('GetRequest')).message!.empty).toBe(true);
  });

  it('MTOM in, MTOM or inline out: attachment bytes and digests preserved, header signed by the sender', async () => {
    const bin = Buffer.alloc(70_000);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 31 + 7) & 0xff;
    bin.write('\r\n--uuid:not-the-boundary\r\n', 1000, 'latin1');
    const attachments = [
      { contentId: 'scan.pdf', mimeType: 'application/pdf', content: bin },
      { contentId: 'note.txt', mimeType: 'text/plain', content: Buffer.from('приложение', 'utf8') },
    ];
    const sent = await portal.sendRequest({ contentXml: permit('M'), attachments, mtom: true });
    expect(sent.status).toBe(200);
    expect(sim.message(sent.messageId)!.attachments.map((a) => a.size)).toEqual([70_000, 20]);

    const got = await okno.poll('GetRequest');
    expect(got.contentType).toMatch(/^multipart\/related;.*type="application\/xop\+xml"/);
    const m = got.message!;
    expect(m.mtom).toBe(true);
    expect(m.attachments.map((a) => [a.id, a.mimeType, a.bytes.length])).toEqual([['scan.pdf', 'application/pdf', 70_000], ['note.txt', 'text/plain', 20]]);
    expect(m.attachments[0]!.bytes.equals(bin)).toBe(true);
    expect(m.attachments[1]!.bytes.toString('utf8')).toBe('приложение');
    expect(m.attachments.map((a) => a.sha256)).toEqual(sim.message(sent.messageId)!.attachments.map((a) => a.sha256));
    expectExchangeSigned(m);
    expect(senderOf(m)).toMatch(/CN=portal/);

    // inline delivery of the same message (redelivered after the timeout)
    sim.setAttachmentDelivery('inline');
    clock += 31_000;
    const inline = await okno.poll('GetRequest');
    expect(inline.contentType).toMatch(/^text\/xml/);
    expect(inline.message!.attachments[0]!.bytes.equals(bin)).toBe(true);
    expectExchangeSigned(inline.message!);
  });

  it('an MTOM body whose xop:Include names a missing part is InvalidContent', async () => {
    const attachments = [{ contentId: 'a.bin', mimeType: 'application/octet-stream', content: Buffer.from([1, 2, 3]) }];
    const sent = await portal.sendRequest({ contentXml: permit('X'), attachments });
    sim.reset();
    const { body, contentType } = toMtom(sent.xml, attachments);
    const broken = body.toString('latin1').replace(/cid:part1\.a\.bin@test/, 'cid:missing@test');
    const r = await postTo(sim.endpoint, Buffer.from(broken, 'latin1'), { 'content-type': contentType, soapaction: 'urn:SendRequest' });
    expect(r.status).toBe(500);
    expect(faultOf(r.text).fault).toBe('InvalidContent');
    expect(r.text).toContain('cid:missing@test');
  });

  it('hostile MTOM: too many parts, no boundary, a truncated body → InvalidContent, nothing queued', async () => {
    const many = buildMtom('<r/>', Array.from({ length: 150 }, (_, i) => ({ contentId: `p${i}`, contentType: 'application/octet-stream', bytes: Buffer.from([i]) })));
    const r1 = await postTo(sim.endpoint, many.body, { 'content-type': many.contentType, soapaction: 'urn:SendRequest' });
    expect(faultOf(r1.text).fault).toBe('InvalidContent');
    expect(r1.text).toContain('more than 101 MIME parts');
    const r2 = await postTo(sim.endpoint, Buffer.from('--x\r\n\r\n<a/>'), { 'content-type': 'multipart/related; type="application/xop+xml"', soapaction: 'urn:SendRequest' });
    expect(r2.text).toContain('without a boundary parameter');
    const cut = many.body.subarray(0, 300);
    const r3 = await postTo(sim.endpoint, cut, { 'content-type': many.contentType, soapaction: 'urn:SendRequest' });
    expect(r3.status).toBe(500);
    expect(faultOf(r3.text).fault).toBe('InvalidContent');
    expect(sim.messages()).toEqual([]);
  });

  it('scripted failures: 503, SOAP faults, reset, per operation; down and up again', async () => {
    sim.failNext(1, 'http:503', 'GetRequest');
    sim.failNext(1, 'fault:StaleMessageId', 'SendRequest');
    const sent = await portal.sendRequest({ contentXml: permit('F') });
    expect(faultOf(sent.text).fault).toBe('StaleMessageId');
    expect((await okno.poll('GetRequest')).status).toBe(503);
    sim.failNext(1, 'fault:SMEVFailure');
    expect(faultOf((await okno.poll('GetRequest')).text).fault).toBe('SMEVFailure');
    sim.failNext(1, 'fault:SignatureVerificationFault', 'Ack');
    expect(faultOf((await okno.ack(uuidV1())).text)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    sim.failNext(1, 'reset');
    await expect(okno.poll('GetRequest')).rejects.toThrow();
    await sim.setDown(true);
    await expect(okno.poll('GetRequest')).rejects.toThrow();
    await sim.setDown(false);
    expect((await okno.poll('GetRequest')).message!.empty).toBe(true);
    expect(() => sim.failNext(1, 'http:500' as never)).toThrow(RangeError);
  });

  it.each(['1.2', '1.3'] as const)('speaks message-exchange %s: replies in the request\'s version, signatures verify', async (version) => {
    const p = new ExchangeClient(sim.endpoint, sampleSigner('portal'), version);
    const o = new ExchangeClient(sim.endpoint, sampleSigner('gateway'), version);
    const sent = await p.sendRequest({ contentXml: permit(version) });
    expect(sent.status).toBe(200);
    expect(sent.text).toContain(`message-exchange/types/${version}`);
    const m = (await o.poll('GetRequest')).message!;
    expect(m.version).toBe(version);
    expect(m.messageId).toBe(sent.messageId);
    expectExchangeSigned(m);
    expect(senderOf(m)).toMatch(/CN=portal/);
    expect((await o.ack(sent.messageId)).text).toContain(`<t:AckResponse xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/${version}">`);
  });

  it('file-store references: RefAttachmentHeaderList signed by the sender, FSAttachmentsList added by the exchange', async () => {
    const uuid = '04a5bc90-5e81-11e4-a9ff-d4c9eff07b77';
    const ref = `<b:RefAttachmentHeaderList><b:RefAttachmentHeader><b:uuid>${uuid}</b:uuid><b:Hash>VpT3sc999CJI8TVYX35ZZfXpc/dCWO5e1MgoUg8YiJA=</b:Hash><b:MimeType>image/jpeg</b:MimeType></b:RefAttachmentHeader></b:RefAttachmentHeaderList>`;
    const sent = await portal.sendRequest({ contentXml: permit('FS'), edit: (x) => x.replace('</t:SenderProvidedRequestData>', `${ref}</t:SenderProvidedRequestData>`) });
    expect(sent.status).toBe(200);
    expect(sim.message(sent.messageId)!.refAttachments).toEqual([{ uuid, mimeType: 'image/jpeg' }]);
    const m = (await okno.poll('GetRequest')).message!;
    expect(m.refAttachments).toEqual([{ uuid, hash: 'VpT3sc999CJI8TVYX35ZZfXpc/dCWO5e1MgoUg8YiJA=', mimeType: 'image/jpeg' }]);
    expect(m.fsAttachments).toHaveLength(1);
    expect(m.fsAttachments[0]).toMatchObject({ uuid, fileName: uuid });
    expect(m.fsAttachments[0]!.userName).toMatch(/^[\w-]{20}$/);
    expect(m.fsAttachments[0]!.password).toMatch(/^[\w-]{20}$/);
    expectExchangeSigned(m);
    expect(senderOf(m)).toMatch(/CN=portal/);
  });

  it('every kind of reply and fault is valid by the official message-exchange 1.1 XSDs (libxml2)', async () => {
    requireTool('/usr/bin/python3', ['-c', 'import lxml.etree'], 'python3-lxml');
    sim.setAttachmentDelivery('inline');
    const docs: Array<{ name: string; xml: string }> = [];
    const keep = (name: string, r: { text: string; status: number }) => {
      expect(r.status, name).toBe(200);
      docs.push({ name, xml: r.text });
    };
    keep('empty GetRequestResponse', await okno.poll('GetRequest'));
    keep('empty GetResponseResponse', await portal.poll('GetResponse'));
    keep('empty GetStatusResponse', await okno.getStatus());
    const uuid = '04a5bc90-5e81-11e4-a9ff-d4c9eff07b77';
    const sent = await portal.sendRequest({
      contentXml: permit('X'),
      attachments: [{ contentId: 'scan.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.4') }],
      edit: (x) => x.replace('</t:SenderProvidedRequestData>', `<b:RefAttachmentHeaderList><b:RefAttachmentHeader><b:uuid>${uuid}</b:uuid><b:Hash>AAAA</b:Hash><b:MimeType>image/jpeg</b:MimeType></b:RefAttachmentHeader></b:RefAttachmentHeaderList></t:SenderProvidedRequestData>`),
    });
    keep('SendRequestResponse', sent);
    const got = await okno.poll('GetRequest');
    keep('GetRequestResponse (attachment, file store)', got);
    keep('AckResponse', await okno.ack(sent.messageId));
    const to = textContent(child(got.message!.message!, 'ReplyTo'));
    const answered = await okno.sendResponse({ to, body: { kind: 'content', contentXml: answerXml('X') } });
    keep('SendResponseResponse', answered);
    keep('GetResponseResponse', await portal.poll('GetResponse'));
    keep('GetStatusResponse', await portal.getStatus());
    await portal.ack(answered.messageId);
    const rejected = await okno.sendResponse({ to, body: { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'нет' }] } });
    expect(rejected.status).toBe(200);
    keep('GetResponseResponse (rejection)', await portal.poll('GetResponse'));
    // faults: the detail element by the faults XSD
    const fault = (name: string, r: { text: string; status: number }) => {
      expect(r.status, name).toBe(500);
      expect(faultOf(r.text).fault, name).toBe(name);
      docs.push({ name, xml: r.text });
    };
    fault('StaleMessageId', await portal.sendRequest({ contentXml: permit('S'), messageId: v1At(Date.now() - 3 * 24 * 3600 * 1000) }));
    fault('MessageIsAlreadySent', await portal.sendRequest({ contentXml: permit('other'), messageId: sent.messageId }));
    fault('BusinessDataTypeIsNotSupported', await portal.sendRequest({ contentXml: '<x:Nobody xmlns:x="urn://nobody/1.0"/>' }));
    fault('TargetMessageIsNotFound', await okno.ack(uuidV1()));
    fault('SenderIsNotRegistered', await new ExchangeClient(sim.endpoint, issuedSigner('nobody').signer).getStatus());
    fault('SignatureVerificationFault', await new ExchangeClient(sim.endpoint, sampleSigner('untrusted')).getStatus());
    fault('InvalidContent', await okno.sendResponse({ to: 'nowhere', body: { kind: 'content', contentXml: answerXml('1') } }));
    sim.failNext(1, 'fault:SMEVFailure');
    fault('SMEVFailure', await okno.getStatus());
    // and one that is not valid, so the check can fail
    docs.push({ name: 'broken', xml: docs.find((d) => d.name === 'SendRequestResponse')!.xml.replace(/<t:MessageType>REQUEST<\/t:MessageType>/, '<t:MessageType>LETTER</t:MessageType>') });

    const xsd = path.join(projectRoot, 'wsdl/1.1/smev-message-exchange-types-1.1.xsd');
    const faultsXsd = path.join(projectRoot, 'wsdl/1.1/smev-message-exchange-faults-1.1.xsd');
    const out = await new Promise<string>((resolve, reject) => {
      const p = execFile('/usr/bin/python3', [path.join(projectRoot, 'test/interop/xsd_validate.py'), xsd, faultsXsd], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}: ${stderr}`)) : resolve(stdout)));
      p.stdin!.end(JSON.stringify(docs));
    });
    const results = JSON.parse(out) as Record<string, string[] | null>;
    const { broken, ...rest } = results;
    expect(Object.keys(rest)).toHaveLength(docs.length - 1);
    for (const [name, errors] of Object.entries(rest)) expect(errors, name).toBeNull();
    expect(broken!.join('\n')).toMatch(/MessageType.*LETTER/);
  });

  it('refuses non-POST and other paths like the other simulators', async () => {
    expect((await fetch(sim.endpoint)).status).toBe(405);
    expect((await fetch(`${sim.url}/other`, { method: 'POST', body: 'x' })).status).toBe(404);
    const garbage = await postTo(sim.endpoint, '<not-xml', { soapaction: 'urn:SendRequest' });
    expect(garbage.status).toBe(500);
    expect(faultOf(garbage.text).fault).toBe('InvalidContent');
  });

  it('registerSystem: a system registered at run time can send and poll; conflicts are refused', async () => {
    const extra = issuedSigner('late-registered');
    const NS = 'urn://okno/test/exchange/late/1.0.0';
    const client = new ExchangeClient(sim.endpoint, extra.signer);
    expect(faultOf((await client.poll('GetRequest')).text).fault).toBe('SenderIsNotRegistered');
    sim.registerSystem({ mnemonic: `late-${Date.now()}`, certificatePem: extra.certPem, provides: [NS] });
    expect((await client.poll('GetRequest')).message!.empty).toBe(true);
    const sent = await portal.sendRequest({ contentXml: `<l:Late xmlns:l="${NS}"/>` });
    expect(sent.status).toBe(200);
    expect((await client.poll('GetRequest')).message!.messageId).toBe(sent.messageId);
    expect(() => sim.registerSystem({ mnemonic: 'portal', certificatePem: extra.certPem })).toThrow(/already registered/);
    expect(() => sim.registerSystem({ mnemonic: 'again', certificatePem: pem('portal') })).toThrow(/share a certificate/);
    expect(() => sim.registerSystem({ mnemonic: 'bad name', certificatePem: pem('ca') })).toThrow(/mnemonic/);
    expect(() => sim.registerSystem({ mnemonic: 'rival', certificatePem: pem('ca'), provides: [PERMIT_NS] })).toThrow(/provided by both okno and rival/);
  });

  it('exposes its certificate (PEM) for the gateway\'s partner registry', () => {
    expect(sim.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(sim.certificatePem.replace(/-----[A-Z ]+-----|\s/g, '')).toBe(exchange.signer.certificate.der.toString('base64'));
  });
});

describe('npx okno simulate smev', () => {
  it('registers okno, agency and portal, routes a portal application to okno, signs with the certificate it wrote to --cert-out, stops on SIGTERM', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-smev-cli-'));
    const certOut = path.join(dir, 'exchange.crt.pem');
    const cli = spawnOkno(['simulate', 'smev', '--port', '0', '--cert-out', certOut], 15_000);
    const { child, exited, until } = cli;
    try {
      await until(/certificate \(SMEVSignature\): .+\n/);
      const endpoint = (await until(/listening on (http:\/\/127\.0\.0\.1:\d+\/ws\/smev3)/))[1]!;
      const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
      const kindergarten = catalogue.get('kindergarten-enrollment')!.request;
      expect(cli.out).toContain(`system okno: provides `);
      expect(cli.out).toMatch(new RegExp(`system okno: provides [^\\n]*${kindergarten.namespace.replace(/[./]/g, '\\$&')}`));
      const sent = await new ExchangeClient(endpoint, sampleSigner('portal')).sendRequest({ contentXml: kindergarten.toXml(serviceExample('kindergarten-enrollment')) });
      expect(sent.status).toBe(200);
      const m = (await new ExchangeClient(endpoint, sampleSigner('gateway')).poll('GetRequest')).message!;
      expect(m.messageId).toBe(sent.messageId);
      const v = verifySignature(m.doc, m.smevSignature!, m.message!, { trust });
      expect(v.valid).toBe(true);
      expect(v.details.certificate!.fingerprintSha256).toBe(parseCertificate(readFileSync(certOut, 'utf8')).fingerprintSha256);
      await until(new RegExp(`delivered {2}GetRequest {2}${sent.messageId} {2}portal → okno`));
      expect(cli.out).toMatch(new RegExp(`sent {2}SendRequest {2}${sent.messageId} {2}portal → okno`));
      const stranger = await new ExchangeClient(endpoint, sampleSigner('untrusted')).poll('GetRequest');
      expect(faultOf(stranger.text).fault).toBe('SignatureVerificationFault');
      // a registered type is validated by the catalogue's XSD
      const invalid = await new ExchangeClient(endpoint, sampleSigner('portal')).sendRequest({ contentXml: `<k:${kindergarten.rootElement} xmlns:k="${kindergarten.namespace}"/>` });
      expect(invalid.status).toBe(500);
      expect(faultOf(invalid.text).fault).toBe('InvalidContent');
      expect(invalid.text).toMatch(/not valid by the schema of kindergarten-enrollment/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(cli.out).toMatch(/stopped: 1 sent, 1 delivered \(0 again\), 0 acked, 2 faults/);
    expect(cli.err).toMatch(/refused {2}GetRequest {2}—  SignatureVerificationFault: /);
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('exits 2 on a bad --visibility-timeout', async () => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin/okno.js'), 'simulate', 'smev', '--port', '0', '--visibility-timeout', 'soon'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(2);
    expect(err).toMatch(/--visibility-timeout takes milliseconds/);
  });
});

