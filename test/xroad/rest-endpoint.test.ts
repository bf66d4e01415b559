/**
 * POST /xroad/rest/{serviceCode} in both dialects, over real HTTP and a real
 * flow context: every header and fault case answered with the PR-REST §4.6
 * error body, an application's receipt, the journal and inbox keeping the
 * X-Road identifiers and every dialect header, and each provided service's
 * OpenAPI description served and valid.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { opsEvents, type MessageEvent } from '../../src/events/messages.js';
import type { XRoadDialect } from '../../src/registry/xroad-members.js';
import { inboxItems, journalRecords, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { APPLICATION, example, forwarded, names, QUERY, restServer, xroadRegistry, type RestServer, type XRoadNames } from './rest-setup.js';

interface Answer {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

async function post(server: RestServer, code: string, headers: Record<string, string>, body: string): Promise<Answer> {
  const res = await fetch(`${server.url}/xroad/rest/${encodeURIComponent(code)}`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

function expectXRoadError(a: Answer, status: number, type: string, messagePart?: string | RegExp): void {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.headers.get('content-type')).toBe('application/json;charset=utf-8');
  expect(a.headers.get('x-road-error')).toBe(type);
  expect(Object.keys(a.body).sort()).toEqual(['detail', 'message', 'type']);
  expect(a.body.type).toBe(type);
  expect(typeof a.body.detail).toBe('string');
  if (messagePart !== undefined) expect(a.body.message).toMatch(messagePart);
}

describe.each<XRoadDialect>(['xroad', 'trembita'])('the REST provider, %s dialect', (dialect) => {
  const n: XRoadNames = names(dialect);
  const t = dialect === 'trembita';
  const H = { client: t ? 'Uxp-Client' : 'X-Road-Client', id: t ? 'Uxp-QueryID' : 'X-Road-Id', service: t ? 'Uxp-Service' : 'X-Road-Service', user: t ? 'Uxp-Subject-Id' : 'X-Road-UserId' };
  const appCode = n.code(APPLICATION);
  const application = JSON.stringify(example(APPLICATION, 'example.request.person.json'));
  let flow: TestFlow;
  let server: RestServer;
  const events: MessageEvent[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    flow = testFlow({ partners: xroadRegistry(n), env: { MAX_BODY_BYTES: '65536' } });
    server = await restServer(flow.ctx, { answerWaitMs: 200 });
    unsubscribe = opsEvents.subscribe((e) => {
      if (e.operation === 'xroad:REST') events.push(e);
    });
  });
  afterAll(async () => {
    unsubscribe();
    await server.close();
    await flow.close();
  });

  it('takes an application: 201 with the receipt, the identifying headers echoed, stored before the answer with the X-Road identifiers', async () => {
    const id = crypto.randomUUID();
    const extra: Record<string, string> = t ? { 'Uxp-Purpose-Ids': 'purpose-1,purpose-2' } : { 'X-Road-Issue': 'MT324223MSD' };
    const a = await post(server, appCode, forwarded(n, { id, service: `${n.self}/${appCode}`, userId: t ? 'UA1234567890' : 'EE12345678901', extra }), application);
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(Object.keys(a.body).sort()).toEqual(['applicationId', 'receivedAt', 'registrationNumber']);
    expect(a.body.registrationNumber).toMatch(/^РК-\d{4}-\d{6}$/);
    expect(a.headers.get(H.client)).toBe(n.agency);
    expect(a.headers.get(H.id)).toBe(id);
    expect(a.headers.get(H.service)).toBe(`${n.self}/${appCode}`);
    expect(a.headers.get('x-road-error')).toBeNull();
    if (t) expect(a.headers.get('x-road-request-hash')).toBeNull();
    else expect(Buffer.from(a.headers.get('x-road-request-hash')!, 'base64')).toHaveLength(64);

    const item = (await inboxItems(flow.store)).find((i) => i.messageId === id)!;
    expect(item).toMatchObject({ kind: 'application', service: APPLICATION, partner: 'xr-agency', applicationId: a.body.applicationId, registrationNumber: a.body.registrationNumber });
    expect(item.signature).toMatchObject({ valid: true, algorithm: 'x-road-security-server', certificate: null, partner: 'xr-agency' });
    expect(item.xroad).toEqual({ dialect, protocol: 'rest', client: n.agency, service: `${n.self}/${appCode}`, id, userId: t ? 'UA1234567890' : 'EE12345678901' });

    const records = (await journalRecords(flow.store)).filter((r) => r.messageId === id);
    expect(records.map((r) => r.operation)).toEqual(['xroad:REST', 'xroad:REST:Response']);
    const [intake, response] = records;
    expect(intake!.requestText).toBe(application);
    expect(response!.responseText).toBe(JSON.stringify(a.body));
    expect(intake!.xroad).toMatchObject({ dialect, protocol: 'rest', client: n.agency, id, issue: t ? null : 'MT324223MSD' });
    // Every header of the dialect, as sent (Trembita requires them all kept).
    expect(intake!.xroad!.headers).toMatchObject(t ? { 'Uxp-Purpose-Ids': 'purpose-1,purpose-2', 'Uxp-Subject-Id': 'UA1234567890', 'Uxp-QueryID': id } : { 'X-Road-Issue': 'MT324223MSD', 'X-Road-UserId': 'EE12345678901', 'X-Road-Id': id });
    if (!t) expect(intake!.xroad!.requestHash).toBe(a.headers.get('x-road-request-hash'));
    expect(events.find((e) => e.messageId === id)).toMatchObject({ direction: 'inbound', partner: 'xr-agency', service: APPLICATION, outcome: 'accepted', applicationId: a.body.applicationId });
  });

  it('answers a repeat of the same client + id with the same receipt and stores nothing twice; the same id with other content is 409', async () => {
    const id = crypto.randomUUID();
    const first = await post(server, appCode, forwarded(n, { id }), application);
    const again = await post(server, appCode, forwarded(n, { id }), application);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect((await inboxItems(flow.store)).filter((i) => i.messageId === id)).toHaveLength(1);
    const other = JSON.parse(application) as Record<string, unknown>;
    other.termYears = 3;
    expectXRoadError(await post(server, appCode, forwarded(n, { id }), JSON.stringify(other)), 409, 'Client.DuplicateId', id);
  });

  it('refuses a request without the client header (400 Client.MissingHeaderField naming it), and journals the refusal with the request', async () => {
    const id = crypto.randomUUID();
    const a = await post(server, appCode, forwarded(n, { client: null, id }), application);
    expectXRoadError(a, 400, 'Client.MissingHeaderField', H.client);
    expect(a.body.detail).toBe(id);
    const [record] = (await journalRecords(flow.store)).filter((r) => r.messageId === id);
    expect(record).toMatchObject({ operation: 'xroad:REST:Response', succeeded: false, faultCode: 'Client.MissingHeaderField', partner: null });
    expect(record!.requestText).toBe(application);
  });

  it('refuses a request without the message id', async () => {
    expectXRoadError(await post(server, appCode, forwarded(n, { id: null }), application), 400, 'Client.MissingHeaderField', H.id);
  });

  it('refuses a malformed client identifier (400 Client.InvalidClientIdentifier)', async () => {
    expectXRoadError(await post(server, appCode, forwarded(n, { client: 'ONLY/TWO' }), application), 400, 'Client.InvalidClientIdentifier', H.client);
  });

  it('refuses the other dialect’s headers', async () => {
    const other = forwarded(names(t ? 'xroad' : 'trembita'), { client: n.agency });
    expectXRoadError(await post(server, appCode, other, application), 400, 'Client.MissingHeaderField', H.client);
  });

  it('refuses an unknown service code, and a service header naming another provider or code (404 Client.UnknownService)', async () => {
    expectXRoadError(await post(server, 'NoSuchService', forwarded(n), application), 404, 'Client.UnknownService', /NoSuchService/);
    const otherProvider = `${n.stranger}/${appCode}`;
    expectXRoadError(await post(server, appCode, forwarded(n, { service: otherProvider }), application), 404, 'Client.UnknownService', otherProvider);
    expectXRoadError(await post(server, appCode, forwarded(n, { service: `${n.self}/${n.code(QUERY)}` }), application), 404, 'Client.UnknownService');
    // A status service (outbound) is not provided even if named by its default code.
    expectXRoadError(await post(server, n.code('elk-order-status'), forwarded(n), application), 404, 'Client.UnknownService');
  });

  it('refuses an unknown client (403 Client.UnknownMember) and a registered client without the right (403 Client.AccessDenied)', async () => {
    const unknown = `${n.agency.split('/')[0]}/GOV/99999999/nobody`;
    expectXRoadError(await post(server, appCode, forwarded(n, { client: unknown }), application), 403, 'Client.UnknownMember', unknown);
    const id = crypto.randomUUID();
    expectXRoadError(await post(server, appCode, forwarded(n, { client: n.stranger, id }), application), 403, 'Client.AccessDenied', /xr-stranger/);
    expect(events.find((e) => e.messageId === id)).toMatchObject({ outcome: 'fault', faultCode: 'Client.AccessDenied', partner: null });
  });

  it('refuses a body that is not JSON: 415 for another content type, 400 Client.InvalidBody for unreadable JSON, Client.MissingBody for none', async () => {
    expectXRoadError(await post(server, appCode, { ...forwarded(n), 'content-type': 'text/xml' }, '<a/>'), 415, 'Client.InvalidContentType');
    expectXRoadError(await post(server, appCode, forwarded(n), '{"orderId": '), 400, 'Client.InvalidBody', /not JSON/);
    expectXRoadError(await post(server, appCode, forwarded(n), ''), 400, 'Client.MissingBody');
  });

  it('refuses a body of the wrong shape, naming the field (400 Client.InvalidBody)', async () => {
    const wrong = JSON.parse(application) as Record<string, unknown>;
    delete wrong.ownerConsent;
    wrong.termYears = 'five';
    const a = await post(server, appCode, forwarded(n), JSON.stringify(wrong));
    expectXRoadError(a, 400, 'Client.InvalidBody', /ownerConsent/);
    expect(a.body.message).toMatch(/termYears/);
  });

  it('refuses a body larger than MAX_BODY_BYTES (413)', async () => {
    const big = JSON.stringify({ pad: 'x'.repeat(70_000) });
    expectXRoadError(await post(server, appCode, forwarded(n), big), 413, 'Client.BadRequest', /larger/);
  });

  it('answers 503 Server.InternalError when the store fails (nothing stored), and the repeat with the same id is taken', async () => {
    const id = crypto.randomUUID();
    const commit = flow.store.commit.bind(flow.store);
    flow.store.commit = async () => {
      throw new Error('store down');
    };
    try {
      expectXRoadError(await post(server, appCode, forwarded(n, { id }), application), 503, 'Server.InternalError', /same id/);
    } finally {
      flow.store.commit = commit;
    }
    expect((await inboxItems(flow.store)).filter((i) => i.messageId === id)).toHaveLength(0);
    expect((await post(server, appCode, forwarded(n, { id }), application)).status).toBe(201);
  });

  it('serves each provided service’s OpenAPI description (valid), and 404 for another code', async () => {
    for (const code of [appCode, n.code(QUERY)]) {
      const res = await fetch(`${server.url}/xroad/rest/${code}/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as { paths: Record<string, unknown>; info: { description: string } };
      await SwaggerParser.validate(doc as never);
      expect(Object.keys(doc.paths)).toEqual([`/${code}`]);
      expect(doc.info.description).toContain(`${n.self}/${code}`);
    }
    const missing = await fetch(`${server.url}/xroad/rest/NoSuchService/openapi.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('x-road-error')).toBe('Client.UnknownService');
  });
});
