/**
 * src/delivery/query-delivery.ts, end to end on the store's queues: the
 * city's query reaches the agency simulator (real HTTP, verifies the
 * gateway's signature) as a signed SendRequest; a refusal fails the query at
 * once; a query with no answer by its deadline fails, and its application
 * goes back to work.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import { startQueryDelivery } from '../../src/delivery/query-delivery.js';
import type { QueueWorker } from '../../src/delivery/queue-worker.js';
import type { FlowContext } from '../../src/flows/context.js';
import { createQuery, QUERY_QUEUE, queryView } from '../../src/flows/queries.js';
import { changeStatus } from '../../src/flows/status-reporting.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { eventually, partnersAt, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

const SERVICE = 'egrn-extract';
let agency: AgencySimulator;
let flow: TestFlow;
let workers: QueueWorker[] = [];

beforeAll(async () => {
  const parts = testFlow();
  agency = await AgencySimulator.start({ trust: parts.ctx.trustAnchors, signer: sampleSigner('agency'), catalogue: parts.ctx.catalogue, services: ['egrn-extract'], expectedSigner: parts.ctx.signer.certificate.fingerprintSha256 });
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop();
  agency.reset();
  await flow?.close();
});
afterAll(() => agency?.close());

function start(): FlowContext {
  flow = testFlow({ partners: partnersAt({ agency: agency.endpoint }) });
  return flow.ctx;
}

const failedQuery = (ctx: FlowContext, id: string) =>
  eventually('the query failed', async () => {
    const v = await queryView(ctx, id);
    return v?.state === 'failed' ? v : null;
  });

describe('startQueryDelivery', () => {
  it('sends the query as a signed SendRequest under its MessageID; the delivery says delivered', async () => {
    const ctx = start();
    agency.mode(SERVICE, { kind: 'silent' });
    const data = serviceExample(SERVICE);
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data });
    workers = startQueryDelivery(ctx);
    await agency.waitFor((a) => a.queries().length === 1);
    const [received] = agency.queries();
    expect(received).toMatchObject({ messageId: query.messageId, service: SERVICE, content: data });
    expect(received!.signerSubject).toBe(ctx.signer.certificate.subject);
    const view = await eventually('delivered', async () => {
      const v = await queryView(ctx, query.id);
      return v?.delivery.state === 'delivered' ? v : null;
    });
    expect(view).toMatchObject({ state: 'sent', delivery: { attempts: 1, lastError: null } });
  });

  it('a query the agency refuses: dead at once, the query failed saying why', async () => {
    const ctx = start();
    agency.mode(SERVICE, { kind: 'fault', fault: 'InvalidContent' });
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE) });
    workers = startQueryDelivery(ctx);
    const view = await failedQuery(ctx, query.id);
    expect(view.failure).toMatch(/^not delivered to agency: refused by the partner: InvalidContent: /);
    // Its sending failed for good, as GET /api/v1/queries/{id} must say (as the city's answers' view does).
    expect(view.delivery).toMatchObject({ state: 'failed', attempts: 1 });
    expect(view.delivery.lastError).toMatch(/^refused by the partner: InvalidContent: /);
    expect(await ctx.store.queue(QUERY_QUEUE).get(query.id)).toMatchObject({ state: 'dead', attempts: 1 });
  });

  it('no answer by the deadline: the query fails and its application goes back to work', async () => {
    const ctx = start();
    agency.mode(SERVICE, { kind: 'silent' });
    const { applicationId } = await receiveApplication(ctx);
    await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'in_progress' });
    const deadline = new Date(flow.clock.ms + 3_600_000).toISOString();
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE), applicationId, deadline });
    workers = startQueryDelivery(ctx);
    await agency.waitFor((a) => a.queries().length === 1);
    flow.clock.advance(3_600_000);
    const view = await failedQuery(ctx, query.id);
    expect(view.failure).toBe(`no answer from agency by the deadline ${deadline}`);
    const app = (await ctx.store.getDoc('applications', applicationId)) as unknown as Application;
    expect(app.statusHistory.map((h) => h.status)).toEqual(['received', 'registered', 'in_progress', 'waiting_for_answers', 'in_progress']);
  });
});
