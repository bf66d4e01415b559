/**
 * Status reporting through real HTTP, against the portal simulator (a real
 * server on loopback that checks each message's signature and records what
 * arrives): the lifecycle, exactly-once and in-order delivery, the portal
 * down, slow and refusing, dead deliveries and ops replay.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, OPS, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;

async function startPortal(): Promise<PortalSimulator> {
  return PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
}

/** Fast retries for tests: 50 ms doubling to 200 ms, 500 ms timeout, 5 attempts. */
const FAST_DELIVERY = { DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '200', DELIVERY_TIMEOUT_MS: '500', DELIVERY_MAX_ATTEMPTS: '5' };

interface DeliveryView {
  id: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  code: string;
  elkCode: number;
  kind: string;
}

async function submitApplication(url: string, orderId: number): Promise<{ applicationId: string }> {
  const service = 'advertising-permit';
  const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services', service, 'example.request.person.json'), 'utf8')) as object), orderId };
  const { xml, messageId } = await signedSendRequest({ catalogue, service, content: example });
  const res = await postSoap(url, xml);
  expect(res.status, res.body).toBe(200);
  const inbox = (await (await fetch(`${url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
  return { applicationId: inbox.items.find((i) => i.messageId === messageId)!.applicationId };
}

async function setStatus(url: string, applicationId: string, code: string, comment?: string): Promise<{ status: number; body: { deliveryId?: string; error?: { code: string; message: string } } }> {
  const res = await fetch(`${url}/api/v1/applications/${applicationId}/status`, {
    method: 'POST',
    headers: { ...CITY, 'content-type': 'application/json' },
    body: JSON.stringify(comment ? { code, comment } : { code }),
  });
  return { status: res.status, body: (await res.json()) as { deliveryId?: string; error?: { code: string; message: string } } };
}

async function delivery(url: string, id: string): Promise<DeliveryView> {
  const res = await fetch(`${url}/api/v1/deliveries/${id}`, { headers: CITY });
  expect(res.status).toBe(200);
  return (await res.json()) as DeliveryView;
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

/** ELK codes the simulator recorded for one order, in arrival order. */
function codesFor(portal: PortalSimulator, orderNumber: string): number[] {
  return portal.byOrder(orderNumber).flatMap((s) => s.orders.filter((o) => o.orderNumber === orderNumber).flatMap((o) => o.statusHistory.map((h) => h.status)));
}

describe('status reporting to the portal', () => {
  let portal: PortalSimulator;
  let gw: RunningGateway;
  beforeAll(async () => {
    portal = await startPortal();
    gw = await startGateway({ PORTAL_URL: `${portal.url}/ws/smev3`, ...FAST_DELIVERY });
  });
  afterAll(async () => {
    await gw?.close();
    await portal?.close();
  });
  afterEach(async () => {
    await portal.setDown(false);
    portal.setDelay(0);
  });

  it('walks the lifecycle: Create with the history so far, then Updates, each signed and delivered once', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000001);
    const reg = await setStatus(gw.url, applicationId, 'registered', 'Заявление зарегистрировано, № РК');
    expect(reg.status).toBe(202);
    const d1 = await until('delivered', () => delivery(gw.url, reg.body.deliveryId!), (d) => d.state === 'delivered');
    expect(d1).toMatchObject({ code: 'registered', elkCode: 6, kind: 'create', attempts: 1, lastError: null });

    for (const code of ['in_progress', 'completed']) {
      const r = await setStatus(gw.url, applicationId, code);
      expect(r.status).toBe(202);
      await until('delivered', () => delivery(gw.url, r.body.deliveryId!), (d) => d.state === 'delivered');
    }
    const received = portal.byOrder('7000000001');
    expect(received.map((s) => s.kind)).toEqual(['create', 'update', 'update']);
    expect(codesFor(portal, '7000000001')).toEqual([2, 6, 7, 3]);
    expect(received[0]!.orders[0]!.statusHistory[1]!.statusComment).toBe('Заявление зарегистрировано, № РК');
    expect(received.every((s) => /CN=okno-gateway/.test(s.signerSubject))).toBe(true);

    const app = (await (await fetch(`${gw.url}/api/v1/applications/${applicationId}`, { headers: CITY })).json()) as { status: string; statusHistory: Array<{ status: string }> };
    expect(app.status).toBe('completed');
    expect(app.statusHistory.map((h) => h.status)).toEqual(['received', 'registered', 'in_progress', 'completed']);
  });

  it('refuses impossible transitions with 409 saying why, and bad input with 400/404/403', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000002);
    const skip = await setStatus(gw.url, applicationId, 'completed');
    expect(skip.status).toBe(409);
    expect(skip.body.error).toMatchObject({ code: 'INVALID_TRANSITION' });
    expect(skip.body.error!.message).toMatch(/cannot go from "received" .* to "completed" .*; allowed next: registered, needs_correction, refused, cancelled/);
    expect((await setStatus(gw.url, applicationId, 'cancelled')).status).toBe(202);
    const final = await setStatus(gw.url, applicationId, 'registered');
    expect(final.status).toBe(409);
    expect(final.body.error!.message).toMatch(/already "cancelled" .* a final status/);
    const unknown = await setStatus(gw.url, applicationId, 'archived');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error!.message).toMatch(/code/);
    expect((await setStatus(gw.url, '00000000-0000-0000-0000-000000000000', 'registered')).status).toBe(404);
    const ops = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...OPS, 'content-type': 'application/json' }, body: '{"code":"registered"}' });
    expect(ops.status).toBe(403);
  });

  it('keeps order per application: quick successive statuses arrive in the order they were made, none missing or repeated', async () => {
    const apps = await Promise.all([7000000011, 7000000012, 7000000013].map((n) => submitApplication(gw.url, n)));
    const path4 = ['registered', 'in_progress', 'waiting_for_answers', 'completed'];
    const ids: string[] = [];
    for (const code of path4) for (const a of apps) ids.push((await setStatus(gw.url, a.applicationId, code)).body.deliveryId!);
    for (const id of ids) await until('delivered', () => delivery(gw.url, id), (d) => d.state === 'delivered');
    for (const n of ['7000000011', '7000000012', '7000000013']) expect(codesFor(portal, n)).toEqual([2, 6, 7, 14, 3]);
  });

  it('the portal down for a while: retried with backoff, delivered once when it is back', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000021);
    await portal.setDown(true);
    const r = await setStatus(gw.url, applicationId, 'registered');
    const waiting = await until('a failed attempt', () => delivery(gw.url, r.body.deliveryId!), (d) => d.attempts >= 2);
    expect(waiting.state).toBe('pending');
    expect(waiting.lastError).toMatch(/^network: /);
    await portal.setDown(false);
    await until('delivered', () => delivery(gw.url, r.body.deliveryId!), (d) => d.state === 'delivered');
    expect(codesFor(portal, '7000000021')).toEqual([2, 6]);
  });

  it('a portal slower than the timeout: the retry carries the same MessageID, so the portal records the status once', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000031);
    portal.setDelay(800); // timeout is 500 ms
    const dupBefore = portal.duplicates;
    const r = await setStatus(gw.url, applicationId, 'registered');
    await until('a timed-out attempt', () => delivery(gw.url, r.body.deliveryId!), (d) => d.attempts >= 2 && /no answer within 500 ms/.test(d.lastError ?? ''));
    portal.setDelay(0);
    await until('delivered', () => delivery(gw.url, r.body.deliveryId!), (d) => d.state === 'delivered');
    expect(codesFor(portal, '7000000031')).toEqual([2, 6]);
    expect(portal.duplicates).toBeGreaterThan(dupBefore);
  });

  it('SMEVFailure and HTTP 503 are retried; a message the portal refuses as invalid goes dead at once and blocks later statuses until ops acts', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000041);
    portal.failNext(1, 'fault:SMEVFailure');
    portal.failNext(1, 'http:503');
    const r1 = await setStatus(gw.url, applicationId, 'registered');
    const d1 = await until('delivered', () => delivery(gw.url, r1.body.deliveryId!), (d) => d.state === 'delivered');
    expect(d1.attempts).toBe(3);

    portal.failNext(1, 'fault:InvalidContent');
    const r2 = await setStatus(gw.url, applicationId, 'in_progress');
    const dead = await until('failed', () => delivery(gw.url, r2.body.deliveryId!), (d) => d.state === 'failed');
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toMatch(/refused by the partner: InvalidContent/);
    const r3 = await setStatus(gw.url, applicationId, 'completed');
    await sleep(500);
    expect((await delivery(gw.url, r3.body.deliveryId!)).state).toBe('pending'); // never overtakes the dead one

    const list = (await (await fetch(`${gw.url}/api/v1/ops/deliveries?state=dead`, { headers: OPS })).json()) as { items: DeliveryView[] };
    expect(list.items.map((d) => d.id)).toContain(r2.body.deliveryId);
    expect((await fetch(`${gw.url}/api/v1/ops/deliveries?state=dead`, { headers: CITY })).status).toBe(403);
    const replay = await fetch(`${gw.url}/api/v1/ops/deliveries/${r2.body.deliveryId}/replay`, { method: 'POST', headers: OPS });
    expect(replay.status).toBe(200);
    await until('delivered', () => delivery(gw.url, r3.body.deliveryId!), (d) => d.state === 'delivered');
    expect((await delivery(gw.url, r2.body.deliveryId!)).state).toBe('delivered');
    expect(codesFor(portal, '7000000041')).toEqual([2, 6, 7, 3]);
    const again = await fetch(`${gw.url}/api/v1/ops/deliveries/${r2.body.deliveryId}/replay`, { method: 'POST', headers: OPS });
    expect(again.status).toBe(409);
  });

  it('gives up after DELIVERY_MAX_ATTEMPTS and says so; discard lets the next status go', async () => {
    const { applicationId } = await submitApplication(gw.url, 7000000051);
    portal.failNext(5, 'http:503');
    const r1 = await setStatus(gw.url, applicationId, 'registered');
    const failed = await until('failed', () => delivery(gw.url, r1.body.deliveryId!), (d) => d.state === 'failed');
    expect(failed.attempts).toBe(5);
    expect(failed.lastError).toMatch(/HTTP 503/);
    const r2 = await setStatus(gw.url, applicationId, 'in_progress');
    const discard = await fetch(`${gw.url}/api/v1/ops/deliveries/${r1.body.deliveryId}/discard`, { method: 'POST', headers: OPS });
    expect(discard.status).toBe(200);
    await until('delivered', () => delivery(gw.url, r2.body.deliveryId!), (d) => d.state === 'delivered');
    expect(codesFor(portal, '7000000051')).toEqual([7]);
  });
});
