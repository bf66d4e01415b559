/** src/flows/queries.ts: the city's queries to agencies — created and queued, refused with the field named, ended exactly once. */
import { afterEach, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import { DomainError } from '../../src/flows/errors.js';
import { afterQueryEnded, createQuery, finishQuery, QUERY_DEADLINES, QUERY_QUEUE, queryView } from '../../src/flows/queries.js';
import { changeStatus } from '../../src/flows/status-reporting.js';
import type { FlowContext } from '../../src/flows/context.js';
import { partnersWith, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { serviceExample } from '../helpers/smev.js';

const SERVICE = 'egrn-extract';
const HOUR = 3_600_000;
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

async function statusOf(ctx: FlowContext, applicationId: string): Promise<string> {
  return ((await ctx.store.getDoc('applications', applicationId)) as unknown as Application).status;
}

/** An application the city has taken into work (received → registered → in_progress). */
async function applicationInProgress(ctx: FlowContext): Promise<string> {
  const { applicationId } = await receiveApplication(ctx);
  await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
  await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'in_progress' });
  return applicationId;
}

describe('createQuery', () => {
  it('stores the query as sent, queues its sending and its deadline, and shows it', async () => {
    flow = testFlow({ startAt: new Date() });
    const { ctx } = flow;
    const data = serviceExample(SERVICE);
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data });
    expect(query).toMatchObject({ service: SERVICE, partner: 'agency', state: 'sent', applicationId: null, answer: null, failure: null, createdAt: ctx.now().toISOString() });
    expect(query.replyTo).toBe(query.messageId);
    expect(Date.parse(query.deadline) - flow.clock.ms).toBe(ctx.config.queryDeadlineHours * HOUR);
    expect(await ctx.store.queue(QUERY_QUEUE).get(query.id)).toMatchObject({ state: 'pending', payload: { queryId: query.id } });
    expect(await ctx.store.queue(QUERY_DEADLINES).get(query.id)).toMatchObject({ state: 'pending', availableAt: Date.parse(query.deadline) });
    expect(await queryView(ctx, query.id)).toMatchObject({ id: query.id, state: 'sent', statuses: [], delivery: { state: 'pending', attempts: 0, lastError: null } });
    expect(await queryView(ctx, 'nope')).toBeNull();
  });

  it('for an application in work: the application waits for answers, and goes back to work when its last query ends', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const applicationId = await applicationInProgress(ctx);
    const a = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE), applicationId });
    const b = await createQuery(ctx, ctx.lifecycle, { service: 'zags-birth-record', data: serviceExample('zags-birth-record'), applicationId });
    expect(a.applicationId).toBe(applicationId);
    expect(await statusOf(ctx, applicationId)).toBe('waiting_for_answers');

    const failed = { state: 'failed' as const, answer: null, rejections: [], answeredAt: null, responseInboxItemId: null, failure: 'test' };
    expect((await finishQuery(ctx, a, failed, { digest: 'test', result: null })).won).toBe(true);
    await afterQueryEnded(ctx, ctx.lifecycle, applicationId);
    expect(await statusOf(ctx, applicationId)).toBe('waiting_for_answers'); // b is still open
    await finishQuery(ctx, b, failed, { digest: 'test', result: null });
    await afterQueryEnded(ctx, ctx.lifecycle, applicationId);
    expect(await statusOf(ctx, applicationId)).toBe('in_progress');
  });

  it('refuses what is wrong with the request, naming the field (invalid)', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const data = serviceExample(SERVICE);
    const unknown = await refusal(createQuery(ctx, ctx.lifecycle, { service: 'nope', data }));
    expect(unknown).toMatchObject({ kind: 'invalid', code: 'UNKNOWN_SERVICE' });
    expect(unknown.message).toMatch(/^body\/service: no service "nope"; the city queries .*egrn-extract/);
    expect(await refusal(createQuery(ctx, ctx.lifecycle, { service: 'advertising-permit', data }))).toEqual({
      kind: 'invalid',
      code: 'NOT_A_QUERY',
      message: 'body/service: advertising-permit is not a query the city sends',
    });
    const bad = await refusal(createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: { ...(data as object), cadastralNumber: 42 } }));
    expect(bad).toMatchObject({ kind: 'invalid', code: 'INVALID_DATA' });
    expect(bad.message).toMatch(/^body\/data does not fit egrn-extract: \/cadastralNumber /);
    expect(await refusal(createQuery(ctx, ctx.lifecycle, { service: SERVICE, data, deadline: new Date(flow.clock.ms - 1000).toISOString() }))).toEqual({
      kind: 'invalid',
      code: 'INVALID_DEADLINE',
      message: 'body/deadline must be a date-time in the future',
    });
    expect((await refusal(createQuery(ctx, ctx.lifecycle, { service: SERVICE, data, deadline: 'soon' }))).code).toBe('INVALID_DEADLINE');
    expect((await ctx.store.queue(QUERY_QUEUE).stats()).pending).toBe(0);
  });

  it('refuses: no such application (not found); no agency, or several, for the service (conflict)', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const data = serviceExample(SERVICE);
    expect(await refusal(createQuery(ctx, ctx.lifecycle, { service: SERVICE, data, applicationId: 'gone' }))).toEqual({
      kind: 'not-found',
      code: 'NOT_FOUND',
      message: 'body/applicationId: no application gone',
    });
    expect(await refusal(createQuery(ctx, ctx.lifecycle, { service: SERVICE, data, partner: 'portal' }))).toEqual({
      kind: 'conflict',
      code: 'NO_AGENCY',
      message: 'no partner "portal" is registered to receive egrn-extract',
    });
    const two = { ...ctx, partners: partnersWith((ps) => ps.find((p) => p.id === 'portal')!.receives.push(SERVICE)) };
    expect(await refusal(createQuery(two, two.lifecycle, { service: SERVICE, data }))).toEqual({
      kind: 'conflict',
      code: 'SEVERAL_AGENCIES',
      message: 'several partners receive egrn-extract (portal, agency); name one in body/partner',
    });
    expect((await createQuery(two, two.lifecycle, { service: SERVICE, data, partner: 'agency' })).partner).toBe('agency');
  });
});

describe('finishQuery', () => {
  it('ends a query once: the second final transition loses and sees the first', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE) });
    const answer = { state: 'answered' as const, answer: { ok: true }, rejections: [], answeredAt: ctx.now().toISOString(), responseInboxItemId: 'inbox-1', failure: null };
    const deadline = { state: 'failed' as const, answer: null, rejections: [], answeredAt: null, responseInboxItemId: null, failure: 'no answer by the deadline' };
    const [first, second] = await Promise.all([
      finishQuery(ctx, query, answer, { digest: 'answer', result: { reply: 'first' } }),
      finishQuery(ctx, query, deadline, { digest: 'deadline', result: null }),
    ]);
    expect(first).toEqual({ won: true });
    expect(second).toEqual({ won: false, existing: { digest: 'answer', result: { reply: 'first' } } });
    expect(await queryView(ctx, query.id)).toMatchObject({ state: 'answered', answer: { ok: true }, failure: null, responseInboxItemId: 'inbox-1' });
  });
});
