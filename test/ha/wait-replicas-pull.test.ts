/**
 * Pull mode with REDIS_WAIT_REPLICAS=1 on a real primary and replica: while
 * the replica is frozen (SIGSTOP) a delivered message is stored on the
 * primary but not confirmed, so the gateway sends no Ack and the message stays
 * in the exchange's queue; once the replica thaws, its next delivery is found
 * by MessageID and acked — one inbox item.
 */
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { readInbox } from '../helpers/city.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { startRedisReplicaSet, type RedisReplicaSet } from '../helpers/redis-replica.js';
import { serviceExample } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
let set: RedisReplicaSet;
let world: PullWorld;
let gw: RunningGateway;

beforeAll(async () => {
  set = await startRedisReplicaSet();
  world = await startPullWorld({ visibilityTimeoutMs: 1_000 });
  gw = await startGateway({ ...world.env, REDIS_URL: set.primary.url, REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '300' });
});

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
  await set?.dispose();
});

it('no Ack while the replica cannot confirm; acked once after it thaws, stored once', async () => {
  const contentXml = catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
  set.freeze();
  let messageId: string;
  try {
    messageId = (await world.portal.sendRequest({ contentXml })).messageId;
    await world.sim.waitFor((s) => (s.message(messageId)?.deliveries ?? 0) >= 1, 10_000);
    // The GetRequest poller's failure is this message's commit (other writes may fail too while frozen).
    const pollerFailed = (l: Record<string, unknown>) => l.msg === 'polling the exchange failed; backing off' && String(l.poller).includes('GetRequest') && String(l.error).includes('could not confirm replication');
    await eventually(async () => gw.logs.some(pollerFailed), 'the GetRequest poller failing on the unconfirmed commit');
    expect(world.sim.message(messageId)!.state).not.toBe('acked');
  } finally {
    set.thaw();
  }
  await world.sim.waitFor((s) => s.message(messageId)?.state === 'acked', 15_000);
  expect(world.sim.message(messageId)).toMatchObject({ accepted: true });
  expect(world.sim.message(messageId)!.deliveries).toBeGreaterThanOrEqual(2);
  expect((await readInbox(gw.url)).items.filter((i) => i.messageId === messageId)).toHaveLength(1);
});
