/**
 * src/city/model.ts: the city's JSON model. The field names are a contract
 * (README, OpenAPI): an application and an inbox item made by the inbound
 * flow carry exactly the model's fields.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { inboxItemView, readInboxItem, storedInboxItem } from '../../src/city/inbox-items.js';
import { APPLICATIONS, INBOX, type Application, type InboxItem } from '../../src/city/model.js';
import { write } from '../../src/store/collection.js';
import { inboxItems, receiveApplication, testFlow, type TestFlow } from '../helpers/flow-context.js';

let flow: TestFlow;
afterEach(() => flow?.close());

const APPLICATION_FIELDS: Array<keyof Application> = ['id', 'registrationNumber', 'service', 'serviceTitle', 'messageId', 'partner', 'receivedAt', 'applicant', 'content', 'attachments', 'status', 'statusHistory', 'inboxItemId'];
const INBOX_FIELDS: Array<keyof InboxItem> = ['id', 'kind', 'service', 'serviceTitle', 'messageId', 'partner', 'receivedAt', 'content', 'attachments', 'signature', 'test', 'applicationId', 'registrationNumber', 'requestId', 'ackedAt'];

describe('the city model', () => {
  it('an application and its inbox item, as the city reads them, have the model\'s fields and no others', async () => {
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

  it("an application's inbox item keeps no copy of the content: it names the application, and reads back the same", async () => {
    flow = testFlow();
    const { applicationId } = await receiveApplication(flow.ctx, 'kindergarten-enrollment');
    const app = (await flow.store.getDoc(APPLICATIONS, applicationId))!;
    const [entry] = await flow.store.readFeed(INBOX, 0, 10);
    const stored = (await flow.store.getDoc(INBOX, entry!.id))!;
    expect(stored).toMatchObject({ contentIn: 'application', applicationId });
    expect('content' in stored).toBe(false);
    expect('attachments' in stored).toBe(false);
    const item = (await readInboxItem(flow.store, entry!.id))!;
    expect(item.content).toEqual(app.content);
    expect(item.attachments).toEqual(app.attachments);
    expect(storedInboxItem(item)).toEqual(stored);
    expect(await inboxItemView(flow.store, stored)).toEqual(item);
  });

  it('an item stored with its own content (a query, an answer, or one written before issue 26) reads back as stored', async () => {
    flow = testFlow();
    const { applicationId } = await receiveApplication(flow.ctx, 'kindergarten-enrollment');
    const [entry] = await flow.store.readFeed(INBOX, 0, 10);
    const view = (await readInboxItem(flow.store, entry!.id))!;
    // As an older build wrote it: the whole item, content included.
    const older: InboxItem = { ...view, content: { older: true }, attachments: [] };
    await flow.store.commit({ docs: [write(INBOX, entry!.id, older)] });
    expect(await readInboxItem(flow.store, entry!.id)).toEqual(older);
    // A query's item is kept whole: it has no application.
    const query: InboxItem = { ...view, kind: 'query', applicationId: null, registrationNumber: null, requestId: 'r-1' };
    expect(storedInboxItem(query)).toEqual(query);
    expect(applicationId).toBeTruthy();
  });
});
