/**
 * The REST provider over a real redis: an agency's query held while the city
 * answers it through the answer flow (answerRequest), a rejection, the wait's
 * timeout and the repeat that finds the answer; an application end to end;
 * and the example request of the X-Road message protocol for REST (PR-REST
 * §4.6 example 1: DEV/COM/222/TESTCLIENT calling DEV/COM/222/TESTSERVICE's
 * service "petstore"), accepted from a registry that names those members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { answerRequest, REQUEST_DELIVERIES } from '../../src/flows/city-answers.js';
import type { XRoadDialect } from '../../src/registry/xroad-members.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { inboxItems, journalRecords, partnersWith, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { APPLICATION, example, forwarded, names, nextInboxCommit, QUERY, restServer, xroadRegistry, type RestServer } from './rest-setup.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

async function post(server: RestServer, code: string, headers: Record<string, string>, body: unknown) {
  const res = await fetch(`${server.url}/xroad/rest/${code}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe.each<XRoadDialect>(['xroad', 'trembita'])('queries over REST, %s dialect (redis)', (dialect) => {
  const n = names(dialect);
  const t = dialect === 'trembita';
  const idHeader = t ? 'Uxp-QueryID' : 'X-Road-Id';
  const code = n.code(QUERY);
  const query = example(QUERY, 'example.request.by-number.json');
  const answer = example(QUERY, 'example.response.json');
  let flow: TestFlow;
  let waiting: RestServer;
  let impatient: RestServer;

  beforeAll(async () => {
    flow = testFlow({ partners: xroadRegistry(n), store: (clock) => new RedisStore(redis.url, { clock, keyPrefix: `xr-rest-${dialect}:` }) });
    waiting = await restServer(flow.ctx, { answerWaitMs: 10_000 });
    impatient = await restServer(flow.ctx, { answerWaitMs: 150 });
  });
  afterAll(async () => {
    await waiting.close();
    await impatient.close();
    await flow.close();
  });

  async function requestIdOf(messageId: string): Promise<string> {
    const item = (await inboxItems(flow.store)).find((i) => i.messageId === messageId);
    if (!item?.requestId) throw new Error(`no request ${messageId}`);
    return item.requestId;
  }

  it('holds the call while the city answers, then answers 200 with the city’s JSON', async () => {
    const id = crypto.randomUUID();
    const stored = nextInboxCommit(flow);
    const call = post(waiting, code, forwarded(n, { id, userId: t ? 'UA1234567890' : 'EE12345678901' }), query);
    await stored;
    const requestId = await requestIdOf(id);
    await answerRequest(flow.ctx, requestId, { data: answer });
    const a = await call;
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body).toEqual(answer);
    expect(a.headers.get(idHeader)).toBe(id);
    expect(a.headers.get('x-road-error')).toBeNull();
    const records = (await journalRecords(flow.store)).filter((r) => r.messageId === id);
    expect(records.map((r) => r.operation)).toEqual(['xroad:REST', 'xroad:REST:Response']);
    expect(JSON.parse(records[1]!.responseText!)).toEqual(answer);
    expect(records[1]!.xroad).toMatchObject({ dialect, protocol: 'rest', client: n.agency, id });
    expect(await flow.store.getDoc(REQUEST_DELIVERIES, requestId)).toMatchObject({ state: 'delivered' });
  });

  it('answers the city’s rejection as the error body with its reject code (422, no X-Road-Error: the service’s own answer)', async () => {
    const id = crypto.randomUUID();
    const stored = nextInboxCommit(flow);
    const call = post(waiting, code, forwarded(n, { id }), query);
    await stored;
    await answerRequest(flow.ctx, await requestIdOf(id), { reject: { code: 'NO_DATA', description: 'нет такого разрешения' } });
    const a = await call;
    expect(a.status).toBe(422);
    expect(a.body).toEqual({ type: 'Server.ServiceFailed.NO_DATA', message: 'нет такого разрешения', detail: id });
    expect(a.headers.get('x-road-error')).toBeNull();
  });

  it('times out (504, call again with the same id); the repeat after the city answered gets the answer and stores nothing twice', async () => {
    const id = crypto.randomUUID();
    const first = await post(impatient, code, forwarded(n, { id }), query);
    expect(first.status).toBe(504);
    expect(first.headers.get('x-road-error')).toBe('Server.ServiceTimeout');
    expect(first.body.type).toBe('Server.ServiceTimeout');
    expect(first.body.message).toMatch(new RegExp(`same ${idHeader}`));
    await answerRequest(flow.ctx, await requestIdOf(id), { data: answer });
    const again = await post(impatient, code, forwarded(n, { id }), query);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(answer);
    expect((await inboxItems(flow.store)).filter((i) => i.messageId === id)).toHaveLength(1);
  });

  it('stops waiting when the client hangs up (journaled as such); a repeat with the same id gets the answer the city gave later', async () => {
    const id = crypto.randomUUID();
    const stored = nextInboxCommit(flow);
    const hangUp = new AbortController();
    const call = fetch(`${waiting.url}/xroad/rest/${code}`, { method: 'POST', headers: forwarded(n, { id }), body: JSON.stringify(query), signal: hangUp.signal }).catch((e: unknown) => e);
    await stored;
    hangUp.abort();
    expect(await call).toBeInstanceOf(Error);
    let record;
    for (let i = 0; i < 100 && !record; i++) {
      record = (await journalRecords(flow.store)).find((r) => r.messageId === id && r.operation === 'xroad:REST:Response');
      if (!record) await new Promise((r) => setTimeout(r, 20));
    }
    expect(record).toMatchObject({ succeeded: false, faultCode: 'Server.ServiceTimeout' });
    expect(record!.faultString).toMatch(/connection closed/);
    await answerRequest(flow.ctx, await requestIdOf(id), { data: answer });
    const again = await post(waiting, code, forwarded(n, { id }), query);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(answer);
  });

  it('takes an application end to end: receipt, application and inbox item in redis', async () => {
    const id = crypto.randomUUID();
    const a = await post(waiting, n.code(APPLICATION), forwarded(n, { id }), example(APPLICATION, 'example.request.organization.json'));
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    const item = (await inboxItems(flow.store)).find((i) => i.messageId === id)!;
    expect(item).toMatchObject({ kind: 'application', applicationId: a.body.applicationId, registrationNumber: a.body.registrationNumber });
    expect(await flow.store.getDoc('applications', a.body.applicationId as string)).toMatchObject({ partner: 'xr-agency', messageId: id, status: 'received' });
  });
});

describe('the PR-REST example request (§4.6 example 1, X-Road 7)', () => {
  let flow: TestFlow;
  let server: RestServer;

  beforeAll(async () => {
    const registry = partnersWith((partners, doc) => {
      (doc as unknown as Record<string, unknown>).xroad = { self: 'DEV/COM/222/TESTSERVICE', services: { [APPLICATION]: { code: 'petstore' } } };
      partners.push({ id: 'testclient', name: 'TESTCLIENT', role: 'agency', sends: [APPLICATION], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: 'DEV/COM/222/TESTCLIENT', protocol: 'rest' } });
    });
    flow = testFlow({ partners: registry, store: (clock) => new RedisStore(redis.url, { clock, keyPrefix: 'xr-rest-example:' }) });
    server = await restServer(flow.ctx);
  });
  afterAll(async () => {
    await server.close();
    await flow.close();
  });

  it('is accepted with its headers as the document writes them (lower-case names), and the response echoes them', async () => {
    // The headers of PR-REST §4.6 example 1, as the provider's Security Server forwards them.
    const headers = {
      'Content-Type': 'application/json;charset=utf-8',
      'x-road-id': '5ea48ae9-15c1-465a-be15-9b6ef2c7ef4a',
      'x-road-client': 'DEV/COM/222/TESTCLIENT',
      'x-road-service': 'DEV/COM/222/TESTSERVICE/petstore',
      'x-road-request-id': 'f92591a3-6bf0-49b1-987b-0dd78c034cc3',
    };
    const a = await post(server, 'petstore', headers, example(APPLICATION, 'example.request.person.json'));
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.headers.get('x-road-id')).toBe('5ea48ae9-15c1-465a-be15-9b6ef2c7ef4a');
    expect(a.headers.get('x-road-client')).toBe('DEV/COM/222/TESTCLIENT');
    expect(a.headers.get('x-road-service')).toBe('DEV/COM/222/TESTSERVICE/petstore');
    const [intake] = (await journalRecords(flow.store)).filter((r) => r.messageId === '5ea48ae9-15c1-465a-be15-9b6ef2c7ef4a');
    expect(intake!.xroad!.headers).toEqual({
      'x-road-id': '5ea48ae9-15c1-465a-be15-9b6ef2c7ef4a',
      'x-road-client': 'DEV/COM/222/TESTCLIENT',
      'x-road-service': 'DEV/COM/222/TESTSERVICE/petstore',
      'x-road-request-id': 'f92591a3-6bf0-49b1-987b-0dd78c034cc3',
    });
    expect(intake!.partner).toBe('testclient');
  });
});
