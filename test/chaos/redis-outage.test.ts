/**
 * Redis stopped and started again under load, the gateway process left
 * alone: while Redis is down every SendRequest is answered with a
 * SMEVFailure fault (never a success the gateway could not keep) and /ready
 * says 503; once Redis is back the gateway serves successes again by itself,
 * and every success it ever gave is stored (inbox once, journal once).
 *
 * CI: one outage of CHAOS_OUTAGE_MS (3 s); `npm run chaos`: 5 outages of 20 s,
 * alternating a crash (SIGKILL) and a clean stop of Redis.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { faultOf, postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';
import { catalogue, countBy, KillableGateway, readInbox, readJournal, until } from './harness.js';
import { chaosSeed, knob, seededRandom, between } from './knobs.js';
import { MB, rssBytes, sampleRss } from './memory.js';

const OUTAGES = knob('CHAOS_OUTAGES', 1, 5);
const OUTAGE_MS = knob('CHAOS_OUTAGE_MS', 3_000, 20_000);
const CONCURRENCY = knob('CHAOS_CONCURRENCY', 4, 8);

interface Sent {
  xml: string;
  messageId: string;
}

describe('Redis outage under load', () => {
  let redis: RedisTestServer;
  let gw: KillableGateway;

  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    gw = new KillableGateway(await freePort(), { REDIS_URL: redis.url });
    await gw.start();
  });
  afterAll(async () => {
    await gw?.kill();
    await redis?.dispose();
  });

  it(`${OUTAGES} outage(s) of ${OUTAGE_MS} ms: SMEVFailure and /ready 503 while down, successes again by itself after`, async () => {
    const random = seededRandom(chaosSeed('redis-outage'));
    const pid = gw.pid;
    const baseline = rssBytes(pid)!;
    const rss = sampleRss(pid);
    let signed = 0;
    const fresh = async (): Promise<Sent> => {
      const service = ['advertising-permit', 'kindergarten-enrollment'][signed++ % 2]!;
      return signedSendRequest({ catalogue, service, content: serviceExample(service) });
    };
    const pool: Sent[] = [];
    for (let i = 0; i < 60; i++) pool.push(await fresh());

    const successes = new Map<string, string>();
    const retry: Sent[] = []; // refused envelopes, sent again (the same) like a portal does
    const successWhileDown: string[] = [];
    const wrongFaults: string[] = [];
    let down: { from: number; to: number } | null = null;
    const downWindows: Array<{ from: number; to: number }> = [];
    let faultsWhileDown = 0;
    let stopLoad = false;

    const worker = async () => {
      while (!stopLoad) {
        const job = retry.shift() ?? pool.pop() ?? (await fresh());
        const sentAt = Date.now();
        const res = await postSoap(gw.url, job.xml);
        const answeredAt = Date.now();
        // Sent after Redis was gone and answered before it was back: the store could not have taken it.
        const inOutage = down !== null && sentAt >= down.from && answeredAt <= (down.to || Infinity);
        if (res.status === 200) {
          successes.set(job.messageId, res.body);
          if (inOutage) successWhileDown.push(job.messageId);
        } else {
          const f = faultOf(res.body).fault;
          if (res.status !== 500 || f !== 'SMEVFailure') wrongFaults.push(`HTTP ${res.status} ${f}`);
          if (inOutage) faultsWhileDown++;
          retry.push(job);
          await sleep(50); // "retry later"
        }
      }
    };
    const ready = async () => (await fetch(`${gw.url}/ready`)).status;

    const load = Array.from({ length: CONCURRENCY }, worker);
    const readyWhileDown: number[] = [];
    for (let o = 0; o < OUTAGES; o++) {
      await until('successes', async () => successes.size, (n) => n > 0, 10_000);
      await sleep(between(random, 300, 1000));
      await redis.stop(o % 2 === 0 ? 'SIGKILL' : 'SIGTERM');
      down = { from: Date.now(), to: 0 };
      // /ready reuses a check's result for up to 1 s.
      readyWhileDown.push(await until('/ready 503', ready, (s) => s === 503, 5_000));
      await sleep(OUTAGE_MS);
      readyWhileDown.push(await ready());
      down.to = Date.now();
      downWindows.push(down);
      const before = successes.size;
      await redis.restart();
      down = null;
      // No restart of the gateway: it reconnects by itself.
      await until('a success after Redis came back', async () => successes.size, (n) => n > before, 15_000);
      await until('/ready 200', ready, (s) => s === 200, 10_000);
    }
    stopLoad = true;
    await Promise.all(load);

    expect(wrongFaults).toEqual([]);
    expect(successWhileDown, 'a success while Redis was down').toEqual([]);
    expect(faultsWhileDown, 'requests were answered while Redis was down').toBeGreaterThan(0);
    expect(readyWhileDown.every((s) => s === 503)).toBe(true);
    expect(gw.running, 'the gateway process is still the same one').toBe(true);
    expect(gw.pid).toBe(pid);

    // What is still refused is sent again, as a portal would: now it is taken.
    for (const job of retry) {
      const res = await postSoap(gw.url, job.xml);
      expect(res.status, res.body.slice(0, 300)).toBe(200);
      if (!successes.has(job.messageId)) successes.set(job.messageId, res.body);
    }
    const inbox = countBy((await readInbox(gw.url)).filter((i) => i.kind === 'application'), (i) => i.messageId);
    const journal = countBy((await readJournal(gw.url, 'inbound')).filter((r) => r.operation === 'SendRequest' && r.succeeded && !r.duplicate), (r) => r.messageId);
    for (const id of successes.keys()) {
      expect(inbox.get(id), `inbox ${id}`).toBe(1);
      expect(journal.get(id), `journal ${id}`).toBe(1);
    }
    expect(inbox.size).toBe(successes.size);

    rss.stop();
    const settled = rssBytes(pid)!;
    // The delivery workers notice the outage once per queue (not a log line per loop per 250 ms) and resume by themselves.
    const workerFailures = gw.logsAt('error').filter((l) => l.msg === 'queue worker step failed; retrying').length;
    // A worker notices the recovery on its next step after its back-off pause: wait for that line (a busy machine delays it).
    await until('a queue worker resumed', async () => gw.logsAt('info').filter((l) => l.msg === 'queue worker steps succeed again').length, (n) => n > 0, 30_000);
    const resumed = new Set(gw.logsAt('info').filter((l) => l.msg === 'queue worker steps succeed again').map((l) => l.queue));
    expect(workerFailures).toBeLessThanOrEqual(5 * OUTAGES * (1 + Math.ceil(OUTAGE_MS / 60_000)));
    expect(resumed.size).toBeGreaterThan(0);
    if (process.env.CHAOS_VERBOSE) console.log(`[chaos] redis-outage: warn/error log lines: ${JSON.stringify([...countBy(gw.logsAt('warn', 'error', 'fatal'), (l) => `${String(l.level)} ${String(l.msg)}`)])}`);
    console.log(
      `[chaos] redis-outage: ${OUTAGES} × ${OUTAGE_MS} ms, ${successes.size} messages stored, ${faultsWhileDown} SMEVFailure while down, ` +
        `${workerFailures} worker failure log lines, RSS baseline ${(baseline / MB).toFixed(0)} MB, peak ${(rss.peak / MB).toFixed(0)} MB, after ${(settled / MB).toFixed(0)} MB`,
    );
    expect(rss.peak).toBeLessThan(baseline + knob('CHAOS_RSS_GROWTH_MB', 250, 250) * MB);
  }, knob('CHAOS_TIMEOUT_MS', 90_000, 900_000));
});
