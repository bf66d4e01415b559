import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer as startRedis, type RedisTestServer as RedisServer } from '../helpers/redis-server.js';

interface Check {
  name: string;
  status: string;
  detail: string;
  [key: string]: unknown;
}

async function ready(url: string): Promise<{ status: number; body: { status: string; checks: Check[] } }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Check[] } };
}

const check = (checks: Check[], name: string): Check => checks.find((c) => c.name === name)!;

describe('health and readiness with the embedded store', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw.close());

  it('GET /health answers 200', async () => {
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('GET /ready has one entry per check and says which store is in use', async () => {
    const { status, body } = await ready(gw.url);
    expect(status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.checks.map((c) => c.name)).toEqual(['store', 'signingKey', 'gatewayCertificate', 'certificates', 'partners', 'services', 'trustAnchors', 'crls', 'ocsp']);
    expect(check(body.checks, 'store')).toMatchObject({ status: 'pass', kind: 'memory', durable: false });
    expect(check(body.checks, 'signingKey')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/^rsa-2048 from /) });
    const cert = check(body.checks, 'gatewayCertificate');
    expect(cert.status).toBe('pass');
    expect(cert.daysUntilExpiry).toBeGreaterThan(5 * 365);
    expect(check(body.checks, 'partners').detail).toBe('2 partners: portal, agency');
    // The sample PKI lasts decades: every certificate in use (gateway, partners, CA) is far from expiry.
    expect(check(body.checks, 'certificates')).toMatchObject({ status: 'pass', detail: '4 certificates in use, none expires within 30 days', expiring: [] });
  });

  it('warns at start that the in-memory store keeps nothing across restarts', () => {
    expect(gw.logs.some((l) => l.level === 'warn' && /in-memory store; nothing survives a restart/.test(String(l.msg)))).toBe(true);
  });

  it('echoes a sane correlation id, logs it, and replaces an unsafe one', async () => {
    const res = await fetch(`${gw.url}/nowhere`, { headers: { 'x-correlation-id': 'case-42.abc' } });
    expect(res.headers.get('x-correlation-id')).toBe('case-42.abc');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nowhere', correlationId: 'case-42.abc' } });
    expect(gw.logs.some((l) => l.correlationId === 'case-42.abc')).toBe(true);

    const unsafe = await fetch(`${gw.url}/health`, { headers: { 'x-correlation-id': 'bad id\twith junk' } });
    expect(unsafe.headers.get('x-correlation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('readiness with Redis', () => {
  let redis: RedisServer;
  let gw: RunningGateway;
  beforeAll(async () => {
    redis = await startRedis({ appendonly: true });
    gw = await startGateway({ REDIS_URL: redis.url });
  });
  afterAll(async () => {
    await gw?.close();
    await redis?.stop();
  });

  it('uses Redis when REDIS_URL is set, and says so', async () => {
    const { status, body } = await ready(gw.url);
    expect(status).toBe(200);
    expect(check(body.checks, 'store')).toMatchObject({ status: 'pass', kind: 'redis', durable: true, detail: expect.stringMatching(/^redis 7\.\d+\.\d+, aof=yes/) });
  });

  it('answers 503 while Redis is down and recovers by itself', async () => {
    await redis.stop();
    // /ready reuses its results for up to a second (src/ops/readiness.ts): it notices within that.
    let down = await ready(gw.url);
    for (let i = 0; i < 30 && down.status !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      down = await ready(gw.url);
    }
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(check(down.body.checks, 'store').status).toBe('fail');
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);

    await redis.restart();
    let again = await ready(gw.url);
    for (let i = 0; i < 50 && again.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      again = await ready(gw.url);
    }
    expect(again.status).toBe(200);
  });
});
