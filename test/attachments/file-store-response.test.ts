/**
 * An agency's answer with a file in the exchange's file store (pull mode): the city's query goes
 * out through the exchange; the agency uploads the extract to the file store and answers with a
 * signed RefAttachmentHeaderList; the gateway takes the answer, acks it, then fetches the file as
 * it does a request's (stored, Hash checked), and the response's inbox item shows it. An answer's
 * inline file is stored with its SignaturePKCS7 verified, as a request's is.
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidV1 } from '../../src/soap/message-id.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import path from 'node:path';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { fileHash, startFileStoreWorld, uploadByFtp, type FileStoreWorld } from '../helpers/file-store.js';
import { eventually } from '../helpers/pull.js';
import { CITY, sampleSigner, serviceExample } from '../helpers/smev.js';
import { signDetachedCms } from '../../src/pki/cms/sign.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));

type FileView = { uuid: string; fileName: string; state: string; attachmentId: string | null; size: number | null; sha256: string | null; reason: string | null };
interface Item { id: string; kind: string; messageId: string; exchangeFiles?: FileView[] }

describe("an agency's answer with a file in the exchange's file store", () => {
  let world: FileStoreWorld;
  let gw: RunningGateway;

  beforeAll(async () => {
    world = await startFileStoreWorld();
    gw = await startGateway(world.env);
  });
  afterAll(async () => {
    await gw?.close();
    await world?.sim.close();
    await world?.files.close();
  });

  it('is fetched after the answer is acked, Hash checked, stored, and shown on the response in the inbox', async () => {
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract') }) });
    expect(created.status).toBe(202);
    const { messageId } = (await created.json()) as { id: string; messageId: string };
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue', 15_000);
    expect(delivered.messageId).toBe(messageId);
    const replyTo = /<(?:\w+:)?ReplyTo>([^<]+)</.exec(delivered.xml)![1]!;
    expect((await world.agency.ack(messageId)).status).toBe(200);

    // The agency's extract, in the file store, named in its signed answer.
    const content = randomBytes(200_000);
    const uuid = uuidV1();
    await uploadByFtp(world.files, uuid, 'Выписка из ЕГРН.pdf', content);
    const egrn = catalogue.get('egrn-extract')!;
    const answered = await world.agency.sendResponse({ to: replyTo, body: { kind: 'content', contentXml: egrn.response!.toXml(serviceExample('egrn-extract', 'response')) }, refAttachments: [{ uuid, hash: fileHash(content, 'sha256'), mimeType: 'application/pdf' }] });
    expect(answered.status).toBe(200);

    const file = await eventually(async () => {
      const items = ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Item[] }).items;
      const f = items.find((i) => i.messageId === answered.messageId)?.exchangeFiles?.[0];
      return f && f.state !== 'pending' ? f : null;
    }, 'the answer\'s file settled', 20_000);
    expect(file).toMatchObject({ uuid, fileName: 'Выписка из ЕГРН.pdf', state: 'stored', size: content.length, sha256: createHash('sha256').update(content).digest('hex'), reason: null });
    await world.sim.waitFor((s) => s.message(answered.messageId)?.state === 'acked');
    const res = await fetch(`${gw.url}/api/v1/attachments/${file.attachmentId}`, { headers: CITY });
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(content)).toBe(true);
  });

  it("stores an answer's inline file with its signature verified, and journals the verdict", async () => {
    const created = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract') }) });
    const { messageId } = (await created.json()) as { messageId: string };
    const delivered = await eventually(async () => {
      const p = await world.agency.poll('GetRequest');
      return p.message && !p.message.empty ? p.message : null;
    }, 'the query in the agency queue', 15_000);
    expect(delivered.messageId).toBe(messageId);
    const replyTo = /<(?:\w+:)?ReplyTo>([^<]+)</.exec(delivered.xml)![1]!;
    await world.agency.ack(messageId);
    const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(5_000), Buffer.from('\n%%EOF\n')]);
    const signature = await signDetachedCms(pdf, sampleSigner('agency'));
    const egrn = catalogue.get('egrn-extract')!;
    const answered = await world.agency.sendResponse({ to: replyTo, body: { kind: 'content', contentXml: egrn.response!.toXml(serviceExample('egrn-extract', 'response')) }, attachments: [{ contentId: 'extract1', mimeType: 'application/pdf', content: pdf, signaturePkcs7: signature }] });
    expect(answered.status).toBe(200);
    const item = await eventually(async () => {
      const items = ((await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<Item & { attachments: Array<{ id: string; contentId: string; pkcs7Signature: string; sha256: string }> }> }).items;
      return items.find((i) => i.messageId === answered.messageId) ?? null;
    }, 'the answer in the inbox', 15_000);
    expect(item.kind).toBe('response');
    expect(item.attachments).toEqual([expect.objectContaining({ contentId: 'extract1', pkcs7Signature: 'valid', sha256: createHash('sha256').update(pdf).digest('hex') })]);
    const res = await fetch(`${gw.url}/api/v1/attachments/${item.attachments[0]!.id}`, { headers: CITY });
    expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
  });
});
