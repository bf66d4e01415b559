/**
 * src/delivery/xroad-query-delivery.ts through the query queue
 * (startQueryDelivery), against a real HTTP server on loopback playing the
 * gateway's Security Server: the city's query to a partner with transport
 * xroad goes as X-Road 4.0 SOAP or REST (X-Road r1 / Trembita UXP) with the
 * right headers (xrd:id = the query's MessageID on every attempt, userId from
 * the city), its answer lands in the inbox as kind response; Server faults,
 * 5xx and timeouts are retried, Client faults / 4xx fail the query at once,
 * an answer that does not echo our headers or does not fit is refused; every
 * attempt is journaled with its X-Road headers.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startQueryDelivery } from '../../src/delivery/query-delivery.js';
import type { QueueWorker } from '../../src/delivery/queue-worker.js';
import type { FlowContext } from '../../src/flows/context.js';
import { createQuery, QUERY_QUEUE, queryView, type QueryInput } from '../../src/flows/queries.js';
import type { XRoadDialect } from '../../src/registry/xroad-members.js';
import { eventually, inboxItems, journalRecords, partnersWith, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { projectRoot } from '../helpers/gateway.js';
import { SecurityServerDouble, soapAnswer, soapFault, type DoubleAnswer } from '../helpers/security-server-double.js';
import { serviceExample } from '../helpers/smev.js';
import { requireXmllint, xmllintVerdicts } from '../helpers/xmllint.js';

const SERVICE = 'egrn-extract';
const PARTNER = 'dms';
let ss: SecurityServerDouble;
let flow: TestFlow;
let workers: QueueWorker[] = [];

beforeAll(async () => {
  requireXmllint();
  ss = await SecurityServerDouble.start();
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop();
  ss.reset();
  await flow?.close();
});
afterAll(() => ss?.close());

const instance = (dialect: XRoadDialect) => (dialect === 'trembita' ? 'SEVDEIR-TEST' : 'EE-TEST');

/** The gateway as an X-Road member whose Security Server is the double, and partner `dms` providing egrn-extract. */
function start(protocol: 'soap' | 'rest', dialect: XRoadDialect, env: Record<string, string> = {}): FlowContext {
  const partners = partnersWith((list, doc) => {
    (doc as Record<string, unknown>).xroad = { self: `${instance(dialect)}/GOV/00000001/okno`, dialect, securityServer: ss.url };
    list.push({ id: PARTNER, name: 'Державна міграційна служба', role: 'agency', sends: [], receives: [SERVICE], endpoint: null, transport: { mode: 'xroad', subsystem: `${instance(dialect)}/GOV/12345678/dms`, protocol, dialect } });
  });
  // The store's clock is an hour ahead of real time, so a retry (DELIVERY_BACKOFF_MS=1) is due at once.
  flow = testFlow({ partners, startAt: new Date(Date.now() + 3_600_000), env: { DELIVERY_TIMEOUT_MS: '1000', DELIVERY_BACKOFF_MS: '1', DELIVERY_BACKOFF_CAP_MS: '1', ...env } });
  workers = startQueryDelivery(flow.ctx);
  return flow.ctx;
}

const ask = (ctx: FlowContext, extra: Partial<QueryInput> = {}) => createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE), partner: PARTNER, ...extra });

const ended = (ctx: FlowContext, id: string, state: 'answered' | 'failed') =>
  eventually(`the query ${state}`, async () => {
    const v = await queryView(ctx, id);
    return v?.state === state ? v : null;
  });

const answerXml = (ctx: FlowContext) => ctx.catalogue.get(SERVICE)!.response!.toXml(serviceExample(SERVICE, 'response'));

describe('queries to an X-Road SOAP partner', () => {
  it('X-Road 4.0 request (valid by the protocol schemas), the answer in the inbox as kind response, the exchange journaled', async () => {
    const ctx = start('soap', 'xroad');
    ss.handler = (r) => ({ status: 200, body: soapAnswer(r.body, answerXml(ctx)) });
    const q = await ask(ctx, { userId: 'EE12345678901' });
    const [request] = await ss.waitForRequests(1);
    expect(request!.method).toBe('POST');
    expect(request!.headers['content-type']).toMatch(/^text\/xml/);
    const [verdict] = xmllintVerdicts(path.join(projectRoot, 'test/fixtures/xroad/request-envelope.xsd'), [request!.body]);
    expect(verdict).toEqual({ valid: true, messages: [] });
    expect(request!.body).toContain('<xrd:client id:objectType="SUBSYSTEM"><id:xRoadInstance>EE-TEST</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>00000001</id:memberCode><id:subsystemCode>okno</id:subsystemCode></xrd:client>');
    expect(request!.body).toContain('<xrd:service id:objectType="SERVICE"><id:xRoadInstance>EE-TEST</id:xRoadInstance><id:memberClass>GOV</id:memberClass><id:memberCode>12345678</id:memberCode><id:subsystemCode>dms</id:subsystemCode><id:serviceCode>egrn-extract</id:serviceCode><id:serviceVersion>v1</id:serviceVersion></xrd:service>');
    expect(request!.body).toContain(`<xrd:id>${q.messageId}</xrd:id><xrd:userId>EE12345678901</xrd:userId><xrd:protocolVersion>4.0</xrd:protocolVersion>`);

    const view = await ended(ctx, q.id, 'answered');
    expect(view).toMatchObject({ answer: serviceExample(SERVICE, 'response'), delivery: { state: 'delivered', attempts: 1, lastError: null } });
    const items = (await inboxItems(ctx.store)).filter((i) => i.kind === 'response');
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      id: view.responseInboxItemId,
      service: SERVICE,
      partner: PARTNER,
      messageId: q.messageId,
      content: { queryId: q.id, state: 'answered', answer: serviceExample(SERVICE, 'response'), rejections: [] },
      signature: { valid: true, algorithm: 'x-road-security-server', certificate: null, partner: PARTNER },
      xroad: { dialect: 'xroad', protocol: 'soap', client: 'EE-TEST/GOV/00000001/okno', service: 'EE-TEST/GOV/12345678/dms/egrn-extract/v1', id: q.messageId, userId: 'EE12345678901' },
    });
    const [record] = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:SOAP');
    expect(record).toMatchObject({
      direction: 'outbound',
      partner: PARTNER,
      service: SERVICE,
      messageId: q.messageId,
      succeeded: true,
      faultCode: null,
      xroad: {
        dialect: 'xroad',
        protocol: 'soap',
        client: 'EE-TEST/GOV/00000001/okno',
        service: 'EE-TEST/GOV/12345678/dms/egrn-extract/v1',
        id: q.messageId,
        userId: 'EE12345678901',
        protocolVersion: '4.0',
        requestHash: '29KTVbZf83XlfdYrsxjaSYMGoxvktnTUBTtA4BmSrh1egtRtvR9VY8QycYaVdsKtGJIh/8CpucYWPbWfaIgJDQ==',
        headers: { client: 'EE-TEST/GOV/00000001/okno', id: q.messageId, 'response.id': q.messageId, 'response.requestHash': expect.any(String) },
      },
    });
    expect(record!.requestText).toBe(request!.body);
    expect(record!.responseText).toContain('egrn-extractResponse');
  });

  it('a Server fault, then a timeout, are retried with the same xrd:id; then the answer', async () => {
    const ctx = start('soap', 'trembita');
    ss.handler = (r, i) => (i === 0 ? { status: 500, body: soapFault('Server.ServerProxy.ServiceFailed', 'the provider is down') } : i === 1 ? 'hang' : { status: 200, body: soapAnswer(r.body, answerXml(ctx)) });
    const q = await ask(ctx);
    const view = await ended(ctx, q.id, 'answered');
    const requests = await ss.waitForRequests(3);
    const ids = requests.map((r) => /<xrd:id>([^<]*)<\/xrd:id>/.exec(r.body)?.[1]);
    expect(ids).toEqual([q.messageId, q.messageId, q.messageId]);
    // Trembita's SOAP keeps the X-Road 4.0 headers; its service codes are ServiceName_vN, without a version; no userId given: the city's member code.
    expect(requests[0]!.body).toContain('<id:serviceCode>egrn-extract_v1</id:serviceCode></xrd:service>');
    expect(requests[0]!.body).toContain('<xrd:userId>00000001</xrd:userId>');
    expect(requests[0]!.body).toContain('<svc:egrn-extract_v1 ');
    expect(view.delivery).toMatchObject({ state: 'delivered', attempts: 3 });
    const records = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:SOAP');
    expect(records.map((r) => [r.succeeded, r.faultCode])).toEqual([
      [false, 'Server.ServerProxy.ServiceFailed'],
      [false, 'transient'],
      [true, null],
    ]);
    expect(records[1]!.faultString).toMatch(/no answer within 1000 ms/);
    expect(records.every((r) => r.xroad?.id === q.messageId && r.xroad.dialect === 'trembita')).toBe(true);
    expect((await inboxItems(ctx.store)).filter((i) => i.kind === 'response')).toHaveLength(1);
  });

  it('a Client fault fails the query at once', async () => {
    const ctx = start('soap', 'xroad');
    ss.handler = () => ({ status: 500, body: soapFault('Client.InvalidRequest', 'the request is not what the service takes') });
    const q = await ask(ctx);
    const view = await ended(ctx, q.id, 'failed');
    expect(view.failure).toBe(`not delivered to ${PARTNER}: refused: Client.InvalidRequest: the request is not what the service takes`);
    expect(view.delivery).toMatchObject({ state: 'failed', attempts: 1 });
    expect(await ctx.store.queue(QUERY_QUEUE).get(q.id)).toMatchObject({ state: 'dead', attempts: 1 });
    expect(ss.requests).toHaveLength(1);
    expect((await inboxItems(ctx.store)).filter((i) => i.kind === 'response')).toHaveLength(0);
  });

  it('an answer whose headers do not echo ours is refused; so is content that does not fit the service', async () => {
    const ctx = start('soap', 'xroad');
    ss.handler = (r) => ({ status: 200, body: soapAnswer(r.body, answerXml(ctx), (h) => h.replace(/<xrd:id>[^<]*<\/xrd:id>/, '<xrd:id>someone-else</xrd:id>')) });
    const q = await ask(ctx);
    const view = await ended(ctx, q.id, 'failed');
    expect(view.failure).toContain(`answer refused: the response's xrd:id is "someone-else", not the request's "${q.messageId}"`);
    ss.handler = (r) => ({ status: 200, body: soapAnswer(r.body, '<x:Other xmlns:x="urn:x"/>') });
    const q2 = await ask(ctx);
    const view2 = await ended(ctx, q2.id, 'failed');
    expect(view2.failure).toContain("answer refused: the answer's content does not fit");
    const records = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:SOAP');
    expect(records.map((r) => r.faultCode)).toEqual(['InvalidResponse', 'InvalidResponse']);
    expect((await inboxItems(ctx.store)).filter((i) => i.kind === 'response')).toHaveLength(0);
  });
});

describe('queries to an X-Road REST partner', () => {
  it('X-Road: POST /r1/{serviceId} with X-Road-Client, X-Road-Id, X-Road-UserId and the JSON; the answer in the inbox', async () => {
    const ctx = start('rest', 'xroad');
    ss.handler = (r) => ({ status: 200, headers: { 'content-type': 'application/json', 'x-road-id': String(r.headers['x-road-id']), 'x-road-request-hash': 'abc=' }, body: JSON.stringify(serviceExample(SERVICE, 'response')) });
    const q = await ask(ctx, { userId: 'EE38001085718', purposeIds: ['ignored-by-x-road'] });
    const view = await ended(ctx, q.id, 'answered');
    const [request] = ss.requests;
    expect(request!.path).toBe('/r1/EE-TEST/GOV/12345678/dms/egrn-extract');
    expect(request!.headers).toMatchObject({ 'x-road-client': 'EE-TEST/GOV/00000001/okno', 'x-road-id': q.messageId, 'x-road-userid': 'EE38001085718', 'content-type': 'application/json; charset=utf-8' });
    expect(request!.headers['uxp-purpose-ids']).toBeUndefined();
    expect(JSON.parse(request!.body)).toEqual(serviceExample(SERVICE));
    expect(view.answer).toEqual(serviceExample(SERVICE, 'response'));
    const [item] = (await inboxItems(ctx.store)).filter((i) => i.kind === 'response');
    expect(item).toMatchObject({ content: { queryId: q.id, state: 'answered' }, xroad: { dialect: 'xroad', protocol: 'rest', service: 'EE-TEST/GOV/12345678/dms/egrn-extract/v1', id: q.messageId } });
    const [record] = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:REST');
    expect(record).toMatchObject({ succeeded: true, xroad: { protocol: 'rest', requestHash: 'abc=', headers: { 'X-Road-Client': 'EE-TEST/GOV/00000001/okno', 'X-Road-Id': q.messageId, 'X-Road-UserId': 'EE38001085718', 'response.X-Road-Id': q.messageId } } });
    expect(JSON.parse(record!.requestText!)).toEqual(serviceExample(SERVICE));
  });

  it('Trembita: POST /restapi with the Uxp-* headers; a Server error (documented body) is retried with the same Uxp-QueryID', async () => {
    const ctx = start('rest', 'trembita');
    ss.handler = (_r, i): DoubleAnswer =>
      i === 0
        ? { status: 500, headers: { 'content-type': 'application/json', 'x-road-error': 'Server.ServerProxy.NetworkError' }, body: JSON.stringify({ type: 'Server.ServerProxy.NetworkError', message: 'Connect to 10.0.0.1:8080 failed', detail: 'x' }) }
        : { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(serviceExample(SERVICE, 'response')) };
    const q = await ask(ctx, { userId: 'UA1234567890', purposeIds: ['birth-registration', 'benefit'] });
    const view = await ended(ctx, q.id, 'answered');
    const requests = await ss.waitForRequests(2);
    for (const r of requests) {
      expect(r.path).toBe('/restapi');
      expect(r.headers).toMatchObject({
        'uxp-client': 'SEVDEIR-TEST/GOV/00000001/okno',
        'uxp-service': 'SEVDEIR-TEST/GOV/12345678/dms/egrn-extract_v1',
        'uxp-queryid': q.messageId,
        'uxp-subject-id': 'UA1234567890',
        'uxp-purpose-ids': 'birth-registration,benefit',
      });
    }
    expect(view.delivery).toMatchObject({ state: 'delivered', attempts: 2 });
    const records = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:REST');
    expect(records.map((r) => [r.succeeded, r.faultCode])).toEqual([
      [false, 'Server.ServerProxy.NetworkError'],
      [true, null],
    ]);
    expect(records[0]!.xroad).toMatchObject({ dialect: 'trembita', headers: { 'Uxp-Purpose-Ids': 'birth-registration,benefit', 'response.X-Road-Error': 'Server.ServerProxy.NetworkError' } });
  });

  it('a Client error (400) fails the query at once; an answer that does not fit the response schema is refused', async () => {
    const ctx = start('rest', 'xroad');
    ss.handler = () => ({ status: 400, headers: { 'content-type': 'application/json', 'x-road-error': 'Client.BadRequest' }, body: JSON.stringify({ type: 'Client.BadRequest', message: 'Error parsing the client\'s REST request.', detail: 'y' }) });
    const q = await ask(ctx);
    const view = await ended(ctx, q.id, 'failed');
    expect(view.failure).toBe(`not delivered to ${PARTNER}: refused: Client.BadRequest: Error parsing the client's REST request.`);
    expect(view.delivery).toMatchObject({ state: 'failed', attempts: 1 });
    ss.handler = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"unexpected":true}' });
    const q2 = await ask(ctx);
    const view2 = await ended(ctx, q2.id, 'failed');
    expect(view2.failure).toMatch(/answer refused: the answer does not fit the service's response schema/);
    expect((await inboxItems(ctx.store)).filter((i) => i.kind === 'response')).toHaveLength(0);
  });

  it('an answer larger than MAX_BODY_BYTES is refused without being read to the end', async () => {
    const ctx = start('rest', 'xroad', { MAX_BODY_BYTES: '4096' });
    ss.handler = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ padding: 'x'.repeat(64 * 1024) }) });
    const q = await ask(ctx);
    const view = await ended(ctx, q.id, 'failed');
    expect(view.failure).toBe(`not delivered to ${PARTNER}: answer refused: larger than MAX_BODY_BYTES (4096 bytes)`);
    const [record] = (await journalRecords(ctx.store)).filter((r) => r.operation === 'xroad:REST');
    expect(record).toMatchObject({ succeeded: false, faultCode: 'InvalidResponse', responseText: null });
  });
});
