/**
 * The REST provider in the real gateway (src/gateway.ts, the X-Road transport
 * with the REST routes) over a real redis, for a Trembita-speaking gateway: an
 * agency's application through POST /xroad/rest/{code}, then its query held
 * while the city reads its inbox and answers through the city API
 * (POST /api/v1/requests/{id}/response), and the OpenAPI description served.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { APPLICATION, example, forwarded, names, QUERY } from './rest-setup.js';

const n = names('trembita');
const city = { authorization: 'Bearer dev-city-token' };

/** config/partners.json with the gateway as a Trembita member and the agency as its client. */
function registryFile(): string {
  const doc = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>>; xroad?: unknown };
  for (const p of doc.partners) p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
  // A Security Server nobody listens on: /ready warns about it (the city's queries would wait), and stays ready.
  doc.xroad = { self: n.self, dialect: 'trembita', securityServer: 'http://127.0.0.1:9' };
  doc.partners.push({ id: 'xr-agency', name: 'Агентство (Трембіта)', role: 'agency', sends: [APPLICATION, QUERY], receives: [], endpoint: null, transport: { mode: 'xroad', subsystem: n.agency, protocol: 'rest' } });
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'okno-xr-rest-')), 'partners.json');
  writeFileSync(file, JSON.stringify(doc, null, 2));
  return file;
}

let redis: RedisTestServer;
let gw: RunningGateway;

beforeAll(async () => {
  redis = await startRedisServer();
  gw = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'xr-rest-gw:', PARTNERS_FILE: registryFile(), XROAD_ANSWER_WAIT_S: '20', PUBLIC_URL: 'https://okno.kyiv.example', LOG_LEVEL: 'warn' });
});
afterAll(async () => {
  await gw?.close();
  await redis?.dispose();
});

async function inbox(): Promise<Array<{ messageId: string; requestId: string | null; applicationId: string | null; kind: string }>> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=200`, { headers: city });
  return ((await res.json()) as { items: Array<{ messageId: string; requestId: string | null; applicationId: string | null; kind: string }> }).items;
}

describe('the REST provider in the gateway (Trembita, redis)', () => {
  it('/ready names the X-Road provider, and warns (not fails) when its Security Server does not answer', async () => {
    const res = await fetch(`${gw.url}/ready`);
    const body = (await res.json()) as { status: string; checks: Array<{ name: string; status: string; detail: string }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.checks.find((c) => c.name === 'xroad')).toMatchObject({ status: 'pass', detail: expect.stringContaining(`Trembita provider ${n.self}`) });
    expect(body.checks.find((c) => c.name === 'xroadSecurityServer')).toMatchObject({ status: 'warn', detail: expect.stringContaining('http://127.0.0.1:9 does not answer') });
  });

  it('takes an application: 201 receipt, and the city sees it in its inbox', async () => {
    const id = crypto.randomUUID();
    const res = await fetch(`${gw.url}/xroad/rest/${n.code(APPLICATION)}`, { method: 'POST', headers: forwarded(n, { id, service: `${n.self}/${n.code(APPLICATION)}` }), body: JSON.stringify(example(APPLICATION, 'example.request.person.json')) });
    const receipt = (await res.json()) as { applicationId: string; registrationNumber: string };
    expect(res.status, JSON.stringify(receipt)).toBe(201);
    expect(res.headers.get('uxp-queryid')).toBe(id);
    expect((await inbox()).find((i) => i.messageId === id)).toMatchObject({ kind: 'application', applicationId: receipt.applicationId });
  });

  it('holds a query while the city answers it through its API, then answers with the city’s JSON', async () => {
    const id = crypto.randomUUID();
    const answer = example(QUERY, 'example.response.json');
    const call = fetch(`${gw.url}/xroad/rest/${n.code(QUERY)}`, { method: 'POST', headers: forwarded(n, { id, userId: 'UA1234567890' }), body: JSON.stringify(example(QUERY, 'example.request.by-owner.json')) });
    // The city polls its inbox as it does for any query (the call is stored before it waits).
    let requestId: string | null = null;
    for (let i = 0; i < 200 && !requestId; i++) {
      requestId = (await inbox()).find((item) => item.messageId === id)?.requestId ?? null;
      if (!requestId) await new Promise((r) => setTimeout(r, 25));
    }
    expect(requestId).not.toBeNull();
    const answered = await fetch(`${gw.url}/api/v1/requests/${requestId}/response`, { method: 'POST', headers: { ...city, 'content-type': 'application/json' }, body: JSON.stringify({ data: answer }) });
    expect(answered.status, await answered.clone().text()).toBeLessThan(300);
    const res = await call;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(answer);
    expect(res.headers.get('uxp-client')).toBe(n.agency);
  });

  it('serves the OpenAPI description of each provided REST service', async () => {
    const res = await fetch(`${gw.url}/xroad/rest/${n.code(QUERY)}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { servers: Array<{ url: string }> };
    expect(doc.servers).toEqual([{ url: 'https://okno.kyiv.example/xroad/rest' }]);
    await SwaggerParser.validate(doc as never);
  });
});
