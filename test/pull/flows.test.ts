/**
 * Pull mode over real HTTP, every flow through the SMEV exchange simulator:
 * the city's query answered by the agency (GetResponse, correlated by
 * OriginalMessageId), the agency's query answered by the city (SendResponse
 * To = the ReplyTo the exchange gave), an MTOM attachment and file-store
 * references, and content the city cannot accept (RequestRejected back to the
 * sender through the exchange, then Ack).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDocument } from '../../src/signature/sign.js';
import { sendRequestEnvelope } from '../../src/soap/envelope-builder.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { postTo } from '../helpers/exchange.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, faultOf, OPS, postSoap, sampleSigner, serviceExample, signedSendRequest } from '../helpers/smev.js';

let world: PullWorld;
let gw: RunningGateway;

interface InboxItem { id: string; kind: string; messageId: string; requestId: string | null; partner: string; content: Record<string, unknown>; attachments: Array<{ id: string; sha256: string; size: number; transfer?: string; mimeType: string }>; exchangeFiles?: Array<Record<string, unknown>> }

async function inboxItem(messageId: string): Promise<InboxItem | undefined> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY });
  return ((await res.json()) as { items: InboxItem[] }).items.find((i) => i.messageId === messageId);
}

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const xmlOf = (service: string, part: 'request' | 'response' = 'request') => {
  const s = gw.gateway.catalogue.get(service)!;
  return (part === 'request' ? s.request : s.response!).toXml(serviceExample(service, part));
};

beforeAll(async () => {
  world = await startPullWorld();
  gw = await startGateway(world.env);
});

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
});

describe('queries in pull mode', () => {
  it("the city's query goes to the agency through the exchange; its answer comes back by GetResponse", async () => {
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract') }) });
    expect(created.status).toBe(202);
    const { id, messageId } = (await created.json()) as { id: string; messageId: string };
    // The agency takes it from its queue, verifies nothing here (the exchange did), answers To = ReplyTo.
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue');
    expect(delivered.messageId).toBe(messageId);
    const replyTo = textContent(childElements(delivered.message!).find((c) => c.localName === 'ReplyTo')!).trim();
    expect((await world.agency.ack(messageId)).status).toBe(200);
    const answered = await world.agency.sendResponse({ to: replyTo, body: { kind: 'content', contentXml: xmlOf('egrn-extract', 'response') } });
    expect(answered.status).toBe(200);

    const query = await eventually(async () => {
      const q = await json(await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY }));
      return q.state === 'answered' ? q : null;
    }, 'the query answered');
    expect(query.answer).toEqual(serviceExample('egrn-extract', 'response'));
    await world.sim.waitFor((s) => s.message(answered.messageId)?.state === 'acked');
    expect(world.sim.message(answered.messageId)).toMatchObject({ accepted: true, deliveries: 1 });
    const response = await inboxItem(answered.messageId);
    expect(response).toMatchObject({ kind: 'response', partner: 'agency' });
  });

  it("a rejection of the city's query (RequestRejected, no business element) ends it as rejected", async () => {
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'zags-birth-record', data: serviceExample('zags-birth-record') }) });
    const { id } = (await created.json()) as { id: string };
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue');
    await world.agency.ack(delivered.messageId!);
    const replyTo = textContent(childElements(delivered.message!).find((c) => c.localName === 'ReplyTo')!).trim();
    await world.agency.sendResponse({ to: replyTo, body: { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Запись не найдена' }] } });
    const query = await eventually(async () => {
      const q = await json(await fetch(`${gw.url}/api/v1/queries/${id}`, { headers: CITY }));
      return q.state === 'rejected' ? q : null;
    }, 'the query rejected');
    expect(query.rejections).toEqual([{ code: 'NO_DATA', description: 'Запись не найдена' }]);
  });

  it("the agency's query reaches the city by GetRequest; the city's answer goes back To = ReplyTo", async () => {
    const sent = await world.agency.sendRequest({ contentXml: xmlOf('advertising-permit-register-extract') });
    expect(sent.status).toBe(200);
    const item = await eventually(() => inboxItem(sent.messageId), 'the query in the inbox');
    expect(item).toMatchObject({ kind: 'query', partner: 'agency' });
    const data = serviceExample('advertising-permit-register-extract', 'response');
    const answer = await fetch(`${gw.url}/api/v1/requests/${item.requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    expect(answer.status).toBe(202);
    const got = await eventually(async () => {
      const p = await world.agency.poll('GetResponse');
      return p.message && !p.message.empty ? p.message : null;
    }, "the city's answer in the agency's response queue");
    expect(got.content?.localName).toBe(gw.gateway.catalogue.get('advertising-permit-register-extract')!.response!.rootElement);
    expect(textContent(childElements(got.message!).find((c) => c.localName === 'OriginalMessageId')!).trim()).toBe(sent.messageId);
    const request = await eventually(async () => {
      const r = await json(await fetch(`${gw.url}/api/v1/requests/${item.requestId}`, { headers: CITY }));
      return (r.delivery as { state: string } | null)?.state === 'delivered' ? r : null;
    }, 'the answer delivered');
    expect(request.state).toBe('answered');
  });
});

describe('attachments in pull mode', () => {
  it('an MTOM attachment is stored by SHA-256 and journaled; file-store references are recorded without their credentials', async () => {
    const content = Buffer.from('%PDF-1.4 план помещения\n'.repeat(200));
    const sent = await world.portal.sendRequest({ contentXml: xmlOf('dwelling-replanning'), attachments: [{ contentId: 'plan.pdf', mimeType: 'application/pdf', content }], mtom: true });
    expect(sent.status).toBe(200);
    const item = await eventually(() => inboxItem(sent.messageId), 'the application with its attachment');
    const sha256 = (await import('node:crypto')).createHash('sha256').update(content).digest('hex');
    expect(item.attachments).toEqual([expect.objectContaining({ contentId: 'plan.pdf', mimeType: 'application/pdf', size: content.length, sha256, transfer: 'mtom' })]);
    const stored = await fetch(`${gw.url}/api/v1/attachments/${item.attachments[0]!.id}`, { headers: CITY });
    expect(Buffer.from(await stored.arrayBuffer()).equals(content)).toBe(true);

    // A file in the exchange's file store: the sender signs RefAttachmentHeaderList, the exchange adds FSAttachmentsList.
    const messageId = uuidV1();
    const uuid = '0b5e2f5a-9b8e-11ef-8c3a-0242ac120002';
    const envelope = sendRequestEnvelope({ version: '1.1', messageId, contentXml: xmlOf('advertising-permit') }).replace(
      '</b:MessagePrimaryContent>',
      `</b:MessagePrimaryContent><b:RefAttachmentHeaderList><b:RefAttachmentHeader><b:uuid>${uuid}</b:uuid><b:Hash>c2hhMjU2LWhhc2g=</b:Hash><b:MimeType>application/pdf</b:MimeType></b:RefAttachmentHeader></b:RefAttachmentHeaderList>`,
    );
    const signed = await signDocument(envelope, { signer: sampleSigner('portal'), profile: 'smev' });
    expect((await postTo(world.sim.endpoint, signed, { soapaction: 'urn:SendRequest' })).status).toBe(200);
    // This registry names no file store for the exchange: the file stays pending (retried with backoff), saying why.
    const withRef = await eventually(async () => {
      const i = await inboxItem(messageId);
      return i?.exchangeFiles?.[0]?.reason ? i : null;
    }, 'the application with a file-store reference, its fetch attempted');
    expect(withRef.exchangeFiles).toEqual([
      { uuid, fileName: expect.any(String), mimeType: 'application/pdf', hash: 'c2hhMjU2LWhhc2g=', pkcs7Signature: 'absent', state: 'pending', attachmentId: null, size: null, sha256: null, via: null, reason: 'exchange smev has no fileStore in the partners file' },
    ]);
    expect(JSON.stringify(withRef)).not.toMatch(/Password|password/);
  });
});

describe('a pull-mode partner pushing to the gateway directly', () => {
  it('is refused with SenderIsNotRegistered: it is reached only through its exchange', async () => {
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
    const res = await postSoap(gw.url, xml);
    expect(res.status).toBe(500);
    expect(faultOf(res.body)).toMatchObject({ fault: 'SenderIsNotRegistered' });
    expect(faultOf(res.body).faultstring).toMatch(/pull mode \(through exchange smev\)/);
  });
});

describe('content the city cannot accept', () => {
  it('invalid content: journaled, RequestRejected to the sender through the exchange, then Ack', async () => {
    // Valid for the exchange (signed, routed by namespace), invalid against the service's XSD.
    const good = xmlOf('kindergarten-enrollment');
    const bad = good.replace(/<([A-Za-z0-9_]+:)?[A-Za-z]+>[^<]*<\/\1?[A-Za-z]+>/, '');
    expect(bad).not.toBe(good);
    const sent = await world.portal.sendRequest({ contentXml: bad });
    expect(sent.status).toBe(200);
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 10_000);
    expect(world.sim.message(sent.messageId)).toMatchObject({ accepted: true });
    expect(await inboxItem(sent.messageId)).toBeUndefined();

    const rejection = await eventually(async () => {
      const p = await world.portal.poll('GetResponse');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the RequestRejected in the portal\'s response queue');
    const data = rejection.senderData!;
    const rejected = childElements(data).find((c) => c.localName === 'RequestRejected')!;
    expect(textContent(childElements(rejected).find((c) => c.localName === 'RejectionReasonCode')!)).toBe('UNKNOWN_REQUEST_DESCRIPTION');
    expect(textContent(childElements(rejected).find((c) => c.localName === 'RejectionReasonDescription')!)).toMatch(/^InvalidContent: content of kindergarten-enrollment is invalid/);
    expect(textContent(childElements(rejection.message!).find((c) => c.localName === 'OriginalMessageId')!).trim()).toBe(sent.messageId);

    const journal = (await json(await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}`, { headers: OPS }))) as unknown as { items: Array<{ operation: string; succeeded: boolean; faultCode: string | null }> };
    expect(journal.items).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'GetRequest', succeeded: false, faultCode: 'InvalidContent' })]));
  });
});
