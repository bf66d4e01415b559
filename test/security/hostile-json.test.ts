/**
 * The hostile-input corpus against the city's JSON API, through real HTTP
 * with a real Redis: malformed JSON, wrong content types, wrong types, huge
 * arrays and strings, deep nesting, prototype-pollution keys, bad query
 * strings and ids. Each gets its 4xx with a JSON error that names the field;
 * never a 5xx; afterwards nothing was created (no query, no delivery, the
 * application's status unchanged), Object.prototype is clean, and the API
 * still serves a valid request.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, postSoap } from '../helpers/smev.js';
import { sign, unsignedRequest } from './envelopes.js';

const MAX_BODY = 256 * 1024;
const JSON_TYPE = { 'content-type': 'application/json' };

interface Case {
  name: string;
  method?: 'GET' | 'POST';
  /** The path; `{app}` is replaced by a real application id. */
  path: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  status: number;
  /** What the error message must name (the field, or the problem). */
  names: RegExp;
}

const query = (o: Record<string, unknown>) => JSON.stringify({ service: 'egrn-extract', data: { cadastralNumber: '38:36:000021:4412' }, ...o });
const nested = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

const cases: Case[] = [
  // --- not JSON, wrong content types, size
  { name: 'malformed JSON', path: '/api/v1/queries', body: '{"service":', status: 400, names: /JSON|Unexpected end/i },
  { name: 'trailing garbage after JSON', path: '/api/v1/queries', body: `${query({})}xyz`, status: 400, names: /JSON|Unexpected/i },
  { name: 'empty body declared as JSON', path: '/api/v1/queries', body: '', status: 400, names: /empty|body/i },
  { name: 'JSON null', path: '/api/v1/queries', body: 'null', status: 400, names: /body/ },
  { name: 'JSON array instead of an object', path: '/api/v1/queries', body: '[]', status: 400, names: /body must be object/ },
  { name: 'JSON string instead of an object', path: '/api/v1/queries', body: '"egrn-extract"', status: 400, names: /body must be object/ },
  { name: 'Content-Type text/plain', path: '/api/v1/queries', body: query({}), headers: { ...CITY, 'content-type': 'text/plain' }, status: 415, names: /Content-Type|media type/i },
  { name: 'Content-Type application/xml', path: '/api/v1/queries', body: '<a/>', headers: { ...CITY, 'content-type': 'application/xml' }, status: 415, names: /Content-Type|media type/i },
  { name: 'Content-Type form-urlencoded', path: '/api/v1/queries', body: 'service=egrn-extract', headers: { ...CITY, 'content-type': 'application/x-www-form-urlencoded' }, status: 415, names: /Content-Type|media type/i },
  { name: 'JSON in UTF-16', path: '/api/v1/queries', body: Buffer.from(query({}), 'utf16le'), status: 400, names: /JSON|Unexpected/i },
  { name: 'invalid UTF-8 inside a JSON string', path: '/api/v1/queries', body: Buffer.concat([Buffer.from('{"service":"egrn-extract","data":{"cadastralNumber":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}')]), status: 400, names: /cadastralNumber/ },
  { name: `body over MAX_BODY_BYTES (${MAX_BODY})`, path: '/api/v1/queries', body: query({ data: { cadastralNumber: '1'.repeat(MAX_BODY) } }), status: 413, names: /too large|body/i },

  // --- wrong types and values, named
  { name: 'service is a number', path: '/api/v1/queries', body: query({ service: 42 }), status: 400, names: /service/ },
  { name: 'service is an object', path: '/api/v1/queries', body: query({ service: { id: 'egrn-extract' } }), status: 400, names: /service/ },
  { name: 'service unknown', path: '/api/v1/queries', body: query({ service: 'no-such-service' }), status: 400, names: /service/ },
  { name: 'service is an array of one valid id', path: '/api/v1/queries', body: query({ service: ['egrn-extract'] }), status: 400, names: /service/ },
  { name: 'data missing', path: '/api/v1/queries', body: JSON.stringify({ service: 'egrn-extract' }), status: 400, names: /data/ },
  { name: 'data is a string', path: '/api/v1/queries', body: query({ data: 'x' }), status: 400, names: /data/ },
  { name: 'data is an array', path: '/api/v1/queries', body: query({ data: [] }), status: 400, names: /data/ },
  { name: 'data field of the wrong type', path: '/api/v1/queries', body: query({ data: { cadastralNumber: 3836000021 } }), status: 400, names: /cadastralNumber/ },
  { name: 'data field breaking its pattern', path: '/api/v1/queries', body: query({ data: { cadastralNumber: '38-36' } }), status: 400, names: /cadastralNumber/ },
  { name: 'data with an unknown field', path: '/api/v1/queries', body: query({ data: { cadastralNumber: '38:36:000021:4412', extra: 1 } }), status: 400, names: /extra|additional/ },
  { name: 'data field a 200 KB string', path: '/api/v1/queries', body: query({ data: { cadastralNumber: '38:36:000021:4412', purpose: 'я'.repeat(100_000) } }), status: 400, names: /purpose/ },
  { name: 'data field a huge array', path: '/api/v1/queries', body: query({ data: { cadastralNumber: Array.from({ length: 50_000 }, () => 1) } }), status: 400, names: /cadastralNumber/ },
  { name: 'a huge array as an unknown top-level field', path: '/api/v1/queries', body: query({ items: Array.from({ length: 30_000 }, (_, i) => i) }), status: 400, names: /"items"/ },
  { name: '10 000-deep nested arrays', path: '/api/v1/queries', body: query({ data: { cadastralNumber: '38:36:000021:4412', deep: '@' } }).replace('"@"', nested(10_000)), status: 400, names: /deep|additional|nest/ },
  { name: 'deadline not a date', path: '/api/v1/queries', body: query({ deadline: 'tomorrow' }), status: 400, names: /deadline/ },
  { name: 'deadline in the past', path: '/api/v1/queries', body: query({ deadline: '2000-01-01T00:00:00Z' }), status: 400, names: /deadline/ },
  { name: 'applicationId empty', path: '/api/v1/queries', body: query({ applicationId: '' }), status: 400, names: /applicationId/ },
  { name: 'applicationId 10 KB', path: '/api/v1/queries', body: query({ applicationId: 'a'.repeat(10_000) }), status: 400, names: /applicationId/ },
  { name: 'applicationId of no application', path: '/api/v1/queries', body: query({ applicationId: 'nope' }), status: 404, names: /applicationId/ },
  { name: 'partner unknown', path: '/api/v1/queries', body: query({ partner: 'nobody' }), status: 409, names: /nobody/ },

  // --- prototype pollution
  { name: '__proto__ at the top level', path: '/api/v1/queries', body: '{"service":"egrn-extract","data":{"cadastralNumber":"38:36:000021:4412"},"__proto__":{"polluted":"yes"}}', status: 400, names: /__proto__|prototype/i },
  { name: '__proto__ inside data', path: '/api/v1/queries', body: '{"service":"egrn-extract","data":{"cadastralNumber":"38:36:000021:4412","__proto__":{"polluted":"yes"}}}', status: 400, names: /__proto__|prototype/i },
  { name: 'constructor.prototype', path: '/api/v1/queries', body: '{"service":"egrn-extract","data":{"cadastralNumber":"38:36:000021:4412"},"constructor":{"prototype":{"polluted":"yes"}}}', status: 400, names: /constructor|prototype/i },
  { name: '__proto__ in a status comment body', path: '/api/v1/applications/{app}/status', body: '{"code":"registered","__proto__":{"polluted":"yes"}}', status: 400, names: /__proto__|prototype/i },

  // --- status changes
  { name: 'status code not in the lifecycle', path: '/api/v1/applications/{app}/status', body: '{"code":"approved-by-magic"}', status: 400, names: /code/ },
  { name: 'status code a number', path: '/api/v1/applications/{app}/status', body: '{"code":7}', status: 400, names: /code/ },
  { name: 'status code a boolean', path: '/api/v1/applications/{app}/status', body: '{"code":true}', status: 400, names: /code/ },
  { name: 'status code missing', path: '/api/v1/applications/{app}/status', body: '{"comment":"x"}', status: 400, names: /code/ },
  { name: 'status comment too long', path: '/api/v1/applications/{app}/status', body: JSON.stringify({ code: 'registered', comment: 'x'.repeat(1001) }), status: 400, names: /comment/ },
  { name: 'status comment empty', path: '/api/v1/applications/{app}/status', body: JSON.stringify({ code: 'registered', comment: '' }), status: 400, names: /comment/ },
  { name: 'status comment a number', path: '/api/v1/applications/{app}/status', body: JSON.stringify({ code: 'registered', comment: 5 }), status: 400, names: /comment/ },
  { name: 'status with an unknown field', path: '/api/v1/applications/{app}/status', body: JSON.stringify({ code: 'registered', notify: true }), status: 400, names: /"notify"/ },
  { name: 'status of no application', path: '/api/v1/applications/no-such-app/status', body: JSON.stringify({ code: 'registered' }), status: 404, names: /no-such-app/ },
  { name: 'status transition not allowed', path: '/api/v1/applications/{app}/status', body: JSON.stringify({ code: 'received' }), status: 409, names: /received/ },
  { name: 'application id of 10 KB', path: `/api/v1/applications/${'a'.repeat(10_000)}/status`, body: JSON.stringify({ code: 'registered' }), status: 414, names: /MAX_PARAM_LENGTH|too long/i },

  // --- answers to agencies' queries
  { name: 'answer with both data and reject', path: '/api/v1/requests/x/response', body: JSON.stringify({ data: {}, reject: { code: 'OTHER', description: 'x' } }), status: 400, names: /body/ },
  { name: 'answer rejection code unknown', path: '/api/v1/requests/x/response', body: JSON.stringify({ reject: { code: 'WHATEVER', description: 'x' } }), status: 400, names: /code|body/ },
  { name: 'answer to no request', path: '/api/v1/requests/no-such-request/response', body: JSON.stringify({ data: {} }), status: 404, names: /no-such-request/ },

  // --- query strings, ids, other routes
  { name: 'inbox limit negative', method: 'GET', path: '/api/v1/inbox?limit=-1', status: 400, names: /limit/ },
  { name: 'inbox limit not a number', method: 'GET', path: '/api/v1/inbox?limit=abc', status: 400, names: /limit/ },
  { name: 'inbox limit huge', method: 'GET', path: '/api/v1/inbox?limit=100000000000000000000', status: 400, names: /limit/ },
  { name: 'inbox cursor negative', method: 'GET', path: '/api/v1/inbox?after=-5', status: 400, names: /after/ },
  { name: 'inbox cursor 1e30', method: 'GET', path: '/api/v1/inbox?after=1e30', status: 400, names: /after/ },
  { name: 'inbox unknown parameter', method: 'GET', path: '/api/v1/inbox?evil=1', status: 400, names: /evil/ },
  { name: 'inbox limit repeated', method: 'GET', path: '/api/v1/inbox?limit=1&limit=2', status: 400, names: /limit/ },
  { name: 'ack of no item', path: '/api/v1/inbox/no-such-item/ack', status: 404, names: /no-such-item/ },
  { name: 'maintenance on as a string', path: '/api/v1/ops/maintenance', body: '{"on":"yes"}', headers: { ...OPS, ...JSON_TYPE }, status: 400, names: /on/ },
  { name: 'maintenance on as the string "true"', path: '/api/v1/ops/maintenance', body: '{"on":"true"}', headers: { ...OPS, ...JSON_TYPE }, status: 400, names: /on/ },
  { name: 'journal limit not a number', method: 'GET', path: '/api/v1/journal?limit=lots', headers: OPS, status: 400, names: /limit/ },
  { name: 'journal from not a date', method: 'GET', path: '/api/v1/journal?from=yesterday', headers: OPS, status: 400, names: /from/ },

  // --- auth comes first
  { name: 'no token', path: '/api/v1/queries', body: query({}), headers: JSON_TYPE, status: 401, names: /token|authorization/i },
  { name: 'a token of the wrong role', path: '/api/v1/queries', body: query({}), headers: { ...OPS, ...JSON_TYPE }, status: 403, names: /role|city/i },
];

describe('hostile JSON corpus through HTTP (real Redis)', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;
  let applicationId: string;
  const prefix = 'hostile-json:';

  beforeAll(async () => {
    redis = await startRedisServer();
    gw = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, MAX_BODY_BYTES: String(MAX_BODY) });
    // One real application, so that status changes have a target.
    const res = await postSoap(gw.url, await sign(unsignedRequest(gw.gateway.catalogue).xml));
    expect(res.status).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox`, { headers: CITY })).json()) as { items: Array<{ applicationId: string }> };
    applicationId = inbox.items[0]!.applicationId;
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
  });

  it('every case name is unique', () => {
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  for (const c of cases) {
    it(`${c.method ?? 'POST'} ${c.path.slice(0, 60)}: ${c.name} → ${c.status}`, async () => {
      const headers = c.headers ?? { ...CITY, ...(c.body !== undefined ? JSON_TYPE : {}) };
      const res = await fetch(`${gw.url}${c.path.replace('{app}', applicationId)}`, {
        method: c.method ?? 'POST',
        headers,
        body: c.body === undefined ? undefined : typeof c.body === 'string' ? c.body : new Uint8Array(c.body),
      });
      const text = await res.text();
      expect(res.status, text.slice(0, 500)).toBe(c.status);
      const body = JSON.parse(text) as { error: { code: string; message: string; correlationId: string } };
      if (c.status === 414) {
        // The router refuses an over-long path parameter before any route runs, in Fastify's own error shape.
        expect(body).toMatchObject({ code: 'FST_ERR_MAX_PARAM_LENGTH' });
      } else {
        expect(body.error.message).toMatch(c.names);
        expect(body.error.correlationId).toMatch(/\S/);
      }
      expect(text).not.toMatch(/\n\s+at |node_modules|\/src\//);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }, 30_000);
  }

  it('after the corpus: nothing was created, the application is unchanged, Object.prototype is clean, and the API still works', async () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    const client = new Redis(redis.url);
    try {
      const created = (await client.keys(`${prefix}*`)).filter((k) => /^hostile-json:doc:(queries|query-data|deliveries|outbound|requests):/.test(k));
      expect(created).toEqual([]);
    } finally {
      client.disconnect();
    }
    const app = (await (await fetch(`${gw.url}/api/v1/applications/${applicationId}`, { headers: CITY })).json()) as { status: string; statusHistory: unknown[] };
    expect(app.status).toBe('received');
    expect(app.statusHistory).toHaveLength(1);
    const maintenance = (await (await fetch(`${gw.url}/api/v1/ops/maintenance`, { headers: OPS })).json()) as { on: boolean };
    expect(maintenance.on).toBe(false);

    const ok = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, ...JSON_TYPE }, body: query({}) });
    expect(ok.status, await ok.clone().text()).toBe(202);
    const status = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, ...JSON_TYPE }, body: JSON.stringify({ code: 'registered' }) });
    expect(status.status).toBe(202);
  }, 30_000);
});
