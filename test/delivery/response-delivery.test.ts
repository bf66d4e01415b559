/**
 * src/delivery/response-delivery.ts, end to end on the store's queue: the
 * agency simulator asks the city (its signed SendRequest goes through the
 * real inbound flow), the city answers, and the answer reaches the agency as
 * a signed SendResponse To = the agency's MessageID; a refusal goes dead.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QueueWorker } from '../../src/delivery/queue-worker.js';
import { startResponseDelivery } from '../../src/delivery/response-delivery.js';
import { answerRequest, RESPONSE_QUEUE, requestView } from '../../src/flows/city-answers.js';
import type { FlowContext } from '../../src/flows/context.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { acceptRaw, eventually, inboxItems, partnersAt, testFlow, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

const SERVICE = 'advertising-permit-register-extract';
let agency: AgencySimulator;
let flow: TestFlow;
let worker: QueueWorker | null = null;

beforeAll(async () => {
  const parts = testFlow();
  agency = await AgencySimulator.start({ trust: parts.ctx.trustAnchors, signer: sampleSigner('agency'), catalogue: parts.ctx.catalogue, services: ['egrn-extract'], expectedSigner: parts.ctx.signer.certificate.fingerprintSha256 });
});
afterEach(async () => {
  await worker?.stop();
  worker = null;
  agency.reset();
  await flow?.close();
});
afterAll(() => agency?.close());

/** The agency asks (no gateway URL: its envelope is handed to the inbound flow here); the id the city answers by. */
async function agencyAsks(ctx: FlowContext): Promise<{ requestId: string; messageId: string }> {
  const asked = await agency.askCity(SERVICE, serviceExample(SERVICE));
  await acceptRaw(ctx, asked.envelope);
  const item = (await inboxItems(ctx.store)).find((i) => i.messageId === asked.messageId);
  return { requestId: item!.requestId!, messageId: asked.messageId };
}

describe('startResponseDelivery', () => {
  it('delivers the city\'s content as a SendResponse To = the agency\'s MessageID; the request\'s delivery says delivered', async () => {
    flow = testFlow({ partners: partnersAt({ agency: agency.endpoint }) });
    const { ctx } = flow;
    const { requestId, messageId } = await agencyAsks(ctx);
    const data = serviceExample(SERVICE, 'response');
    const answered = await answerRequest(ctx, requestId, { data });
    worker = startResponseDelivery(ctx);
    await agency.waitFor((a) => a.cityResponses().length === 1);
    expect(agency.cityResponses()[0]).toMatchObject({ messageId: answered.responseMessageId, to: messageId, service: SERVICE, kind: 'content', content: data, signerSubject: ctx.signer.certificate.subject });
    const view = await eventually('delivered', async () => {
      const v = await requestView(ctx, requestId);
      return v?.delivery?.state === 'delivered' ? v : null;
    });
    expect(view.delivery).toMatchObject({ attempts: 1, lastError: null });
  });

  it('a rejection arrives as RequestRejected', async () => {
    flow = testFlow({ partners: partnersAt({ agency: agency.endpoint }) });
    const { ctx } = flow;
    const { requestId } = await agencyAsks(ctx);
    await answerRequest(ctx, requestId, { reject: { code: 'NO_DATA', description: 'Разрешений не найдено' } });
    worker = startResponseDelivery(ctx);
    await agency.waitFor((a) => a.cityResponses().length === 1);
    expect(agency.cityResponses()[0]).toMatchObject({ kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Разрешений не найдено' }] });
  });

  it('an answer the agency refuses (it never asked): dead at once, the delivery says failed', async () => {
    flow = testFlow({ partners: partnersAt({ agency: agency.endpoint }) });
    const { ctx } = flow;
    const { requestId } = await agencyAsks(ctx);
    agency.reset(); // the agency forgets its query: the answer is RequestIsNotFound to it
    await answerRequest(ctx, requestId, { reject: { code: 'NO_DATA', description: 'нет' } });
    worker = startResponseDelivery(ctx);
    const view = await eventually('failed', async () => {
      const v = await requestView(ctx, requestId);
      return v?.delivery?.state === 'failed' ? v : null;
    });
    expect(view.delivery?.lastError).toMatch(/^refused by the partner: RequestIsNotFound: /);
    expect(await ctx.store.queue(RESPONSE_QUEUE).get(requestId)).toMatchObject({ state: 'dead', attempts: 1 });
  });
});
