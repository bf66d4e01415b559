/**
 * Pull mode: a message the exchange delivers that the gateway cannot process
 * is not taken again and again for ever. The case here is real: a request
 * nested so deep that the sender's SendRequest is within the XML depth limit
 * (128) but the exchange's delivery, which wraps it two levels deeper, is not.
 * The other case, an error that is not a SMEV fault while the store works,
 * comes from a corrupt record in Redis. A store that is down is never
 * counted. Real exchange simulator (visibility timeout 300 ms), real Redis,
 * two gateways in a row (the count of tries survives the restart).
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlowContext } from '../../src/flows/context.js';
import { EVIDENCE, JOURNAL } from '../../src/journal/records.js';
import { DEAD_MESSAGES, deadMessageId, listDeadMessages, recordFailedTry, type DeadMessage, type DeliveredIdentity } from '../../src/pull/dead-deliveries.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { createStore } from '../../src/store/index.js';
import type { JsonValue } from '../../src/store/types.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, serviceExample } from '../helpers/smev.js';

const VISIBILITY_MS = 300;

/** The service's root element holding `levels` nested elements: depth 5 + 1 + levels in a SendRequest, 7 + 1 + levels when delivered. */
function tooDeepWhenDelivered(gw: RunningGateway, service = 'kindergarten-enrollment', levels = 121): string {
  const { namespace, rootElement } = gw.gateway.catalogue.get(service)!.request;
  return `<d:${rootElement} xmlns:d="${namespace}">${'<d:n>'.repeat(levels)}x${'</d:n>'.repeat(levels)}</d:${rootElement}>`;
}

type View = DeadMessage & { canAck: boolean; canReject: boolean };

async function deadList(url: string, state: 'dead' | 'all' = 'dead'): Promise<View[]> {
  const res = await fetch(`${url}/api/v1/ops/exchange-messages?state=${state}`, { headers: OPS });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: View[] }).items;
}

const post = (url: string, path: string) => fetch(`${url}${path}`, { method: 'POST', headers: OPS });

describe('pull mode: a delivered message the gateway cannot process goes dead after PULL_MAX_TRIES tries', () => {
  let redis: RedisTestServer;
  let world: PullWorld;
  let gw: RunningGateway;
  let env: Record<string, string>;
  let first: { messageId: string };

  beforeAll(async () => {
    redis = await startRedisServer();
    world = await startPullWorld({ visibilityTimeoutMs: VISIBILITY_MS });
    env = { ...world.env, REDIS_URL: redis.url, PULL_MAX_TRIES: '3' };
  });

  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await redis?.dispose();
  });

  it('counts its tries in the store across a restart; at the third it is journaled with the delivered bytes and dead; delivered again, it is not processed', async () => {
    const one = await startGateway(env);
    const sent = await world.portal.sendRequest({ contentXml: tooDeepWhenDelivered(one) });
    expect(sent.status, sent.text).toBe(200);
    first = sent;
    // Two tries in the first process, then a restart.
    await world.sim.waitFor((s) => (s.message(sent.messageId)?.deliveries ?? 0) >= 2, 10_000);
    await one.close();
    expect(one.logs.some((l) => /dead now/.test(String(l.msg)))).toBe(false);
    expect(await deadList(await (gw = await startGateway(env)).url)).toEqual([]);

    const [dead] = await eventually(async () => {
      const items = await deadList(gw.url);
      return items.length > 0 ? items : null;
    }, 'the message listed as dead');
    expect(dead).toMatchObject({
      exchange: 'smev',
      operation: 'GetRequest',
      kind: 'request',
      messageId: sent.messageId,
      messageIdFrom: 'salvaged',
      reason: 'unreadable',
      tries: 3,
      state: 'dead',
      ackedAt: null,
      canAck: true,
      canReject: true,
    });
    expect(dead!.detail).toMatch(/deeper than 128/);
    expect(dead!.replyTo).toBe(world.sim.message(sent.messageId)!.replyTo);
    expect(dead!.id).toBe(deadMessageId({ exchange: 'smev', messageId: sent.messageId, digest: '' }));
    expect(gw.logs.some((l) => /it is dead now/.test(String(l.msg)) && l.messageId === sent.messageId)).toBe(true);
    // The exchange still holds it: nobody acknowledged it.
    expect(world.sim.message(sent.messageId)!.state).toBe('delivered');

    // Its journal record keeps the bytes the exchange delivered, byte for byte.
    const { record } = (await (await fetch(`${gw.url}/api/v1/journal/${dead!.journalRecordId}`, { headers: OPS })).json()) as { record: { faultCode: string; faultString: string; messageId: string; direction: string } };
    expect(record).toMatchObject({ faultCode: 'DeadExchangeMessage', messageId: sent.messageId, direction: 'inbound' });
    expect(record.faultString).toMatch(/^unreadable after 3 tries: /);
    const evidence = await fetch(`${gw.url}/api/v1/ops/journal/${dead!.journalRecordId}/evidence/request`, { headers: OPS });
    expect(evidence.status).toBe(200);
    const bytes = Buffer.from(await evidence.arrayBuffer());
    expect(evidence.headers.get('x-content-sha256')).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(dead!.digest);
    const text = bytes.toString('utf8');
    expect(text).toContain('GetRequestResponse');
    expect(text).toContain(sent.messageId);

    // Delivered again after the visibility timeout: recognised, not processed, not journaled again.
    const journaled = async () => ((await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}&limit=100`, { headers: OPS })).json()) as { items: unknown[] }).items.length;
    const before = await journaled();
    const deliveries = world.sim.message(sent.messageId)!.deliveries;
    await world.sim.waitFor((s) => s.message(sent.messageId)!.deliveries >= deliveries + 2, 10_000);
    await eventually(async () => ((await deadList(gw.url))[0]?.redeliveries ?? 0) >= 1, 'the redelivery noted');
    expect(await journaled()).toBe(before);
    // Nothing reached the city.
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> };
    expect(inbox.items.some((i) => i.messageId === sent.messageId)).toBe(false);
  });

  it('Ack (ops role only): the exchange forgets it and stops delivering it; again: nothing changes', async () => {
    const [dead] = await deadList(gw.url);
    const path = `/api/v1/ops/exchange-messages/${dead!.id}/ack`;
    expect((await fetch(`${gw.url}${path}`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${gw.url}${path}`, { method: 'POST', headers: CITY })).status).toBe(403);
    expect((await post(gw.url, '/api/v1/ops/exchange-messages/nope/ack')).status).toBe(404);

    const res = await post(gw.url, path);
    const acked = (await res.json()) as View;
    expect(res.status, JSON.stringify(acked)).toBe(200);
    expect(acked).toMatchObject({ state: 'acked', canAck: false, canReject: false, actions: [{ action: 'ack', role: 'ops', outcome: 'acknowledged' }] });
    expect(world.sim.message(first.messageId)).toMatchObject({ state: 'acked', accepted: true });
    const deliveries = world.sim.message(first.messageId)!.deliveries;
    await sleep(VISIBILITY_MS * 3);
    expect(world.sim.message(first.messageId)!.deliveries).toBe(deliveries);
    expect(await deadList(gw.url)).toEqual([]);
    expect((await deadList(gw.url, 'all')).map((d) => d.id)).toEqual([dead!.id]);

    const again = (await (await post(gw.url, path)).json()) as View;
    expect(again.actions).toHaveLength(1);
    expect(again.ackedAt).toBe(acked.ackedAt);
    // The Ack is journaled like the gateway's other calls to the exchange.
    const acks = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${first.messageId}&limit=100`, { headers: OPS })).json()) as { items: Array<{ operation: string; succeeded: boolean }> };
    expect(acks.items.filter((r) => r.operation === 'Ack')).toEqual([expect.objectContaining({ succeeded: true })]);
  });

  it('RequestRejected: the sender gets it through the exchange, then the message is acked; again: one rejection only', async () => {
    const sent = await world.portal.sendRequest({ contentXml: tooDeepWhenDelivered(gw) });
    expect(sent.status).toBe(200);
    const dead = await eventually(async () => (await deadList(gw.url)).find((d) => d.messageId === sent.messageId), 'the second message dead', 15_000);
    const path = `/api/v1/ops/exchange-messages/${dead.id}/reject`;
    const res = await post(gw.url, path);
    const rejected = (await res.json()) as View;
    expect(res.status, JSON.stringify(rejected)).toBe(200);
    expect(rejected).toMatchObject({ state: 'rejected', canAck: false });
    expect(rejected.rejection?.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(world.sim.message(sent.messageId)).toMatchObject({ state: 'acked' });

    // The portal polls its responses: a RequestRejected answering its request.
    const reply = await eventually(async () => {
      const r = await world.portal.poll('GetResponse');
      return r.message && !r.message.empty ? r : null;
    }, 'the RequestRejected at the sender', 10_000);
    expect(reply.text).toContain(`OriginalMessageId>${sent.messageId}<`);
    expect(reply.text).toMatch(/RequestRejected>.*RejectionReasonCode>FAILURE<.*could not process the message \(unreadable\)/s);
    expect(reply.message!.messageId).toBe(rejected.rejection!.messageId);
    expect((await world.portal.ack(rejected.rejection!.messageId)).status).toBe(200);

    const again = (await (await post(gw.url, path)).json()) as View;
    expect(again.rejection).toEqual(rejected.rejection);
    expect(again.actions.map((a) => a.action)).toEqual(['reject', 'ack']);
    expect(world.sim.messages().filter((m) => m.originalMessageId === sent.messageId)).toHaveLength(1);
  });

  it('an error that is not a SMEV fault while the store works (here: a corrupt record in Redis) is counted the same way', async () => {
    const messageId = uuidV1();
    // The idempotency record of this MessageID, corrupted: reading it throws, and Redis answers.
    const client = new Redis(redis.url, { lazyConnect: true });
    await client.connect();
    await client.set(`okno:idem:smev:${messageId}`, '{corrupt');
    await client.quit();
    const contentXml = gw.gateway.catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const sent = await world.portal.sendRequest({ contentXml, messageId });
    expect(sent.status).toBe(200);
    const dead = await eventually(async () => (await deadList(gw.url)).find((d) => d.messageId === messageId), 'the message dead', 15_000);
    expect(dead).toMatchObject({ reason: 'processing-failed', messageIdFrom: 'envelope', tries: 3, canAck: true, canReject: true });
    expect(dead.detail).toMatch(/JSON/);
    expect(gw.logs.filter((l) => l.messageId === messageId && /processing the delivered message failed/.test(String(l.msg))).map((l) => l.tries)).toEqual([1, 2, 3]);
    expect(world.sim.message(messageId)!.state).toBe('delivered');
    expect((await post(gw.url, `/api/v1/ops/exchange-messages/${dead.id}/ack`)).status).toBe(200);
    expect(world.sim.message(messageId)!.state).toBe('acked');
  });

  it('without a MessageID neither Ack nor RequestRejected is possible, and the answer says why', async () => {
    const digest = 'f'.repeat(64);
    const id = deadMessageId({ exchange: 'smev', messageId: null, digest });
    const dead: DeadMessage = {
      id, exchange: 'smev', operation: 'GetRequest', kind: 'request', messageId: null, messageIdFrom: null, replyTo: null, version: '1.1', digest,
      reason: 'unreadable', detail: 'not XML', tries: 3, deadAt: new Date().toISOString(), journalRecordId: 'none', redeliveries: 0, lastSeenAt: new Date().toISOString(),
      state: 'dead', ackedAt: null, rejection: null, actions: [],
    };
    await gw.gateway.store.commit({ docs: [{ collection: DEAD_MESSAGES, id, value: dead as unknown as JsonValue }], feeds: [{ feed: DEAD_MESSAGES, id }] });
    const listed = (await deadList(gw.url)).find((d) => d.id === id)!;
    expect(listed).toMatchObject({ canAck: false, canReject: false });
    for (const action of ['ack', 'reject']) {
      const res = await post(gw.url, `/api/v1/ops/exchange-messages/${id}/${action}`);
      const body = (await res.json()) as { error: { code: string; message: string } } | { code: string; message: string };
      expect(res.status).toBe(409);
      expect(JSON.stringify(body)).toMatch(/NO_MESSAGE_ID.*MessageID of this message could not be read/);
    }
  });

  it('a store failure is never counted: with Redis down nothing is acked and no try is counted; back up, the message is taken', async () => {
    const contentXml = gw.gateway.catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    await redis.stop();
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);
    // More deliveries than PULL_MAX_TRIES while the store is down.
    await world.sim.waitFor((s) => (s.message(sent.messageId)?.deliveries ?? 0) >= 4, 15_000);
    expect(world.sim.message(sent.messageId)!.state).toBe('delivered');
    await redis.restart();
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 15_000);
    expect((await deadList(gw.url)).some((d) => d.messageId === sent.messageId)).toBe(false);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> };
    expect(inbox.items.some((i) => i.messageId === sent.messageId)).toBe(true);
  });
});

describe('recordFailedTry, the hook for failures retrying will not cure (an attachment that cannot be fetched)', () => {
  it('counts the tries of two gateway processes on one Redis together; two reaching the limit at once record it dead once', async () => {
    const redis = await startRedisServer();
    const [a, b] = [await createStore({ redisUrl: redis.url }), await createStore({ redisUrl: redis.url })];
    try {
      // Only what recordFailedTry reads: the store, PULL_MAX_TRIES and the clock.
      const ctxOf = (store: typeof a) => ({ store, config: { pull: { maxTries: 3 } }, now: () => new Date() }) as unknown as FlowContext;
      const raw = Buffer.from('<soap:Envelope>…</soap:Envelope>');
      const identity: DeliveredIdentity = { exchange: 'smev', operation: 'GetRequest', kind: 'request', messageId: uuidV1(), messageIdFrom: 'envelope', replyTo: 'reply-to', version: '1.1', digest: createHash('sha256').update(raw).digest('hex') };
      const failure = { reason: 'attachment-unavailable' as const, detail: 'file 5e1f…: the file store answered 404', raw, receivedAt: new Date() };
      expect(await recordFailedTry(ctxOf(a), identity, failure)).toEqual({ tries: 1, dead: null });
      expect(await recordFailedTry(ctxOf(b), identity, failure)).toEqual({ tries: 2, dead: null });
      const [x, y] = await Promise.all([recordFailedTry(ctxOf(a), identity, failure), recordFailedTry(ctxOf(b), identity, failure)]);
      // Each reads the count after its own try (the other's may be in it already): 3 or 4, both at the limit.
      expect(Math.max(x.tries, y.tries)).toBe(4);
      expect(Math.min(x.tries, y.tries)).toBeGreaterThanOrEqual(3);
      expect(x.dead).not.toBeNull();
      expect(y.dead).toEqual(x.dead);
      expect(x.dead).toMatchObject({ reason: 'attachment-unavailable', messageId: identity.messageId, state: 'dead' });
      expect((await listDeadMessages(a, { open: true, limit: 10 })).map((d) => d.id)).toEqual([x.dead!.id]);
      expect(await b.getDoc(JOURNAL, x.dead!.journalRecordId)).toMatchObject({ faultCode: 'DeadExchangeMessage', messageId: identity.messageId });
      expect((await b.getBlob(EVIDENCE, `${x.dead!.journalRecordId}.request`))!.equals(raw)).toBe(true);
    } finally {
      await a.close();
      await b.close();
      await redis.dispose();
    }
  });
});
