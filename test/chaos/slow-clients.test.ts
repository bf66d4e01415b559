/**
 * Slow and greedy clients against a real gateway process: slowloris
 * connections that send their headers or body a byte at a time are cut
 * (HEADERS_TIMEOUT_MS, REQUEST_TIMEOUT_MS) while legitimate signed
 * SendRequests keep being served; a flood of idle connections and bursts of
 * requests does not stop the gateway serving; MAX_CONNECTIONS closes
 * connections beyond the limit at once. The gateway's resident memory stays
 * bounded in each scenario.
 *
 * CI: 200 slow connections, 2,000 idle ones; `npm run chaos`: 2,000 and 8,000.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';
import { catalogue, KillableGateway } from './harness.js';
import { knob } from './knobs.js';
import { MB, rssBytes, sampleRss, type RssSampler } from './memory.js';

const SLOW = knob('CHAOS_SLOW_CLIENTS', 200, 2_000);
const IDLE = knob('CHAOS_IDLE_CONNECTIONS', 2_000, 8_000);
const BURST = knob('CHAOS_BURST', 300, 2_000);
const HEADERS_TIMEOUT_MS = 1_500;
const REQUEST_TIMEOUT_MS = 4_000;
/**
 * The flood runs on its own gateway with a less aggressive headers timeout: under thousands of
 * connections on two cores a legitimate request's headers may take over 1.5 s to be read, and
 * would then rightly be cut with 408.
 */
const FLOOD_HEADERS_TIMEOUT_MS = 5_000;
/** Node checks open connections every HEADERS_TIMEOUT_MS / 4; scheduling on a busy machine adds more. */
const SLACK_MS = 5_000;

interface Tracked {
  socket: Socket;
  openedAt: number;
  closedAt: number | null;
  reply: string;
}

function open(port: number): Promise<Tracked> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const t: Tracked = { socket, openedAt: 0, closedAt: null, reply: '' };
    socket.on('data', (c: Buffer) => (t.reply += c.toString('latin1')));
    socket.on('close', () => (t.closedAt = Date.now()));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      t.openedAt = Date.now();
      resolve(t);
    });
    socket.once('error', reject);
  });
}

/** Writes `text` one byte every `everyMs` until done or the socket closes. */
function drip(t: Tracked, text: string, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (t.closedAt !== null || i >= text.length) return clearInterval(timer);
    t.socket.write(text[i++]!);
  }, everyMs);
}

async function openMany(port: number, n: number): Promise<Tracked[]> {
  const all: Tracked[] = [];
  for (let i = 0; i < n; i += 200) all.push(...(await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(port)))));
  return all;
}

/** Signed SendRequests one after another while `busy()`; every reply must be a success. */
async function legitimateTraffic(url: string, busy: () => boolean): Promise<{ ok: number; failed: string[] }> {
  const result = { ok: 0, failed: [] as string[] };
  while (busy()) {
    const { xml } = await signedSendRequest({ catalogue, service: 'kindergarten-enrollment', content: serviceExample('kindergarten-enrollment') });
    const res = await postSoap(url, xml).catch((e: Error) => ({ status: 0, body: e.message }));
    if (res.status === 200) result.ok++;
    else result.failed.push(`${res.status} ${res.body.slice(0, 200)}`);
    await sleep(100);
  }
  return result;
}

describe('slow clients and connection floods', () => {
  let gw: KillableGateway;
  let rss: RssSampler;
  let baseline: number;

  beforeAll(async () => {
    gw = new KillableGateway(await freePort(), { HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
    await gw.start();
    baseline = rssBytes(gw.pid)!;
    rss = sampleRss(gw.pid);
  });
  afterAll(async () => {
    rss?.stop();
    await gw?.kill();
  });

  it(`slowloris: ${SLOW} connections dripping headers or a body are cut; others are served meanwhile`, async () => {
    const conns = await openMany(gw.port, SLOW);
    const half = Math.floor(SLOW / 2);
    conns.slice(0, half).forEach((t) => drip(t, 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(10_000), 100));
    conns.slice(half).forEach((t) => {
      t.socket.write('POST /ws/smev3 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\nContent-Length: 100000\r\n\r\n');
      drip(t, '<'.repeat(100_000), 100);
    });
    const done = () => conns.every((t) => t.closedAt !== null);
    const deadline = Date.now() + REQUEST_TIMEOUT_MS + SLACK_MS + 5_000;
    const legit = legitimateTraffic(gw.url, () => !done() && Date.now() < deadline);
    const served = await legit;

    const headerCuts = conns.slice(0, half).map((t) => (t.closedAt ?? Infinity) - t.openedAt);
    const bodyCuts = conns.slice(half).map((t) => (t.closedAt ?? Infinity) - t.openedAt);
    expect(Math.max(...headerCuts), 'header drippers cut after HEADERS_TIMEOUT_MS').toBeLessThan(HEADERS_TIMEOUT_MS + SLACK_MS);
    expect(Math.min(...headerCuts)).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 500);
    expect(Math.max(...bodyCuts), 'body drippers cut after REQUEST_TIMEOUT_MS').toBeLessThan(REQUEST_TIMEOUT_MS + SLACK_MS);
    expect(Math.min(...bodyCuts)).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_MS - 500);
    expect(conns.filter((t) => t.reply !== '' && !t.reply.startsWith('HTTP/1.1 408')), 'cut with 408 Request Timeout').toEqual([]);
    expect(served.failed).toEqual([]);
    expect(served.ok).toBeGreaterThan(5);
    expect(gw.running).toBe(true);
    console.log(`[chaos] slowloris: ${SLOW} slow connections cut after ≤ ${Math.max(...headerCuts)} ms (headers) / ≤ ${Math.max(...bodyCuts)} ms (body); ${served.ok} legitimate requests served meanwhile; peak RSS ${(rss.peak / MB).toFixed(0)} MB`);
  }, knob('CHAOS_TIMEOUT_MS', 60_000, 600_000));

  it('memory stayed bounded through slowloris and comes back near its baseline', async () => {
    await sleep(2_000);
    const after = rssBytes(gw.pid)!;
    console.log(`[chaos] slow-clients RSS: baseline ${(baseline / MB).toFixed(0)} MB, peak ${(rss.peak / MB).toFixed(0)} MB, after ${(after / MB).toFixed(0)} MB`);
    expect(rss.peak).toBeLessThan(baseline + knob('CHAOS_RSS_GROWTH_MB', 250, 250) * MB);
    expect(after).toBeLessThan(baseline + 150 * MB);
  });
});

describe('connection flood', () => {
  it(`flood: ${IDLE} idle connections and bursts of ${BURST} requests; the gateway keeps serving and closes the idle ones`, async () => {
    const gw = new KillableGateway(await freePort(), { HEADERS_TIMEOUT_MS: String(FLOOD_HEADERS_TIMEOUT_MS), REQUEST_TIMEOUT_MS: String(2 * FLOOD_HEADERS_TIMEOUT_MS) });
    await gw.start();
    const baseline = rssBytes(gw.pid)!;
    const rss = sampleRss(gw.pid);
    try {
      const idle = await openMany(gw.port, IDLE);
      let flooding = true;
      const legit = legitimateTraffic(gw.url, () => flooding);
      // Bursts: many requests at once, on top of the idle crowd.
      const statuses: number[] = [];
      for (let round = 0; round < 3; round++) {
        statuses.push(...(await Promise.all(Array.from({ length: BURST }, () => fetch(`${gw.url}/health`).then((r) => r.status, () => 0)))));
      }
      const deadline = Date.now() + FLOOD_HEADERS_TIMEOUT_MS + SLACK_MS + 5_000;
      while (idle.some((t) => t.closedAt === null) && Date.now() < deadline) await sleep(100);
      flooding = false;
      const served = await legit;

      expect(statuses.filter((s) => s !== 200), 'burst requests not answered 200').toEqual([]);
      expect(served.failed).toEqual([]);
      expect(served.ok).toBeGreaterThan(0);
      const open = idle.filter((t) => t.closedAt === null).length;
      expect(open, 'idle connections closed after HEADERS_TIMEOUT_MS').toBe(0);
      expect(gw.running).toBe(true);
      await sleep(1_000);
      const after = rssBytes(gw.pid)!;
      console.log(
        `[chaos] flood: ${IDLE} idle connections closed by the gateway, ${statuses.length} burst requests and ${served.ok} signed requests served; ` +
          `RSS baseline ${(baseline / MB).toFixed(0)} MB, peak ${(rss.peak / MB).toFixed(0)} MB, after ${(after / MB).toFixed(0)} MB`,
      );
      expect(rss.peak).toBeLessThan(baseline + knob('CHAOS_RSS_GROWTH_MB', 250, 250) * MB);
    } finally {
      rss.stop();
      await gw.kill();
    }
  }, knob('CHAOS_TIMEOUT_MS', 60_000, 600_000));
});

describe('MAX_CONNECTIONS', () => {
  let gw: KillableGateway;
  beforeAll(async () => {
    gw = new KillableGateway(await freePort(), { MAX_CONNECTIONS: '50', HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) });
    await gw.start();
  });
  afterAll(() => gw?.kill());

  it('connections beyond the limit are closed at once; once the crowd is gone, requests are served again', async () => {
    const crowd = await openMany(gw.port, 200);
    await sleep(500);
    const closedAtOnce = crowd.filter((t) => t.closedAt !== null && t.closedAt - t.openedAt < 1_000).length;
    expect(closedAtOnce).toBeGreaterThanOrEqual(150);
    expect(crowd.filter((t) => t.closedAt === null).length).toBeLessThanOrEqual(50);
    for (const t of crowd) t.socket.destroy();
    await sleep(300);
    expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });
});
