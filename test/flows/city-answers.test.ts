/** src/flows/city-answers.ts: the city answers an agency's query once, with content or a rejection; the answer is queued to the agency. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { answerRequest, RESPONSE_QUEUE, requestView, type AnsweredRequest } from '../../src/flows/city-answers.js';
import { DomainError } from '../../src/flows/errors.js';
import { RedisStore } from '../../src/store/redis-store.js';
import { receiveAgencyQuery, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { serviceExample } from '../helpers/smev.js';

const SERVICE = 'advertising-permit-register-extract';
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

describe('answerRequest', () => {
  it('content: the request is answered, an outbound SendResponse is queued, and the view shows it pending', async () => {
    flow = testFlow({ startAt: new Date() });
    const { ctx } = flow;
    const { requestId, messageId } = await receiveAgencyQuery(ctx);
    const before = await requestView(ctx, requestId);
    expect(before).toMatchObject({ id: requestId, service: SERVICE, partner: 'agency', messageId, state: 'received', answer: null, delivery: null });

    const data = serviceExample(SERVICE, 'response');
    const answered = await answerRequest(ctx, requestId, { data });
    expect(answered).toMatchObject({ id: requestId, state: 'answered', answer: { kind: 'content', data }, answeredAt: ctx.now().toISOString() });
    expect(answered.responseMessageId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-1/);
    expect(await ctx.store.queue(RESPONSE_QUEUE).get(requestId)).toMatchObject({ state: 'pending', payload: { requestId }, maxAttempts: ctx.config.delivery.maxAttempts });
    expect(await requestView(ctx, requestId)).toMatchObject({
      state: 'answered',
      responseMessageId: answered.responseMessageId,
      delivery: { state: 'pending', attempts: 0, lastError: null, deliveredAt: null },
    });
  });

  it('a rejection with a SMEV code', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const { requestId } = await receiveAgencyQuery(ctx);
    const rejected = await answerRequest(ctx, requestId, { reject: { code: 'NO_DATA', description: 'Разрешений не найдено' } });
    expect(rejected.state).toBe('rejected');
    expect(rejected.answer).toEqual({ kind: 'rejected', code: 'NO_DATA', description: 'Разрешений не найдено' });
    expect((await requestView(ctx, requestId))?.answer).toEqual(rejected.answer);
  });

  it('refuses: no such request (not found); data that does not fit the response (invalid, naming the field); a second answer (conflict)', async () => {
    flow = testFlow();
    const { ctx } = flow;
    expect(await refusal(answerRequest(ctx, 'nope', { data: {} }))).toEqual({ kind: 'not-found', code: 'NOT_FOUND', message: 'no request nope' });
    expect(await requestView(ctx, 'nope')).toBeNull();

    const { requestId } = await receiveAgencyQuery(ctx);
    const bad = await refusal(answerRequest(ctx, requestId, { data: { unexpected: 1 } }));
    expect(bad.kind).toBe('invalid');
    expect(bad.code).toBe('INVALID_DATA');
    expect(bad.message).toMatch(new RegExp(`^body/data does not fit the ${SERVICE} response: / `));
    expect(bad.message).toContain('unexpected');
    // Nothing was answered by the refusal.
    expect((await requestView(ctx, requestId))?.state).toBe('received');

    await answerRequest(ctx, requestId, { reject: { code: 'FAILURE', description: 'x' } });
    const again = await refusal(answerRequest(ctx, requestId, { data: serviceExample(SERVICE, 'response') }));
    expect(again.kind).toBe('conflict');
    expect(again.code).toBe('ALREADY_ANSWERED');
    expect(again.message).toMatch(new RegExp(`^request ${requestId} was already answered \\(rejected\\) at `));
  });
});

async function race(f: TestFlow): Promise<void> {
  const { ctx } = f;
  const { requestId } = await receiveAgencyQuery(ctx);
  const results = await Promise.allSettled([
    answerRequest(ctx, requestId, { data: serviceExample(SERVICE, 'response') }),
    answerRequest(ctx, requestId, { reject: { code: 'NO_DATA', description: 'нет' } }),
  ]);
  const won = results.filter((r): r is PromiseFulfilledResult<AnsweredRequest> => r.status === 'fulfilled');
  const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost[0]?.reason).toMatchObject({ kind: 'conflict', code: 'ALREADY_ANSWERED' });
  expect((await requestView(ctx, requestId))?.responseMessageId).toBe(won[0]!.value.responseMessageId);
  expect((await ctx.store.queue(RESPONSE_QUEUE).stats()).pending).toBe(1);
}

describe('two answers at the same moment: one is stored and queued, the other is a conflict', () => {
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
    flow = testFlow({ store: (clock) => new RedisStore(redis.url, { clock, keyPrefix: 'answer-race:' }) });
    await race(flow);
  });
});
