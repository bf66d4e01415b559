/**
 * src/delivery/status-delivery.ts, end to end on the store's queue: statuses
 * the city set reach the portal simulator (a real HTTP server that verifies
 * the gateway's signature) in order, once each; a failure is retried with the
 * same MessageID; a refusal goes dead at once and the delivery says failed.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStatusDelivery } from '../../src/delivery/status-delivery.js';
import type { QueueWorker } from '../../src/delivery/queue-worker.js';
import { changeStatus, STATUS_QUEUE } from '../../src/flows/status-reporting.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { deliveryRecord, eventually, journalRecords, partnersAt, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner } from '../helpers/smev.js';

let portal: PortalSimulator;
let flow: TestFlow;
let worker: QueueWorker | null = null;

beforeAll(async () => {
  const parts = testFlow();
  portal = await PortalSimulator.start({ trust: parts.ctx.trustAnchors, signer: sampleSigner('portal'), catalogue: parts.ctx.catalogue, expectedSigner: parts.ctx.signer.certificate.fingerprintSha256 });
});
afterEach(async () => {
  await worker?.stop();
  worker = null;
  portal.reset();
  await flow?.close();
});
afterAll(() => portal?.close());

function start(): TestFlow {
  flow = testFlow({ partners: partnersAt({ portal: portal.endpoint }) });
  return flow;
}

describe('startStatusDelivery', () => {
  it('delivers an application\'s statuses in order — CreateOrders first, then UpdateOrders — and marks them delivered', async () => {
    const { ctx } = start();
    const { applicationId } = await receiveApplication(ctx, 'kindergarten-enrollment');
    const d1 = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    const d2 = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'in_progress', comment: 'Назначен исполнитель' });
    worker = startStatusDelivery(ctx);
    const statuses = await portal.waitFor((s) => s.length >= 2);
    await worker.stop();
    expect(statuses.map((s) => [s.messageId, s.kind])).toEqual([
      [d1.messageId, 'create'],
      [d2.messageId, 'update'],
    ]);
    expect(portal.historyOf('3571310543').map((s) => [s.status, s.statusComment])).toEqual([
      [2, 'принято от Единый портал государственных услуг (тестовый)'],
      [6, 'Заявление зарегистрировано'],
      [7, 'Назначен исполнитель'],
    ]);
    for (const d of [d1, d2]) expect(await deliveryRecord(ctx.store, d.id)).toMatchObject({ state: 'delivered', lastError: null, deliveredAt: ctx.now().toISOString() });
    expect(portal.duplicates).toBe(0);
  });

  it('a transient failure is retried after the backoff with the same MessageID; the portal records it once', async () => {
    const { ctx } = start();
    const { applicationId } = await receiveApplication(ctx);
    const d = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    portal.failNext(1, 'http:503');
    worker = startStatusDelivery(ctx);
    const job = await eventually('the retry', async () => {
      const j = await ctx.store.queue(STATUS_QUEUE).get(d.id);
      return j?.state === 'pending' && j.attempts === 1 ? j : null;
    });
    expect(job.lastError).toBe('HTTP 503 (not XML)');
    expect(await deliveryRecord(ctx.store, d.id)).toMatchObject({ state: 'pending', lastError: 'HTTP 503 (not XML)' });
    flow.clock.advance(ctx.config.delivery.backoffCapMs);
    await portal.waitFor((s) => s.length === 1);
    await worker.stop();
    expect(portal.attempts).toBe(2);
    expect(await deliveryRecord(ctx.store, d.id)).toMatchObject({ state: 'delivered', lastError: null });
    const sent = (await journalRecords(ctx.store)).filter((r) => r.direction === 'outbound');
    expect(sent.map((r) => [r.messageId, r.succeeded, r.correlationId])).toEqual([
      [d.messageId, false, `delivery:${d.id}:1`],
      [d.messageId, true, `delivery:${d.id}:2`],
    ]);
  });

  it('a message the portal refuses goes dead at once; the delivery says failed, with why', async () => {
    const { ctx } = start();
    const { applicationId } = await receiveApplication(ctx);
    const d = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    portal.failNext(1, 'fault:InvalidContent');
    worker = startStatusDelivery(ctx);
    const failed = await eventually('the delivery failed', async () => {
      const r = await deliveryRecord(ctx.store, d.id);
      return r?.state === 'failed' ? r : null;
    });
    expect(failed.lastError).toMatch(/^refused by the partner: InvalidContent: /);
    expect(failed.failedAt).toBe(ctx.now().toISOString());
    expect(await ctx.store.queue(STATUS_QUEUE).get(d.id)).toMatchObject({ state: 'dead', attempts: 1 });
    expect(portal.statuses()).toEqual([]);
  });
});
