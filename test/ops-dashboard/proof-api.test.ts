/**
 * The routes behind the dashboard's proofs, through real HTTP on a gateway
 * backed by a real redis-server, with the portal simulator as the partner:
 *
 * - an envelope downloads byte for byte (the very bytes that were POSTed, and
 *   the journal's stored evidence), with its SHA-256;
 * - its verdict is re-verified with the gateway's verifier, and changes when
 *   the stored evidence is changed behind the gateway's back;
 * - an event leads to its journal record;
 * - a trail shows each delivery attempt's journal record, and a delivery that
 *   was dead and replayed (or discarded) says so;
 * - the 24-hour series lives in Redis: a restarted gateway and a second
 *   process on the same Redis see and add to the same counts.
 */
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { EVIDENCE } from '../../src/journal/records.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { AgencySimulator } from '../../src/simulators/agency.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { partnersFileFor } from '../chaos/harness.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess } from '../helpers/process.js';
import { CITY, OPS, postSoap, sampleSigner, serviceExample, signedSendRequest } from '../helpers/smev.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;
const FAST_DELIVERY = { DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '200', DELIVERY_TIMEOUT_MS: '1000', DELIVERY_MAX_ATTEMPTS: '3' };

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`);
    await sleep(50);
  }
}

/** A POST on a connection of its own, so that node:cluster hands it to the next worker. */
function postOnNewConnection(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/ws/smev3`, { method: 'POST', agent: false, headers: { 'content-type': 'text/xml; charset=utf-8', connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = async <T>(url: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
  const res = await fetch(url, { ...init, headers: { ...OPS, ...(init.headers as Record<string, string> | undefined) } });
  return { status: res.status, body: (await res.json()) as T };
};

interface Proof {
  record: { id: string; messageId: string | null; direction: string };
  seal: { seq: number } | null;
  sealVerified: boolean | null;
  request: { verdict: string; bytes: number; sha256: string; message: string; signatures: Array<{ element: string; signer: string | null; math: string; valid: boolean; reason: string | null }> } | null;
  response: { verdict: string; bytes: number } | null;
}

interface TrailBody {
  entries: Array<{
    kind: string;
    title: string;
    messageId: string | null;
    journal: Array<{ id: string; succeeded: boolean; faultCode: string | null; operation: string; direction: string }>;
    delivery: null | { state: string; attempts: number; totalAttempts: number; history: Array<{ action: string; attempts: number; lastError: string | null }> };
  }>;
}

describe('ops dashboard API: evidence, proof, trail history, series (real Redis)', () => {
  let redis: RedisTestServer;
  let portal: PortalSimulator;
  let agency: AgencySimulator;
  let partnersFile: string;
  let gw: RunningGateway;
  const prefix = `okno-dash-${process.pid}:`;
  const env = () => ({ PARTNERS_FILE: partnersFile, REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, PORTAL_URL: `${portal.url}/ws/smev3`, LOG_LEVEL: 'warn', ...FAST_DELIVERY });
  let sent: { xml: string; messageId: string; applicationId: string; registrationNumber: string; journalId: string };

  beforeAll(async () => {
    redis = await startRedisServer();
    portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
    agency = await AgencySimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('agency'), catalogue });
    partnersFile = partnersFileFor(agency.endpoint);
    gw = await startGateway(env());
    agency.setGatewayUrl(gw.url);
  });
  afterAll(async () => {
    await agency?.close();
    await gw?.close();
    await portal?.close();
    await redis?.dispose();
  });

  async function submit(orderId: number) {
    const service = 'advertising-permit';
    const example = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services', service, 'example.request.person.json'), 'utf8')) as object), orderId };
    const { xml, messageId } = await signedSendRequest({ catalogue, service, content: example });
    const res = await postSoap(gw.url, xml);
    expect(res.status, res.body).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string; registrationNumber: string }> };
    const item = inbox.items.find((i) => i.messageId === messageId)!;
    const journal = await json<{ items: Array<{ id: string; requestInTs: string; operation: string }> }>(`${gw.url}/api/v1/journal?messageId=${messageId}&direction=inbound`);
    expect(journal.body.items).toHaveLength(1);
    return { xml, messageId, applicationId: item.applicationId, registrationNumber: item.registrationNumber, journalId: journal.body.items[0]!.id, at: journal.body.items[0]!.requestInTs };
  }

  async function setStatus(applicationId: string, code: string): Promise<string> {
    const res = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
    const body = (await res.json()) as { deliveryId: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    return body.deliveryId;
  }
  const deliveryState = async (id: string) => (await json<{ state: string }>(`${gw.url}/api/v1/deliveries/${id}`)).body.state;
  const trailOf = async (applicationId: string) => (await json<TrailBody>(`${gw.url}/api/v1/ops/applications/${applicationId}/trail`)).body;

  it('the new routes want the ops role', async () => {
    for (const route of ['/api/v1/ops/journal/x/proof', '/api/v1/ops/journal/x/evidence/request', '/api/v1/ops/series', '/api/v1/ops/journal-of-event?direction=inbound&operation=SendRequest&at=2026-01-01T00:00:00Z']) {
      expect((await fetch(`${gw.url}${route}`)).status, route).toBe(401);
      expect((await fetch(`${gw.url}${route}`, { headers: CITY })).status, route).toBe(403);
    }
    expect((await fetch(`${gw.url}/api/v1/ops/journal/00000000-0000-0000-0000-000000000000/proof`, { headers: OPS })).status).toBe(404);
    expect((await fetch(`${gw.url}/api/v1/ops/journal/00000000-0000-0000-0000-000000000000/evidence/other`, { headers: OPS })).status).toBe(400);
  });

  it('downloads the request envelope byte for byte: the bytes that were POSTed, the journal\'s stored evidence', async () => {
    const s = await submit(7200000001);
    sent = s;
    const res = await fetch(`${gw.url}/api/v1/ops/journal/${s.journalId}/evidence/request`, { headers: OPS });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="okno-inbound-SendRequest-[0-9a-f-]+\.request\.xml"$/);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(Buffer.from(s.xml, 'utf8'))).toBe(true);
    const stored = (await gw.gateway.store.getBlob(EVIDENCE, `${s.journalId}.request`))!;
    expect(bytes.equals(stored)).toBe(true);
    const { createHash } = await import('node:crypto');
    expect(res.headers.get('x-content-sha256')).toBe(createHash('sha256').update(bytes).digest('hex'));
    // The digest the journal record carries (its seal covers it) is the same.
    expect(res.headers.get('x-sealed-sha256')).toBe(createHash('sha256').update(bytes).digest('hex'));
    // The reply the gateway sent is kept too.
    const reply = await fetch(`${gw.url}/api/v1/ops/journal/${s.journalId}/evidence/response`, { headers: OPS });
    expect(reply.status).toBe(200);
    expect(Buffer.from(await reply.arrayBuffer()).toString('utf8')).toMatch(/SendRequestResponse/);
  });

  it("re-verifies the envelope with the gateway's verifier; a changed stored envelope gets INVALID", async () => {
    const proof = await until('sealed', () => json<Proof>(`${gw.url}/api/v1/ops/journal/${sent.journalId}/proof`), (r) => r.body.seal !== null);
    expect(proof.status).toBe(200);
    expect(proof.body.sealVerified).toBe(true);
    expect(proof.body.request).toMatchObject({ verdict: 'valid', bytes: Buffer.byteLength(sent.xml) });
    expect(proof.body.request!.signatures).toEqual([expect.objectContaining({ element: 'CallerInformationSystemSignature', signer: 'portal', math: 'valid', valid: true })]);
    expect(proof.body.response).toMatchObject({ verdict: 'valid', intact: true });
    expect(proof.body.request).toMatchObject({ intact: true, sealedSha256: proof.body.request!.sha256 });

    // Someone with write access to Redis changes one character of the signed content.
    const stored = (await gw.gateway.store.getBlob(EVIDENCE, `${sent.journalId}.request`))!.toString('utf8');
    const changed = stored.replace('7200000001', '7200000009');
    expect(changed).not.toBe(stored);
    await gw.gateway.store.commit({ blobs: [{ collection: EVIDENCE, id: `${sent.journalId}.request`, bytes: Buffer.from(changed, 'utf8') }] });
    const after = await json<Proof>(`${gw.url}/api/v1/ops/journal/${sent.journalId}/proof`);
    expect(after.body.request).toMatchObject({ verdict: 'invalid' });
    expect(after.body.request!.signatures[0]).toMatchObject({ valid: false, reason: 'SignatureIsInvalid' });
    expect(after.body.request!.sha256).not.toBe(proof.body.request!.sha256);
    // …and its bytes no longer match the digest the sealed record carries.
    expect(after.body.request).toMatchObject({ intact: false, sealedSha256: proof.body.request!.sha256 });
    await gw.gateway.store.commit({ blobs: [{ collection: EVIDENCE, id: `${sent.journalId}.request`, bytes: Buffer.from(stored, 'utf8') }] });
  });

  it("finds an event's journal record by direction, operation, instant and MessageID", async () => {
    const s = await submit(7200000002);
    const r = await json<{ id: string }>(`${gw.url}/api/v1/ops/journal-of-event?direction=inbound&operation=SendRequest&at=${encodeURIComponent(s.at)}&messageId=${s.messageId}`);
    expect(r).toEqual({ status: 200, body: { id: s.journalId } });
    // A refused message without a MessageID is found by its instant.
    const bad = await postSoap(gw.url, '<not-soap/>');
    expect(bad.status).toBe(500);
    const faults = await json<{ items: Array<{ id: string; requestInTs: string; operation: string }> }>(`${gw.url}/api/v1/journal?outcome=failed&direction=inbound&limit=1`);
    const f = faults.body.items[0]!;
    const found = await json<{ id: string }>(`${gw.url}/api/v1/ops/journal-of-event?direction=inbound&operation=${f.operation}&at=${encodeURIComponent(f.requestInTs)}`);
    expect(found.body.id).toBe(f.id);
    expect((await fetch(`${gw.url}/api/v1/ops/journal-of-event?direction=outbound&operation=SendRequest&at=2001-01-01T00:00:00Z`, { headers: OPS })).status).toBe(404);
  });

  it('a trail shows each attempt with its journal record, and a replayed delivery shows it was dead', async () => {
    portal.failNext(3, 'http:503');
    const deliveryId = await setStatus(sent.applicationId, 'registered');
    await until('dead', () => deliveryState(deliveryId), (s) => s === 'failed');
    const dead = await trailOf(sent.applicationId);
    const received = dead.entries.find((e) => e.kind === 'received')!;
    expect(received.journal.map((j) => j.id)).toEqual([sent.journalId]);
    let status = dead.entries.find((e) => e.kind === 'status')!;
    expect(status.delivery).toMatchObject({ state: 'failed', history: [] });
    expect(status.journal.length).toBeGreaterThanOrEqual(1);
    expect(status.journal.every((j) => !j.succeeded && j.direction === 'outbound')).toBe(true);
    const deadAttempts = status.journal.length;
    expect(deadAttempts).toBe(3);

    const replay = await fetch(`${gw.url}/api/v1/ops/deliveries/${deliveryId}/replay`, { method: 'POST', headers: OPS });
    expect(replay.status).toBe(200);
    await until('delivered', () => deliveryState(deliveryId), (s) => s === 'delivered');
    const after = await trailOf(sent.applicationId);
    status = after.entries.find((e) => e.kind === 'status')!;
    expect(status.delivery!.state).toBe('delivered');
    expect(status.delivery!.attempts).toBe(1);
    expect(status.delivery!.history).toEqual([expect.objectContaining({ action: 'replay', attempts: status.delivery!.totalAttempts - 1 })]);
    expect(status.delivery!.history[0]!.lastError).toMatch(/503/);
    expect(status.journal.map((j) => j.succeeded)).toEqual([...new Array<boolean>(deadAttempts).fill(false), true]);
    for (const j of status.journal) {
      const proof = await json<Proof>(`${gw.url}/api/v1/ops/journal/${j.id}/proof`);
      expect(proof.body.request!.signatures[0]).toMatchObject({ signer: 'gateway', valid: true });
    }
  });

  it('a discarded delivery shows as discarded, with its dead round', async () => {
    portal.failNext(3, 'http:503');
    const deliveryId = await setStatus(sent.applicationId, 'in_progress');
    await until('dead', () => deliveryState(deliveryId), (s) => s === 'failed');
    const discard = await fetch(`${gw.url}/api/v1/ops/deliveries/${deliveryId}/discard`, { method: 'POST', headers: OPS });
    expect(discard.status).toBe(200);
    const status = (await trailOf(sent.applicationId)).entries.find((e) => e.kind === 'status' && e.title === 'in_progress')!;
    expect(status.delivery).toMatchObject({ state: 'discarded', history: [expect.objectContaining({ action: 'discard' })] });
    // Discarding again is refused: it is no longer dead.
    expect((await fetch(`${gw.url}/api/v1/ops/deliveries/${deliveryId}/discard`, { method: 'POST', headers: OPS })).status).toBe(409);
  });

  it("a query and its answer in the trail lead to their journal records: the gateway's SendRequest, the agency's signed answer", async () => {
    const res = await fetch(`${gw.url}/api/v1/queries`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ service: 'egrn-extract', data: serviceExample('egrn-extract'), applicationId: sent.applicationId }) });
    expect(res.status, await res.clone().text()).toBe(202);
    // The agency may answer before the gateway's own SendRequest record is written: wait for both.
    const trail = await until('the query and the answer in the trail', () => trailOf(sent.applicationId), (t) => t.entries.some((e) => e.kind === 'answer' && e.journal.length > 0) && t.entries.some((e) => e.kind === 'query' && e.journal.length > 0));
    const query = trail.entries.find((e) => e.kind === 'query')!;
    const answer = trail.entries.find((e) => e.kind === 'answer')!;
    expect(query.journal).toEqual([expect.objectContaining({ direction: 'outbound', operation: 'SendRequest', succeeded: true })]);
    expect(answer.journal).toEqual([expect.objectContaining({ direction: 'inbound', operation: 'SendResponse', succeeded: true })]);
    const q = await json<Proof>(`${gw.url}/api/v1/ops/journal/${query.journal[0]!.id}/proof`);
    expect(q.body.request!.signatures[0]).toMatchObject({ signer: 'gateway', valid: true });
    const a = await json<Proof>(`${gw.url}/api/v1/ops/journal/${answer.journal[0]!.id}/proof`);
    expect(a.body.request).toMatchObject({ verdict: 'valid' });
    expect(a.body.request!.signatures[0]).toMatchObject({ signer: 'agency', valid: true });
    // The query and its answer move the application's status, and each move is a status for the portal: let them
    // settle, so that the next test counts a quiet series.
    await until('the statuses the query and answer caused, delivered', () => trailOf(sent.applicationId), (t) => t.entries.filter((e) => e.kind === 'status').every((e) => e.delivery !== null && ['delivered', 'discarded'].includes(e.delivery.state)));
  });

  it('keeps 24 hours of per-partner series in Redis: a restart and a second process see and add to the same counts', async () => {
    type Series = { bucketMs: number; from: string; to: string; partners: Array<{ partner: string; points: Array<{ t: string; messages: number; errors: number; p95Ms: number | null }> }> };
    const total = (s: Series, partner: string, f: 'messages' | 'errors') => s.partners.find((p) => p.partner === partner)?.points.reduce((n, p) => n + p[f], 0) ?? 0;
    // Each process writes its counts every couple of seconds: wait for the portal's to arrive.
    const first = await until('the portal in the series', async () => (await json<Series>(`${gw.url}/api/v1/ops/series`)).body, (s) => total(s, 'portal', 'messages') > 0);
    expect(first.bucketMs).toBe(300_000);
    expect(Date.parse(first.to) - Date.parse(first.from)).toBe(24 * 3_600_000);
    expect(first.partners.find((p) => p.partner === 'portal')!.points).toHaveLength(288);
    const portalIn = total(first, 'portal', 'messages');
    expect(portalIn).toBeGreaterThanOrEqual(2 + 4 + 3);
    expect(total(first, 'portal', 'errors')).toBeGreaterThanOrEqual(6);
    expect(total(first, '(unknown)', 'messages')).toBeGreaterThanOrEqual(1);
    const latest = first.partners.find((p) => p.partner === 'portal')!.points.filter((p) => p.messages > 0).at(-1)!;
    expect(latest.p95Ms).toBeGreaterThan(0);

    // Restart: the counts are still there (they live in Redis, not in the process).
    await gw.close();
    gw = await startGateway(env());
    agency.setGatewayUrl(gw.url);
    const restarted = (await json<Series>(`${gw.url}/api/v1/ops/series`)).body;
    expect(total(restarted, 'portal', 'messages')).toBe(portalIn);

    // `node dist/main.js` with WORKERS=2 on the same Redis: two more processes; every message either serves is in the same series.
    const workers = await startGatewayProcess({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix, WORKERS: '2', PORT: String(await freePort()), LARGE_MESSAGE_THREADS: '0', LOG_LEVEL: 'info' }, 45_000);
    try {
      await until('both workers', async () => new Set(workers.lines.filter((l) => /^okno gateway listening/.test(String(l.msg))).map((l) => l.pid)).size, (n) => n === 2, 15_000);
      const N = 6;
      const example = JSON.parse(readFileSync(path.join(projectRoot, 'config/services/advertising-permit/example.request.person.json'), 'utf8')) as object;
      const bodies = await Promise.all(Array.from({ length: N }, async (_, i) => (await signedSendRequest({ catalogue, service: 'advertising-permit', content: { ...example, orderId: 7200000100 + i } })).xml));
      expect(await Promise.all(bodies.map((xml) => postOnNewConnection(workers.url, xml)))).toEqual(new Array<number>(N).fill(200));
      // Served by the worker processes, not by this test's gateway: only Redis brings their counts here.
      const servedBy = new Set(workers.lines.filter((l) => /SendRequest accepted/.test(String(l.msg))).map((l) => l.pid));
      expect(servedBy.size).toBeGreaterThanOrEqual(1);
      expect(servedBy.has(process.pid)).toBe(false);
      // Each worker writes its counts within FLUSH_MS.
      await until(`both workers counted (${portalIn} + ${N})`, async () => total((await json<Series>(`${gw.url}/api/v1/ops/series`)).body, 'portal', 'messages'), (n) => n === portalIn + N, 20_000);
    } finally {
      workers.child.kill('SIGTERM');
      await workers.exited;
    }
  }, 120_000);
});
