/** src/flows/status-reporting.ts: the city moves an application on; each status becomes a queued ELK message to the portal. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import { DomainError } from '../../src/flows/errors.js';
import { changeStatus, ELK_SERVICE, portalOrderNumber, STATUS_QUEUE } from '../../src/flows/status-reporting.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { partnersWith, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';

let flow: TestFlow;
afterEach(() => flow?.close());

async function refusal(p: Promise<unknown>): Promise<{ kind: string; code: string; message: string }> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  const d = error as DomainError;
  return { kind: d.kind, code: d.code, message: d.message };
}

describe('changeStatus', () => {
  it('the first status: a CreateOrdersRequest with the history so far, queued in the application\'s group', async () => {
    flow = testFlow({ startAt: new Date('2026-12-07T09:00:00.000Z') });
    const { ctx } = flow;
    const { applicationId, registrationNumber } = await receiveApplication(ctx, 'kindergarten-enrollment');
    flow.clock.advance(60_000);
    const delivery = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    expect(delivery).toMatchObject({
      applicationId,
      registrationNumber,
      partner: 'portal',
      kind: 'create',
      code: 'registered',
      elkCode: 6,
      comment: 'Заявление зарегистрировано',
      state: 'pending',
      createdAt: '2026-12-07T09:01:00.000Z',
      deliveredAt: null,
      lastError: null,
    });
    expect(delivery.messageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-/);
    expect(delivery.content).toEqual({
      env: 'EPGU',
      createOrders: {
        orders: [
          {
            orderNumber: '3571310543',
            statusHistory: [
              { status: 2, statusDate: '2026-12-07T09:00:00.000Z', statusComment: 'принято от Единый портал государственных услуг (тестовый)' },
              { status: 6, statusDate: '2026-12-07T09:01:00.000Z', statusComment: 'Заявление зарегистрировано' },
            ],
          },
        ],
      },
    });
    // The content is valid ELK, as the worker will send it.
    expect(ctx.catalogue.get(ELK_SERVICE)!.request.validateJson(delivery.content)).toEqual([]);
    const job = await ctx.store.queue(STATUS_QUEUE).get(delivery.id);
    expect(job).toMatchObject({ state: 'pending', group: applicationId, payload: { deliveryId: delivery.id }, maxAttempts: ctx.config.delivery.maxAttempts });
  });

  it('later statuses: UpdateOrdersRequest with only what is new; the city\'s comment replaces the lifecycle\'s', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const { applicationId } = await receiveApplication(ctx);
    const first = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    const second = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'in_progress', comment: 'Назначен исполнитель' });
    expect(second.kind).toBe('update');
    expect(second.elkCode).toBe(7);
    expect(second.comment).toBe('Назначен исполнитель');
    expect(second.messageId).not.toBe(first.messageId);
    const orders = (second.content as { updateOrders: { orders: Array<{ statusHistory: unknown[] }> } }).updateOrders.orders;
    expect(orders[0]!.statusHistory).toEqual([{ status: 7, statusDate: ctx.now().toISOString(), statusComment: 'Назначен исполнитель' }]);
    // Both in one group: the second waits for the first to be delivered.
    expect((await ctx.store.queue(STATUS_QUEUE).get(second.id))?.state).toBe('waiting');
  });

  it('refuses: no such application (not found), a transition the lifecycle forbids (conflict)', async () => {
    flow = testFlow();
    const { ctx } = flow;
    expect(await refusal(changeStatus(ctx, ctx.lifecycle, 'nope', { code: 'registered' }))).toEqual({ kind: 'not-found', code: 'NOT_FOUND', message: 'no application nope' });
    const { applicationId } = await receiveApplication(ctx);
    expect(await refusal(changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'completed' }))).toEqual({
      kind: 'conflict',
      code: 'INVALID_TRANSITION',
      message: 'an application cannot go from "received" (Получено) to "completed" (Услуга оказана); allowed next: registered, needs_correction, refused, cancelled',
    });
    expect((await refusal(changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'approved' }))).message).toMatch(/^"approved" is not a status/);
    // Nothing was queued by the refusals.
    expect((await ctx.store.queue(STATUS_QUEUE).stats()).pending).toBe(0);
  });

  it('refuses when no portal receives ELK statuses (conflict, naming the registry)', async () => {
    const withPortal = testFlow();
    const { applicationId } = await receiveApplication(withPortal.ctx);
    flow = withPortal;
    const noElk = partnersWith((partners) => {
      for (const p of partners) if (p.id === 'portal') p.receives = [];
    });
    const ctx = { ...withPortal.ctx, partners: noElk };
    expect(await refusal(changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' }))).toEqual({
      kind: 'conflict',
      code: 'NO_PORTAL',
      message: 'no portal partner is registered to receive elk-order-status (config/partners.json)',
    });
  });
});

async function race(f: TestFlow): Promise<void> {
  const { ctx } = f;
  const { applicationId } = await receiveApplication(ctx);
  const results = await Promise.allSettled([
    changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' }),
    changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'needs_correction' }),
  ]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect(lost[0]!.reason).toMatchObject({ kind: 'conflict', code: 'CONCURRENT_CHANGE' });
  const stats = await ctx.store.queue(STATUS_QUEUE).stats();
  expect(stats.pending + stats.waiting).toBe(1);
}

describe('two changes of one application at the same moment: one wins, the other is a conflict and leaves nothing', () => {
  let redis: RedisTestServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => redis?.dispose());

  it('memory store', async () => {
    flow = testFlow();
    await race(flow);
  });

  it('Redis', async () => {
    flow = testFlow({ store: (clock) => new RedisStore(redis.url, { clock, keyPrefix: 'status-race:' }) });
    await race(flow);
  });
});

describe('portalOrderNumber', () => {
  const app = (content: unknown) => ({ content }) as unknown as Application;
  it('reads orderId as a number or a string of digits', () => {
    expect(portalOrderNumber(app({ orderId: 3571310543 }))).toBe('3571310543');
    expect(portalOrderNumber(app({ orderId: '42' }))).toBe('42');
  });
  it('null for anything else', () => {
    for (const content of [null, 'x', {}, { orderId: 'A-1' }, { orderId: '' }, { orderId: '1'.repeat(21) }, { orderId: true }]) expect(portalOrderNumber(app(content))).toBeNull();
  });
});
