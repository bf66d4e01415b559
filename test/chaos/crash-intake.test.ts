/**
 * Crash safety of intake: real gateway processes (`node dist/main.js`) on a
 * real Redis (AOF, appendfsync always) under concurrent load of unique signed
 * SendRequests, SIGKILLed at random moments (seeded) and restarted each time.
 * A request that failed or got no reply is sent again, with the SAME envelope,
 * once the gateway is back — what a portal does.
 *
 * Afterwards every MessageID that got a success reply is in the inbox exactly
 * once and has exactly one accepted journal record, registration numbers are
 * unique, and sending any of them again gets the same reply, byte for byte.
 *
 * CI: CHAOS_KILLS (default 6) kills; `npm run chaos`: 50.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/net.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { faultOf, OPS, postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';
import { catalogue, countBy, KillableGateway, readInbox, readJournal } from './harness.js';
import { between, chaosSeed, knob, seededRandom } from './knobs.js';
import { MB, sampleRss } from './memory.js';

const KILLS = knob('CHAOS_KILLS', 6, 50);
const CONCURRENCY = knob('CHAOS_CONCURRENCY', 6, 16);
const BATCH = 40;
const SERVICES = ['advertising-permit', 'dwelling-replanning', 'kindergarten-enrollment'];

interface Envelope {
  xml: string;
  messageId: string;
}

describe('intake under SIGKILL (Redis, AOF fsync always)', () => {
  let redis: RedisTestServer;
  let gw: KillableGateway;

  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    gw = new KillableGateway(await freePort(), { REDIS_URL: redis.url, LOG_LEVEL: 'info' });
    await gw.start();
  });
  afterAll(async () => {
    await gw?.kill();
    await redis?.dispose();
  });

  it(`killed ${KILLS} times under load: every acknowledged message stored exactly once, retries get the same reply`, async () => {
    const random = seededRandom(chaosSeed('crash-intake'));
    const rss = sampleRss(gw.pid);
    let signed = 0;
    const signBatch = async (): Promise<Envelope[]> => {
      const batch: Envelope[] = [];
      for (let i = 0; i < BATCH; i++, signed++) {
        const service = SERVICES[signed % SERVICES.length]!;
        batch.push(await signedSendRequest({ catalogue, service, content: serviceExample(service) }));
      }
      return batch;
    };

    const queue: Envelope[] = await signBatch();
    const replies = new Map<string, string>(); // MessageID → the first success reply
    const everSent = new Map<string, string>(); // MessageID → the envelope, as sent (every attempt the same)
    const retried = new Set<string>();
    const cut = new Set<string>(); // requests whose connection died under them
    const unexpected: string[] = [];
    let killerDone = false;
    let inFlight = 0;
    let attempts = 0;
    let refill: Promise<void> | null = null;

    const worker = async () => {
      for (;;) {
        if (queue.length < CONCURRENCY && !killerDone && !refill) {
          refill = signBatch().then((b) => void queue.push(...b)).finally(() => (refill = null));
        }
        const job = queue.shift();
        if (!job) {
          if (killerDone && replies.size === everSent.size && inFlight === 0 && !refill) return;
          await sleep(20);
          continue;
        }
        everSent.set(job.messageId, job.xml);
        inFlight++;
        attempts++;
        try {
          const res = await postSoap(gw.url, job.xml);
          if (res.status === 200 && res.body.includes('requestIsQueued')) {
            if (!replies.has(job.messageId)) replies.set(job.messageId, res.body);
            else if (replies.get(job.messageId) !== res.body) unexpected.push(`${job.messageId}: a second, different success reply`);
          } else {
            const { fault } = faultOf(res.body);
            // Only "retry later" is acceptable from a gateway that is fine but for its store.
            if (fault !== 'SMEVFailure' && res.status !== 503) unexpected.push(`${job.messageId}: HTTP ${res.status} ${fault}`);
            retried.add(job.messageId);
            queue.push(job);
          }
        } catch (error) {
          // No reply (killed mid-request, or refused while down): send the same envelope again later.
          const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED';
          if (!refused) cut.add(job.messageId);
          retried.add(job.messageId);
          queue.push(job);
          await sleep(refused ? 100 : 20);
        } finally {
          inFlight--;
        }
      }
    };

    const killer = async () => {
      for (let k = 0; k < KILLS; k++) {
        await sleep(between(random, 150, 1500));
        const busy = inFlight;
        await gw.kill();
        await gw.start();
        rss.follow(gw.pid);
        if (process.env.CHAOS_VERBOSE) console.log(`[chaos] kill ${k + 1}/${KILLS} with ${busy} requests in flight`);
      }
      killerDone = true;
    };

    await Promise.all([killer(), ...Array.from({ length: CONCURRENCY }, worker)]);
    rss.stop();
    expect(unexpected).toEqual([]);
    expect(replies.size).toBe(everSent.size);
    expect(cut.size, 'the kills hit requests in flight').toBeGreaterThan(0);

    // Every envelope once more: each gets its first reply, byte for byte, and nothing new is stored.
    const ids = [...replies.keys()];
    const differing: string[] = [];
    const resend = [...ids];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let id = resend.pop(); id !== undefined; id = resend.pop()) {
          const res = await postSoap(gw.url, everSent.get(id)!);
          if (res.body !== replies.get(id)) differing.push(`${id}: HTTP ${res.status} ${faultOf(res.body).fault ?? 'another reply'}`);
        }
      }),
    );
    expect(differing, 'a repeated envelope got another reply').toEqual([]);

    const inbox = await readInbox(gw.url);
    const applications = inbox.filter((i) => i.kind === 'application');
    const perMessage = countBy(applications, (i) => i.messageId);
    const missing = ids.filter((id) => perMessage.get(id) !== 1);
    expect(missing, 'acknowledged but not in the inbox exactly once').toEqual([]);
    expect(applications.length).toBe(ids.length); // nothing that was never acknowledged, nothing twice
    const numbers = countBy(applications, (i) => i.registrationNumber);
    expect([...numbers.values()].every((n) => n === 1), 'registration numbers are unique').toBe(true);
    expect(numbers.size).toBe(ids.length);

    const journal = (await readJournal(gw.url, 'inbound')).filter((r) => r.operation === 'SendRequest');
    const accepted = countBy(journal.filter((r) => r.succeeded && !r.duplicate), (r) => r.messageId);
    expect(ids.filter((id) => accepted.get(id) !== 1), 'acknowledged without exactly one accepted journal record').toEqual([]);
    expect(accepted.size).toBe(ids.length);

    const verify = (await (await fetch(`${gw.url}/api/v1/journal/verify`, { headers: OPS })).json()) as { ok: boolean; problems: unknown[] };
    expect(verify.problems).toEqual([]);
    expect(verify.ok).toBe(true);

    console.log(`[chaos] crash-intake: ${KILLS} kills, ${ids.length} messages acknowledged, ${cut.size} cut mid-request, ${retried.size} sent more than once, ${attempts} attempts, peak RSS ${(rss.peak / MB).toFixed(0)} MB`);
    expect(rss.peak).toBeLessThan(knob('CHAOS_RSS_LIMIT_MB', 600, 600) * MB);
  }, knob('CHAOS_TIMEOUT_MS', 150_000, 1_800_000));
});
