/**
 * The same application flow in push and in pull mode: the portal submits an
 * application, the city finds it in its inbox with a registration number and
 * moves it on, and the portal receives the status signed by the gateway —
 * pushed to its endpoint (portal simulator), or pulled from the exchange.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitPem } from '../../src/pki/gateway-identity.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { caPem, eventually, startPullWorld, type PullWorld } from '../helpers/pull.js';
import { CITY, postSoap, sampleSigner, serviceExample, signedSendRequest } from '../helpers/smev.js';

const trust = new TrustAnchorSet(splitPem(caPem));
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));

interface Mode {
  gw: RunningGateway;
  /** Submits the application as the portal; its MessageID. */
  submit(contentXml: string): Promise<string>;
  /** The next status message the portal received: its ELK root element and the signer's certificate subject. */
  nextStatus(): Promise<{ root: string; signer: string }>;
  close(): Promise<void>;
}

async function pushMode(): Promise<Mode> {
  const portal = await PortalSimulator.start({ trust, signer: sampleSigner('portal'), catalogue });
  const gw = await startGateway({ PORTAL_URL: portal.endpoint, DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '300' });
  let seen = 0;
  return {
    gw,
    async submit(contentXml) {
      const { xml, messageId } = await signedSendRequest({ catalogue, service: 'kindergarten-enrollment', contentXml });
      expect((await postSoap(gw.url, xml)).status).toBe(200);
      return messageId;
    },
    async nextStatus() {
      const statuses = await portal.waitFor((records) => records.length > seen);
      const s = statuses[seen++]!;
      return { root: 'ElkOrderRequest', signer: s.signerSubject };
    },
    async close() {
      await gw.close();
      await portal.close();
    },
  };
}

async function pullMode(): Promise<Mode> {
  const world: PullWorld = await startPullWorld();
  const gw = await startGateway(world.env);
  return {
    gw,
    async submit(contentXml) {
      const sent = await world.portal.sendRequest({ contentXml });
      expect(sent.status).toBe(200);
      return sent.messageId;
    },
    async nextStatus() {
      const m = await eventually(async () => {
        const p = await world.portal.poll('GetRequest');
        return p.message && !p.message.empty ? p.message : null;
      }, 'a status in the portal queue');
      await world.portal.ack(m.messageId!);
      const verdict = verifySignature(m.doc, m.senderSignature!, m.senderData!, { trust });
      expect(verdict.valid).toBe(true);
      return { root: m.content!.localName, signer: verdict.details.certificate!.subject };
    },
    async close() {
      await gw.close();
      await world.sim.close();
    },
  };
}

describe.each([
  ['push', pushMode],
  ['pull', pullMode],
] as const)('the application flow in %s mode', (_name, make) => {
  let mode: Mode;
  beforeAll(async () => {
    mode = await make();
  });
  afterAll(async () => {
    await mode?.close();
  });

  it('portal → gateway → inbox (registration number) → status → portal, signed by the gateway', async () => {
    const { gw } = mode;
    const messageId = await mode.submit(gw.gateway.catalogue.get('kindergarten-enrollment')!.request.toXml(serviceExample('kindergarten-enrollment')));
    const item = await eventually(async () => {
      const items = ((await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ id: string; messageId: string; applicationId: string; registrationNumber: string }> }).items;
      return items.find((i) => i.messageId === messageId);
    }, 'the application in the inbox');
    expect(item.registrationNumber).toMatch(/^ДС-\d{4}-\d{6}$/);
    const res = await fetch(`${gw.url}/api/v1/applications/${item.applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code: 'registered', comment: 'Заявление зарегистрировано' }) });
    expect(res.status).toBe(202);
    const status = await mode.nextStatus();
    expect(status.root).toBe('ElkOrderRequest');
    expect(status.signer).toMatch(/okno-gateway/);
    const app = (await (await fetch(`${gw.url}/api/v1/applications/${item.applicationId}`, { headers: CITY })).json()) as { status: string };
    expect(app.status).toBe('registered');
  });
});

// The committed demo registry is valid (its exchange certificate aside, which the simulator writes at start).
it('config/partners.pull.json names the exchange and puts both partners in pull mode', () => {
  const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.pull.json'), 'utf8')) as { exchanges: Array<{ url: string }>; partners: Array<{ transport: unknown; endpoint: unknown }> };
  expect(registry.exchanges[0]!.url).toBe('http://127.0.0.1:8093/ws/smev3');
  expect(registry.partners.every((p) => p.endpoint === null && JSON.stringify(p.transport) === '{"mode":"pull","exchange":"smev"}')).toBe(true);
});
