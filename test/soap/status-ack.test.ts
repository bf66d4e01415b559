/**
 * GetStatus and Ack through real HTTP: a partner learns that the city took
 * its message into work (the inbox ack produces a status message), and
 * acknowledges a message the gateway delivered to it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { signDocument } from '../../src/signature/sign.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { ackEnvelope, getStatusEnvelope, SIGNED_CALLER_ID } from '../../src/soap/envelope-builder.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);

describe('GetStatus and Ack', () => {
  let gw: RunningGateway;
  let portal: PortalSimulator;
  beforeAll(async () => {
    portal = await PortalSimulator.start({
      port: 0,
      trust,
      expectedSigner: parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256,
      signer: sampleSigner('portal'),
      catalogue: loadCatalogue(path.join(projectRoot, 'config/services')),
    });
    gw = await startGateway({ PORTAL_URL: `${portal.url}/ws/smev3`, DELIVERY_BACKOFF_MS: '50' });
  });
  afterAll(async () => {
    await gw?.close();
    await portal?.close();
  });

  const getStatus = async (signer = sampleSigner('portal')) =>
    postSoap(gw.url, await signDocument(getStatusEnvelope('1.1', new Date()), { signer, profile: 'smev', targetId: SIGNED_CALLER_ID }), { soapaction: 'urn:GetStatus' });

  it('GetStatus is empty until the city takes the message into work, then hands out that status once, signed', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment' });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const empty = await getStatus();
    expect(empty.status, empty.body).toBe(200);
    expect(empty.body).toContain('<t:GetStatusResponse xmlns:t="urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1"></t:GetStatusResponse>');

    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ id: string; messageId: string }> };
    const item = inbox.items.find((i) => i.messageId === messageId)!;
    expect((await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY })).status).toBe(204);
    expect((await fetch(`${gw.url}/api/v1/inbox/${item.id}/ack`, { method: 'POST', headers: CITY })).status).toBe(204);

    const status = await getStatus();
    expect(status.status).toBe(200);
    expect(status.body).toContain(`<t:OriginalMessageId>${messageId}</t:OriginalMessageId>`);
    expect(status.body).toContain('<t:StatusCategory>underProcessing</t:StatusCategory>');
    expect(status.body).toContain('<t:SMEVSignature><ds:Signature');
    // Delivered once: a second ack did not make a second status, and the first was handed out.
    expect((await getStatus()).body).not.toContain('OriginalMessageId');
    // Another partner does not see the portal's statuses.
    expect((await getStatus(sampleSigner('agency'))).body).not.toContain(messageId);
  });

  it('Ack of a status message the gateway delivered → AckResponse; of an unknown message → TargetMessageIsNotFound', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
    const applicationId = inbox.items.find((i) => i.messageId === messageId)!.applicationId;
    const res = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: '{"code":"registered"}' });
    const { deliveryId } = (await res.json()) as { deliveryId: string };
    let delivered: { state: string; messageId: string } = { state: 'pending', messageId: '' };
    for (let i = 0; i < 100 && delivered.state !== 'delivered'; i++) {
      await sleep(50);
      delivered = (await (await fetch(`${gw.url}/api/v1/deliveries/${deliveryId}`, { headers: CITY })).json()) as typeof delivered;
    }
    expect(delivered.state).toBe('delivered');

    const ack = async (id: string, signer = sampleSigner('portal')) =>
      postSoap(gw.url, await signDocument(ackEnvelope('1.1', id, true), { signer, profile: 'smev', targetId: SIGNED_CALLER_ID }), { soapaction: 'urn:Ack' });
    const ok = await ack(delivered.messageId);
    expect(ok.status, ok.body).toBe(200);
    expect(ok.body).toContain('<t:AckResponse');
    expect(faultOf((await ack('5d1e7c2a-e759-11f1-8000-0242ac120002')).body).fault).toBe('TargetMessageIsNotFound');
    // The agency cannot acknowledge what was delivered to the portal.
    expect(faultOf((await ack(delivered.messageId, sampleSigner('agency'))).body).fault).toBe('TargetMessageIsNotFound');
  });
});
