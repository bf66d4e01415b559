/**
 * The portal and the agency unreachable for a while, then slow, then well:
 * statuses and queries queued meanwhile are retried (small
 * DELIVERY_BACKOFF_MS) and each arrives exactly once, statuses in order per
 * application; a partner slower than DELIVERY_TIMEOUT_MS gets the same
 * message again (same MessageID) and records it once. The gateway's memory
 * stays bounded throughout.
 *
 * CI: CHAOS_PARTNER_OUTAGE_MS 3 s down; `npm run chaos`: 30 s, more applications.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { CITY, postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';
import { catalogue, countBy, KillableGateway, readInbox, startPartnerRig, until, type PartnerRig } from './harness.js';
import { knob } from './knobs.js';
import { MB, rssBytes, sampleRss } from './memory.js';

const OUTAGE_MS = knob('CHAOS_PARTNER_OUTAGE_MS', 3_000, 30_000);
const APPS = knob('CHAOS_APPS', 4, 30);
const QUERIES = knob('CHAOS_QUERIES', 4, 40);
const LIFECYCLE = ['registered', 'in_progress', 'waiting_for_answers', 'in_progress', 'completed'];
const ELK_CODES = [2, 6, 7, 14, 7, 3];

type Json = Record<string, unknown>;

describe('partners down, then slow, then back', () => {
  let rig: PartnerRig;
  let portal: PortalSimulator;
  let agency: AgencySimulator;
  let gw: KillableGateway;

  beforeAll(async () => {
    rig = await startPartnerRig({
      DELIVERY_TIMEOUT_MS: '1000',
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '500',
      DELIVERY_MAX_ATTEMPTS: '1000',
    });
    ({ portal, agency, gw } = rig);
  });
  afterAll(async () => {
    await rig?.close();
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${gw.url}${path}`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status, path).toBe(202);
    return (await res.json()) as Json;
  };

  it(`down for ${OUTAGE_MS} ms, then slower than the delivery timeout: every status and query delivered once, in order`, async () => {
    const pid = gw.pid;
    const baseline = rssBytes(pid)!;
    const rss = sampleRss(pid);
    const apps: Array<{ id: string; order: string }> = [];
    for (let i = 0; i < APPS; i++) {
      const order = String(7200000001 + i);
      const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', content: { ...(serviceExample('advertising-permit') as Json), orderId: Number(order) } as never });
      expect((await postSoap(gw.url, xml)).status).toBe(200);
      apps.push({ id: (await readInbox(gw.url)).find((x) => x.messageId === messageId)!.applicationId!, order });
    }

    await portal.setDown(true);
    await agency.setDown(true);
    const queries: Json[] = [];
    for (let step = 0; step < LIFECYCLE.length; step++) {
      for (const app of apps) await post(`/api/v1/applications/${app.id}/status`, { code: LIFECYCLE[step] });
    }
    for (let i = 0; i < QUERIES; i++) queries.push(await post('/api/v1/queries', { service: 'egrn-extract', data: { ...(serviceExample('egrn-extract') as Json), purpose: `outage-${i}` } }));
    await sleep(OUTAGE_MS);
    expect(portal.attempts + agency.queries().length, 'nothing reached a partner that was down').toBe(0);
    const retrying = (await (await fetch(`${gw.url}/api/v1/queries/${String(queries[0]!.id)}`, { headers: CITY })).json()) as { delivery: { state: string; attempts: number } };
    expect(retrying.delivery.state).not.toBe('delivered');
    expect(retrying.delivery.attempts, 'the gateway kept trying').toBeGreaterThan(1);

    // Back, but slower than DELIVERY_TIMEOUT_MS for a while: attempts time out and are repeated.
    portal.setDelay(1_300);
    agency.mode('*', { kind: 'answer' });
    await portal.setDown(false);
    await agency.setDown(false);
    await until('the portal answering late', async () => portal.attempts, (n) => n >= 2, 15_000);
    await sleep(2_500);
    portal.setDelay(0);

    await until('every status delivered', async () => apps.filter((a) => portal.historyOf(a.order).length < ELK_CODES.length), (left) => left.length === 0, 60_000, 250);
    await until('every query at the agency', async () => queries.filter((q) => !agency.queries().some((r) => r.messageId === q.messageId)), (left) => left.length === 0, 30_000, 250);
    await until('every query answered', async () => {
      const views = await Promise.all(queries.map(async (q) => ((await (await fetch(`${gw.url}/api/v1/queries/${String(q.id)}`, { headers: CITY })).json()) as Json).state));
      return views.filter((s) => s !== 'answered');
    }, (left) => left.length === 0, 30_000, 250);
    await sleep(1_000);
    rss.stop();

    for (const app of apps) expect(portal.historyOf(app.order).map((h) => h.status), app.order).toEqual(ELK_CODES);
    expect(portal.duplicates, 'the slow portal got repeats (same MessageID) and recorded each once').toBeGreaterThan(0);
    const received = countBy(agency.queries(), (r) => (r.content as Json).purpose as string);
    for (let i = 0; i < QUERIES; i++) expect(received.get(`outage-${i}`), `outage-${i}`).toBe(1);
    for (const q of queries) expect(agency.queries().find((r) => r.messageId === q.messageId)?.content).toMatchObject({ purpose: expect.stringMatching(/^outage-/) });
    expect(agency.queries()).toHaveLength(queries.length);

    const settled = rssBytes(pid)!;
    console.log(
      `[chaos] partner-outage: ${APPS} applications × ${LIFECYCLE.length} statuses and ${QUERIES} queries through ${OUTAGE_MS} ms down; ` +
        `portal attempts ${portal.attempts}, repeats ${portal.duplicates}; RSS baseline ${(baseline / MB).toFixed(0)} MB, peak ${(rss.peak / MB).toFixed(0)} MB, after ${(settled / MB).toFixed(0)} MB`,
    );
    expect(rss.peak).toBeLessThan(baseline + knob('CHAOS_RSS_GROWTH_MB', 250, 250) * MB);
  }, knob('CHAOS_TIMEOUT_MS', 120_000, 900_000));
});
