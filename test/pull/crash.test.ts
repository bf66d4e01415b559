/**
 * Crash safety of pull mode with the real gateway process (node dist/main.js)
 * on a real Redis: the gateway is SIGKILLed between GetRequest and Ack —
 * (a) after the message is stored but before its Ack reached the exchange,
 * (b) at the moment the exchange hands it out, before anything is stored.
 * Either way the exchange delivers it again after its visibility timeout, and
 * the restarted gateway processes it exactly once: one inbox item, one
 * registration number, then the Ack. And with WORKERS=2 both processes poll
 * the same exchange without storing anything twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExchangeEvent } from '../../src/simulators/smev-exchange.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, serviceExample } from '../helpers/smev.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { projectRoot } from '../helpers/gateway.js';
import path from 'node:path';

const VISIBILITY_MS = 1_500;
let redis: RedisTestServer;
let world: PullWorld;
let onEvent: (e: ExchangeEvent) => void = () => {};
let gateway: GatewayProcess | null = null;
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));

interface Item { messageId: string; registrationNumber: string | null }

async function items(url: string): Promise<Item[]> {
  return ((await (await fetch(`${url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Item[] }).items;
}

const start = () => startGatewayProcess({ ...world.env, REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info' });

async function kill(p: GatewayProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exited;
}

beforeAll(async () => {
  redis = await startRedisServer();
  world = await startPullWorld({ visibilityTimeoutMs: VISIBILITY_MS, onEvent: (e) => onEvent(e) });
});

afterAll(async () => {
  if (gateway) await kill(gateway);
  await world?.sim.close();
  await redis?.dispose();
});

describe('a gateway crash between GetRequest and Ack', () => {
  it('stored, not acked, killed: delivered again after the visibility timeout and processed once', async () => {
    gateway = await start();
    let ackRefused = false;
    onEvent = (e) => {
      if (e.kind === 'refused' && e.operation === 'Ack') ackRefused = true;
    };
    // The first Ack fails (the exchange answers 503), so the gateway has stored the message but the exchange still holds it.
    world.sim.failNext(1, 'http:503', 'Ack');
    const sent = await world.portal.sendRequest({ contentXml: catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment')) });
    const url = gateway.url;
    await eventually(async () => ackRefused && (await items(url)).some((i) => i.messageId === sent.messageId), 'stored, and its Ack refused');
    expect(world.sim.message(sent.messageId)).toMatchObject({ state: 'delivered', deliveries: 1 });
    await kill(gateway);

    gateway = await start();
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 15_000);
    expect(world.sim.message(sent.messageId)).toMatchObject({ accepted: true, deliveries: 2 });
    const mine = (await items(gateway.url)).filter((i) => i.messageId === sent.messageId);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.registrationNumber).toMatch(/^ДС-/);
    expect(gateway.lines.some((l) => l.msg === 'GetRequest: message accepted' && l.messageId === sent.messageId && l.duplicate === true)).toBe(true);
  });

  it('killed the moment the exchange hands the message out: delivered again and processed once', async () => {
    const p = gateway!;
    const contentXml = catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const target = uuidV1();
    onEvent = (e) => {
      if (e.kind === 'delivered' && e.messageId === target) p.child.kill('SIGKILL');
    };
    expect((await world.portal.sendRequest({ contentXml, messageId: target })).status).toBe(200);
    await world.sim.waitFor((s) => (s.message(target)?.deliveries ?? 0) >= 1, 10_000);
    await p.exited;
    expect(world.sim.message(target)).toMatchObject({ state: 'delivered', deliveries: 1 });
    onEvent = () => {};

    gateway = await start();
    await world.sim.waitFor((s) => s.message(target)?.state === 'acked', 15_000);
    expect(world.sim.message(target)!.deliveries).toBeGreaterThanOrEqual(2);
    const mine = (await items(gateway.url)).filter((i) => i.messageId === target);
    expect(mine).toHaveLength(1);
    // Registration numbers stay unique across the crash.
    const numbers = (await items(gateway.url)).map((i) => i.registrationNumber);
    expect(new Set(numbers).size).toBe(numbers.length);
  });

  it('WORKERS=2: both processes poll; every application is stored once and acked once', async () => {
    if (gateway) await kill(gateway);
    gateway = await startGatewayProcess({ ...world.env, REDIS_URL: redis.url, PORT: '0', LOG_LEVEL: 'info', WORKERS: '2' });
    const url = gateway.url;
    await eventually(async () => gateway!.lines.filter((l) => l.msg === 'pull mode: polling the SMEV exchange').length === 2, 'both workers polling');
    const contentXml = catalogue.get('dwelling-replanning')!.request.toXml(serviceExample('dwelling-replanning'));
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await world.portal.sendRequest({ contentXml })).messageId);
    await world.sim.waitFor((s) => ids.every((id) => s.message(id)?.state === 'acked'), 20_000);
    for (const id of ids) expect(world.sim.message(id)).toMatchObject({ accepted: true, deliveries: 1 });
    const mine = (await items(url)).filter((i) => ids.includes(i.messageId));
    expect(mine).toHaveLength(6);
    expect(new Set(mine.map((i) => i.registrationNumber)).size).toBe(6);
  });
});
