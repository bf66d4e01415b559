/**
 * Two gateway instances (separate `node dist/main.js` processes with their own
 * ports, as on two hosts) on one Redis share their rate limits: a partner's
 * burst of N gives exactly N accepted messages across both, then
 * QuoteLimitExceeded from either; the per-client limit and API_RATE_LIMIT
 * likewise. The limits are counted in Redis (src/store/redis-rate-limiter.ts),
 * not in each process.
 */
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { projectRoot } from '../helpers/gateway.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, tempDir, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, signedSendRequest } from '../helpers/smev.js';

const PARTNER_BURST = 3;
const CLIENT_BURST = 10;
const API_BURST = 4;

let redis: RedisTestServer;
let gateways: GatewayProcess[] = [];
let catalogue: ReturnType<typeof loadCatalogue>;

/** The default registry with absolute certificate paths and the portal's own rate limit. */
function registryWithPortalLimit(): string {
  const base = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
  for (const p of base.partners) {
    p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
    if (p.id === 'portal') p.rateLimit = { perSecond: 0.001, burst: PARTNER_BURST };
  }
  const file = path.join(tempDir('okno-shared-limits-'), 'partners.json');
  writeFileSync(file, JSON.stringify(base));
  return file;
}

/** One request from the given loopback address (so the client limit of one test is not spent by another's). */
function send(url: string, o: { method?: string; body?: string; from: string; headers?: Record<string, string> }): Promise<{ status: number; body: string; retryAfter: string | null }> {
  return new Promise((resolve, reject) => {
    const body = o.body ?? '';
    const headers: Record<string, string> = { ...(o.body === undefined ? {} : { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) }), ...o.headers };
    const req = http.request(url, { method: o.method ?? 'POST', localAddress: o.from, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8'), retryAfter: (res.headers['retry-after'] as string | undefined) ?? null }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
  redis = await startRedisServer({ appendonly: false });
  const env = {
    PORT: '0',
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: 'okno-shared-limits:',
    PARTNERS_FILE: registryWithPortalLimit(),
    RATE_LIMIT_PER_CLIENT: `0.001/s:${CLIENT_BURST}`,
    API_RATE_LIMIT: `0.001/s:${API_BURST}`,
  };
  gateways = await Promise.all([startGatewayProcess(env, 90_000), startGatewayProcess(env, 90_000)]);
}, 180_000);

afterAll(async () => {
  for (const gw of gateways) gw.child.kill('SIGTERM');
  await Promise.all(gateways.map((gw) => gw.exited));
  await redis?.dispose();
});

describe('two gateway instances on one Redis share the rate limits', () => {
  it('the instances are two processes with their own ports', () => {
    expect(gateways).toHaveLength(2);
    expect(gateways[0]!.url).not.toBe(gateways[1]!.url);
    expect(gateways[0]!.child.pid).not.toBe(gateways[1]!.child.pid);
  });

  it(`a partner's burst of ${PARTNER_BURST}: exactly ${PARTNER_BURST} accepted across both, then QuoteLimitExceeded from either`, async () => {
    const answers = [];
    for (let i = 0; i < 2 * PARTNER_BURST; i++) {
      const { xml } = await signedSendRequest({ catalogue, service: 'advertising-permit' });
      answers.push({ via: i % 2, ...(await send(`${gateways[i % 2]!.url}/ws/smev3`, { body: xml, from: '127.0.0.1' })) });
    }
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 500, 500, 500]);
    const refused = answers.slice(PARTNER_BURST);
    expect(refused.map((a) => faultOf(a.body).fault)).toEqual(['QuoteLimitExceeded', 'QuoteLimitExceeded', 'QuoteLimitExceeded']);
    expect(new Set(refused.map((a) => a.via))).toEqual(new Set([0, 1]));
    for (const a of refused) {
      expect(faultOf(a.body).faultstring).toMatch(/partner "portal" is sending faster than its limit allows/);
      // One token in 1000 s (0.001/s): Retry-After says about that, whichever instance answers.
      expect(Number(a.retryAfter)).toBeGreaterThan(990);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(1000);
    }
  });

  it(`the client limit (burst ${CLIENT_BURST}): exactly ${CLIENT_BURST} POSTs from one address get past it across both, then refusals from either, before the body is parsed`, async () => {
    const answers = [];
    for (let i = 0; i < CLIENT_BURST + 4; i++) answers.push({ via: i % 2, ...(await send(`${gateways[i % 2]!.url}/ws/smev3`, { body: '<not-soap/>', from: '127.0.0.2' })) });
    const limited = answers.map((a) => /too many messages from 127\.0\.0\.2/.test(faultOf(a.body).faultstring ?? ''));
    expect(limited).toEqual([...Array<boolean>(CLIENT_BURST).fill(false), true, true, true, true]);
    const refused = answers.slice(CLIENT_BURST);
    expect(new Set(refused.map((a) => a.via))).toEqual(new Set([0, 1]));
    for (const a of refused) expect(faultOf(a.body).fault).toBe('QuoteLimitExceeded');
    // Another address has its own bucket, on either instance.
    const other = await send(`${gateways[1]!.url}/ws/smev3`, { body: '<not-soap/>', from: '127.0.0.3' });
    expect(faultOf(other.body).faultstring ?? '').not.toMatch(/too many messages/);
  });

  it(`API_RATE_LIMIT (burst ${API_BURST}): ${API_BURST} requests of one token across both, then 429 from either`, async () => {
    const statuses = [];
    const retryAfters = [];
    for (let i = 0; i < API_BURST + 2; i++) {
      const answer = await send(`${gateways[i % 2]!.url}/api/v1/inbox`, { method: 'GET', from: '127.0.0.1', headers: CITY });
      statuses.push(answer.status);
      retryAfters.push(answer.retryAfter);
      if (answer.status === 429) expect(JSON.parse(answer.body).error.message).toMatch(/shared by every gateway instance/);
    }
    expect(statuses).toEqual([...Array<number>(API_BURST).fill(200), 429, 429]);
    expect(Number(retryAfters.at(-1))).toBeGreaterThan(990);
  });

  it('the keys in Redis: the store prefix, a digest for the token (never the token), the address for clients', async () => {
    const { Redis } = await import('ioredis');
    const admin = new Redis(redis.url);
    try {
      const keys = (await admin.keys('okno-shared-limits:rl:*')).sort();
      expect(keys).toContain('okno-shared-limits:rl:partner:portal');
      expect(keys).toContain('okno-shared-limits:rl:client:127.0.0.2');
      expect(keys.some((k) => /^okno-shared-limits:rl:api:[0-9a-f]{64}$/.test(k))).toBe(true);
      expect(keys.some((k) => k.includes('dev-city-token'))).toBe(false);
    } finally {
      admin.disconnect();
    }
  });
});
