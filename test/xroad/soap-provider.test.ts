/**
 * POST /ws/xroad on a real gateway (real Redis, a partner registry naming the
 * gateway as an X-Road subsystem): every fault case of the issue, an
 * application answered with its receipt, a query held until the city answers
 * through POST /api/v1/requests/{id}/response, the wait running out, a repeat
 * of the same id, and the store down (a fault, nothing answered as success).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalRecord } from '../../src/journal/records.js';
import { parseXml } from '../../src/xml/parser.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { opsEvents, type MessageEvent } from '../../src/events/messages.js';
import { parseMember, parseService } from '../../src/registry/xroad-members.js';
import { readXRoadResponse, xroadRequestEnvelope } from '../../src/xroad/soap-request.js';
import { readInbox } from '../helpers/city.js';
import { journalRecords } from '../helpers/flow-context.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, serviceExample, serviceExamples } from '../helpers/smev.js';
import { APPLICATION, DMS, NOSY, QUERY, SELF, postXRoad, wrapped, writeXRoadPartners, xroadFault, xroadRequest } from '../helpers/xroad-provider.js';

const WAIT_S = 3;
let redis: RedisTestServer;
let gw: RunningGateway;
let n = 0;
const nextId = () => `3f1c1a2e-0000-4000-8000-${String(++n).padStart(12, '0')}`;

beforeAll(async () => {
  redis = await startRedisServer({ appendonly: true });
  gw = await startGateway({ REDIS_URL: redis.url, PARTNERS_FILE: writeXRoadPartners(), XROAD_ANSWER_WAIT_S: String(WAIT_S) });
});
afterAll(async () => {
  await gw?.close();
  await redis?.dispose();
});

function applicationBody(code = APPLICATION): string {
  const service = gw.gateway.catalogue.get(APPLICATION)!;
  return wrapped(code, service.request.toXml(serviceExample(APPLICATION)));
}

function queryBody(): string {
  const service = gw.gateway.catalogue.get(QUERY)!;
  return wrapped(QUERY, service.request.toXml(serviceExample(QUERY)));
}

async function records(): Promise<Array<JournalRecord & { requestText: string | null; responseText: string | null }>> {
  return journalRecords(gw.gateway.store);
}

/** The header elements of an envelope as written (their source text), in order. */
function headerTexts(xml: string): string[] {
  const doc = parseXml(xml);
  const header = childElements(doc.root).find((c) => c.localName === 'Header')!;
  return childElements(header).map((el) => `{${el.namespaceURI}}${el.localName}=${textContent(el).replace(/\s+/g, '')}`);
}

describe('faults (Annex D shape), each journaled with the request', () => {
  const cases: Array<[string, string, () => string]> = [
    ['missing xrd:client', 'Client.MissingHeaderField', () => xroadRequest({ code: APPLICATION, id: nextId(), omit: ['client'], body: applicationBody() })],
    ['missing xrd:id', 'Client.MissingHeaderField', () => xroadRequest({ code: APPLICATION, id: nextId(), omit: ['id'], body: applicationBody() })],
    ['missing xrd:protocolVersion', 'Client.MissingHeaderField', () => xroadRequest({ code: APPLICATION, id: nextId(), omit: ['protocolVersion'], body: applicationBody() })],
    ['missing xrd:service', 'Client.MissingHeaderField', () => xroadRequest({ code: APPLICATION, id: nextId(), omit: ['service'], body: applicationBody() })],
    ['a header twice', 'Client.DuplicateHeaderField', () => xroadRequest({ code: APPLICATION, id: nextId(), extraHeaders: '<xrd:id>again</xrd:id>', body: applicationBody() })],
    ['wrong protocolVersion', 'Client.InvalidProtocolVersion', () => xroadRequest({ code: APPLICATION, id: nextId(), protocolVersion: '3.1', body: applicationBody() })],
    ['client objectType SERVICE', 'Client.InvalidClientIdentifier', () => xroadRequest({ code: APPLICATION, id: nextId(), clientObjectType: 'SERVICE', body: applicationBody() })],
    ['unknown service code', 'Client.UnknownService', () => xroadRequest({ code: 'noSuchService', id: nextId(), body: wrapped('noSuchService', '<x/>') })],
    ['another provider', 'Client.UnknownService', () => xroadRequest({ code: APPLICATION, service: `DEV/GOV/99999999/other/${APPLICATION}/v1`, id: nextId(), body: applicationBody() })],
    ['unknown client', 'Client.UnknownMember', () => xroadRequest({ code: APPLICATION, client: 'DEV/GOV/11111111/stranger', id: nextId(), body: applicationBody() })],
    ['unauthorised client', 'Client.AccessDenied', () => xroadRequest({ code: APPLICATION, client: NOSY, id: nextId(), body: applicationBody() })],
    ['bad body: content the schema refuses', 'Client.InvalidBody', () => xroadRequest({ code: APPLICATION, id: nextId(), body: wrapped(APPLICATION, gw.gateway.catalogue.get(APPLICATION)!.request.toXml(serviceExample(APPLICATION)).replace(/<([A-Za-z0-9_:]+)([^>]*)>([^<]+)<\//, '<$1$2>$3<Unexpected/></')) })],
    ['bad body: wrapper not named like the code', 'Client.InvalidBody', () => xroadRequest({ code: APPLICATION, id: nextId(), body: wrapped('somethingElse', '<x/>') })],
    ['bad body: two elements in Body', 'Client.InvalidBody', () => xroadRequest({ code: APPLICATION, id: nextId(), body: applicationBody() + applicationBody() })],
    ['not SOAP', 'Client.InvalidSoap', () => '<?xml version="1.0"?><hello/>'],
    ['not XML', 'Client.InvalidXml', () => '<SOAP-ENV:Envelope'],
    ['a DTD', 'Client.InvalidXml', () => `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>${xroadRequest({ code: APPLICATION, id: nextId(), body: applicationBody() }).replace(/^<\?xml[^>]*\?>\s*/, '')}`],
  ];

  it.each(cases)('%s → %s', async (_what, faultcode, request) => {
    const before = (await records()).length;
    const body = request();
    const res = await postXRoad(gw.url, body);
    expect(res.status, res.body).toBe(500);
    expect(xroadFault(res.body)?.faultcode, res.body).toBe(faultcode);
    // Annex D: faultactor and a faultDetail with the correlation id.
    expect(res.body).toMatch(/<faultactor><\/faultactor><detail><faultDetail xmlns="">[^<]+<\/faultDetail><\/detail>/);
    const after = await records();
    expect(after).toHaveLength(before + 1);
    expect(after.at(-1)).toMatchObject({ operation: 'xroad:SOAP:Response', succeeded: false, faultCode: faultcode, requestText: body, responseText: res.body });
    expect(after.at(-1)!.xroad).toMatchObject({ dialect: 'xroad', protocol: 'soap' });
  });

  it('a fault to a request whose headers were read echoes them; the journal names client, service and id', async () => {
    const id = nextId();
    const res = await postXRoad(gw.url, xroadRequest({ code: APPLICATION, client: NOSY, id, body: applicationBody() }));
    expect(headerTexts(res.body)).toEqual(headerTexts(xroadRequest({ code: APPLICATION, client: NOSY, id, body: '<x/>' })));
    const last = (await records()).at(-1)!;
    expect(last.xroad).toMatchObject({ client: NOSY, service: `${SELF}/${APPLICATION}/v1`, id, userId: 'UA1234567890', protocolVersion: '4.0' });
  });

  it('another content type is a 415 fault; the inbox has nothing from any of these', async () => {
    const res = await postXRoad(gw.url, '{"a":1}', 'application/json');
    expect(res.status).toBe(415);
    expect(xroadFault(res.body)?.faultcode).toBe('Client.InvalidContentType');
    expect((await readInbox(gw.url)).items.filter((i) => i.partner === 'nosy' || i.xroad)).toEqual([]);
  });
});

describe('an application', () => {
  it('is stored, then answered with the Receipt under the echoed headers; the same id again gets the same receipt', async () => {
    const events: MessageEvent[] = [];
    const stop = opsEvents.subscribe((e) => events.push(e));
    const id = nextId();
    const request = xroadRequest({ code: APPLICATION, id, issue: 'case-77', body: applicationBody() });
    const res = await postXRoad(gw.url, request);
    stop();
    expect(res.status, res.body).toBe(200);
    expect(headerTexts(res.body)).toEqual(headerTexts(request));
    const doc = parseXml(res.body);
    const body = childElements(doc.root).find((c) => c.localName === 'Body')!;
    const [response] = childElements(body);
    expect(response).toMatchObject({ localName: `${APPLICATION}Response`, namespaceURI: 'urn:okno:xroad:services:1' });
    const receipt = childElements(response!)[0]!;
    expect(receipt).toMatchObject({ localName: 'Receipt', namespaceURI: 'urn:okno:xroad:receipt:1' });
    const fields = Object.fromEntries(childElements(receipt).map((f) => [f.localName, textContent(f)]));

    const item = (await readInbox(gw.url)).items.find((i) => i.xroad?.id === id)!;
    expect(item).toMatchObject({ kind: 'application', partner: 'dms', applicationId: fields.applicationId, registrationNumber: fields.registrationNumber, xroad: { dialect: 'xroad', protocol: 'soap', client: DMS, service: `${SELF}/${APPLICATION}/v1`, id, userId: 'UA1234567890' } });
    expect(item.signature).toEqual({ valid: true, algorithm: 'x-road-security-server', certificate: null, partner: 'dms', personal: null });
    expect(events).toEqual([expect.objectContaining({ operation: 'xroad:SOAP', partner: 'dms', service: APPLICATION, messageId: id, outcome: 'accepted', applicationId: fields.applicationId })]);

    const mine = (await records()).filter((r) => r.messageId === id);
    expect(mine.map((r) => r.operation)).toEqual(['xroad:SOAP', 'xroad:SOAP:Response']);
    expect(mine[0]).toMatchObject({ requestText: request, responseText: null, applicationId: fields.applicationId });
    expect(mine[0]!.xroad).toMatchObject({ issue: 'case-77', headers: expect.objectContaining({ client: DMS, id, issue: 'case-77', protocolVersion: '4.0' }) });
    expect(mine[1]).toMatchObject({ requestText: null, responseText: res.body, succeeded: true });

    const again = await postXRoad(gw.url, request);
    expect(again.status).toBe(200);
    expect(again.body).toContain(`<r:registrationNumber>${fields.registrationNumber}</r:registrationNumber>`);
    expect((await readInbox(gw.url)).items.filter((i) => i.xroad?.id === id)).toHaveLength(1);
    // The same id with other content: refused.
    const otherContent = serviceExamples(APPLICATION).find((e) => JSON.stringify(e) !== JSON.stringify(serviceExample(APPLICATION)))!;
    const other = await postXRoad(gw.url, xroadRequest({ code: APPLICATION, id, body: wrapped(APPLICATION, gw.gateway.catalogue.get(APPLICATION)!.request.toXml(otherContent)) }));
    expect(xroadFault(other.body)?.faultcode).toBe('Client.DuplicateId');
  });
});

describe('a query', () => {
  async function requestIdOf(id: string): Promise<string> {
    for (let i = 0; i < 200; i++) {
      const item = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === id);
      if (item?.requestId) return item.requestId;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no inbox item for ${id}`);
  }

  async function answer(requestId: string, body: unknown): Promise<number> {
    const res = await fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return res.status;
  }

  it('is held until the city answers through the API, then answered with the response content', async () => {
    const id = nextId();
    const request = xroadRequest({ code: QUERY, id, body: queryBody() });
    const call = postXRoad(gw.url, request);
    const requestId = await requestIdOf(id);
    const data = serviceExample(QUERY, 'response');
    expect(await answer(requestId, { data })).toBeLessThan(300);
    const res = await call;
    expect(res.status, res.body).toBe(200);
    expect(headerTexts(res.body)).toEqual(headerTexts(request));
    const body = childElements(parseXml(res.body).root).find((c) => c.localName === 'Body')!;
    const [wrapper] = childElements(body);
    expect(wrapper).toMatchObject({ localName: `${QUERY}Response`, namespaceURI: 'urn:okno:xroad:services:1' });
    const content = childElements(wrapper!)[0]!;
    const service = gw.gateway.catalogue.get(QUERY)!;
    expect(service.response!.validateXml(content)).toEqual([]);
    expect(service.response!.toJson(content)).toEqual(data);
    const view = await (await fetch(`${gw.url}/api/v1/requests/${requestId}`, { headers: CITY })).json();
    expect(view).toMatchObject({ state: 'answered', delivery: { state: 'delivered' } });
  });

  it('the wait runs out: Server.ServiceTimeout; the same id after the answer gets it without a second request stored', async () => {
    const id = nextId();
    const request = xroadRequest({ code: QUERY, id, body: queryBody() });
    const started = Date.now();
    const res = await postXRoad(gw.url, request);
    expect(Date.now() - started).toBeGreaterThanOrEqual(WAIT_S * 1000 - 50);
    expect(res.status).toBe(500);
    expect(xroadFault(res.body)).toMatchObject({ faultcode: 'Server.ServiceTimeout', faultstring: expect.stringContaining('same id') });
    const requestId = await requestIdOf(id);
    await answer(requestId, { reject: { code: 'NO_DATA', description: 'Нічого не знайдено' } });
    const again = await postXRoad(gw.url, request);
    expect(again.status).toBe(500);
    expect(xroadFault(again.body)).toEqual({ faultcode: 'Server.ServiceFailed.NO_DATA', faultstring: 'Нічого не знайдено' });
    expect((await readInbox(gw.url)).items.filter((i) => i.xroad?.id === id)).toHaveLength(1);
    const mine = (await records()).filter((r) => r.messageId === id).map((r) => [r.operation, r.faultCode, r.duplicate]);
    expect(mine).toEqual([
      ['xroad:SOAP', null, false],
      ['xroad:SOAP:Response', 'Server.ServiceTimeout', false],
      ['xroad:SOAP:Response', 'Server.ServiceFailed.NO_DATA', true],
    ]);
  });
});

describe("Okno's own consumer as the client", () => {
  it('its envelope (wrapper in the content namespace) is accepted, and it reads the answer as an answer', async () => {
    const service = gw.gateway.catalogue.get(QUERY)!;
    const id = nextId();
    const sent = { client: parseMember(DMS), service: parseService(`${SELF}/${QUERY}/v1`, true), id, userId: 'UA555', issue: null };
    const call = postXRoad(gw.url, xroadRequestEnvelope(sent, { namespace: service.request.namespace }, service.request.toXml(serviceExample(QUERY))));
    let requestId: string | null | undefined;
    for (let i = 0; i < 200 && !requestId; i++) {
      requestId = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === id)?.requestId;
      if (!requestId) await new Promise((r) => setTimeout(r, 10));
    }
    const data = serviceExample(QUERY, 'response');
    const answered = await fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    expect(answered.status).toBeLessThan(300);
    const res = await call;
    expect(res.status, res.body).toBe(200);
    expect(readXRoadResponse(res.body, sent, service.response!)).toMatchObject({ kind: 'answer', json: data });
  });
});

describe('a client that hangs up', () => {
  it('stops the wait at once (journaled as such); the request stays, a repeat with the same id gets the answer', async () => {
    const id = nextId();
    const abort = new AbortController();
    const call = fetch(`${gw.url}/ws/xroad`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: xroadRequest({ code: QUERY, id, body: queryBody() }), signal: abort.signal }).catch((e: unknown) => e);
    let requestId: string | undefined;
    for (let i = 0; i < 200 && !requestId; i++) {
      requestId = (await readInbox(gw.url)).items.find((x) => x.xroad?.id === id)?.requestId ?? undefined;
      if (!requestId) await new Promise((r) => setTimeout(r, 10));
    }
    expect(requestId).toBeDefined();
    const hungUp = Date.now();
    abort.abort();
    await call;
    let record: JournalRecord | undefined;
    while (!record && Date.now() - hungUp < WAIT_S * 1000) {
      record = (await records()).find((r) => r.messageId === id && r.operation === 'xroad:SOAP:Response');
      if (!record) await new Promise((r) => setTimeout(r, 20));
    }
    expect(record, 'the wait ended before XROAD_ANSWER_WAIT_S').toBeDefined();
    expect(record!.faultString).toContain('went away');
    const data = serviceExample(QUERY, 'response');
    const answered = await fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ data }) });
    expect(answered.status).toBeLessThan(300);
    const again = await postXRoad(gw.url, xroadRequest({ code: QUERY, id, body: queryBody() }));
    expect(again.status, again.body).toBe(200);
    expect(again.body).toContain(`${QUERY}Response`);
  });
});

describe('the store down', () => {
  it('a fault, nothing answered as success; accepted again once Redis is back', async () => {
    const id = nextId();
    const request = xroadRequest({ code: APPLICATION, id, body: applicationBody() });
    await redis.stop();
    try {
      const down = await postXRoad(gw.url, request);
      expect(down.status).toBe(500);
      expect(xroadFault(down.body)?.faultcode).toBe('Server.InternalError');
      expect(down.body).not.toContain('Receipt');
    } finally {
      await redis.restart();
    }
    let up = await postXRoad(gw.url, request);
    for (let i = 0; i < 50 && up.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      up = await postXRoad(gw.url, request);
    }
    expect(up.status, up.body).toBe(200);
    expect((await readInbox(gw.url)).items.filter((i) => i.xroad?.id === id)).toHaveLength(1);
  });
});

describe('the gateway closing (last: it closes the shared gateway)', () => {
  it('a waiting call is answered at once with Server.ServiceTimeout, not held until XROAD_ANSWER_WAIT_S', async () => {
    const id = nextId();
    const call = postXRoad(gw.url, xroadRequest({ code: QUERY, id, body: queryBody() }));
    for (let i = 0; i < 200; i++) {
      if ((await readInbox(gw.url)).items.some((x) => x.xroad?.id === id)) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const closing = Date.now();
    const closed = gw.close();
    const res = await call;
    expect(Date.now() - closing).toBeLessThan(WAIT_S * 1000 - 500);
    expect(xroadFault(res.body)).toMatchObject({ faultcode: 'Server.ServiceTimeout', faultstring: expect.stringContaining('shutting down') });
    await closed;
  });
});
