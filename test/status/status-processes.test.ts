/**
 * Status delivery across process failures, with real gateway processes
 * (`node dist/main.js`) on one real Redis: a gateway killed while a status is
 * on the wire delivers it after restart exactly once; two gateway processes
 * sharing Redis never send the same status twice and keep order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;

async function submit(url: string, orderId: number): Promise<string> {
  const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services/advertising-permit/example.request.person.json'), 'utf8')) as object), orderId };
  const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', content: example });
  const res = await postSoap(url, xml);
  expect(res.status, res.body).toBe(200);
  const inbox = (await (await fetch(`${url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
  return inbox.items.find((i) => i.messageId === messageId)!.applicationId;
}

async function setStatus(url: string, applicationId: string, code: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { deliveryId: string }).deliveryId;
}

async function deliveryState(url: string, id: string): Promise<string> {
  return ((await (await fetch(`${url}/api/v1/deliveries/${id}`, { headers: CITY })).json()) as { state: string }).state;
}

describe('status delivery across processes (Redis)', () => {
  let redis: RedisTestServer;
  let portal: PortalSimulator;
  const procs: GatewayProcess[] = [];

  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: true });
    portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
  });
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await portal?.close();
    await redis?.stop();
  });

  const env = (port: number) => ({
    REDIS_URL: redis.url,
    PORT: String(port),
    PORTAL_URL: `${portal.url}/ws/smev3`,
    DELIVERY_TIMEOUT_MS: '1000',
    DELIVERY_BACKOFF_MS: '50',
    DELIVERY_BACKOFF_CAP_MS: '200',
  });

  it('a gateway killed (SIGKILL) while a status is on the wire delivers it after restart, once', async () => {
    const port = await freePort();
    const first = await startGatewayProcess(env(port));
    procs.push(first);
    const app = await submit(first.url, 8000000001);
    portal.setDelay(700); // the portal is slow: the status is in flight when the gateway dies
    const id = await setStatus(first.url, app, 'registered');
    await portal.waitFor(() => portal.inFlight > 0, 5_000);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe(null);
    portal.setDelay(0);

    const second = await startGatewayProcess(env(port));
    procs.push(second);
    // The dead process's lease runs out (2 × timeout + 5 s), then the job is taken again.
    const deadline = Date.now() + 20_000;
    while ((await deliveryState(second.url, id)) !== 'delivered') {
      if (Date.now() > deadline) throw new Error('not delivered after restart');
      await sleep(200);
    }
    const codes = portal.byOrder('8000000001').flatMap((s) => s.orders[0]!.statusHistory.map((h) => h.status));
    expect(codes).toEqual([2, 6]); // recorded once, whether or not the slow first attempt landed
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 60_000);

  it('two gateway processes on one Redis: every status delivered exactly once, in order per application', async () => {
    const a = await startGatewayProcess(env(await freePort()));
    const b = await startGatewayProcess(env(await freePort()));
    procs.push(a, b);
    const orders = [8000000101, 8000000102, 8000000103, 8000000104];
    const apps = [];
    for (const [i, o] of orders.entries()) apps.push(await submit(i % 2 ? a.url : b.url, o));
    const dupBefore = portal.duplicates;
    const ids: Array<{ url: string; id: string }> = [];
    for (const code of ['registered', 'in_progress', 'waiting_for_answers', 'in_progress', 'completed']) {
      for (const [i, app] of apps.entries()) {
        const url = (i + ids.length) % 2 ? a.url : b.url; // changes come through both processes
        ids.push({ url, id: await setStatus(url, app, code) });
      }
    }
    const deadline = Date.now() + 30_000;
    for (const { url, id } of ids) {
      while ((await deliveryState(url, id)) !== 'delivered') {
        if (Date.now() > deadline) throw new Error(`delivery ${id} not delivered`);
        await sleep(100);
      }
    }
    for (const o of orders) {
      const codes = portal.byOrder(String(o)).flatMap((s) => s.orders[0]!.statusHistory.map((h) => h.status));
      expect(codes).toEqual([2, 6, 7, 14, 7, 3]);
    }
    expect(portal.duplicates).toBe(dupBefore); // no status was ever sent twice
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
  }, 90_000);
});
