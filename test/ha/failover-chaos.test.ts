/**
 * The HA deployment under steady load, with its parts killed (-9): real
 * processes on loopback — a Redis primary and replica, three sentinels
 * (down-after 1000 ms), three gateways (REDIS_WAIT_REPLICAS=1) and HAProxy in
 * front of them (test/helpers/ha-cluster.ts).
 *
 * - The partner (the portal) sends signed SendRequest applications through the
 *   balancer at a steady rate, a few in flight; a fault or a network error is
 *   retried after a short pause with the SAME envelope (same MessageID).
 * - The city, through the balancer too, reads the inbox by cursor, acks each
 *   application and moves it registered → in_progress → completed; a reply
 *   that is lost or refused is settled as a city system would: read the
 *   application back, repeat the change only if it is not there.
 * - The primary is killed CHAOS_PRIMARY_KILLS (default 5) times. Once the
 *   sentinels name the new primary the killed node is restarted on its port
 *   and dir as its replica (with one replica and REDIS_WAIT_REPLICAS=1 no
 *   commit is confirmed until then); the next kill comes after it caught up
 *   and the sentinels could promote it; then a gateway is killed and
 *   restarted; then a sentinel is killed and the primary once more with that
 *   sentinel down.
 *
 * Afterwards: every application that got a positive reply is in the inbox
 * exactly once (and nothing else is), every order's statuses reached the
 * portal simulator once each and in the posted order (a redelivery with the
 * same MessageID is counted, not recorded twice), and the journal verifies.
 * The figures are printed ("[chaos] ha-failover: …").
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalogue, countBy, readInbox, until, type InboxEntry } from '../chaos/harness.js';
import { knob } from '../chaos/knobs.js';
import { startHaCluster, type HaCluster } from '../helpers/ha-cluster.js';
import { CITY, faultOf, OPS, postSoap, serviceExample, signedSendRequest } from '../helpers/smev.js';

const PRIMARY_KILLS = knob('CHAOS_PRIMARY_KILLS', 5, 20);
const RATE_PER_S = knob('CHAOS_RATE', 10, 20);
const IN_FLIGHT = 4;
/** How long the partner and the city wait for one answer before giving up and trying again. */
const REQUEST_TIMEOUT_MS = 15_000;
const CITY_LANES = 4;
const SERVICE = 'advertising-permit';
const LIFECYCLE = ['registered', 'in_progress', 'completed'];
/** What the portal must see per order: received (2, on intake), then one code per change. */
const ELK_CODES = [2, 6, 7, 3];
/** Load between one recovery and the next kill, so each kill lands under load. */
const STEADY_MS = 1_500;

type Json = Record<string, unknown>;

interface Sent {
  messageId: string;
  order: string;
  xml: string;
  attempts: number;
  acceptedAt: number | null;
}

interface Kill {
  what: string;
  at: number;
  promotedMs: number | null;
  acceptedAgainMs: number | null;
}

function errorCode(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  return cause?.code ?? (error as Error).name ?? 'error';
}

describe('HA under kill -9: primary (Sentinel failover), gateway, sentinel', () => {
  let cluster: HaCluster;

  beforeAll(async () => {
    cluster = await startHaCluster({ gateways: 3, sentinel: { downAfterMs: 1000, failoverTimeoutMs: 2000 } });
  }, 120_000);
  afterAll(async () => {
    await cluster?.close();
  });

  it(`${PRIMARY_KILLS} primary kills, a gateway kill, a sentinel kill: no acknowledged application lost or duplicated, statuses once each and in order`, async () => {
    const { group, portal, balancer, gateways, url } = cluster;
    const sent: Sent[] = [];
    const faults = new Map<string, number>();
    const unexpected: string[] = [];
    const kills: Kill[] = [];
    let nextOrder = 7300000001;
    let loadDone = false;
    let retries = 0;
    const acceptedListeners = new Set<(at: number, startedAt: number) => void>();
    const fault = (kind: string) => faults.set(kind, (faults.get(kind) ?? 0) + 1);
    const t0 = Date.now();
    // Every failover the sentinels make, planned or not (a primary stalled past down-after on a busy machine is failed over too).
    const switches: string[] = [];
    const watch = group.client(group.sentinels[2]!);
    watch.on('message', (_channel: string, message: string) => {
      switches.push(message);
      note(`+switch-master ${message}`);
    });
    await watch.subscribe('+switch-master');
    const note = (m: string) => console.log(`[chaos] ha-failover +${((Date.now() - t0) / 1000).toFixed(1)} s: ${m} (sent ${sent.length}, accepted ${accepted()}, city done ${done.size}, portal ${portal.statuses().length})`);

    // ---- the partner: a steady rate, a few in flight, the same envelope until it is accepted
    const submit = async (s: Sent): Promise<void> => {
      while (!drainOver()) {
        const startedAt = Date.now();
        s.attempts++;
        try {
          // A partner does not wait forever: a request unanswered in 15 s is given up and sent again (same MessageID).
          const res = await postSoap(url, s.xml, {}, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
          if (res.status === 200 && res.body.includes('requestIsQueued')) {
            s.acceptedAt = Date.now();
            for (const l of acceptedListeners) l(s.acceptedAt, startedAt);
            return;
          }
          const kind = faultOf(res.body).fault ?? `HTTP ${res.status}`;
          // A gateway that cannot reach or replicate to its store says "retry later"; the balancer with no gateway up says 502/503.
          if (kind !== 'SMEVFailure' && res.status !== 502 && res.status !== 503) unexpected.push(`${s.messageId}: HTTP ${res.status} ${kind} ${res.body.slice(0, 300)}`);
          fault(kind);
        } catch (error) {
          fault(`network (${errorCode(error)})`);
        }
        retries++;
        await sleep(200);
      }
    };
    const inFlight = new Set<Promise<void>>();
    const partner = async () => {
      const gap = 1000 / RATE_PER_S;
      let due = Date.now();
      while (!loadDone) {
        due += gap;
        if (inFlight.size < IN_FLIGHT) {
          const order = String(nextOrder++);
          const { xml, messageId } = await signedSendRequest({ catalogue, service: SERVICE, content: { ...(serviceExample(SERVICE) as Json), orderId: Number(order) } as never });
          const s: Sent = { messageId, order, xml, attempts: 0, acceptedAt: null };
          sent.push(s);
          const p = submit(s).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        await sleep(Math.max(0, due - Date.now()));
      }
      await Promise.all([...inFlight]);
    };
    /** Resolves at the first acceptance of a request sent after `since`. */
    const acceptedAfter = (since: number) =>
      new Promise<number>((resolve) => {
        const l = (at: number, startedAt: number) => {
          if (startedAt < since) return;
          acceptedListeners.delete(l);
          resolve(at);
        };
        acceptedListeners.add(l);
      });

    // ---- the city: inbox by cursor, ack, three changes per application
    const seenItems = new Map<string, InboxEntry>(); // inbox id → item
    const done = new Map<string, string>(); // MessageID → application id, all changes in
    const vanished: string[] = []; // items read, then gone after a failover (their partner got no success)
    const work: InboxEntry[] = [];
    let cursor = '0';
    // Once the load stops the city has this long to finish; what it has not seen by then is reported, not waited for forever.
    let drainUntil = Infinity;
    const drainOver = () => Date.now() > drainUntil;
    let cityReads = 0;
    let cityRetries = 0;
    let alreadyThere = 0;

    const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: Json } | null> => {
      try {
        const res = await fetch(`${url}${path}`, { method, headers: { ...CITY, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        const text = await res.text();
        return { status: res.status, body: text ? (JSON.parse(text) as Json) : {} };
      } catch {
        return null;
      }
    };
    const cityReader = async () => {
      while (!loadDone || (done.size < sent.length && !drainOver())) {
        const page = await call('GET', `/api/v1/inbox?after=${cursor}&limit=100`);
        cityReads++;
        if (page?.status === 200) {
          for (const item of page.body.items as InboxEntry[]) {
            if (item.kind !== 'application' || seenItems.has(item.id)) continue;
            seenItems.set(item.id, item);
            work.push(item);
          }
          cursor = String(page.body.next);
        }
        await sleep(150);
      }
    };
    /** One change; false when the application is gone (read before a failover lost it). */
    const advance = async (appId: string, step: number): Promise<boolean> => {
      for (;;) {
        const res = await call('POST', `/api/v1/applications/${appId}/status`, { code: LIFECYCLE[step] });
        if (res?.status === 202) return true;
        // 409 "already <state>": an earlier try whose reply was refused (not confirmed) or lost did land.
        if (res && res.status !== 404 && res.status !== 409 && res.status < 500) unexpected.push(`status ${LIFECYCLE[step]}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        cityRetries++;
        if (res?.status === 409) alreadyThere++;
        const app = await call('GET', `/api/v1/applications/${appId}`);
        if (app?.status === 404) return false;
        if (app?.status === 200 && (app.body.statusHistory as unknown[]).length >= step + 2) return true; // the lost reply's change is there
        await sleep(200);
      }
    };
    const ack = async (id: string): Promise<boolean> => {
      for (;;) {
        const res = await call('POST', `/api/v1/inbox/${id}/ack`);
        if (res?.status === 204) return true;
        if (res?.status === 404) return false;
        if (res && res.status < 500) unexpected.push(`ack: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        cityRetries++;
        await sleep(200);
      }
    };
    const cityLane = async () => {
      while (!loadDone || (done.size < sent.length && !drainOver())) {
        const item = work.shift();
        if (!item) {
          await sleep(50);
          continue;
        }
        let ok = await ack(item.id);
        for (let step = 0; ok && step < LIFECYCLE.length; step++) ok = await advance(item.applicationId!, step);
        if (!ok) vanished.push(item.messageId);
        else if (done.has(item.messageId)) unexpected.push(`${item.messageId}: a second application in the inbox (${done.get(item.messageId)}, ${item.applicationId})`);
        else done.set(item.messageId, item.applicationId!);
      }
    };

    // ---- the killer
    const accepted = () => sent.filter((s) => s.acceptedAt !== null).length;
    const killPrimary = async (what: string) => {
      const old = await group.primary();
      const at = Date.now();
      const again = acceptedAfter(at);
      await old.stop('SIGKILL');
      note(`${what}: killed ${old.address}`);
      const promoted = await group.waitForNewPrimary(old, 60_000);
      const kill: Kill = { what, at, promotedMs: Date.now() - at, acceptedAgainMs: null };
      kills.push(kill);
      note(`${what}: sentinels name ${promoted.address}`);
      // With one replica and REDIS_WAIT_REPLICAS=1 nothing can be confirmed until a replica is back: the killed node is
      // restarted at once (as its supervisor would) on its port and dir, as a replica of the new primary.
      await old.start(promoted);
      await group.waitSynced(60_000);
      note(`${what}: ${old.address} restarted and in sync`);
      kill.acceptedAgainMs = (await again) - at;
      note(`${what}: accepting again`);
      // Ready for the next kill only once the sentinels see the restarted node fit to promote.
      await group.waitFailoverReady(60_000);
      note(`${what}: the sentinels could fail over again`);
    };
    const killer = async () => {
      await until('20 applications accepted before the first kill', async () => accepted(), (n) => n >= 20, 60_000, 100);
      for (let k = 1; k <= PRIMARY_KILLS; k++) {
        await killPrimary(`primary #${k}`);
        await sleep(STEADY_MS);
      }
      // A gateway: the balancer takes it out (failed requests are retried by the partner), then back.
      const gw = gateways[1]!;
      const gwAt = Date.now();
      const gwAgain = acceptedAfter(gwAt);
      await gw.kill();
      note(`gateway :${gw.port} killed`);
      const gwKill: Kill = { what: `gateway :${gw.port}`, at: gwAt, promotedMs: null, acceptedAgainMs: (await gwAgain) - gwAt };
      kills.push(gwKill);
      await until('the balancer sees the gateway down', () => balancer.backends(), (b) => b.some((x) => x.port === gw.port && x.status.startsWith('DOWN')), 30_000, 100);
      await gw.start();
      await balancer.waitUp(gateways.length, 60_000);
      note(`gateway :${gw.port} back in the balancer`);
      await sleep(STEADY_MS);
      // A sentinel: the two others still make a quorum and a majority; the primary dies once more meanwhile.
      const sentinel = group.sentinels[0]!;
      await sentinel.stop('SIGKILL');
      kills.push({ what: `sentinel ${sentinel.address}`, at: Date.now(), promotedMs: null, acceptedAgainMs: null });
      await sleep(STEADY_MS);
      await killPrimary(`primary #${PRIMARY_KILLS + 1} (a sentinel down)`);
      await sentinel.start();
      await group.waitFailoverReady(60_000);
      note('sentinel back');
      await sleep(STEADY_MS);
      loadDone = true;
      drainUntil = Date.now() + 60_000;
      note('load stops');
    };

    const startedAt = Date.now();
    await Promise.all([killer(), partner(), cityReader(), ...Array.from({ length: CITY_LANES }, cityLane)]);
    const loadMs = Date.now() - startedAt;
    watch.disconnect();
    note('load drained');
    expect(unexpected).toEqual([]);

    // Every status to the portal: a delivery whose sender died mid-send is taken again once its lease runs out.
    const orders = sent.map((s) => s.order);
    const notDone = sent.filter((s) => !done.has(s.messageId));
    if (notDone.length > 0) {
      const all = (await readInbox(url)).filter((i) => i.kind === 'application');
      for (const s of notDone) {
        const items = all.filter((i) => i.messageId === s.messageId);
        console.log(`[chaos] ha-failover: NOT DONE ${s.messageId} order ${s.order} accepted ${s.acceptedAt !== null} attempts ${s.attempts}; inbox items ${JSON.stringify(items.map((i) => ({ id: i.id, cursor: (i as unknown as { cursor: string }).cursor, app: i.applicationId, seen: seenItems.has(i.id) })))}; city cursor ${cursor}`);
      }
    }
    await until('every status at the portal', async () => orders.filter((o) => portal.historyOf(o).length < ELK_CODES.length), (left) => left.length === 0, 60_000, 250).catch((e: Error) => note(e.message));
    await sleep(1_500); // room for a late duplicate to show

    // ---- judging
    const acceptedIds = sent.filter((s) => s.acceptedAt !== null).map((s) => s.messageId);
    const inbox = (await readInbox(url)).filter((i) => i.kind === 'application');
    const perMessage = countBy(inbox, (i) => i.messageId);
    const lost = acceptedIds.filter((id) => !perMessage.has(id));
    const duplicated = [...perMessage].filter(([, n]) => n > 1).map(([id]) => id);
    const unasked = [...perMessage.keys()].filter((id) => !acceptedIds.includes(id));

    const outOfOrder = orders.filter((o) => JSON.stringify(portal.historyOf(o).map((h) => h.status)) !== JSON.stringify(ELK_CODES));
    const statusIds = portal.statuses().map((s) => s.messageId);
    const verify = (await (await fetch(`${url}/api/v1/journal/verify`, { headers: OPS })).json()) as { ok: boolean; checked: number; problems: unknown[] };

    const faultList = [...faults].map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    const ms = (v: number | null) => (v === null ? '–' : `${(v / 1000).toFixed(1)} s`);
    console.log(
      [
        `[chaos] ha-failover: ${((Date.now() - startedAt) / 1000).toFixed(0)} s (load ${(loadMs / 1000).toFixed(0)} s at ${RATE_PER_S}/s, ${IN_FLIGHT} in flight), 3 gateways behind HAProxy, primary + replica + 3 sentinels (down-after 1000 ms), REDIS_WAIT_REPLICAS=1`,
        `  applications sent ${sent.length}, accepted ${acceptedIds.length}, attempts ${sent.reduce((n, s) => n + s.attempts, 0)} (retries ${retries}), faults returned: ${faultList}`,
        `  lost ${lost.length}, duplicated ${duplicated.length}, in the inbox without a positive reply ${unasked.length}; city: ${cityReads} inbox reads, ${cityRetries} calls settled by reading back (${alreadyThere} answered 409: an earlier unconfirmed try had landed), ${vanished.length} items read then gone after a failover`,
        `  statuses: ${orders.length} orders × ${ELK_CODES.length}, status messages at the portal ${portal.statuses().length} (distinct MessageIDs ${new Set(statusIds).size}), raw arrivals ${portal.attempts}, redeliveries of a MessageID ${portal.duplicates}, orders out of order or incomplete ${outOfOrder.length}`,
        `  failovers (+switch-master): ${switches.length}, of them by a kill ${kills.filter((k) => k.what.startsWith('primary')).length}`,
        `  journal verify: ok=${verify.ok}, ${verify.checked} records, ${verify.problems.length} problems${verify.problems.length ? `: ${JSON.stringify(verify.problems.slice(0, 8))}` : ''}`,
        '  kill                                  new primary named   accepted again',
        ...kills.map((k) => `  ${k.what.padEnd(38)}${ms(k.promotedMs).padEnd(20)}${ms(k.acceptedAgainMs)}`),
      ].join('\n'),
    );

    expect(lost, 'acknowledged but not in the inbox').toEqual([]);
    expect(duplicated, 'in the inbox more than once').toEqual([]);
    expect(unasked, 'in the inbox but never acknowledged to the partner').toEqual([]);
    expect(acceptedIds.length).toBe(sent.length);
    expect(notDone.map((s) => s.messageId), 'accepted but not seen through by the city').toEqual([]);
    expect(outOfOrder.map((o) => `${o}: ${portal.historyOf(o).map((h) => h.status).join(',')}`), 'statuses once each, in the posted order').toEqual([]);
    expect(new Set(statusIds).size).toBe(statusIds.length);
    expect(orders.reduce((n, o) => n + portal.historyOf(o).length, 0)).toBe(orders.length * ELK_CODES.length);
    expect(verify.problems).toEqual([]);
    expect(verify.ok).toBe(true);
    expect(kills.filter((k) => k.what.startsWith('primary')).length).toBeGreaterThanOrEqual(PRIMARY_KILLS + 1);
    for (const g of gateways) expect(g.stderr(), `gateway :${g.port} stderr`).not.toMatch(/FATAL|uncaught/i);
  }, knob('CHAOS_TIMEOUT_MS', 240_000, 1_800_000));
});
