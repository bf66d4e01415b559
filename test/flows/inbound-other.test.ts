/**
 * src/flows/inbound-other.ts, driven directly with a FlowContext and
 * sample-PKI envelopes: an agency's SendResponse to the city's query
 * (content, interim status, rejection, duplicates), GetStatus and Ack.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { OutboundMessage } from '../../src/city/model.js';
import type { FlowContext } from '../../src/flows/context.js';
import { acceptAck, acceptGetStatus, acceptSendResponse, statusQueue } from '../../src/flows/inbound-other.js';
import { createQuery, queryView, type StoredQuery } from '../../src/flows/queries.js';
import { changeStatus } from '../../src/flows/status-reporting.js';
import { signDocument } from '../../src/signature/sign.js';
import { ackEnvelope, getStatusEnvelope, sendResponseEnvelope, SIGNED_CALLER_ID, type ResponseBody } from '../../src/soap/envelope-builder.js';
import { SmevFault } from '../../src/soap/faults.js';
import { inboxItems, receiveApplication, testFlow, uuidV1At, verifiedInput, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner, serviceExample } from '../helpers/smev.js';

const SERVICE = 'egrn-extract';
let flow: TestFlow;
afterEach(() => flow?.close());

async function faultOf(p: Promise<unknown>): Promise<{ fault: string; message: string }> {
  const error = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SmevFault);
  return { fault: (error as SmevFault).fault, message: (error as SmevFault).message };
}

async function signed(ctx: FlowContext, envelope: string, by: string, profile: 'smev' | 'xmldsig' = by === 'portal' ? 'xmldsig' : 'smev') {
  // GetStatus and Ack carry no SenderProvided…Data: the signed element is the one with Id SIGNED_BY_CALLER.
  const targetId = envelope.includes(`Id="${SIGNED_CALLER_ID}"`) ? SIGNED_CALLER_ID : undefined;
  return verifiedInput(ctx, await signDocument(envelope, { signer: sampleSigner(by), profile, targetId }));
}

/** The agency's SendResponse to a query, signed by `by` (default the agency). */
function response(ctx: FlowContext, query: StoredQuery, body: ResponseBody, o: { by?: string; messageId?: string; to?: string } = {}) {
  return signed(ctx, sendResponseEnvelope({ version: '1.1', messageId: o.messageId ?? uuidV1At(ctx.now()), to: o.to ?? query.messageId, body }), o.by ?? 'agency');
}

const content = (ctx: FlowContext): ResponseBody => ({ kind: 'content', contentXml: ctx.catalogue.get(SERVICE)!.response!.toXml(serviceExample(SERVICE, 'response')) });

describe('acceptSendResponse', () => {
  it('content: the query is answered, the answer is in the inbox as kind response; the same message again gets the first reply', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE) });
    const input = await response(ctx, query, content(ctx));
    const result = await acceptSendResponse(ctx, input);
    expect(result).toMatchObject({ duplicate: false, service: SERVICE, applicationId: null });
    expect(result.reply).toContain('<t:Status>responseIsDelivered</t:Status>');
    const view = (await queryView(ctx, query.id))!;
    expect(view).toMatchObject({ state: 'answered', answer: serviceExample(SERVICE, 'response'), answeredAt: ctx.now().toISOString() });
    const [item] = await inboxItems(ctx.store);
    expect(item).toMatchObject({ id: view.responseInboxItemId, kind: 'response', service: SERVICE, partner: 'agency', content: { queryId: query.id, state: 'answered', answer: serviceExample(SERVICE, 'response'), rejections: [] } });

    expect(await acceptSendResponse(ctx, input)).toMatchObject({ duplicate: true, reply: result.reply });
    expect(await inboxItems(ctx.store)).toHaveLength(1);
    // Another answer to a query that has ended.
    const second = await faultOf(acceptSendResponse(ctx, await response(ctx, query, { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'x' }] })));
    expect(second).toEqual({ fault: 'MessageIsAlreadySent', message: `query ${query.id} has already ended (answered); a second answer is not accepted` });
  });

  it('an interim status is recorded and the query stays open; a rejection then ends it', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE) });
    expect((await acceptSendResponse(ctx, await response(ctx, query, { kind: 'status', code: 7, description: 'Запрос в работе' }))).duplicate).toBe(false);
    expect(await queryView(ctx, query.id)).toMatchObject({ state: 'sent', statuses: [{ code: 7, description: 'Запрос в работе', at: ctx.now().toISOString() }] });
    await acceptSendResponse(ctx, await response(ctx, query, { kind: 'rejected', rejections: [{ code: 'NO_DATA', description: 'Объект не найден' }] }));
    expect(await queryView(ctx, query.id)).toMatchObject({ state: 'rejected', answer: null, rejections: [{ code: 'NO_DATA', description: 'Объект не найден' }] });
  });

  it('refuses: an answer addressed to no query (RequestIsNotFound); from a partner the query did not go to (SenderIsNotRegistered); of another service', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const query = await createQuery(ctx, ctx.lifecycle, { service: SERVICE, data: serviceExample(SERVICE) });
    const nowhere = uuidV1At(ctx.now());
    expect(await faultOf(acceptSendResponse(ctx, await response(ctx, query, content(ctx), { to: nowhere })))).toEqual({
      fault: 'RequestIsNotFound',
      message: `no query of the city is waiting for an answer addressed to "${nowhere}"`,
    });
    expect(await faultOf(acceptSendResponse(ctx, await response(ctx, query, content(ctx), { by: 'portal' })))).toEqual({
      fault: 'SenderIsNotRegistered',
      message: 'the query was sent to agency, not to portal',
    });
    const zags = { kind: 'content' as const, contentXml: ctx.catalogue.get('zags-birth-record')!.response!.toXml(serviceExample('zags-birth-record', 'response')) };
    expect(await faultOf(acceptSendResponse(ctx, await response(ctx, query, zags)))).toEqual({ fault: 'BusinessDataTypeIsNotSupported', message: 'the answer is zags-birth-record, but the query was egrn-extract' });
    expect((await queryView(ctx, query.id))?.state).toBe('sent');
  });
});

describe('acceptGetStatus', () => {
  it('hands out the caller\'s next status message once; none when its queue is empty; a stale Timestamp is InvalidContent', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const original = uuidV1At(ctx.now());
    await ctx.store.queue(statusQueue('portal')).enqueue({ id: 's1', payload: { originalMessageId: original, status: 'requestIsAcceptedBySmev', details: 'ok' } });
    const first = await acceptGetStatus(ctx, await signed(ctx, getStatusEnvelope('1.1', ctx.now()), 'portal'));
    expect(first.messageId).toBe(original);
    expect(first.reply).toContain(original);
    const empty = await acceptGetStatus(ctx, await signed(ctx, getStatusEnvelope('1.1', ctx.now()), 'portal'));
    expect(empty.messageId).toBeNull();
    expect(empty.reply).not.toContain(original);
    const stale = await signed(ctx, getStatusEnvelope('1.1', new Date(flow.clock.ms - 3_600_000)), 'portal');
    expect((await faultOf(acceptGetStatus(ctx, stale))).fault).toBe('InvalidContent');
  });
});

describe('acceptAck', () => {
  it('records the partner\'s Ack of a message the gateway sent it; refuses an Ack of a message it was not sent', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const { applicationId } = await receiveApplication(ctx);
    const delivery = await changeStatus(ctx, ctx.lifecycle, applicationId, { code: 'registered' });
    const result = await acceptAck(ctx, await signed(ctx, ackEnvelope('1.1', delivery.messageId, false), 'portal'));
    expect(result).toMatchObject({ messageId: delivery.messageId, duplicate: false });
    const outbound = (await ctx.store.getDoc('outbound', delivery.messageId)) as unknown as OutboundMessage;
    expect(outbound).toMatchObject({ partner: 'portal', kind: 'status', ref: delivery.id, ackedAt: ctx.now().toISOString(), accepted: false });

    expect(await faultOf(acceptAck(ctx, await signed(ctx, ackEnvelope('1.1', delivery.messageId, true), 'agency')))).toEqual({
      fault: 'TargetMessageIsNotFound',
      message: `the gateway delivered no message ${delivery.messageId} to agency`,
    });
  });
});
