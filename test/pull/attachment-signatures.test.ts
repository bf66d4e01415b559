/**
 * Pull mode and attachment signatures (issue 21, point 2): an MTOM attachment whose
 * SignaturePKCS7 verifies reaches the inbox with its verdict; one whose signature does not
 * verify makes the message a RequestRejected to the sender through the exchange, then Ack.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signDetachedCms } from '../../src/pki/cms/index.js';
import { childElements, textContent } from '../../src/xml/helpers.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, OPS, sampleSigner, serviceExample } from '../helpers/smev.js';

let world: PullWorld;
let gw: RunningGateway;

interface Item { messageId: string; attachments: Array<{ contentId: string; pkcs7Signature: string; transfer?: string; signature?: { valid: boolean; signer: string | null } }> }

async function inboxItem(messageId: string): Promise<Item | undefined> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY });
  return ((await res.json()) as { items: Item[] }).items.find((i) => i.messageId === messageId);
}

const xmlOf = (service: string) => gw.gateway.catalogue.get(service)!.request.toXml(serviceExample(service));

beforeAll(async () => {
  world = await startPullWorld();
  gw = await startGateway(world.env);
});

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
});

describe('attachment signatures in pull mode', () => {
  it('an MTOM file signed by the applicant (CMS, the portal sample key) is accepted with its verdict', async () => {
    const content = Buffer.from('%PDF-1.4 план помещения\n'.repeat(100));
    const signaturePkcs7 = await signDetachedCms(content, sampleSigner('portal'));
    const sent = await world.portal.sendRequest({ contentXml: xmlOf('dwelling-replanning'), attachments: [{ contentId: 'plan.pdf', mimeType: 'application/pdf', content, signaturePkcs7 }], mtom: true });
    expect(sent.status).toBe(200);
    const item = await eventually(() => inboxItem(sent.messageId), 'the application with its signed attachment');
    expect(item.attachments).toEqual([expect.objectContaining({ contentId: 'plan.pdf', transfer: 'mtom', pkcs7Signature: 'valid', signature: expect.objectContaining({ valid: true, signer: expect.stringContaining('portal') }) })]);
  });

  it('a file whose signature does not verify: RequestRejected through the exchange, journaled, Acked', async () => {
    const content = Buffer.from('%PDF-1.4 the real plan\n');
    const signaturePkcs7 = await signDetachedCms(Buffer.from('%PDF-1.4 another plan\n'), sampleSigner('portal'));
    const sent = await world.portal.sendRequest({ contentXml: xmlOf('dwelling-replanning'), attachments: [{ contentId: 'plan.pdf', mimeType: 'application/pdf', content, signaturePkcs7 }], mtom: true });
    expect(sent.status).toBe(200);
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked', 10_000);
    expect(await inboxItem(sent.messageId)).toBeUndefined();
    const rejection = await eventually(async () => {
      const p = await world.portal.poll('GetResponse');
      return p.message && !p.message.empty ? p.message : null;
    }, "the RequestRejected in the portal's response queue");
    const rejected = childElements(rejection.senderData!).find((c) => c.localName === 'RequestRejected')!;
    expect(textContent(childElements(rejected).find((c) => c.localName === 'RejectionReasonCode')!)).toBe('UNKNOWN_REQUEST_DESCRIPTION');
    expect(textContent(childElements(rejected).find((c) => c.localName === 'RejectionReasonDescription')!)).toMatch(/^InvalidContent: attachment plan\.pdf: its SignaturePKCS7 does not verify: the SHA-256 digest of the content does not match the signed messageDigest/);
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}`, { headers: OPS })).json()) as { items: Array<{ operation: string; succeeded: boolean; faultCode: string | null }> };
    expect(journal.items).toEqual(expect.arrayContaining([expect.objectContaining({ operation: 'GetRequest', succeeded: false, faultCode: 'InvalidContent' })]));
  });
});
