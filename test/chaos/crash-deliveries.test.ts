/**
 * Crash safety of what the gateway sends: the city keeps moving applications
 * along their lifecycle (POST /api/v1/applications/{id}/status) and sending
 * interagency queries (POST /api/v1/queries) while the gateway process is
 * SIGKILLed at random moments (seeded) and restarted, with the real portal
 * and agency simulators receiving (they verify every signature and count
 * what arrives by MessageID). The portal answers slowly, so kills land while
 * statuses are on the wire.
 *
 * Afterwards every status the city queued reached the portal exactly once and
 * in order per application (the ELK history is exactly the lifecycle's codes,
 * nothing repeated, nothing missing), and every query the city got an id for
 * reached the agency exactly once, under the MessageID the gateway gave it.
 *
 * A call that got no reply has an unknown outcome; like a city system, the
 * driver reads the application again and repeats the change only if it is not
 * there. Queries have no such read-back by content, so an unanswered query
 * POST is not repeated (and must reach the agency at most once).
 *
 * CI: CHAOS_KILLS (default 5) kills; `npm run chaos`: 50.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { CITY, postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';
import { catalogue, countBy, KillableGateway, readInbox, startPartnerRig, until, type PartnerRig } from './harness.js';
import { between, chaosSeed, knob, seededRandom } from './knobs.js';
import { MB, sampleRss } from './memory.js';

const KILLS = knob('CHAOS_KILLS', 5, 50);
const STATUS_LANES = knob('CHAOS_STATUS_LANES', 3, 6);
const QUERY_LANES = knob('CHAOS_QUERY_LANES', 1, 2);
const LIFECYCLE = ['registered', 'in_progress', 'waiting_for_answers', 'in_progress', 'completed'];
/** The ELK codes the portal must see for LIFECYCLE: received (2), then one per change. */
const ELK_CODES = [2, 6, 7, 14, 7, 3];

type Json = Record<string, unknown>;

/** The reply; 'refused' when nothing reached the gateway (down); null when the reply was lost (killed mid-call). */
async function call(method: string, url: string, body?: unknown): Promise<{ status: number; body: Json } | 'refused' | null> {
  try {
    const res = await fetch(url, { method, headers: { ...CITY, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as Json };
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED' ? 'refused' : null;
  }
}

describe('statuses and queries under SIGKILL (Redis, portal and agency simulators)', () => {
  let rig: PartnerRig;
  let portal: PortalSimulator;
  let agency: AgencySimulator;
  let gw: KillableGateway;

  beforeAll(async () => {
    rig = await startPartnerRig({
      DELIVERY_TIMEOUT_MS: '1000',
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '300',
    });
    ({ portal, agency, gw } = rig);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it(`killed ${KILLS} times while statuses and queries are queued and on the wire: each delivered exactly once, in order`, async () => {
    const random = seededRandom(chaosSeed('crash-deliveries'));
    const rss = sampleRss(gw.pid);
    const unexpected: string[] = [];
    const orders: string[] = [];
    const queued: Array<{ tag: string; id: string; messageId: string }> = [];
    const unknown: string[] = [];
    let killerDone = false;
    let nextOrder = 7100000001;
    let queryNo = 0;

    /** A new application from the portal (the same envelope until it is acknowledged); its id. */
    const submit = async (): Promise<{ appId: string; order: string }> => {
      const order = String(nextOrder++);
      const content = { ...(serviceExample('advertising-permit') as Json), orderId: Number(order) };
      const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', content: content as never });
      for (;;) {
        const res = await postSoap(gw.url, xml).catch(() => null);
        if (res?.status === 200) break;
        await sleep(100);
      }
      // Acknowledged means stored: the first inbox read that works must hold it (the gateway may be down meanwhile).
      const inbox = await until('an inbox read', () => readInbox(gw.url), Array.isArray, 120_000, 200);
      const item = inbox.find((i) => i.messageId === messageId);
      if (!item?.applicationId) throw new Error(`application ${messageId} was acknowledged but is not in the inbox`);
      return { appId: item.applicationId, order };
    };

    /** One lifecycle step; true once the application has it (queued now, or found there after a lost reply). */
    const advance = async (appId: string, step: number): Promise<void> => {
      for (;;) {
        const res = await call('POST', `${gw.url}/api/v1/applications/${appId}/status`, { code: LIFECYCLE[step] });
        if (typeof res === 'object' && res?.status === 202) return;
        if (typeof res === 'object' && res && res.status !== 409 && res.status < 500) unexpected.push(`status ${LIFECYCLE[step]}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        const app = await call('GET', `${gw.url}/api/v1/applications/${appId}`);
        const history = typeof app === 'object' && app?.status === 200 ? (app.body.statusHistory as unknown[]) : null;
        if (history && history.length >= step + 2) return; // the lost reply's change is there
        await sleep(150);
      }
    };

    const statusLane = async () => {
      while (!killerDone) {
        const { appId, order } = await submit();
        orders.push(order);
        for (let step = 0; step < LIFECYCLE.length; step++) {
          await sleep(between(random, 50, 800));
          await advance(appId, step);
        }
      }
    };

    const queryLane = async () => {
      while (!killerDone) {
        await sleep(between(random, 50, 600));
        const tag = `chaos-${++queryNo}`;
        let res = await call('POST', `${gw.url}/api/v1/queries`, { service: 'egrn-extract', data: { ...(serviceExample('egrn-extract') as Json), purpose: tag } });
        // Refused: it never reached the gateway, so sending it again is safe.
        while (res === 'refused') {
          await sleep(150);
          res = await call('POST', `${gw.url}/api/v1/queries`, { service: 'egrn-extract', data: { ...(serviceExample('egrn-extract') as Json), purpose: tag } });
        }
        if (res?.status === 202) queued.push({ tag, id: String(res.body.id), messageId: String(res.body.messageId) });
        else if (res === null || res.status >= 500) unknown.push(tag);
        else unexpected.push(`query: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      }
    };

    const killer = async () => {
      for (let k = 0; k < KILLS; k++) {
        portal.setDelay(between(random, 0, 400));
        await sleep(between(random, 300, 2500));
        await gw.kill();
        await gw.start();
        rss.follow(gw.pid);
      }
      portal.setDelay(0);
      killerDone = true;
    };

    await Promise.all([killer(), ...Array.from({ length: STATUS_LANES }, statusLane), ...Array.from({ length: QUERY_LANES }, queryLane)]);
    expect(unexpected).toEqual([]);

    // A status whose sender died mid-send is taken again once its lease runs out (2 × timeout + 5 s).
    await until(
      'every status at the portal',
      async () => orders.filter((o) => portal.historyOf(o).length < ELK_CODES.length),
      (left) => left.length === 0,
      60_000,
      250,
    );
    await until('every queued query at the agency', async () => queued.filter((q) => !agency.queries().some((r) => r.messageId === q.messageId)), (left) => left.length === 0, 60_000, 250);
    await sleep(1_500); // room for a late duplicate to show
    rss.stop();

    for (const order of orders) expect(portal.historyOf(order).map((h) => h.status), `order ${order}`).toEqual(ELK_CODES);
    const messageIds = portal.statuses().map((s) => s.messageId);
    expect(new Set(messageIds).size).toBe(messageIds.length);

    const byTag = countBy(agency.queries(), (q) => (q.content as Json).purpose as string);
    for (const q of queued) {
      expect(byTag.get(q.tag), q.tag).toBe(1);
      expect(agency.queries().find((r) => (r.content as Json).purpose === q.tag)!.messageId).toBe(q.messageId);
    }
    for (const tag of unknown) expect(byTag.get(tag) ?? 0, tag).toBeLessThanOrEqual(1);
    expect(agency.queries().length).toBe(queued.length + unknown.filter((t) => byTag.has(t)).length);

    // The agency's answers that the gateway acknowledged are in the inbox once each.
    const acked = agency.answers().filter((a) => a.httpStatus === 200);
    const responses = countBy((await readInbox(gw.url)).filter((i) => i.kind === 'response'), (i) => i.content.queryId as string);
    const queryIdByMessage = new Map(queued.map((q) => [q.messageId, q.id]));
    for (const a of acked) {
      const id = queryIdByMessage.get(a.to);
      if (id) expect(responses.get(id), `answer to ${id}`).toBe(1);
    }

    console.log(
      `[chaos] crash-deliveries: ${KILLS} kills, ${orders.length} applications × ${LIFECYCLE.length} statuses, ${queued.length} queries queued (${unknown.length} with no reply), ` +
        `portal: ${portal.statuses().length} accepted, ${portal.duplicates} repeats answered idempotently; agency: ${agency.duplicates} repeats; peak RSS ${(rss.peak / MB).toFixed(0)} MB`,
    );
    expect(rss.peak).toBeLessThan(knob('CHAOS_RSS_LIMIT_MB', 600, 600) * MB);
  }, knob('CHAOS_TIMEOUT_MS', 180_000, 1_800_000));
});
