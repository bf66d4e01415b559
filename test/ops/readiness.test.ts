/**
 * Readiness: results cached briefly (concurrent and back-to-back probes cost
 * one store PING), a hung check fails on its time limit instead of hanging
 * the probe, and the maintenance switch (role ops) turns /ready to 503 while
 * the gateway keeps serving.
 */
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { Readiness, type CheckOutcome } from '../../src/ops/readiness.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, OPS, postSoap, signedSendRequest } from '../helpers/smev.js';
import { scrape, total } from './prom-text.js';

interface Report {
  status: string;
  checkedAt: string;
  checks: Array<{ name: string; status: string; detail: string; [k: string]: unknown }>;
}

async function ready(url: string): Promise<{ status: number; body: Report }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as Report };
}

async function maintenance(url: string, on: boolean | undefined, headers: Record<string, string> = OPS): Promise<{ status: number; body: Record<string, unknown> }> {
  const res =
    on === undefined
      ? await fetch(`${url}/api/v1/ops/maintenance`, { headers })
      : await fetch(`${url}/api/v1/ops/maintenance`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ on }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const pass = async (): Promise<CheckOutcome> => ({ status: 'pass', detail: 'ok' });

describe('Readiness (unit, with a clock)', () => {
  it('reuses results within the cache window, runs again after it, and shares one run between concurrent probes', async () => {
    let t = 1_000_000;
    let runs = 0;
    const r = new Readiness({ cacheMs: 1_000, now: () => t }).add('counted', async () => {
      runs++;
      return { status: 'pass', detail: `run ${runs}` };
    });
    const [a, b, c] = await Promise.all([r.run(), r.run(), r.run()]);
    expect(runs).toBe(1);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    t += 999;
    expect((await r.run()).checks[0]!.detail).toBe('run 1');
    t += 1;
    expect((await r.run()).checks[0]!.detail).toBe('run 2');
    expect(runs).toBe(2);
    r.add('another', pass); // a change of checks forgets the cache
    expect((await r.run()).checks.map((x) => x.name)).toEqual(['counted', 'another']);
    expect(runs).toBe(3);
  });

  it('fails a check that does not answer in time, and one that throws', async () => {
    const r = new Readiness({ timeoutMs: 50 })
      .add('hangs', () => new Promise<never>(() => {}))
      .add('throws', async () => {
        throw new Error('boom');
      })
      .add('fine', pass);
    const report = await r.run();
    expect(report.status).toBe('not ready');
    expect(report.checks).toEqual([
      { name: 'hangs', status: 'fail', detail: 'no answer within 50 ms' },
      { name: 'throws', status: 'fail', detail: 'boom' },
      { name: 'fine', status: 'pass', detail: 'ok' },
    ]);
  });

  it('maintenance is not cached: it shows at once and keeps the time it was switched on', async () => {
    let t = Date.parse('2026-03-01T10:00:00Z');
    const r = new Readiness({ cacheMs: 60_000, now: () => t }).add('fine', pass);
    expect((await r.run()).status).toBe('ready');
    expect(r.setMaintenance(true)).toEqual({ on: true, since: '2026-03-01T10:00:00.000Z' });
    t += 5_000;
    expect(r.setMaintenance(true).since).toBe('2026-03-01T10:00:00.000Z');
    const report = await r.run();
    expect(report.status).toBe('not ready');
    expect(report.checks.at(-1)).toMatchObject({ name: 'maintenance', status: 'fail', since: '2026-03-01T10:00:00.000Z' });
    expect(r.setMaintenance(false)).toEqual({ on: false, since: null });
    expect((await r.run()).checks.map((c) => c.name)).toEqual(['fine']);
  });
});

describe('GET /ready through a real gateway', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  it('caches results briefly: concurrent and back-to-back probes ping the store once', async () => {
    const store = gw.gateway.store;
    const original = store.ping.bind(store);
    let pings = 0;
    store.ping = async () => {
      pings++;
      return original();
    };
    try {
      await sleep(1_100); // past any earlier probe's window
      const concurrent = await Promise.all(Array.from({ length: 20 }, () => ready(gw.url)));
      const next = await ready(gw.url);
      expect(concurrent.every((r) => r.status === 200)).toBe(true);
      // The evidence is the store's count, and the one run they all report.
      expect(new Set([...concurrent, next].map((r) => r.body.checkedAt)).size).toBe(1);
      expect(pings).toBe(1);
    } finally {
      store.ping = original;
    }
  });

  it('fails the store check on its time limit when the store hangs, without hanging the probe', async () => {
    const store = gw.gateway.store;
    const original = store.ping.bind(store);
    store.ping = () => new Promise<never>(() => {});
    try {
      const started = Date.now();
      let res = await ready(gw.url);
      while (res.status === 200 && Date.now() - started < 10_000) res = await ready(gw.url); // until the cached pass runs out
      expect(res.status).toBe(503);
      expect(res.body.status).toBe('not ready');
      expect(res.body.checks.find((c) => c.name === 'store')).toMatchObject({ status: 'fail', detail: 'no answer within 2000 ms' });
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      store.ping = original;
    }
    let res = await ready(gw.url);
    for (let i = 0; i < 50 && res.status !== 200; i++) {
      await sleep(100);
      res = await ready(gw.url);
    }
    expect(res.status).toBe(200);
  });

  it('maintenance needs the ops role', async () => {
    expect((await maintenance(gw.url, true, CITY)).status).toBe(403);
    expect((await maintenance(gw.url, undefined, CITY)).status).toBe(403);
    expect((await maintenance(gw.url, true, {})).status).toBe(401);
    const bad = await fetch(`${gw.url}/api/v1/ops/maintenance`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/json' }, body: JSON.stringify({ on: true, extra: 1 }) });
    expect(bad.status).toBe(400);
    expect(await maintenance(gw.url, undefined)).toEqual({ status: 200, body: { on: false, since: null } });
    expect((await ready(gw.url)).status).toBe(200);
  });

  it('maintenance on: /ready answers 503 at once while the gateway keeps serving; off: 200 again', async () => {
    const on = await maintenance(gw.url, true);
    expect(on.status).toBe(200);
    expect(on.body).toMatchObject({ on: true, since: expect.any(String) });
    expect(await maintenance(gw.url, undefined)).toEqual({ status: 200, body: on.body });

    const down = await ready(gw.url);
    expect(down.status).toBe(503);
    expect(down.body.status).toBe('not ready');
    expect(down.body.checks.find((c) => c.name === 'maintenance')).toMatchObject({ status: 'fail', since: on.body.since });
    expect(down.body.checks.filter((c) => c.name !== 'maintenance').every((c) => c.status !== 'fail')).toBe(true);

    // Still serving: health, new SOAP messages, the city API, metrics.
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
    const { xml } = await signedSendRequest({ catalogue: loadCatalogue(path.join(projectRoot, 'config/services')), service: 'advertising-permit' });
    const accepted = await postSoap(gw.url, xml);
    expect(accepted.status, accepted.body).toBe(200);
    expect((await fetch(`${gw.url}/api/v1/inbox?limit=1`, { headers: CITY })).status).toBe(200);
    expect(total(await scrape(gw.url), 'okno_maintenance')).toBe(1);

    const off = await maintenance(gw.url, false);
    expect(off.body).toEqual({ on: false, since: null });
    const up = await ready(gw.url);
    expect(up.status).toBe(200);
    expect(up.body.checks.some((c) => c.name === 'maintenance')).toBe(false);
    expect(total(await scrape(gw.url), 'okno_maintenance')).toBe(0);
    expect(gw.logs.some((l) => l.level === 'warn' && /maintenance on/.test(String(l.msg)))).toBe(true);
  });
});
