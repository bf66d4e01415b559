/**
 * src/flows/inbound-message.ts, driven directly with a FlowContext: real
 * envelopes signed with the sample PKI, verified as the push intake verifies
 * them, then acceptSendRequest — what is stored, what is answered, what is
 * refused with which SMEV fault.
 */
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { Application } from '../../src/city/model.js';
import { WEBHOOK_QUEUE } from '../../src/flows/context.js';
import { exchangeFiles, idempotencyKey, primaryContent, readMessageId } from '../../src/flows/inbound-message.js';
import { SmevFault } from '../../src/soap/faults.js';
import { parseXml } from '../../src/xml/parser.js';
import { acceptRaw, inboxItems, journalRecords, receiveSendRequest, testFlow, uuidV1At, type TestFlow } from '../helpers/flow-context.js';
import { sampleSigner, serviceExample, signedSendRequest } from '../helpers/smev.js';

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

describe('acceptSendRequest', () => {
  it('an application from the portal: registration number, application, inbox item, journal record and a signed requestIsQueued reply', async () => {
    flow = testFlow({ startAt: new Date() });
    const { ctx } = flow;
    const content = serviceExample('advertising-permit');
    const result = await receiveSendRequest(ctx, { service: 'advertising-permit', content });
    const year = new Date(flow.clock.ms).getUTCFullYear();
    expect(result).toMatchObject({ duplicate: false, service: 'advertising-permit', registrationNumber: `РК-${year}-000001` });
    expect(result.reply).toContain('<t:Status>requestIsQueued</t:Status>');
    expect(result.reply).toMatch(/<ds:SignatureValue>/);

    const app = (await ctx.store.getDoc('applications', result.applicationId!)) as unknown as Application;
    expect(app).toMatchObject({ registrationNumber: result.registrationNumber, service: 'advertising-permit', messageId: result.messageId, partner: 'portal', status: 'received', content });
    expect(app.statusHistory).toEqual([{ status: 'received', at: ctx.now().toISOString(), comment: 'принято от Единый портал государственных услуг (тестовый)' }]);

    const [item] = await inboxItems(ctx.store);
    expect(item).toMatchObject({ id: app.inboxItemId, kind: 'application', applicationId: app.id, registrationNumber: result.registrationNumber, requestId: null, content, test: false, ackedAt: null, attachments: [] });
    expect(item!.signature).toMatchObject({ valid: true, partner: 'portal', personal: null, algorithm: 'RSA-SHA256' });
    expect(item!.signature.certificate!.subject).toMatch(/CN=portal/);

    const [record] = await journalRecords(ctx.store);
    expect(record).toMatchObject({ direction: 'inbound', operation: 'SendRequest', partner: 'portal', messageId: result.messageId, succeeded: true, applicationId: app.id, registrationNumber: result.registrationNumber, signature: { verdict: 'valid' } });
    expect(record!.responseText).toBe(result.reply);
    // No webhook configured: no job.
    expect((await ctx.store.queue(WEBHOOK_QUEUE).stats()).pending).toBe(0);
  });

  it('the same message again: the first reply, nothing stored twice; other content under that MessageID: MessageIsAlreadySent', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const messageId = uuidV1At(ctx.now());
    const { xml } = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', messageId });
    const first = await acceptRaw(ctx, xml);
    const again = await acceptRaw(ctx, xml);
    expect(again).toMatchObject({ duplicate: true, reply: first.reply, applicationId: null });
    expect(await inboxItems(ctx.store)).toHaveLength(1);

    const { xml: changed } = await signedSendRequest({ catalogue: ctx.catalogue, service: 'dwelling-replanning', content: serviceExample('dwelling-replanning'), messageId });
    expect(await faultOf(acceptRaw(ctx, changed))).toEqual({ fault: 'MessageIsAlreadySent', message: `a different message with MessageID ${messageId} was already accepted` });
  });

  it('the first reply is kept once, as the journal record\'s response envelope; gone with retention, a duplicate gets the acceptance signed again', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const messageId = uuidV1At(ctx.now());
    const { xml } = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', messageId });
    const first = await acceptRaw(ctx, xml);
    const seen = (await ctx.store.getIdempotency(idempotencyKey(messageId)))!;
    const [record] = await journalRecords(ctx.store);
    // The idempotency record names the journal record; it does not hold the reply a second time.
    expect(seen.result).toEqual({ inboxId: expect.any(String), replyJournalId: record!.id });
    expect(JSON.stringify(seen)).not.toContain('SendRequestResponse');
    // Retention removed the journal record and its envelopes: the same acceptance, signed again.
    await ctx.store.commit({ deletes: [{ collection: 'journal', id: record!.id }, { collection: 'evidence', id: `${record!.id}.response`, blob: true }, { collection: 'evidence', id: `${record!.id}.request`, blob: true }] });
    flow.clock.advance(1000);
    const again = await acceptRaw(ctx, xml);
    expect(again.duplicate).toBe(true);
    expect(again.reply).not.toBe(first.reply);
    expect(again.reply).toContain('<t:Status>requestIsQueued</t:Status>');
    expect(again.reply).toContain(messageId);
    expect(again.reply).toMatch(/<ds:SignatureValue>/);
    expect(await inboxItems(ctx.store)).toHaveLength(1);
  });

  it('a query from an agency: inbox kind query with the request id to answer; with CITY_WEBHOOK_URL, a webhook job in the same commit', async () => {
    flow = testFlow({ env: { CITY_WEBHOOK_URL: 'http://127.0.0.1:9/hook' } });
    const { ctx } = flow;
    const result = await receiveSendRequest(ctx, { service: 'advertising-permit-register-extract', signer: 'agency' });
    expect(result).toMatchObject({ duplicate: false, applicationId: null, registrationNumber: null });
    const [item] = await inboxItems(ctx.store);
    expect(item).toMatchObject({ kind: 'query', partner: 'agency', applicationId: null });
    expect(item!.requestId).toEqual(expect.any(String));
    expect(await ctx.store.queue(WEBHOOK_QUEUE).get(item!.id)).toMatchObject({ state: 'pending', payload: { inboxId: item!.id } });
  });

  it('inline attachments are stored by content hash and described', async () => {
    flow = testFlow();
    const { ctx } = flow;
    const bytes = Buffer.from('%PDF-1.4 схема размещения', 'utf8');
    const { xml } = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', messageId: uuidV1At(ctx.now()), attachments: [{ contentId: 'scheme', mimeType: 'application/pdf', content: bytes }] });
    await acceptRaw(ctx, xml);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const [item] = await inboxItems(ctx.store);
    expect(item!.attachments).toEqual([{ id: `sha256-${sha256}`, contentId: 'scheme', mimeType: 'application/pdf', size: bytes.length, sha256, pkcs7Signature: 'absent' }]);
    expect(await ctx.store.getDoc('attachments', `sha256-${sha256}`)).toEqual({ mimeType: 'application/pdf', base64: bytes.toString('base64') });
  });

  it('refuses with the SMEV fault that says why, storing nothing', async () => {
    flow = testFlow();
    const { ctx } = flow;
    // A partner sending what it is not registered for.
    expect((await faultOf(receiveSendRequest(ctx, { service: 'advertising-permit', signer: 'agency' }))).fault).toBe('SenderIsNotRegistered');
    // Content the gateway does not know.
    const unknown = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', contentXml: '<u:Unknown xmlns:u="urn:unknown"/>', messageId: uuidV1At(ctx.now()) });
    expect(await faultOf(acceptRaw(ctx, unknown.xml))).toEqual({ fault: 'BusinessDataTypeIsNotSupported', message: 'the gateway accepts no content {urn:unknown}Unknown' });
    // A response element sent as a request.
    const response = serviceExample('advertising-permit-register-extract', 'response');
    const asRequest = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', contentXml: ctx.catalogue.get('advertising-permit-register-extract')!.response!.toXml(response), signer: sampleSigner('agency'), messageId: uuidV1At(ctx.now()) });
    expect((await faultOf(acceptRaw(ctx, asRequest.xml))).message).toMatch(/is a response of service advertising-permit-register-extract, not a request$/);
    // Content that breaks the service's schema: the element is named.
    const valid = ctx.catalogue.get('advertising-permit')!.request.toXml(serviceExample('advertising-permit'));
    const broken = valid.replace(/<([\w:]*)OrderId>[^<]*<\/\1OrderId>/, '');
    expect(broken).not.toBe(valid);
    const invalid = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', contentXml: broken, messageId: uuidV1At(ctx.now()) });
    const fault = await faultOf(acceptRaw(ctx, invalid.xml));
    expect(fault.fault).toBe('InvalidContent');
    expect(fault.message).toMatch(/^content of advertising-permit is invalid: .*OrderId/);
    // A MessageID from long ago, and one that is not a version-1 UUID.
    const old = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', messageId: uuidV1At(new Date(flow.clock.ms - 100 * 3_600_000)) });
    expect((await faultOf(acceptRaw(ctx, old.xml))).fault).toBe('StaleMessageId');
    const badId = await signedSendRequest({ catalogue: ctx.catalogue, service: 'advertising-permit', messageId: 'not-a-uuid' });
    expect(await faultOf(acceptRaw(ctx, badId.xml))).toEqual({ fault: 'InvalidMessageIdFormat', message: 'MessageID must be a version-1 UUID in lower case (e.g. 3c5b1a2e-8f0b-11ef-9a3d-0242ac120002)' });

    expect(await inboxItems(ctx.store)).toEqual([]);
    expect(await journalRecords(ctx.store)).toEqual([]);
  });
});

describe('the parts of a signed element', () => {
  const T = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1';
  const signed = (inner: string) => parseXml(`<t:SenderProvidedRequestData xmlns:t="${T}">${inner}</t:SenderProvidedRequestData>`).root;

  it('readMessageId: a lower-case version-1 UUID, else InvalidMessageIdFormat', () => {
    const id = uuidV1At(new Date());
    expect(readMessageId(signed(`<t:MessageID> ${id} </t:MessageID>`))).toBe(id);
    expect(() => readMessageId(signed(`<t:MessageID>${id.toUpperCase()}</t:MessageID>`))).toThrow(/version-1 UUID in lower case/);
    expect(() => readMessageId(signed(''))).toThrow('MessageID is missing');
  });

  it('primaryContent: exactly one business element', () => {
    expect(primaryContent(signed('<t:MessagePrimaryContent><a:X xmlns:a="urn:a"/></t:MessagePrimaryContent>')).localName).toBe('X');
    for (const inner of ['', '<t:MessagePrimaryContent/>', '<t:MessagePrimaryContent><a:X xmlns:a="urn:a"/><a:Y xmlns:a="urn:a"/></t:MessagePrimaryContent>']) {
      expect(() => primaryContent(signed(inner))).toThrow('MessagePrimaryContent must hold exactly one business element');
    }
  });

  it('exchangeFiles: the sender\'s RefAttachmentHeaders joined by uuid with the exchange\'s FSAttachmentsList', () => {
    const s = signed('<t:RefAttachmentHeaderList><t:RefAttachmentHeader><t:uuid>u1</t:uuid><t:Hash>h1</t:Hash><t:MimeType>application/pdf</t:MimeType><t:SignaturePKCS7>x</t:SignaturePKCS7></t:RefAttachmentHeader></t:RefAttachmentHeaderList>');
    const exchange = parseXml(`<t:Request xmlns:t="${T}"><t:FSAttachmentsList><t:FSAttachment><t:uuid>u1</t:uuid><t:UserName>secret</t:UserName><t:FileName>plan.pdf</t:FileName></t:FSAttachment><t:FSAttachment><t:uuid>u2</t:uuid><t:FileName>extra.xml</t:FileName></t:FSAttachment></t:FSAttachmentsList></t:Request>`).root;
    expect(exchangeFiles(s, exchange)).toEqual([
      { uuid: 'u1', fileName: 'plan.pdf', mimeType: 'application/pdf', hash: 'h1', pkcs7Signature: 'present-unverified' },
      { uuid: 'u2', fileName: 'extra.xml', mimeType: null, hash: null, pkcs7Signature: 'absent' },
    ]);
    expect(exchangeFiles(signed(''), null)).toEqual([]);
  });
});
