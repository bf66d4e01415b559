import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { signDocument } from '../../src/signature/sign.js';
import type { Signer } from '../../src/pki/signer.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { sendRequestEnvelope, sendResponseEnvelope, type ResponseBody } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { messageAccepted } from '../../src/soap/reply.js';
import type { JsonValue } from '../../src/store/types.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { spawnOkno } from '../helpers/cli-process.js';
import { faultOf, sampleSigner, serviceExample, serviceExamples } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet(splitPem(readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')));
const gatewayKey = sampleSigner('gateway');
const agencyKey = sampleSigner('agency');
const QUERIES = ['egrn-extract', 'zags-birth-record', 'egrul-extract', 'zags-rogdinf', 'fns-inn', 'pfr-snils', 'mvd-living-place', 'giszhkh-debt', 'rosreestr-egrn-land'] as const;
const CITY_QUERY = 'advertising-permit-register-extract';

function find(el: XmlElement, localName: string): XmlElement | null {
  for (const c of childElements(el)) {
    if (c.localName === localName) return c;
    const deeper = find(c, localName);
    if (deeper) return deeper;
  }
  return null;
}

function textOf(el: XmlElement, localName: string): string | null {
  const found = find(el, localName);
  return found ? textContent(found).trim() : null;
}

/** A reply's MessageMetadata, after checking the SMEVSignature over it against the sample CA. */
function verifiedReply(body: string): { messageId: string; status: string; signer: string } {
  const doc = parseXml(body);
  const metadata = find(doc.root, 'MessageMetadata')!;
  const signature = find(find(doc.root, 'SMEVSignature')!, 'Signature')!;
  const v = verifySignature(doc, signature, metadata, { trust });
  expect(v.message).toMatch(/^valid/);
  return { messageId: textOf(metadata, 'MessageId')!, status: textOf(metadata, 'Status')!, signer: v.details.certificate!.subject };
}

/** A signed SendRequest of the city for one service, built as the gateway builds it (smev profile, the agency's registered one). */
async function query(service: string, o: { content?: JsonValue; contentXml?: string; messageId?: string; signer?: Signer; edit?: (xml: string) => string } = {}) {
  const messageId = o.messageId ?? uuidV1();
  const contentXml = o.contentXml ?? catalogue.get(service)!.request.toXml(o.content ?? serviceExample(service));
  const signed = await signDocument(sendRequestEnvelope({ version: '1.1', messageId, contentXml }), { signer: o.signer ?? gatewayKey, profile: 'smev' });
  return { xml: o.edit ? o.edit(signed) : signed, messageId };
}

async function post(url: string, body: string, soapAction = 'urn:SendRequest') {
  const res = await fetch(`${url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: soapAction }, body });
  return { status: res.status, body: await res.text() };
}

interface Received {
  body: string;
  soapAction: string | undefined;
  at: number;
  operation: string;
}

/** A stand-in for the gateway: records what the agency POSTs and answers it signed with the gateway's key. */
class StandIn {
  readonly received: Received[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const operation = /<(?:\w+:)?(SendRequestRequest|SendResponseRequest)\b/.exec(body)?.[1] ?? 'unknown';
        const soapAction = req.headers.soapaction as string | undefined;
        this.received.push({ body, soapAction, at: Date.now(), operation });
        const messageId = /<(?:\w+:)?MessageID>([^<]+)</.exec(body)?.[1] ?? '';
        void messageAccepted(operation === 'SendRequestRequest' ? 'SendRequestResponse' : 'SendResponseResponse', '1.1', {
          messageId,
          messageType: operation === 'SendRequestRequest' ? 'REQUEST' : 'RESPONSE',
          sender: { mnemonic: 'AGENCY', name: 'agency' },
          recipient: { mnemonic: 'okno', name: 'Okno' },
          sendingTimestamp: new Date(),
          destinationName: 'okno',
          contentTypeName: 'test',
          interactionType: 'OIV2OIV',
          status: operation === 'SendRequestRequest' ? 'requestIsQueued' : 'responseIsDelivered',
        }, { signer: gatewayKey, profile: 'smev' }).then((reply) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(reply));
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  responses(to?: string): Received[] {
    return this.received.filter((r) => r.operation === 'SendResponseRequest' && (to === undefined || r.body.includes(`<t:To>${to}</t:To>`)));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

/** What a SendResponse from the agency says, after verifying the agency's signature with the sample CA. */
function readResponse(body: string) {
  const doc = parseXml(body);
  const v = verifySmevEnvelope(doc, { trust });
  expect(v.caller.message).toMatch(/^valid/);
  expect(v.valid).toBe(true);
  expect(v.parts!.operation.localName).toBe('SendResponseRequest');
  const signed = v.caller.signedElement!;
  const content = find(signed, 'MessagePrimaryContent');
  return {
    signer: v.caller.details.certificate!.subject,
    messageId: textOf(signed, 'MessageID')!,
    to: textOf(signed, 'To')!,
    content: content ? childElements(content)[0]! : null,
    rejection: find(signed, 'RequestRejected') ? { code: textOf(signed, 'RejectionReasonCode'), description: textOf(signed, 'RejectionReasonDescription') } : null,
    status: find(signed, 'RequestStatus') ? { code: textOf(signed, 'StatusCode'), description: textOf(signed, 'StatusDescription') } : null,
  };
}

function responseJson(service: string, el: XmlElement | null): JsonValue {
  const def = catalogue.get(service)!.response!;
  expect(el).not.toBeNull();
  expect([el!.namespaceURI, el!.localName]).toEqual([def.namespace, def.rootElement]);
  expect(def.validateXml(el!)).toEqual([]);
  return def.toJson(el!);
}

describe('AgencySimulator: the agency answering the city\'s queries', () => {
  const gw = new StandIn();
  let sim: AgencySimulator;

  beforeAll(async () => {
    await gw.start();
    sim = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayKey.certificate.fingerprintSha256, signer: agencyKey, catalogue, gatewayUrl: gw.url, answerAfterMs: 20 });
  });
  afterAll(async () => {
    await sim.close();
    await gw.close();
  });
  afterEach(async () => {
    await sim.setDown(false);
    sim.reset();
    gw.received.length = 0;
  });

  it('listens on loopback, serves POST /ws/smev3 only, and answers the agency partner\'s services by default', async () => {
    expect(sim.endpoint).toBe(`http://127.0.0.1:${sim.port}/ws/smev3`);
    expect((await fetch(sim.endpoint)).status).toBe(405);
    expect((await fetch(`${sim.url}/other`, { method: 'POST', body: 'x' })).status).toBe(404);
    expect(sim.answeredServices.sort()).toEqual([...QUERIES].sort());
    expect(sim.gatewayEndpointUrl).toBe(`${gw.url}/ws/smev3`);
  });

  for (const service of QUERIES) {
    it(`${service}: a signed query gets a signed SendRequestResponse at once, then a signed SendResponse with valid content To the query`, async () => {
      const { xml, messageId } = await query(service);
      const res = await post(sim.url, xml);
      expect(res.status).toBe(200);
      expect(res.body).toContain('SendRequestResponse');
      expect(verifiedReply(res.body)).toEqual({ messageId, status: 'requestIsQueued', signer: agencyKey.certificate.subject });
      expect(sim.queries()).toMatchObject([{ messageId, service, content: serviceExample(service), signerSubject: gatewayKey.certificate.subject, mode: { kind: 'answer' } }]);

      await sim.waitFor((s) => s.answers().length === 1, 3000);
      const [sent] = gw.responses(messageId);
      expect(sent?.soapAction).toBe('urn:SendResponse');
      const r = readResponse(sent!.body);
      expect(r.signer).toBe(agencyKey.certificate.subject);
      expect(r.to).toBe(messageId);
      expect(r.messageId).not.toBe(messageId);
      expect(r.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-/);
      expect(responseJson(service, r.content)).toEqual(serviceExamples(service, 'response')[0]);

      const [answer] = sim.answers();
      expect(answer).toMatchObject({ service, to: messageId, messageId: r.messageId, kind: 'content', fixture: 'example.response.json', repeat: false, httpStatus: 200 });
      expect(answer!.envelope).toBe(sent!.body);
      expect(verifiedReply(answer!.replyBody)).toMatchObject({ messageId: r.messageId, status: 'responseIsDelivered' });
    });
  }

  it('picks the fixture by the query: a matching example, else the service\'s not-found one, else the first', async () => {
    expect(sim.fixtureFor('egrn-extract', { cadastralNumber: '38:36:000021:4412' })).toMatchObject({ file: 'example.response.json', matched: true });
    expect(sim.fixtureFor('egrul-extract', { inn: '3808201234' })).toMatchObject({ file: 'example.response.json', matched: true });
    expect(sim.fixtureFor('egrul-extract', { ogrn: '1027700132195' })).toMatchObject({ file: 'example.response.json', matched: false });

    const other = { child: { lastName: 'Иванова', firstName: 'Анна' }, birthDate: '2022-01-01', certificate: { series: 'IV-СТ', number: '654321' } };
    const { xml, messageId } = await query('zags-birth-record', { content: other });
    expect((await post(sim.url, xml)).status).toBe(200);
    await sim.waitFor((s) => s.answers().length === 1, 3000);
    const r = readResponse(gw.responses(messageId)[0]!.body);
    expect(responseJson('zags-birth-record', r.content)).toEqual({ notFound: { reason: 'Запись акта о рождении по указанным сведениям не найдена' } });
    expect(sim.answers()[0]).toMatchObject({ fixture: 'example.response.not-found.json' });
  });

  it('respondWith scripts the content of a service\'s answers', async () => {
    const content = { ...(serviceExample('egrul-extract', 'response') as Record<string, JsonValue>), inn: '7707083893', status: 'в стадии ликвидации' };
    sim.respondWith('egrul-extract', (q) => ({ ...content, inn: (q.content as { inn?: string }).inn ?? content.inn }));
    const { xml, messageId } = await query('egrul-extract', { content: { inn: '7707083893' } });
    await post(sim.url, xml);
    await sim.waitFor((s) => s.answers().length === 1, 3000);
    expect(responseJson('egrul-extract', readResponse(gw.responses(messageId)[0]!.body).content)).toMatchObject({ inn: '7707083893', status: 'в стадии ликвидации' });
    expect(sim.answers()[0]?.fixture).toBeNull();
    expect(() => sim.respondWith('egrul-extract', { nonsense: true })).toThrow(RangeError);
  });

  it('reject mode: the answer is RequestRejected with the code and description', async () => {
    sim.mode('egrn-extract', { kind: 'reject', code: 'NO_DATA', description: 'Объект не найден' });
    const { xml, messageId } = await query('egrn-extract');
    expect((await post(sim.url, xml)).status).toBe(200);
    await sim.waitFor((s) => s.answers().length === 1, 3000);
    const r = readResponse(gw.responses(messageId)[0]!.body);
    expect(r).toMatchObject({ to: messageId, content: null, rejection: { code: 'NO_DATA', description: 'Объект не найден' } });
    expect(sim.answers()[0]).toMatchObject({ kind: 'rejected', rejection: { code: 'NO_DATA' }, httpStatus: 200 });
  });

  it('late mode: the answer arrives no sooner than the delay; other services are not affected', async () => {
    sim.mode('egrul-extract', { kind: 'late', delayMs: 400 });
    const late = await query('egrul-extract');
    const started = Date.now();
    expect((await post(sim.url, late.xml)).status).toBe(200);
    const prompt = await query('egrn-extract');
    await post(sim.url, prompt.xml);
    await sim.waitFor((s) => s.answers().some((a) => a.to === prompt.messageId) && s.pending === 1, 3000);
    expect(gw.responses(late.messageId)).toEqual([]);
    await sim.waitFor((s) => s.answers().some((a) => a.to === late.messageId), 3000);
    expect(gw.responses(late.messageId)[0]!.at - started).toBeGreaterThanOrEqual(400);
  });

  it('silent mode: the query is accepted and recorded, and nothing is sent', async () => {
    sim.mode('*', { kind: 'silent' });
    const { xml, messageId } = await query('zags-birth-record');
    const res = await post(sim.url, xml);
    expect(verifiedReply(res.body).status).toBe('requestIsQueued');
    await new Promise((r) => setTimeout(r, 400));
    expect(sim.queries().map((q) => q.messageId)).toEqual([messageId]);
    expect(sim.answers()).toEqual([]);
    expect(gw.received).toEqual([]);
    expect(sim.pending).toBe(0);
  });

  it('status-then-answer: a RequestStatus first, then the content, both To the query', async () => {
    sim.mode('egrn-extract', { kind: 'status-then-answer', delayMs: 100, code: 3, description: 'Запрос в работе' });
    const { xml, messageId } = await query('egrn-extract');
    await post(sim.url, xml);
    await sim.waitFor((s) => s.answers().length === 2, 3000);
    const [status, content] = gw.responses(messageId).map((r) => readResponse(r.body));
    expect(status).toMatchObject({ to: messageId, content: null, status: { code: '3', description: 'Запрос в работе' } });
    expect(responseJson('egrn-extract', content!.content)).toEqual(serviceExample('egrn-extract', 'response'));
    expect(status!.messageId).not.toBe(content!.messageId);
    expect(sim.answers().map((a) => a.kind)).toEqual(['status', 'content']);
  });

  it('duplicate-answer: the same SendResponse envelope is sent twice', async () => {
    sim.mode('egrul-extract', { kind: 'duplicate-answer' });
    const { xml, messageId } = await query('egrul-extract');
    await post(sim.url, xml);
    await sim.waitFor((s) => s.answers().length === 2, 3000);
    const [first, second] = gw.responses(messageId);
    expect(second!.body).toBe(first!.body);
    expect(sim.answers().map((a) => a.repeat)).toEqual([false, true]);
    expect(new Set(sim.answers().map((a) => a.messageId)).size).toBe(1);
  });

  it('fault mode: the SendRequest itself is refused with the SOAP fault, not recorded, never answered', async () => {
    sim.mode('egrn-extract', { kind: 'fault', fault: 'SMEVFailure' });
    sim.mode('zags-birth-record', { kind: 'fault', fault: 'InvalidContent' });
    const failure = await post(sim.url, (await query('egrn-extract')).xml);
    expect(failure.status).toBe(500);
    expect(faultOf(failure.body).fault).toBe('SMEVFailure');
    expect(failure.body).toContain('<faultcode>soap:Server</faultcode>');
    const invalid = await post(sim.url, (await query('zags-birth-record')).xml);
    expect([invalid.status, faultOf(invalid.body).fault]).toEqual([500, 'InvalidContent']);
    await new Promise((r) => setTimeout(r, 150));
    expect(sim.queries()).toEqual([]);
    expect(gw.received).toEqual([]);
    expect(() => sim.mode('egrn-extract', { kind: 'fault', fault: 'Other' as never })).toThrow(RangeError);
    expect(() => sim.mode('elk-order-status', { kind: 'silent' })).toThrow(RangeError);
  });

  it('the same query again gets the first reply and no second answer; other content under its MessageID is MessageIsAlreadySent', async () => {
    const first = await query('egrn-extract');
    const a = await post(sim.url, first.xml);
    const again = await query('egrn-extract', { messageId: first.messageId });
    const b = await post(sim.url, again.xml);
    expect(b).toEqual(a);
    expect(sim.duplicates).toBe(1);
    const other = await query('egrn-extract', { messageId: first.messageId, content: { cadastralNumber: '38:36:000021:1' } });
    const c = await post(sim.url, other.xml);
    expect([c.status, faultOf(c.body).fault]).toEqual([500, 'MessageIsAlreadySent']);
    await sim.waitFor((s) => s.answers().length === 1, 3000);
    await new Promise((r) => setTimeout(r, 150));
    expect(sim.queries()).toHaveLength(1);
    expect(gw.responses()).toHaveLength(1);
  });

  it('a tampered query is refused with SignatureVerificationFault', async () => {
    const { xml } = await query('egrn-extract', { edit: (x) => x.replace('38:36:000021:4412', '38:36:000021:4413') });
    const res = await post(sim.url, xml);
    expect(res.status).toBe(500);
    expect(faultOf(res.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    expect(sim.queries()).toEqual([]);
  });

  it('a query signed by another certificate than the expected gateway\'s, an untrusted one or none is refused', async () => {
    const byPortal = await post(sim.url, (await query('egrn-extract', { signer: sampleSigner('portal') })).xml);
    expect(faultOf(byPortal.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    expect(faultOf(byPortal.body).faultstring).toMatch(/not by the expected certificate/);
    const untrusted = await post(sim.url, (await query('egrn-extract', { signer: sampleSigner('untrusted') })).xml);
    expect(faultOf(untrusted.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    const unsigned = await post(sim.url, sendRequestEnvelope({ version: '1.1', messageId: uuidV1(), contentXml: catalogue.get('egrn-extract')!.request.toXml(serviceExample('egrn-extract')) }));
    expect(faultOf(unsigned.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'NoSignatureFound' });
    expect(sim.queries()).toEqual([]);
  });

  it('content it does not answer, or that is not valid, or a wrong SOAPAction is refused', async () => {
    const notOurs = await post(sim.url, (await query(CITY_QUERY)).xml);
    expect(faultOf(notOurs.body).fault).toBe('BusinessDataTypeIsNotSupported');
    const invalid = catalogue.get('egrn-extract')!.request.toXml(serviceExample('egrn-extract')).replace('38:36:000021:4412', 'not-a-number');
    const bad = await post(sim.url, (await query('egrn-extract', { contentXml: invalid })).xml);
    expect(faultOf(bad.body).fault).toBe('InvalidContent');
    expect(bad.body).toContain('CadastralNumber');
    const action = await post(sim.url, (await query('egrn-extract')).xml, 'urn:SendResponse');
    expect(faultOf(action.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'PoorSOAPEnvelopeFormat' });
    expect(faultOf((await post(sim.url, '<soap:Envelope')).body).fault).toBe('InvalidContent');
    expect(sim.queries()).toEqual([]);
  });

  it('without a gateway URL an answer is recorded as not delivered; setGatewayUrl fixes it', async () => {
    const lone = await AgencySimulator.start({ trust, signer: agencyKey, catalogue, answerAfterMs: 0 });
    try {
      const first = await query('egrn-extract');
      expect((await post(lone.url, first.xml)).status).toBe(200);
      await lone.waitFor((s) => s.answers().length === 1, 3000);
      expect(lone.answers()[0]).toMatchObject({ httpStatus: null, error: expect.stringMatching(/no gateway URL/) });
      lone.setGatewayUrl(`${gw.url}/ws/smev3`);
      const second = await query('egrn-extract');
      await post(lone.url, second.xml);
      await lone.waitFor((s) => s.answers().length === 2, 3000);
      expect(lone.answers()[1]).toMatchObject({ to: second.messageId, httpStatus: 200 });
      expect(() => lone.setGatewayUrl('ftp://x')).toThrow(RangeError);
    } finally {
      await lone.close();
    }
  });

  it('setDown refuses connections on the same port; close cancels scheduled answers', async () => {
    await sim.setDown(true);
    const refused = await post(sim.url, (await query('egrn-extract')).xml).catch((e: Error & { cause?: { code?: string } }) => e);
    expect((refused as Error & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    await sim.setDown(false);

    const other = await AgencySimulator.start({ trust, signer: agencyKey, catalogue, gatewayUrl: gw.url });
    other.mode('*', { kind: 'late', delayMs: 300 });
    await post(other.url, (await query('egrul-extract')).xml);
    expect(other.pending).toBe(1);
    await other.close();
    expect(other.pending).toBe(0);
    await new Promise((r) => setTimeout(r, 450));
    expect(gw.received).toEqual([]);
    expect(other.answers()).toEqual([]);
  });

  describe('the agency asks the city', () => {
    const content = serviceExamples(CITY_QUERY)[0]!;

    /** The city's SendResponse to the agency, signed by the gateway. */
    async function cityAnswer(to: string, body: ResponseBody, o: { messageId?: string; signer?: Signer } = {}) {
      const messageId = o.messageId ?? uuidV1();
      const xml = await signDocument(sendResponseEnvelope({ version: '1.1', messageId, to, body }), { signer: o.signer ?? gatewayKey, profile: 'smev' });
      return { xml, messageId };
    }
    const answerXml = catalogue.get(CITY_QUERY)!.response!.toXml(serviceExample(CITY_QUERY, 'response'));

    it('askCity sends the gateway a signed SendRequest for advertising-permit-register-extract', async () => {
      const asked = await sim.askCity(CITY_QUERY, content);
      expect(asked).toMatchObject({ service: CITY_QUERY, content, httpStatus: 200 });
      expect(verifiedReply(asked.replyBody)).toMatchObject({ messageId: asked.messageId, status: 'requestIsQueued' });
      const [got] = gw.received;
      expect(got).toMatchObject({ operation: 'SendRequestRequest', soapAction: 'urn:SendRequest' });
      const doc = parseXml(got!.body);
      const v = verifySmevEnvelope(doc, { trust });
      expect(v.valid).toBe(true);
      expect(v.caller.details.certificate!.subject).toBe(agencyKey.certificate.subject);
      const signed = v.caller.signedElement!;
      expect(textOf(signed, 'MessageID')).toBe(asked.messageId);
      const el = childElements(find(signed, 'MessagePrimaryContent')!)[0]!;
      const def = catalogue.get(CITY_QUERY)!.request;
      expect([el.namespaceURI, el.localName]).toEqual([def.namespace, def.rootElement]);
      expect(def.validateXml(el)).toEqual([]);
      expect(def.toJson(el)).toEqual(content);
      expect(sim.cityQueries()).toHaveLength(1);
      await expect(sim.askCity('egrn-extract', serviceExample('egrn-extract'))).rejects.toThrow(/not a query the city answers/);
      await expect(sim.askCity(CITY_QUERY, { criteria: {} })).rejects.toThrow(RangeError);
    });

    it('the city\'s SendResponse To that query is recorded and answered with a signed SendResponseResponse; once', async () => {
      const asked = await sim.askCity(CITY_QUERY, content);
      const interim = await cityAnswer(asked.messageId, { kind: 'status', code: 2, description: 'В работе' });
      expect((await post(sim.url, interim.xml, 'urn:SendResponse')).status).toBe(200);
      const answer = await cityAnswer(asked.messageId, { kind: 'content', contentXml: answerXml });
      const res = await post(sim.url, answer.xml, 'urn:SendResponse');
      expect(res.status).toBe(200);
      expect(res.body).toContain('SendResponseResponse');
      expect(verifiedReply(res.body)).toEqual({ messageId: answer.messageId, status: 'responseIsDelivered', signer: agencyKey.certificate.subject });
      expect(sim.cityResponses()).toMatchObject([
        { messageId: interim.messageId, to: asked.messageId, kind: 'status', status: { code: 2, description: 'В работе' } },
        { messageId: answer.messageId, to: asked.messageId, service: CITY_QUERY, kind: 'content', content: serviceExample(CITY_QUERY, 'response'), signerSubject: gatewayKey.certificate.subject },
      ]);

      // The same message again: the first reply. A second, different answer: refused.
      const again = await post(sim.url, answer.xml, 'urn:SendResponse');
      expect(again).toEqual(res);
      expect(sim.cityDuplicates).toBe(1);
      const second = await cityAnswer(asked.messageId, { kind: 'rejected', rejections: [{ code: 'FAILURE', description: 'x' }] });
      expect(faultOf((await post(sim.url, second.xml, 'urn:SendResponse')).body).fault).toBe('MessageIsAlreadySent');
      expect(sim.cityResponses()).toHaveLength(2);
    });

    it('a rejection is recorded; an answer to no query of the agency, or not signed by the gateway, is refused', async () => {
      const asked = await sim.askCity(CITY_QUERY, content);
      const rejected = await cityAnswer(asked.messageId, { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Разрешений нет' }] });
      expect((await post(sim.url, rejected.xml, 'urn:SendResponse')).status).toBe(200);
      expect(sim.cityResponses()[0]).toMatchObject({ kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Разрешений нет' }] });

      const stray = await cityAnswer(uuidV1(), { kind: 'content', contentXml: answerXml });
      expect(faultOf((await post(sim.url, stray.xml, 'urn:SendResponse')).body).fault).toBe('RequestIsNotFound');
      const other = await sim.askCity(CITY_QUERY, content);
      const byPortal = await cityAnswer(other.messageId, { kind: 'content', contentXml: answerXml }, { signer: sampleSigner('portal') });
      expect(faultOf((await post(sim.url, byPortal.xml, 'urn:SendResponse')).body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
      const wrongContent = await cityAnswer(other.messageId, { kind: 'content', contentXml: catalogue.get('egrn-extract')!.response!.toXml(serviceExample('egrn-extract', 'response')) });
      expect(faultOf((await post(sim.url, wrongContent.xml, 'urn:SendResponse')).body).fault).toBe('BusinessDataTypeIsNotSupported');
      expect(sim.cityResponses()).toHaveLength(1);
    });

    it('waitFor resolves when the city answers and rejects after its timeout', async () => {
      const asked = await sim.askCity(CITY_QUERY, content);
      const waiting = sim.waitFor((s) => s.cityResponses().some((r) => r.to === asked.messageId), 2000);
      const answer = await cityAnswer(asked.messageId, { kind: 'content', contentXml: answerXml });
      await post(sim.url, answer.xml, 'urn:SendResponse');
      await waiting;
      await expect(sim.waitFor((s) => s.cityResponses().length > 5, 50)).rejects.toThrow(/not met within 50 ms/);
    });
  });
});

describe('npx okno simulate agency', () => {
  it('runs in the foreground, prints a line per query received and answer sent, stops on SIGTERM', async () => {
    const gw = new StandIn();
    await gw.start();
    const cli = spawnOkno(['simulate', 'agency', '--port', '0', '--gateway', gw.url, '--expect-cert', 'certs-sample/gateway.crt.pem', '--reject', 'egrul-extract', '--late', 'zags-birth-record:200']);
    const { child, exited, until } = cli;
    try {
      const base = (await until(/listening on (http:\/\/127\.0\.0\.1:\d+)\/ws\/smev3/))[1]!;
      const egrn = await query('egrn-extract');
      expect((await post(base, egrn.xml)).status).toBe(200);
      await until(new RegExp(`query {2}egrn-extract {2}${egrn.messageId} {2}accepted \\(answer\\)`));
      await until(new RegExp(`answer {2}egrn-extract {2}\\S+ {2}to ${egrn.messageId} {2}content \\(example.response.json\\) {2}gateway HTTP 200`));
      const egrul = await query('egrul-extract');
      await post(base, egrul.xml);
      await until(new RegExp(`to ${egrul.messageId} {2}rejected NO_DATA {2}gateway HTTP 200`));
      const zags = await query('zags-birth-record');
      await post(base, zags.xml);
      await until(new RegExp(`${zags.messageId} {2}accepted \\(late 200 ms\\)`));
      await until(new RegExp(`to ${zags.messageId} {2}content`));
      const byPortal = await post(base, (await query('egrn-extract', { signer: sampleSigner('portal') })).xml);
      expect(byPortal.status).toBe(500);
      expect(gw.responses()).toHaveLength(3);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    await gw.close();
    expect(cli.out).toMatch(/stopped: 3 queries, 3 answers sent, 0 duplicates/);
    expect(cli.err).toMatch(/refused: SignatureVerificationFault/);
  }, 20_000);

  it('exits 2 without --gateway or with a malformed --late', async () => {
    for (const args of [['simulate', 'agency'], ['simulate', 'agency', '--gateway', 'http://127.0.0.1:1', '--late', 'egrn-extract']]) {
      const child = spawn(process.execPath, [path.join(projectRoot, 'bin/okno.js'), ...args], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
      expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(2);
      expect(err).toMatch(/usage: okno simulate portal\|agency\|smev .* \| simulate agency --gateway URL/);
    }
  });
});
