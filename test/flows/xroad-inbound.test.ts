/**
 * src/flows/xroad-inbound.ts: an X-Road request (XML from SOAP, JSON from REST) is stored as
 * an application or a query in one commit — inbox item with the X-Road identifiers, journal
 * record with the raw request, idempotency by client + id — and a waiting call hears the
 * city's answer; answerRequest queues nothing for an X-Road partner.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { APPLICATIONS, REGISTRATION_NUMBERS } from '../../src/city/model.js';
import { answerRequest, REQUESTS, RESPONSE_QUEUE, requestView } from '../../src/flows/city-answers.js';
import { acceptXRoadRequest, awaitRequestAnswer, journalXRoadResponse, resolveXRoadCall, type XRoadRequestInput } from '../../src/flows/xroad-inbound.js';
import type { XRoadJournal } from '../../src/journal/records.js';
import { parseMember, parseService } from '../../src/registry/xroad-members.js';
import type { JsonValue } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { XRoadRefusal } from '../../src/xroad/refusal.js';
import { inboxItems, journalRecords, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { serviceExample, serviceExamples } from '../helpers/smev.js';
import { APPLICATION, DMS, NOSY, QUERY, SELF, xroadRegistry } from '../helpers/xroad-provider.js';

let flow: TestFlow;
afterEach(() => flow?.close());

function journal(id: string, service: string): XRoadJournal {
  return { dialect: 'xroad', protocol: 'rest', client: DMS, service: `${SELF}/${service}`, id, userId: 'UA123', protocolVersion: null, issue: null, requestHash: null, headers: { 'X-Road-Client': DMS, 'X-Road-Id': id } };
}

function input(f: TestFlow, service: string, id: string, content: XRoadRequestInput['content']): XRoadRequestInput {
  const call = resolveXRoadCall(f.ctx, parseMember(DMS), parseService(`${SELF}/${service}/v1`, true));
  return { raw: 'xml' in content ? '<xml-request/>' : JSON.stringify(content), correlationId: `c-${id}`, receivedAt: f.ctx.now(), operation: 'xroad:REST', call, xroad: journal(id, service), content };
}

async function refusal(p: Promise<unknown> | (() => unknown)): Promise<XRoadRefusal> {
  const error = await (typeof p === 'function' ? Promise.resolve().then(p) : p).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(XRoadRefusal);
  return error as XRoadRefusal;
}

describe('resolveXRoadCall', () => {
  it('the service must be ours (provider, code, version), the client registered, and allowed', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx } = flow;
    const ok = resolveXRoadCall(ctx, parseMember(DMS), parseService(`${SELF}/${QUERY}/v1`, true));
    expect(ok.partner.id).toBe('dms');
    expect(ok.service.id).toBe(QUERY);
    // Without a version too.
    expect(resolveXRoadCall(ctx, parseMember(DMS), parseService(`${SELF}/${QUERY}`)).service.id).toBe(QUERY);
    expect((await refusal(() => resolveXRoadCall(ctx, parseMember(DMS), parseService(`DEV/GOV/99999999/other/${QUERY}/v1`, true)))).kind).toBe('unknown-service');
    expect((await refusal(() => resolveXRoadCall(ctx, parseMember(DMS), parseService(`${SELF}/no-such-service/v1`, true)))).kind).toBe('unknown-service');
    expect((await refusal(() => resolveXRoadCall(ctx, parseMember(DMS), parseService(`${SELF}/${QUERY}/v2`, true)))).kind).toBe('unknown-service');
    // A service the city requests (outbound) is not provided.
    expect((await refusal(() => resolveXRoadCall(ctx, parseMember(DMS), parseService(`${SELF}/zags-birth-record/v1`, true)))).kind).toBe('unknown-service');
    expect((await refusal(() => resolveXRoadCall(ctx, parseMember('DEV/GOV/11111111/who'), parseService(`${SELF}/${QUERY}/v1`, true)))).kind).toBe('unknown-client');
    const denied = await refusal(() => resolveXRoadCall(ctx, parseMember(NOSY), parseService(`${SELF}/${QUERY}/v1`, true)));
    expect(denied.kind).toBe('unauthorised-client');
    expect(denied.message).toContain('nosy');
  });
});

describe('acceptXRoadRequest', () => {
  it('an application (JSON): application + registration number + inbox item + journal record, in one commit; the same id again is a duplicate', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx, store } = flow;
    const data = serviceExample(APPLICATION);
    const accepted = await acceptXRoadRequest(ctx, input(flow, APPLICATION, 'id-1', { json: data }));
    expect(accepted).toMatchObject({ kind: 'application', duplicate: false, service: APPLICATION, requestId: null });
    expect(accepted.registrationNumber).toMatch(/-\d{4}-\d+$/);
    const application = await store.getDoc(APPLICATIONS, accepted.applicationId!);
    expect(application).toMatchObject({ partner: 'dms', messageId: 'id-1', content: data, status: 'received' });
    expect(await store.getDoc(REGISTRATION_NUMBERS, accepted.registrationNumber!)).toEqual({ applicationId: accepted.applicationId, inboxItemId: accepted.inboxId });
    const [item] = await inboxItems(store);
    expect(item).toMatchObject({
      id: accepted.inboxId,
      kind: 'application',
      partner: 'dms',
      messageId: 'id-1',
      content: data,
      signature: { valid: true, algorithm: 'x-road-security-server', certificate: null, partner: 'dms', personal: null },
      xroad: { dialect: 'xroad', protocol: 'rest', client: DMS, service: `${SELF}/${APPLICATION}`, id: 'id-1', userId: 'UA123' },
    });
    const [record] = await journalRecords(store);
    expect(record).toMatchObject({ operation: 'xroad:REST', direction: 'inbound', partner: 'dms', service: APPLICATION, messageId: 'id-1', succeeded: true, signature: null, applicationId: accepted.applicationId, xroad: journal('id-1', APPLICATION) });
    expect(record!.requestText).toBe(JSON.stringify({ json: data }));

    const again = await acceptXRoadRequest(ctx, input(flow, APPLICATION, 'id-1', { json: data }));
    expect(again).toEqual({ ...accepted, duplicate: true });
    expect(await inboxItems(store)).toHaveLength(1);
  });

  it('the same content with keys in another order is the same request; other valid content under that id is refused as id-reused', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx } = flow;
    const data = serviceExample(QUERY) as Record<string, JsonValue>;
    const reversed = Object.fromEntries(Object.entries(data).reverse());
    const first = await acceptXRoadRequest(ctx, input(flow, QUERY, 'q-1', { json: data }));
    expect((await acceptXRoadRequest(ctx, input(flow, QUERY, 'q-1', { json: reversed }))).duplicate).toBe(true);
    const other = serviceExamples(QUERY).find((e) => JSON.stringify(e) !== JSON.stringify(data))!;
    expect((await refusal(acceptXRoadRequest(ctx, input(flow, QUERY, 'q-1', { json: other })))).kind).toBe('id-reused');
    expect(first.kind).toBe('query');
  });

  it('a query (XML): the request is stored for the city to answer; bad content is refused naming the rule and stores nothing', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx, store } = flow;
    const service = ctx.catalogue.get(QUERY)!;
    const xml = parseXml(service.request.toXml(serviceExample(QUERY))).root;
    const accepted = await acceptXRoadRequest(ctx, input(flow, QUERY, 'q-2', { xml }));
    expect(accepted).toMatchObject({ kind: 'query', applicationId: null, registrationNumber: null });
    expect(await store.getDoc(REQUESTS, accepted.requestId!)).toMatchObject({ service: QUERY, partner: 'dms', messageId: 'q-2', state: 'received', inboxItemId: accepted.inboxId });

    const bad = await refusal(acceptXRoadRequest(ctx, input(flow, QUERY, 'q-3', { json: { nonsense: true } })));
    expect(bad.kind).toBe('bad-content');
    const wrongRoot = await refusal(acceptXRoadRequest(ctx, input(flow, QUERY, 'q-4', { xml: parseXml('<Other xmlns="urn:x"/>').root })));
    expect(wrongRoot.kind).toBe('bad-content');
    expect(await inboxItems(store)).toHaveLength(1);
  });
});

describe('the answer', () => {
  it('awaitRequestAnswer hears answerRequest at once; nothing is queued for an X-Road partner; the response is journaled and the delivery recorded', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx, store } = flow;
    const accepted = await acceptXRoadRequest(ctx, input(flow, QUERY, 'q-5', { json: serviceExample(QUERY) }));
    const started = Date.now();
    // A long poll interval: only the event can end the wait this fast.
    const waiting = awaitRequestAnswer(ctx, accepted.requestId!, 10_000, undefined, 60_000);
    const data = serviceExample(QUERY, 'response');
    await answerRequest(ctx, accepted.requestId!, { data });
    const answered = await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(answered?.answer).toEqual({ kind: 'content', data });
    expect(await store.queue(RESPONSE_QUEUE).get(accepted.requestId!)).toBeNull();

    await journalXRoadResponse(ctx, { correlationId: 'c-q-5', receivedAt: ctx.now(), operation: 'xroad:REST', xroad: journal('q-5', QUERY), partner: 'dms', service: QUERY, response: '{"answer":1}', request: null, fault: null, accepted, answerDelivered: true });
    const records = await journalRecords(store);
    expect(records.map((r) => r.operation)).toEqual(['xroad:REST', 'xroad:REST:Response']);
    expect(records[1]).toMatchObject({ correlationId: 'c-q-5', messageId: 'q-5', succeeded: true, requestText: null, responseText: '{"answer":1}' });
    expect((await requestView(ctx, accepted.requestId!))?.delivery).toMatchObject({ state: 'delivered' });
  });

  it('an answer already there is returned at once; none within the time: null; an aborted wait: null', async () => {
    flow = testFlow({ partners: xroadRegistry() });
    const { ctx } = flow;
    const a = await acceptXRoadRequest(ctx, input(flow, QUERY, 'q-6', { json: serviceExample(QUERY) }));
    expect(await awaitRequestAnswer(ctx, a.requestId!, 50, undefined, 10)).toBeNull();
    const abort = new AbortController();
    const waiting = awaitRequestAnswer(ctx, a.requestId!, 10_000, abort.signal);
    abort.abort();
    expect(await waiting).toBeNull();
    await answerRequest(ctx, a.requestId!, { reject: { code: 'NO_DATA', description: 'нічого' } });
    expect((await awaitRequestAnswer(ctx, a.requestId!, 0))?.answer).toEqual({ kind: 'rejected', code: 'NO_DATA', description: 'нічого' });
  });
});
