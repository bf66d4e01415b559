/**
 * The JSON API explains itself (issue 20, point 4), through a real started gateway: an enum's
 * allowed values in the 400, the content type to send in the 415, a malformed Authorization
 * header called malformed; and /docs/json documents every operation's error answers with the
 * one Error component, the operations routes under one tag.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, OPS } from '../helpers/smev.js';

interface ErrorBody {
  error: { code: string; message: string; correlationId: string };
}

async function errorOf(res: Response, status: number, code: string): Promise<string> {
  const body = (await res.json()) as ErrorBody;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(body.error.code).toBe(code);
  expect(body.error.correlationId).toBeTruthy();
  return body.error.message;
}

describe('API messages', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  it('an enum in the query string: the 400 lists the allowed values', async () => {
    const res = await fetch(`${gw.url}/api/v1/ops/deliveries?state=zombie`, { headers: OPS });
    const message = await errorOf(res, 400, 'FST_ERR_VALIDATION');
    expect(message).toContain('querystring/state');
    expect(message).toContain('"dead", "pending", "inflight", "done"');
  });

  it('an enum in a JSON body: the 400 lists the allowed values', async () => {
    const res = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'no-such-service', data: {} }) });
    const message = await errorOf(res, 400, 'FST_ERR_VALIDATION');
    expect(message).toContain('body/service');
    expect(message).toMatch(/allowed values: "[a-z0-9-]+"/);
  });

  it('415 names the content type to send', async () => {
    const text = await fetch(`${gw.url}/api/v1/ops/maintenance`, { method: 'POST', headers: { ...OPS, 'content-type': 'text/plain' }, body: 'on' });
    expect(await errorOf(text, 415, 'UNSUPPORTED_MEDIA_TYPE')).toBe('Content-Type text/plain is not accepted; send Content-Type: application/json');
    const xml = await fetch(`${gw.url}/api/v1/ops/maintenance`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/xml' }, body: '<on/>' });
    expect(await errorOf(xml, 415, 'UNSUPPORTED_MEDIA_TYPE')).toContain('send Content-Type: application/json');
  });

  it('a malformed Authorization header is called malformed, a missing one missing, and no credential is echoed', async () => {
    const cases: Array<[string | undefined, string]> = [
      [undefined, 'missing Authorization: Bearer <token>'],
      ['Bearer', 'malformed Authorization header (the token after Bearer is missing); send Authorization: Bearer <token>'],
      ['Bearer   ', 'malformed Authorization header (the token after Bearer is missing); send Authorization: Bearer <token>'],
      ['Bearer two tokens', 'malformed Authorization header (one token after Bearer, with no spaces in it); send Authorization: Bearer <token>'],
      ['Basic x', 'malformed Authorization header (scheme Basic is not accepted); send Authorization: Bearer <token>'],
      ['dev-city-token', 'malformed Authorization header (it does not start with Bearer); send Authorization: Bearer <token>'],
      ['%%garbage%%', 'malformed Authorization header (it does not start with Bearer); send Authorization: Bearer <token>'],
      ['Bearer not-a-real-token', 'unknown token'],
    ];
    for (const [header, expected] of cases) {
      const res = await fetch(`${gw.url}/api/v1/inbox`, { headers: header === undefined ? {} : { authorization: header } });
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="okno"');
      const message = await errorOf(res, 401, 'UNAUTHORIZED');
      expect(message, String(header)).toBe(expected);
    }
  });
});

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Operation {
  tags?: string[];
  responses: Record<string, { description?: string; content?: Record<string, { schema: Json }> }>;
}
interface OpenApi {
  components: { schemas: Record<string, Json> };
  paths: Record<string, Record<string, Operation>>;
}

describe('OpenAPI: error answers and tags', () => {
  let gw: RunningGateway;
  let doc: OpenApi;
  beforeAll(async () => {
    gw = await startGateway();
    doc = (await (await fetch(`${gw.url}/docs/json`)).json()) as OpenApi;
  });
  afterAll(() => gw.close());

  const operations = () => Object.entries(doc.paths).flatMap(([url, ops]) => Object.entries(ops).map(([method, op]) => ({ url, method: method.toUpperCase(), op })));

  it('one Error component, the shape every error body has', () => {
    expect(doc.components.schemas.Error).toMatchObject({ type: 'object', required: ['error'], properties: { error: { required: ['code', 'message', 'correlationId'] } } });
    // No other component is an error schema.
    const errorLike = Object.entries(doc.components.schemas).filter(([, s]) => JSON.stringify(s).includes('"correlationId"'));
    expect(errorLike.map(([name]) => name)).toEqual(['Error']);
  });

  it('every operation documents its error answers, each with the one Error schema', () => {
    const ops = operations();
    expect(ops.length).toBeGreaterThan(20);
    const seen = new Set<string>();
    for (const { url, method, op } of ops) {
      const where = `${method} ${url}`;
      const statuses = Object.keys(op.responses);
      expect(statuses.some((s) => s.startsWith('2')), `${where}: a success answer`).toBe(true);
      // Every /api/ route has a token check, and every route can fail inside or be refused while shutting down.
      for (const s of ['401', '429', '500', '503']) expect(statuses, where).toContain(s);
      if (method === 'POST') for (const s of ['400', '413', '415']) expect(statuses, where).toContain(s);
      if (url.includes('{')) for (const s of ['400', '404']) expect(statuses, where).toContain(s);
      for (const status of statuses.filter((s) => /^[45]/.test(s))) {
        seen.add(status);
        const response = op.responses[status]!;
        expect(response.description, `${where} ${status}`).toBeTruthy();
        expect(response.content?.['application/json']?.schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
      }
    }
    // Across the document: every error status the API answers.
    for (const s of ['400', '401', '403', '404', '409', '413', '415', '422', '429', '500', '503']) expect([...seen]).toContain(s);
  });

  it('409 where a route can conflict', () => {
    for (const [url, method] of [['/api/v1/queries', 'post'], ['/api/v1/requests/{id}/response', 'post'], ['/api/v1/applications/{id}/status', 'post'], ['/api/v1/ops/deliveries/{id}/replay', 'post'], ['/api/v1/ops/deliveries/{id}/discard', 'post'], ['/api/v1/ops/exchange-messages/{id}/ack', 'post'], ['/api/v1/ops/exchange-messages/{id}/reject', 'post']] as const) {
      expect(Object.keys(doc.paths[url]![method]!.responses), `${method} ${url}`).toContain('409');
    }
  });

  it('all operations routes (ops, maintenance, journal) share the tag "operations"', () => {
    const opsRoutes = operations().filter(({ url }) => /^\/api\/v1\/(ops|maintenance|journal)(\/|$)/.test(url));
    expect(opsRoutes.length).toBeGreaterThanOrEqual(10);
    for (const { url, method, op } of opsRoutes) expect(op.tags, `${method} ${url}`).toEqual(['operations']);
    const tags = new Set(operations().flatMap(({ op }) => op.tags ?? []));
    expect([...tags].sort()).toEqual(['applications', 'inbox', 'operations', 'queries']);
  });


  it('the documented 503: a request that arrives while the gateway shuts down gets the Error body', async () => {
    const other = await startGateway();
    const url = new URL(other.url);
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      expect(ok(), what).toBe(true);
    };
    const socket = net.connect(Number(url.port), url.hostname);
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('utf8')));
    const closed = new Promise((r) => socket.once('close', r));
    // A request in flight (its body half sent) keeps this connection open through close().
    const body = '{"on":false}';
    socket.write(`POST /api/v1/ops/maintenance HTTP/1.1\r\nHost: x\r\nAuthorization: ${OPS.authorization}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 4)}`);
    await until('the request reached the gateway', () => other.logs.some((l) => l.msg === 'incoming request' && (l.req as { url?: string } | undefined)?.url === '/api/v1/ops/maintenance'));
    const closing = other.close();
    await until('the gateway stopped listening', () => !other.gateway.app.server.listening);
    // The rest of the body, then a second request on the same connection.
    socket.write(`${body.slice(4)}GET /api/v1/inbox HTTP/1.1\r\nHost: x\r\nAuthorization: ${CITY.authorization}\r\n\r\n`);
    await closed;
    await closing;
    const [first, second] = received.split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    const error = JSON.parse(second!.split('\r\n\r\n')[1]!) as ErrorBody;
    expect(error.error.code).toBe('SHUTTING_DOWN');
    expect(error.error.message).toBe('the gateway is shutting down; retry on another instance');
  });
});

describe('API_RATE_LIMIT', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    // 1 a second, burst 3: the fourth request at once is refused; per token, so the other token still passes.
    gw = await startGateway({ API_RATE_LIMIT: '1/s:3' });
  });
  afterAll(() => gw.close());

  it('a token over its limit gets 429 with Retry-After and the Error body; another token is not affected; an unknown token spends nothing', async () => {
    for (let i = 0; i < 5; i++) expect((await fetch(`${gw.url}/api/v1/inbox`, { headers: { authorization: 'Bearer not-a-real-token' } })).status).toBe(401);
    const statuses: number[] = [];
    let limited: Response | undefined;
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${gw.url}/api/v1/inbox`, { headers: CITY });
      statuses.push(res.status);
      if (res.status === 429) limited = res;
      else await res.arrayBuffer();
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(Number(limited!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const message = await errorOf(limited!, 429, 'RATE_LIMITED');
    expect(message).toContain('API_RATE_LIMIT');
    expect(message).not.toContain('dev-city-token');
    expect((await fetch(`${gw.url}/api/v1/ops/deliveries`, { headers: OPS })).status).toBe(200);
  });
});
