/**
 * The city's JSON API (contract §3) through real HTTP: bearer tokens and
 * roles, inbox paging by cursor, idempotent ack, applications by id, the
 * OpenAPI document, and one error shape with the correlation id.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import { readInbox, submitApplication, type PagedItem } from '../helpers/city.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, OPS, serviceExamples } from '../helpers/smev.js';

interface ErrorBody {
  error: { code: string; message: string; correlationId: string };
}

/** An error reply: JSON of exactly { error: { code, message, correlationId } }, the id echoed in X-Correlation-Id. */
async function expectError(res: Response, status: number, code: string): Promise<ErrorBody['error']> {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await res.json()) as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'correlationId', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.correlationId).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get('x-correlation-id')).toBe(body.error.correlationId);
  return body.error;
}

const PORTAL_NAME = 'Единый портал государственных услуг (тестовый)';

describe('city API', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  describe('authentication and roles', () => {
    const cityRoutes: Array<[string, string]> = [
      ['GET', '/api/v1/inbox'],
      ['POST', '/api/v1/inbox/00000000-0000-4000-8000-000000000000/ack'],
      ['GET', '/api/v1/applications/00000000-0000-4000-8000-000000000000'],
    ];

    for (const [method, route] of cityRoutes) {
      it(`${method} ${route}: 401 without a token, 401 with an unknown one, 403 with the ops token`, async () => {
        const none = await fetch(`${gw.url}${route}`, { method });
        expect(none.headers.get('www-authenticate')).toBe('Bearer realm="okno"');
        expect((await expectError(none, 401, 'UNAUTHORIZED')).message).toBe('missing Authorization: Bearer <token>');

        const unknown = await fetch(`${gw.url}${route}`, { method, headers: { authorization: 'Bearer not-a-real-token' } });
        expect(unknown.headers.get('www-authenticate')).toBe('Bearer realm="okno"');
        expect((await expectError(unknown, 401, 'UNAUTHORIZED')).message).toBe('unknown token');

        const basic = await fetch(`${gw.url}${route}`, { method, headers: { authorization: 'Basic ZGV2LWNpdHktdG9rZW46' } });
        expect(basic.headers.get('www-authenticate')).toBe('Bearer realm="okno"');
        await expectError(basic, 401, 'UNAUTHORIZED');

        const ops = await fetch(`${gw.url}${route}`, { method, headers: OPS });
        expect(ops.headers.get('www-authenticate')).toBeNull();
        expect((await expectError(ops, 403, 'FORBIDDEN')).message).toBe('role ops may not do this (needs city)');
      });
    }

    it('the city token is admitted', async () => {
      const res = await fetch(`${gw.url}/api/v1/inbox`, { headers: CITY });
      expect(res.status).toBe(200);
    });

    it('an ack refused for the role changes nothing: the item stays unacknowledged', async () => {
      const messageId = await submitApplication(gw);
      const before = await readInbox(gw.url);
      const item = before.items.find((i) => i.messageId === messageId)!;
      expect((await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: OPS })).status).toBe(403);
      expect((await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST' })).status).toBe(401);
      expect(await readInbox(gw.url)).toEqual(before);
      expect(item.ackedAt).toBeNull();
    });
  });

  describe('inbox paging', () => {
    const N = 5;
    let messageIds: string[];
    let start: string;

    beforeAll(async () => {
      start = (await readInbox(gw.url)).next;
      messageIds = [];
      const examples = serviceExamples('advertising-permit');
      for (let i = 0; i < N; i++) messageIds.push(await submitApplication(gw, 'advertising-permit', examples[i % examples.length]!));
    });

    it('an empty inbox answers { items: [], next: "0" }', async () => {
      const fresh = await startGateway();
      try {
        expect(await readInbox(fresh.url, '')).toEqual({ items: [], next: '0' });
        expect(await readInbox(fresh.url, 'after=0&limit=2')).toEqual({ items: [], next: '0' });
      } finally {
        await fresh.close();
      }
    });

    it('limit=2 following next until empty yields every item exactly once, in order', async () => {
      const seen: PagedItem[] = [];
      const sizes: number[] = [];
      let cursor = start;
      for (let guard = 0; guard < 20; guard++) {
        const page = await readInbox(gw.url, `after=${cursor}&limit=2`);
        sizes.push(page.items.length);
        if (page.items.length === 0) {
          expect(page.next).toBe(cursor);
          break;
        }
        expect(page.next).toBe(page.items[page.items.length - 1]!.cursor);
        seen.push(...page.items);
        cursor = page.next;
      }
      expect(sizes).toEqual([2, 2, 1, 0]);
      expect(seen.map((i) => i.messageId)).toEqual(messageIds);
      expect(new Set(seen.map((i) => i.id)).size).toBe(N);
      const cursors = seen.map((i) => Number(i.cursor));
      expect(cursors).toEqual([...cursors].sort((a, b) => a - b));
      expect(new Set(cursors).size).toBe(N);
      for (const item of seen) expect(item).toMatchObject({ kind: 'application', service: 'advertising-permit', partner: 'portal', ackedAt: null });
    });

    it('the first page without `after` starts at the beginning; the default limit covers them all', async () => {
      const all = await readInbox(gw.url, '');
      expect(all.items.map((i) => i.messageId).slice(-N)).toEqual(messageIds);
      expect(all.next).toBe(all.items[all.items.length - 1]!.cursor);
    });

    it('next stays put when nothing new arrived, and picks up what arrives later', async () => {
      const end = (await readInbox(gw.url, `after=${start}&limit=500`)).next;
      const empty1 = await readInbox(gw.url, `after=${end}&limit=2`);
      const empty2 = await readInbox(gw.url, `after=${end}`);
      expect(empty1).toEqual({ items: [], next: end });
      expect(empty2).toEqual({ items: [], next: end });

      const later = await submitApplication(gw);
      const page = await readInbox(gw.url, `after=${end}&limit=2`);
      expect(page.items.map((i) => i.messageId)).toEqual([later]);
      expect(page.next).toBe(page.items[0]!.cursor);
      expect(Number(page.next)).toBeGreaterThan(Number(end));
      messageIds.push(later);
    });

    const badQueries: Array<[string, string]> = [
      ['limit=0', 'querystring/limit must be >= 1'],
      ['limit=abc', 'querystring/limit must be integer'],
      ['limit=501', 'querystring/limit must be <= 500'],
      ['limit=1.5', 'querystring/limit must be integer'],
      ['after=-1', 'querystring/after must match pattern "^\\d{1,15}$"'],
      ['after=abc', 'querystring/after must match pattern "^\\d{1,15}$"'],
      ['after=1e3', 'querystring/after must match pattern "^\\d{1,15}$"'],
      ['bogus=1', 'querystring must NOT have additional properties "bogus"'],
    ];
    for (const [query, message] of badQueries) {
      it(`?${query} → 400 "${message}"`, async () => {
        const res = await fetch(`${gw.url}/api/v1/inbox?${query}`, { headers: CITY });
        const error = await expectError(res, 400, 'FST_ERR_VALIDATION');
        expect(error.message).toBe(`invalid request: ${message}`);
      });
    }
  });

  describe('ack', () => {
    it('204 with an empty body, again 204; ackedAt is set once and kept', async () => {
      const messageId = await submitApplication(gw);
      const item = (await readInbox(gw.url)).items.find((i) => i.messageId === messageId)!;
      expect(item.ackedAt).toBeNull();

      const before = Date.now();
      const first = await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY });
      expect(first.status).toBe(204);
      expect(await first.text()).toBe('');
      const after = Date.now();
      const acked = (await readInbox(gw.url)).items.find((i) => i.id === item.id)!;
      expect(acked.ackedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      const ackedAt = Date.parse(acked.ackedAt!);
      expect(ackedAt).toBeGreaterThanOrEqual(before - 1);
      expect(ackedAt).toBeLessThanOrEqual(after + 1);
      // Everything else about the item is unchanged by the ack.
      expect({ ...acked, ackedAt: null }).toEqual(item);

      await new Promise((r) => setTimeout(r, 15));
      const second = await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY });
      expect(second.status).toBe(204);
      expect(await second.text()).toBe('');
      expect((await readInbox(gw.url)).items.find((i) => i.id === item.id)!.ackedAt).toBe(acked.ackedAt);
    });

    it('ten acks of one item at the same moment: all 204, ackedAt written once', async () => {
      const messageId = await submitApplication(gw);
      const item = (await readInbox(gw.url)).items.find((i) => i.messageId === messageId)!;
      const answers = await Promise.all(Array.from({ length: 10 }, () => fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY })));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(204));
      const ackedAt = (await readInbox(gw.url)).items.find((i) => i.id === item.id)!.ackedAt;
      const record = await gw.gateway.store.getIdempotency(`inbox-ack:${item.id}`);
      expect(record!.digest).toBe(ackedAt);
    });

    it('acking one item leaves the others unacked and keeps the order', async () => {
      const a = await submitApplication(gw);
      const b = await submitApplication(gw);
      const before = await readInbox(gw.url);
      const itemA = before.items.find((i) => i.messageId === a)!;
      expect((await fetch(`${gw.url}/api/v1/inbox/${itemA.id}/ack`, { method: 'POST', headers: CITY })).status).toBe(204);
      const after = await readInbox(gw.url);
      expect(after.items.map((i) => i.id)).toEqual(before.items.map((i) => i.id));
      expect(after.next).toBe(before.next);
      expect(after.items.find((i) => i.messageId === b)!.ackedAt).toBeNull();
    });

    it('an unknown id → 404 NOT_FOUND and nothing is created', async () => {
      const before = await readInbox(gw.url);
      const id = '11111111-2222-4333-8444-555555555555';
      const res = await fetch(`${gw.url}/api/v1/inbox/${id}/ack`, { method: 'POST', headers: CITY });
      expect((await expectError(res, 404, 'NOT_FOUND')).message).toBe(`no inbox item ${id}`);
      expect(await readInbox(gw.url)).toEqual(before);
    });

    it('a caller-supplied correlation id is echoed in the header and the error body', async () => {
      const res = await fetch(`${gw.url}/api/v1/inbox/nope/ack`, { method: 'POST', headers: { ...CITY, 'x-correlation-id': 'city-req-7' } });
      expect(res.status).toBe(404);
      expect(res.headers.get('x-correlation-id')).toBe('city-req-7');
      expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no inbox item nope', correlationId: 'city-req-7' } });
    });
  });

  describe('applications', () => {
    it('GET /api/v1/applications/{id} → the application with its registration number and statusHistory [received]', async () => {
      const [organization, person] = serviceExamples('advertising-permit');
      const messageId = await submitApplication(gw, 'advertising-permit', person!);
      const item = (await readInbox(gw.url)).items.find((i) => i.messageId === messageId)!;
      expect(item.applicationId).toEqual(expect.any(String));
      expect(organization).not.toEqual(person);

      const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}`, { headers: CITY });
      expect(res.status).toBe(200);
      const app = (await res.json()) as Application;
      const year = new Date(item.receivedAt).getUTCFullYear();
      // Everything submitted in this file so far is advertising-permit: this is number N+1 of the year.
      const count = (await readInbox(gw.url)).items.filter((i) => i.service === 'advertising-permit').length;
      expect(app).toEqual({
        id: item.applicationId,
        registrationNumber: `РК-${year}-${String(count).padStart(6, '0')}`,
        service: 'advertising-permit',
        serviceTitle: 'Выдача разрешения на установку и эксплуатацию рекламной конструкции',
        messageId,
        partner: 'portal',
        receivedAt: item.receivedAt,
        applicant: (person as { applicant: unknown }).applicant,
        content: person,
        attachments: [],
        status: 'received',
        statusHistory: [{ status: 'received', at: item.receivedAt, comment: `принято от ${PORTAL_NAME}` }],
        inboxItemId: item.id,
        queries: [],
      });
      expect(item.registrationNumber).toBe(app.registrationNumber);
    });

    it('an unknown id → 404 NOT_FOUND', async () => {
      const id = '99999999-2222-4333-8444-555555555555';
      const res = await fetch(`${gw.url}/api/v1/applications/${id}`, { headers: CITY });
      expect((await expectError(res, 404, 'NOT_FOUND')).message).toBe(`no application ${id}`);
    });

    it('an inbox item id is not an application id', async () => {
      const item = (await readInbox(gw.url)).items[0]!;
      await expectError(await fetch(`${gw.url}/api/v1/applications/${item.id}`, { headers: CITY }), 404, 'NOT_FOUND');
    });
  });

  describe('OpenAPI', () => {
    it('GET /docs/json is OpenAPI 3 with the inbox and applications paths and a bearer scheme', async () => {
      const res = await fetch(`${gw.url}/docs/json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as {
        openapi: string;
        paths: Record<string, Record<string, { security?: unknown; parameters?: Array<{ name: string; in: string }> }>>;
        components: { securitySchemes: Record<string, unknown> };
      };
      expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
      expect(doc.components.securitySchemes).toEqual({ bearer: { type: 'http', scheme: 'bearer' } });
      expect(Object.keys(doc.paths['/api/v1/inbox']!)).toEqual(['get']);
      expect(Object.keys(doc.paths['/api/v1/inbox/{id}/ack']!)).toEqual(['post']);
      expect(Object.keys(doc.paths['/api/v1/applications/{id}']!)).toEqual(['get']);
      for (const [p, m] of [['/api/v1/inbox', 'get'], ['/api/v1/inbox/{id}/ack', 'post'], ['/api/v1/applications/{id}', 'get']] as const) {
        expect(doc.paths[p]![m]!.security).toEqual([{ bearer: [] }]);
      }
      expect(doc.paths['/api/v1/inbox']!.get!.parameters!.map((x) => `${x.in}:${x.name}`).sort()).toEqual(['query:after', 'query:limit']);
      // The SOAP side is described by its WSDL, not here.
      expect(Object.keys(doc.paths).filter((p) => !p.startsWith('/api/'))).toEqual([]);
    });

    it('GET /docs answers 200 with HTML', async () => {
      const res = await fetch(`${gw.url}/docs`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await res.text()).toMatch(/<html/i);
    });
  });

  it('an unknown API route is a JSON 404 in the same error shape', async () => {
    const res = await fetch(`${gw.url}/api/v1/nothing-here?x=1`, { headers: CITY });
    expect((await expectError(res, 404, 'NOT_FOUND')).message).toBe('no route GET /api/v1/nothing-here');
  });
});
