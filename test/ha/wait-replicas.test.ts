/**
 * No acknowledged loss (REDIS_WAIT_REPLICAS=1) with a real gateway on a real
 * Redis primary and replica: a positive reply is sent only once the replica
 * has the application; with the replica frozen (SIGSTOP) every edge refuses
 * (SMEVFailure, 503, Server.InternalError) instead of answering success, and
 * the partner's retry with the same MessageID is accepted once it thaws.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INBOX } from '../../src/city/model.js';
import { idempotencyKey } from '../../src/flows/inbound-message.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { readInbox, submitApplication } from '../helpers/city.js';
import { startRedisReplicaSet, type RedisReplicaSet } from '../helpers/redis-replica.js';
import { CITY, faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';
import { APPLICATION, postXRoad, wrapped, writeXRoadPartners, xroadFault, xroadRequest } from '../helpers/xroad-provider.js';
import { serviceExample } from '../helpers/smev.js';

const WAIT_MS = 400;
let set: RedisReplicaSet;
let gw: RunningGateway;
let replica: RedisStore;

beforeAll(async () => {
  set = await startRedisReplicaSet();
  gw = await startGateway({ REDIS_URL: set.primary.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: String(WAIT_MS), PARTNERS_FILE: writeXRoadPartners() });
  replica = new RedisStore(set.replica.url);
});

afterAll(async () => {
  await gw?.close();
  await replica?.close();
  await set?.dispose();
});

/** Runs `body` with the replica frozen; always thaws it. */
async function frozen<T>(body: () => Promise<T>): Promise<T> {
  set.freeze();
  try {
    return await body();
  } finally {
    set.thaw();
  }
}

describe('REDIS_WAIT_REPLICAS=1 with a real primary and replica', () => {
  it('an accepted application is on the replica when the reply arrives', async () => {
    const messageId = await submitApplication(gw);
    // Straight after the reply, no polling: the replica must already have it.
    const record = await replica.getIdempotency(idempotencyKey(messageId));
    expect(record).not.toBeNull();
    const inboxId = (record!.result as { inboxId: string }).inboxId;
    expect(await replica.getDoc(INBOX, inboxId)).toMatchObject({ messageId });
  });

  it('a frozen replica: SMEVFailure within about the wait, no success; the retry with the same MessageID is accepted once', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
    const refused = await frozen(async () => {
      const started = Date.now();
      const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
      return { ...res, took: Date.now() - started };
    });
    expect(refused.body).not.toContain('requestIsQueued');
    expect(faultOf(refused.body).fault).toBe('SMEVFailure');
    expect(faultOf(refused.body).faultstring).toMatch(/could not confirm replication.*retry later with the same MessageID/);
    expect(refused.took).toBeGreaterThanOrEqual(WAIT_MS - 10);
    expect(refused.took).toBeLessThan(WAIT_MS + 2_000);

    const retry = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
    expect(retry.status).toBe(200);
    expect(retry.body).toContain('requestIsQueued');
    const items = (await readInbox(gw.url)).items.filter((i) => i.messageId === messageId);
    expect(items).toHaveLength(1);
    expect(await replica.getIdempotency(idempotencyKey(messageId))).not.toBeNull();
  });

  it('the JSON API answers 503 naming replication', async () => {
    const messageId = await submitApplication(gw);
    const item = (await readInbox(gw.url)).items.find((i) => i.messageId === messageId)!;
    const res = await frozen(() => fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY }));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('STORE_NOT_REPLICATED');
    expect(body.error.message).toMatch(/could not confirm replication/);
    // Once the replica is back the same call succeeds.
    expect((await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY })).status).toBe(204);
  });

  it('the X-Road provider answers Server.InternalError, and the same id later succeeds', async () => {
    const id = `wait-${Date.now()}`;
    const request = xroadRequest({ code: APPLICATION, id, body: wrapped(APPLICATION, gw.gateway.catalogue.get(APPLICATION)!.request.toXml(serviceExample(APPLICATION))) });
    const refused = await frozen(() => postXRoad(gw.url, request));
    expect(refused.status).toBe(500);
    expect(xroadFault(refused.body)).toMatchObject({ faultcode: 'Server.InternalError', faultstring: expect.stringMatching(/could not confirm replication/) });
    const again = await postXRoad(gw.url, request);
    expect(again.status).toBe(200);
    expect(xroadFault(again.body)).toBeNull();
  });

  it('/ready reports the replicas, and fails with 0 connected', async () => {
    const ready = await fetch(`${gw.url}/ready`);
    const report = (await ready.json()) as { checks: Array<{ name: string; status: string; connectedReplicas: number; requiredReplicas: number }> };
    expect(report.checks.find((c) => c.name === 'replication')).toMatchObject({ status: 'pass', connectedReplicas: 1, requiredReplicas: 1 });

    await set.killReplica();
    await set.awaitConnectedReplicas(0);
    // /ready caches its checks for 1 s: poll (bounded) until the new state shows.
    const deadline = Date.now() + 5_000;
    for (;;) {
      const res = await fetch(`${gw.url}/ready`);
      const r = (await res.json()) as typeof report;
      const check = r.checks.find((c) => c.name === 'replication');
      if (check?.status === 'fail') {
        expect(res.status).toBe(503);
        expect(check).toMatchObject({ connectedReplicas: 0, requiredReplicas: 1, detail: expect.stringMatching(/0 replica\(s\) connected, 1 required/) });
        break;
      }
      if (Date.now() > deadline) throw new Error(`replication check still ${JSON.stringify(check)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
});
