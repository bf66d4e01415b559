/**
 * Pull mode, the application flow over real HTTP: the portal sends an
 * application to the SMEV exchange simulator; the gateway takes it with
 * GetRequest, verifies the exchange's and the portal's signatures, stores it
 * (inbox, registration number) and only then acks; the city's status goes back
 * through the exchange to the portal's queue, signed by the gateway.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSmevMessage } from '../../src/soap/smev-message.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { caPem, eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, serviceExample } from '../helpers/smev.js';

let world: PullWorld;
let gw: RunningGateway;

interface InboxItem { id: string; kind: string; messageId: string; registrationNumber: string | null; applicationId: string | null; partner: string; attachments: Array<{ sha256: string; size: number; transfer?: string }>; signature: { valid: boolean; partner: string } }

async function inbox(): Promise<InboxItem[]> {
  const res = await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY });
  return ((await res.json()) as { items: InboxItem[] }).items;
}

beforeAll(async () => {
  world = await startPullWorld();
  gw = await startGateway(world.env);
});

afterAll(async () => {
  await gw?.close();
  await world?.sim.close();
});

describe('an application in pull mode', () => {
  it('portal → exchange → GetRequest → inbox → Ack; status → exchange → the portal\'s queue', async () => {
    const contentXml = gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment'));
    const sent = await world.portal.sendRequest({ contentXml });
    expect(sent.status).toBe(200);

    const item = await eventually(async () => (await inbox()).find((i) => i.messageId === sent.messageId), 'the application in the inbox');
    expect(item).toMatchObject({ kind: 'application', partner: 'portal', signature: { valid: true, partner: 'portal' } });
    expect(item.registrationNumber).toMatch(/^ДС-\d{4}-\d{6}$/);
    await world.sim.waitFor((s) => s.message(sent.messageId)?.state === 'acked');
    expect(world.sim.message(sent.messageId)).toMatchObject({ state: 'acked', accepted: true, deliveries: 1 });

    // The journal: the intake record (operation GetRequest) and the Ack the gateway sent.
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?messageId=${sent.messageId}`, { headers: { authorization: 'Bearer dev-ops-token' } })).json()) as { items: Array<{ operation: string; direction: string; succeeded: boolean }> };
    expect(journal.items.map((r) => `${r.direction} ${r.operation} ${r.succeeded}`).sort()).toEqual(['inbound GetRequest true', 'outbound Ack true']);
    // Metrics count the pulled message and the Ack like pushed messages.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/okno_messages_total\{[^}]*direction="inbound",operation="GetRequest",outcome="accepted"[^}]*\} 1/);
    expect(metrics).toMatch(/okno_messages_total\{[^}]*direction="outbound",operation="Ack",outcome="delivered"[^}]*\} 1/);

    // The city moves it on; the status goes to the exchange, into the portal's request queue.
    const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code: 'registered', comment: 'Заявление зарегистрировано' }) });
    expect(res.status).toBe(202);
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    await eventually(async () => ((await (await fetch(`${gw.url}/api/v1/deliveries/${deliveryId}`, { headers: CITY })).json()) as { state: string }).state === 'delivered', 'the status delivered to the exchange');
    const polled = await world.portal.poll('GetRequest');
    expect(polled.message?.content?.localName).toBe('ElkOrderRequest');
    // The gateway's own signature over what it sent verifies, and the exchange's over what it delivered.
    const trust = new TrustAnchorSet(splitPem(caPem));
    const m = polled.message!;
    expect(verifySignature(m.doc, m.senderSignature!, m.senderData!, { trust }).valid).toBe(true);
    expect(verifySignature(m.doc, m.senderSignature!, m.senderData!, { trust }).details.certificate?.subject).toMatch(/okno-gateway/);
    expect(verifySignature(m.doc, m.smevSignature!, m.message!, { trust }).valid).toBe(true);
    expect((await world.portal.ack(m.messageId!)).status).toBe(200);

    // GetStatus: the exchange's status messages about the status message, shown with the delivery.
    const followed = await eventually(async () => {
      const d = (await (await fetch(`${gw.url}/api/v1/deliveries/${deliveryId}`, { headers: CITY })).json()) as { exchangeStatuses?: Array<{ status: string }> };
      return d.exchangeStatuses?.some((s) => s.status === 'underProcessing') ? d : null;
    }, 'the exchange reporting the portal took the status');
    expect(followed.exchangeStatuses!.map((s) => s.status)).toEqual(['requestIsQueued', 'underProcessing']);
  });
});
