/**
 * src/city/model.ts: the city's JSON model. The field names are a contract
 * (README, OpenAPI): an application and an inbox item made by the inbound
 * flow carry exactly the model's fields.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Application, InboxItem } from '../../src/city/model.js';
import { inboxItems, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';

let flow: TestFlow;
afterEach(() => flow?.close());

const APPLICATION_FIELDS: Array<keyof Application> = ['id', 'registrationNumber', 'service', 'serviceTitle', 'messageId', 'partner', 'receivedAt', 'applicant', 'content', 'attachments', 'status', 'statusHistory', 'inboxItemId'];
const INBOX_FIELDS: Array<keyof InboxItem> = ['id', 'kind', 'service', 'serviceTitle', 'messageId', 'partner', 'receivedAt', 'content', 'attachments', 'signature', 'test', 'applicationId', 'registrationNumber', 'requestId', 'ackedAt'];

describe('the city model', () => {
  it('an application and its inbox item, as stored, have the model\'s fields and no others', async () => {
    flow = testFlow();
    const { applicationId } = await receiveApplication(flow.ctx, 'kindergarten-enrollment');
    const app = (await flow.store.getDoc('applications', applicationId)) as unknown as Application;
    expect(Object.keys(app).toSorted()).toEqual(APPLICATION_FIELDS.toSorted());
    expect(app.applicant).toEqual((app.content as { parent: unknown }).parent); // this service names its applicant "parent"
    const [item] = await inboxItems(flow.store);
    expect(Object.keys(item!).toSorted()).toEqual(INBOX_FIELDS.toSorted());
    expect(Object.keys(item!.signature).toSorted()).toEqual(['algorithm', 'certificate', 'partner', 'personal', 'valid']);
    expect(Object.keys(item!.signature.certificate!).toSorted()).toEqual(['fingerprintSha256', 'issuer', 'notAfter', 'serial', 'subject']);
  });
});
