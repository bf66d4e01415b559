/**
 * The access audit: every route the real gateway registers — enumerated from
 * the app itself (buildApp's onRoute table), never hand-listed — is either on
 * the public list below, with the reason it is public, or is a JSON API route
 * whose token check is probed over real HTTP: no token, malformed headers and
 * an unknown token get 401, a token of a role the route does not admit gets
 * 403, a token of an admitted role gets through. A route added without a
 * token check fails here (and, under /api/, refuses to register at all).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../src/config/env.js';
import { registeredRoutes, type RouteEntry } from '../../src/http/app.js';
import { TokenAuth } from '../../src/http/auth.js';
import Fastify from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createLogger } from '../../src/log.js';
import { startGateway, projectRoot, type RunningGateway } from '../helpers/gateway.js';

const TOKENS: Record<Role, string> = { city: 'audit-city-token-0001', ops: 'audit-ops-token-00001' };
const ROLES: readonly Role[] = ['city', 'ops'];

/** Deliberately public, each with why. Keys: "METHOD url" as registered. */
const PUBLIC: Record<string, string> = {
  'GET /health': 'liveness probe for orchestrators; answers {"status":"ok"} and nothing else',
  'GET /ready': 'readiness probe for load balancers; names its checks and the store kind, no messages or personal data',
  'GET /metrics': 'Prometheus scrape; counts, latencies, partner and service ids, never message ids or personal data (README: keep the port on the monitoring network)',
  'GET /ops': "the dashboard's static page: no data in it; it asks for an ops token and reads everything from /api/v1/ops/*, which require it",
  'GET /ws/smev3': 'the WSDL and its XSDs, the published SOAP contract partners build clients from',
  'POST /ws/smev3': "the SMEV endpoint: authenticated by the XML signature of a registered partner (and the TLS client certificate with TLS_CLIENT_AUTH), not by tokens; see test/soap/endpoint.test.ts and test/security/tls.test.ts",
  'GET /ws/xroad/:code': "an X-Road service's WSDL and its XSDs (?wsdl, ?xsd=), the published contract X-Road clients build from (only with partners.json xroad; ?wsdl is needed, a bare path is 404)",
  'POST /ws/xroad': "the X-Road provider endpoint: the client's Security Server authenticates the member; the gateway checks the client identifier against the registry and its access rights (only with partners.json xroad; reachable from the Security Server only, see README); see test/xroad/soap-provider.test.ts",
  'GET /docs': 'the OpenAPI UI: the published description of the JSON API, no data',
  'GET /docs/': 'the OpenAPI UI (trailing slash)',
  'GET /docs/json': 'the OpenAPI document (published contract)',
  'GET /docs/yaml': 'the OpenAPI document as YAML',
  'GET /docs/static/*': "the OpenAPI UI's static files",
  'GET /docs/static/index.html': 'the OpenAPI UI (redirect to /docs/)',
  'GET /docs/static/swagger-initializer.js': "the OpenAPI UI's start-up script",
  'GET /docs/*': "the OpenAPI UI's referenced schemas",
};

/** Which roles each JSON API route must admit, by path; a route matching none fails the audit. */
const ROLE_RULES: ReadonlyArray<readonly [RegExp, readonly Role[]]> = [
  [/^\/api\/v1\/ops(\/|$)/, ['ops']],
  [/^\/api\/v1\/maintenance(\/|$)/, ['ops']],
  [/^\/api\/v1\/journal(\/|$)/, ['ops']],
  [/^\/api\/v1\/deliveries\/:id$/, ['city', 'ops']],
  [/^\/api\/v1\/(inbox|applications|queries|requests|attachments|files)(\/|$)/, ['city']],
];

function publicReason(route: RouteEntry): string | undefined {
  const method = route.method === 'HEAD' ? 'GET' : route.method;
  return PUBLIC[`${method} ${route.url}`];
}

function expectedRoles(url: string): readonly Role[] | null {
  return ROLE_RULES.find(([pattern]) => pattern.test(url))?.[1] ?? null;
}

/** A concrete path for a route pattern (parameters filled with a plausible id). */
function concrete(url: string): string {
  return url.replace(/:[A-Za-z]+/g, '3f0c1c2e-0000-4000-8000-000000000001').replace(/\*$/, 'x');
}

/**
 * One request over real HTTP; resolves with the status as soon as the
 * headers arrive (event streams stay open otherwise).
 */
function probe(base: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
      resolve({ status: res.statusCode!, headers: res.headers });
      res.destroy();
    });
    req.setTimeout(5_000, () => reject(new Error(`${method} ${path}: no answer within 5 s`)));
    req.on('error', (error) => (error.message.includes('aborted') || (error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)));
    req.end(body);
  });
}

const bodyFor = (method: string) => (method === 'POST' || method === 'PUT' || method === 'PATCH' ? '{}' : undefined);

describe('access: every route of the real app', () => {
  let gw: RunningGateway;
  let routes: readonly RouteEntry[];

  beforeAll(async () => {
    gw = await startGateway({ API_TOKENS: `${TOKENS.city}:city,${TOKENS.ops}:ops` });
    routes = registeredRoutes(gw.gateway.app);
  });
  afterAll(async () => gw?.close());

  it('enumerates the app’s routes (the JSON API, the SOAP side, operations)', () => {
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    // A sanity floor, so that an empty table cannot pass everything below.
    expect(routes.length).toBeGreaterThan(30);
    for (const expected of ['GET /api/v1/inbox', 'POST /api/v1/inbox/:id/ack', 'GET /api/v1/journal', 'POST /api/v1/ops/maintenance', 'POST /api/v1/maintenance/reload-keys', 'GET /api/v1/ops/events', 'POST /ws/smev3', 'GET /metrics']) {
      expect(keys).toContain(expected);
    }
    expect(keys).toContain('HEAD /api/v1/inbox');
  });

  it('every route is either on the public list (with a reason) or a JSON API route with the expected roles', () => {
    const problems: string[] = [];
    for (const route of routes) {
      const key = `${route.method} ${route.url}`;
      if (publicReason(route)) {
        if (route.roles) problems.push(`${key} is listed public but has a token check`);
        continue;
      }
      if (!route.url.startsWith('/api/v1/')) {
        problems.push(`${key} is neither on the public list nor under /api/v1 (add a token check, or list it public with a reason)`);
        continue;
      }
      const expected = expectedRoles(route.url);
      if (!expected) problems.push(`${key}: no rule says which roles may use it (add one to ROLE_RULES)`);
      else if (!route.roles) problems.push(`${key} has no token check`);
      else if ([...route.roles].sort().join(',') !== [...expected].sort().join(',')) problems.push(`${key} admits ${route.roles.join(', ')}; expected ${expected.join(', ')}`);
    }
    expect(problems).toEqual([]);
  });

  it('public routes answer without a token', async () => {
    const publicRoutes = routes.filter((r) => publicReason(r) && r.method === 'GET' && !r.url.includes('*'));
    expect(publicRoutes.length).toBeGreaterThanOrEqual(8);
    for (const route of publicRoutes) {
      const res = await probe(gw.url, 'GET', route.url === '/ws/smev3' ? '/ws/smev3?wsdl' : route.url, {});
      expect(res.status, route.url).toBeLessThan(400);
    }
  });

  it('the dashboard page carries no data: no partner, no queue, no token', async () => {
    const res = await fetch(`${gw.url}/ops`);
    const html = await res.text();
    expect(res.status).toBe(200);
    for (const secret of [TOKENS.city, TOKENS.ops, 'Единый портал государственных услуг', 'okno-status']) expect(html).not.toContain(secret);
  });

  it('no token, malformed Authorization headers and unknown tokens → 401 on every protected route, before the body or parameters are looked at', async () => {
    const protectedRoutes = routes.filter((r) => !publicReason(r));
    expect(protectedRoutes.length).toBeGreaterThan(20);
    const malformed: Array<Record<string, string>> = [
      {},
      { authorization: '' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer ' },
      { authorization: TOKENS.ops },
      { authorization: `Basic ${Buffer.from(`ops:${TOKENS.ops}`).toString('base64')}` },
      { authorization: `Token ${TOKENS.ops}` },
      { authorization: `Bearer ${TOKENS.ops} extra` },
      { authorization: `Bearer ${TOKENS.ops.slice(0, -1)}` },
      { authorization: `Bearer ${TOKENS.ops}x` },
      { authorization: `Bearer ${TOKENS.ops.toUpperCase()}` },
      { authorization: 'Bearer dev-ops-token' }, // the development token, not configured here
      { authorization: 'Bearer wrong-token-000000000' },
    ];
    const failures: string[] = [];
    for (const route of protectedRoutes) {
      for (const headers of malformed) {
        const res = await probe(gw.url, route.method, concrete(route.url), headers, bodyFor(route.method));
        if (res.status !== 401) failures.push(`${route.method} ${route.url} with ${JSON.stringify(headers)}: HTTP ${res.status}`);
        else if (res.headers['www-authenticate'] !== 'Bearer realm="okno"') failures.push(`${route.method} ${route.url}: 401 without WWW-Authenticate`);
      }
      // A body that is not JSON and parameters that break the schema: still 401, not 400.
      const garbled = await probe(gw.url, route.method, `${concrete(route.url)}?limit=nope&after=-1&unknown=1`, {}, route.method === 'POST' ? '{not json' : undefined);
      if (garbled.status !== 401) failures.push(`${route.method} ${route.url} without a token, garbled input: HTTP ${garbled.status} (auth must come first)`);
    }
    expect(failures).toEqual([]);
  });

  it('a token of a role the route does not admit → 403; an admitted one gets through', async () => {
    const failures: string[] = [];
    let forbidden = 0;
    let admitted = 0;
    for (const route of routes.filter((r) => !publicReason(r))) {
      const expected = expectedRoles(route.url) ?? [];
      for (const role of ROLES) {
        const res = await probe(gw.url, route.method, concrete(route.url), { authorization: `Bearer ${TOKENS[role]}` }, bodyFor(route.method));
        if (expected.includes(role)) {
          admitted += 1;
          if (res.status === 401 || res.status === 403) failures.push(`${route.method} ${route.url} as ${role}: HTTP ${res.status}, expected to get through`);
        } else {
          forbidden += 1;
          if (res.status !== 403) failures.push(`${route.method} ${route.url} as ${role}: HTTP ${res.status}, expected 403`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(forbidden).toBeGreaterThan(10);
    expect(admitted).toBeGreaterThan(20);
  });
});

describe('access: the guards themselves', () => {
  it('an /api/ route registered without a token check stops the app from starting', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' }, projectRoot);
    const logger = createLogger({ level: 'silent' });
    await expect(
      buildApp({
        config,
        logger,
        routes: (app) => {
          app.get('/api/v1/forgotten', async () => ({ secret: true }));
        },
      }).then((app) => app.ready()),
    ).rejects.toThrow(/GET \/api\/v1\/forgotten has no token check/);
  });

  it('TokenAuth admits exactly the configured token, whatever the length of a guess', async () => {
    const auth = new TokenAuth([{ token: 'exact-token-123456', role: 'ops' }]);
    const app = Fastify();
    app.get('/x', { onRequest: auth.require('ops') }, async () => ({ ok: true }));
    const cases: Array<[string, number]> = [
      ['Bearer exact-token-123456', 200],
      ['bearer exact-token-123456', 200],
      ['Bearer exact-token-12345', 401],
      ['Bearer exact-token-1234567', 401],
      ['Bearer e', 401],
      [`Bearer ${'e'.repeat(10_000)}`, 401],
    ];
    for (const [authorization, status] of cases) {
      const res = await app.inject({ method: 'GET', url: '/x', headers: { authorization } });
      expect([authorization.slice(0, 40), res.statusCode]).toEqual([authorization.slice(0, 40), status]);
    }
    await app.close();
  });
});
