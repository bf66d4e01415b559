/**
 * Rate limits on POST /ws/smev3, over real HTTP: a partner's quota (registry
 * rateLimit, else RATE_LIMIT_PER_PARTNER) is spent only by messages whose
 * signature verified, so forged messages carrying its certificate cannot use
 * it up; the excess of a burst gets QuoteLimitExceeded (HTTP 500, Retry-After)
 * and nothing is stored for it but its journal record; the bucket refills;
 * one partner's excess leaves the others alone. Before verification, a limit
 * per client address and a cap on messages in flight refuse floods without
 * parsing them.
 */
import http from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseRateLimit } from '../../src/config/env.js';
import { parsePartners, PartnerRegistryError } from '../../src/registry/partners.js';
import { TokenBucket, MemoryRateLimiter } from '../../src/http/rate-limit.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { tempDir } from '../helpers/tls-pki.js';
import { startRedisServer } from '../helpers/redis-server.js';
import { Redis } from 'ioredis';
import { startGatewayProcess } from '../helpers/process.js';
import { loadCatalogue } from '../../src/catalogue/load.js';

/** The default registry with absolute certificate paths and the given changes per partner. */
function registryWith(changes: Record<string, Record<string, unknown>>): string {
  const base = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
  for (const p of base.partners) {
    p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
    Object.assign(p, changes[p.id as string] ?? {});
  }
  const file = path.join(tempDir('okno-limits-'), 'partners.json');
  writeFileSync(file, JSON.stringify(base));
  return file;
}

async function post(url: string, xml: string): Promise<{ status: number; body: string; retryAfter: string | null }> {
  const res = await fetch(`${url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: xml });
  return { status: res.status, body: await res.text(), retryAfter: res.headers.get('retry-after') };
}

const inboxMessageIds = async (gw: RunningGateway) => {
  const entries = await gw.gateway.store.readFeed('inbox', 0, 10_000);
  const items = await Promise.all(entries.map((e) => gw.gateway.store.getDoc<{ messageId: string }>('inbox', e.id)));
  return items.map((i) => (i as { messageId: string }).messageId);
};

async function journalFaults(gw: RunningGateway, fault: string): Promise<Array<Record<string, unknown>>> {
  const entries = await gw.gateway.store.readFeed('journal', 0, 10_000);
  const records = await Promise.all(entries.map((e) => gw.gateway.store.getDoc('journal', e.id)));
  return (records as Array<Record<string, unknown> | null>).filter((r): r is Record<string, unknown> => r !== null && r.faultCode === fault);
}

async function metric(gw: RunningGateway, series: string): Promise<number | null> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : null;
}

describe('per-partner limits (after verification)', () => {
  let gw: RunningGateway;
  // The portal: 3 at once, then one every 4 s (registry); the agency: the default, 2 at once.
  beforeAll(async () => {
    gw = await startGateway({
      PARTNERS_FILE: registryWith({ portal: { rateLimit: { perSecond: 0.25, burst: 3 } } }),
      RATE_LIMIT_PER_PARTNER: '15/min:2',
    });
  });
  afterAll(async () => gw?.close());

  const portalMessage = () => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
  const agencyMessage = () => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit-register-extract', signer: sampleSigner('agency') });

  it("forged messages carrying the portal's certificate do not spend its quota", async () => {
    for (let i = 0; i < 5; i++) {
      const { xml } = await portalMessage();
      const forged = xml.replace(/(<ds:SignatureValue>)(.)/, (_m, open: string, c: string) => `${open}${c === 'A' ? 'B' : 'A'}`);
      const res = await post(gw.url, forged);
      expect(faultOf(res.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    }
    expect(await metric(gw, 'okno_rate_limited_total{limit="partner",partner="portal"}')).toBe(0);
  });

  let refused: string[] = [];
  let retryAfter = 0;
  const messagesById = new Map<string, string>();

  it('a burst beyond the limit: the first 3 accepted, the excess QuoteLimitExceeded with Retry-After, nothing stored for it', async () => {
    const messages = await Promise.all(Array.from({ length: 7 }, () => portalMessage()));
    for (const m of messages) messagesById.set(m.messageId, m.xml);
    const before = await inboxMessageIds(gw);
    const answers = await Promise.all(messages.map((m) => post(gw.url, m.xml)));
    const accepted = messages.filter((_m, i) => answers[i]!.status === 200 && answers[i]!.body.includes('requestIsQueued')).map((m) => m.messageId);
    refused = messages.filter((_m, i) => faultOf(answers[i]!.body).fault === 'QuoteLimitExceeded').map((m) => m.messageId);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(4);
    for (const a of answers.filter((r) => faultOf(r.body).fault === 'QuoteLimitExceeded')) {
      expect(a.status).toBe(500);
      expect(a.body).toContain('<faultcode>soap:Client</faultcode>');
      expect(a.body).toMatch(/<f:RemainedTotalQuoteSize>0<\/f:RemainedTotalQuoteSize><f:RealTotalAttachmentSize>0<\/f:RealTotalAttachmentSize>/);
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(a.retryAfter)).toBeLessThanOrEqual(4);
      retryAfter = Math.max(retryAfter, Number(a.retryAfter));
    }
    const after = await inboxMessageIds(gw);
    expect(after.length).toBe(before.length + 3);
    expect(after.filter((id) => !before.includes(id)).sort()).toEqual([...accepted].sort());
    // Journaled, each with the partner and the raw envelope.
    const journaled = await journalFaults(gw, 'QuoteLimitExceeded');
    expect(journaled.every((r) => r.partner === 'portal' && r.succeeded === false && r.direction === 'inbound')).toBe(true);
    const evidence = await Promise.all(journaled.map((r) => gw.gateway.store.getBlob('evidence', (r.evidence as { request: string }).request)));
    const journaledIds = evidence.map((e) => /<(?:\w+:)?MessageID>([^<]+)</.exec(e!.toString('utf8'))?.[1]);
    expect(journaledIds.sort()).toEqual([...refused].sort());
    expect(await metric(gw, 'okno_rate_limited_total{limit="partner",partner="portal"}')).toBe(4);
    expect(await metric(gw, 'okno_messages_total{partner="portal",service="unknown",direction="inbound",operation="SendRequest",outcome="fault"}')).toBeGreaterThanOrEqual(4);
  });

  it("the portal's excess does not touch the agency's quota (its own: the default, 2 at once)", async () => {
    const answers = await Promise.all([agencyMessage(), agencyMessage()].map(async (m) => post(gw.url, (await m).xml)));
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const third = await post(gw.url, (await agencyMessage()).xml);
    expect(faultOf(third.body).fault).toBe('QuoteLimitExceeded');
    expect(await metric(gw, 'okno_rate_limited_total{limit="partner",partner="agency"}')).toBe(1);
  });

  it('after the refill a refused message is accepted as new (it was never stored)', async () => {
    expect(retryAfter).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    const again = messagesById.get(refused[0]!);
    expect(again).toBeDefined();
    const res = await post(gw.url, again!);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('requestIsQueued');
    expect(await inboxMessageIds(gw)).toContain(refused[0]);
    // and the bucket is empty again at once
    expect(faultOf((await post(gw.url, (await portalMessage()).xml)).body).fault).toBe('QuoteLimitExceeded');
  });
});

describe('before verification: per client address and in flight', () => {
  it('RATE_LIMIT_PER_CLIENT refuses the excess of one address before parsing it; counted, not journaled', async () => {
    const gw = await startGateway({ RATE_LIMIT_PER_CLIENT: '15/min:2' });
    try {
      for (let i = 0; i < 2; i++) expect(faultOf((await postSoap(gw.url, '<a/>')).body).fault).toBe('SignatureVerificationFault');
      const journalBefore = (await gw.gateway.store.readFeed('journal', 0, 10_000)).length;
      const third = await post(gw.url, (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' })).xml);
      expect(third.status).toBe(500);
      expect(faultOf(third.body).fault).toBe('QuoteLimitExceeded');
      expect(faultOf(third.body).faultstring).toMatch(/too many messages from 127\.0\.0\.1/);
      expect(Number(third.retryAfter)).toBeGreaterThanOrEqual(1);
      expect((await gw.gateway.store.readFeed('journal', 0, 10_000)).length).toBe(journalBefore);
      expect(await metric(gw, 'okno_rate_limited_total{limit="client",partner="unknown"}')).toBe(1);
      expect(gw.logs.some((l) => l.limit === 'client' && l.outcome === 'rate-limited' && l.refused === 1)).toBe(true);
      // The JSON API and the WSDL are not the SOAP endpoint's quota.
      expect((await fetch(`${gw.url}/ws/smev3?wsdl`)).status).toBe(200);
      expect((await fetch(`${gw.url}/api/v1/inbox`, { headers: { authorization: 'Bearer dev-city-token' } })).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('SOAP_MAX_IN_FLIGHT: a message in processing holds the only slot, the next is refused with SMEVFailure and Retry-After; a trickling body holds none', async () => {
    const redis = await startRedisServer();
    const gw = await startGateway({ SOAP_MAX_IN_FLIGHT: '1', REDIS_URL: redis.url });
    const admin = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    try {
      const message = () => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
      // A client trickling its body: it has a socket, not a processing slot.
      const { xml: slowXml } = await message();
      const slow = http.request(new URL('/ws/smev3', gw.url), { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(Buffer.byteLength(slowXml)) } });
      const slowAnswer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        slow.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
        });
        slow.on('error', reject);
      });
      const slowBytes = Buffer.from(slowXml);
      slow.write(slowBytes.subarray(0, 100));
      const meanwhile = await post(gw.url, (await message()).xml);
      expect(meanwhile.status, meanwhile.body).toBe(200);

      // Redis holds every write for a while: the next message waits in its commit, in processing.
      await admin.call('CLIENT', 'PAUSE', '4000', 'WRITE');
      const held = post(gw.url, (await message()).xml);
      for (let i = 0; i < 150 && (await metric(gw, 'okno_soap_in_flight')) !== 1; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await metric(gw, 'okno_soap_in_flight')).toBe(1);
      const refused = await post(gw.url, (await message()).xml);
      expect(refused.status).toBe(500);
      expect(faultOf(refused.body).fault).toBe('SMEVFailure');
      expect(faultOf(refused.body).faultstring).toMatch(/as many messages as it may at once/);
      expect(refused.retryAfter).toBe('1');
      await admin.call('CLIENT', 'UNPAUSE');
      const first = await held;
      expect(first.status, first.body).toBe(200);
      slow.end(slowBytes.subarray(100));
      expect((await slowAnswer).status).toBe(200);
      const next = await post(gw.url, (await message()).xml);
      expect(next.status, next.body).toBe(200);
      expect(await metric(gw, 'okno_rate_limited_total{limit="in_flight",partner="unknown"}')).toBe(1);
      expect(await metric(gw, 'okno_soap_in_flight')).toBe(0);
    } finally {
      admin.disconnect();
      await gw.close();
      await redis.dispose();
    }
  });
});

describe('WORKERS=2: the workers share the whole limit through Redis', () => {
  it('two keep-alive connections (whichever workers they reach) get the burst between them, once', async () => {
    const redis = await startRedisServer();
    const gw = await startGatewayProcess({
      PORT: '0',
      WORKERS: '2',
      REDIS_URL: redis.url,
      PARTNERS_FILE: registryWith({ portal: { rateLimit: { perSecond: 0.02, burst: 4 } } }),
    }, 60_000);
    const agents = [new http.Agent({ keepAlive: true, maxSockets: 1 }), new http.Agent({ keepAlive: true, maxSockets: 1 })];
    try {
      const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
      const statuses: number[] = [];
      const faults: Array<string | null> = [];
      for (let i = 0; i < 6; i++) {
        const agent = agents[i % 2];
        const { xml } = await signedSendRequest({ catalogue, service: 'advertising-permit' });
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = http.request(new URL('/ws/smev3', gw.url), { method: 'POST', agent, headers: { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(Buffer.byteLength(xml)) } }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
          });
          req.on('error', reject);
          req.end(xml);
        });
        statuses.push(answer.status);
        faults.push(faultOf(answer.body).fault);
      }
      expect(statuses).toEqual([200, 200, 200, 200, 500, 500]);
      expect(faults).toEqual([null, null, null, null, 'QuoteLimitExceeded', 'QuoteLimitExceeded']);
    } finally {
      for (const agent of agents) agent.destroy();
      gw.child.kill('SIGTERM');
      await gw.exited;
      await redis.dispose();
    }
  }, 120_000);
});

describe('limits: configuration and arithmetic', () => {
  it('RATE_LIMIT_PER_PARTNER / RATE_LIMIT_PER_CLIENT: 0 is off, <n>/s or <n>/min with an optional :burst', () => {
    expect(parseRateLimit('50/s')).toEqual({ perSecond: 50, burst: 50 });
    expect(parseRateLimit('50/s:100')).toEqual({ perSecond: 50, burst: 100 });
    expect(parseRateLimit('30/min')).toEqual({ perSecond: 0.5, burst: 1 });
    expect(parseRateLimit('0.5/s:3')).toEqual({ perSecond: 0.5, burst: 3 });
    for (const bad of ['50', '50/h', '-1/s', '0/s', '50/s:0', 'fast']) expect(parseRateLimit(bad), bad).toBeNull();
    expect(loadConfig({}, projectRoot).limits).toEqual({ perPartner: null, perClient: null, maxInFlight: 256, perApiToken: null });
    expect(loadConfig({ API_RATE_LIMIT: '10/s:20' }, projectRoot).limits.perApiToken).toEqual({ perSecond: 10, burst: 20 });
    expect(loadConfig({ RATE_LIMIT_PER_PARTNER: '0', SOAP_MAX_IN_FLIGHT: '0' }, projectRoot).limits).toEqual({ perPartner: null, perClient: null, maxInFlight: 0, perApiToken: null });
    try {
      loadConfig({ RATE_LIMIT_PER_PARTNER: '50/h', RATE_LIMIT_PER_CLIENT: 'lots', SOAP_MAX_IN_FLIGHT: '-3' }, projectRoot);
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        expect.stringMatching(/^RATE_LIMIT_PER_PARTNER: must be 0 \(off\) or <rate>\/s/),
        expect.stringMatching(/^RATE_LIMIT_PER_CLIENT: must be 0 \(off\)/),
        expect.stringMatching(/^SOAP_MAX_IN_FLIGHT: must be a whole number/),
      ]);
    }
  });

  it('the registry checks rateLimit and tlsCertificates and names the path', () => {
    const base = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
    const file = path.join(projectRoot, 'config/partners.json');
    const withChange = (change: Record<string, unknown>) => ({ partners: base.partners.map((p, i) => (i === 0 ? { ...p, ...change } : p)) });
    const problems = (data: unknown) => {
      try {
        parsePartners(data, file);
        return [];
      } catch (error) {
        return (error as PartnerRegistryError).problems;
      }
    };
    expect(problems(withChange({ rateLimit: { perSecond: 0, burst: 1 } }))).toContain('/partners/0/rateLimit/perSecond: must be > 0');
    expect(problems(withChange({ rateLimit: { perSecond: 1 } })).join('\n')).toMatch(/\/partners\/0\/rateLimit: must have required property 'burst'/);
    expect(problems(withChange({ tlsCertificates: [] })).join('\n')).toMatch(/\/partners\/0\/tlsCertificates: must NOT have fewer than 1 items/);
    expect(problems(withChange({ tlsCertificates: ['../certs-sample/agency.crt.pem'] }))).toEqual([
      expect.stringMatching(/^\/partners\/1 \(agency\)\/certificates\/0: the same certificate already identifies "portal" as a TLS client/),
    ]);
    const { registry } = parsePartners(withChange({ rateLimit: null, tlsCertificates: ['../certs-sample/gateway.crt.pem'] }), file);
    expect(registry.get('portal')!.rateLimit).toBeNull();
    expect(registry.get('agency')!.rateLimit).toBeUndefined();
    expect(registry.byTlsCertificate(registry.get('portal')!.tlsCertificates![0]!.fingerprint256)?.id).toBe('portal');
    expect(registry.byTlsCertificate(registry.get('portal')!.certificates[0]!.fingerprint256)).toBeUndefined();
    expect(registry.byTlsCertificate(registry.get('agency')!.certificates[0]!.fingerprint256)?.id).toBe('agency');
  });

  it('a token bucket: burst at once, then perSecond; a full bucket of a key can be forgotten', () => {
    let t = 1_000_000;
    const bucket = new TokenBucket({ perSecond: 2, burst: 3 }, t);
    expect([bucket.take(t), bucket.take(t), bucket.take(t)].every((x) => x.ok)).toBe(true);
    expect(bucket.take(t)).toEqual({ ok: false, retryAfterMs: 500 });
    t += 499;
    expect(bucket.take(t).ok).toBe(false);
    t += 1;
    expect(bucket.take(t).ok).toBe(true);
    t += 10_000;
    expect(bucket.isFull(t)).toBe(true);
    const one = { perSecond: 1, burst: 1 };
    const keyed = new MemoryRateLimiter(() => t, 2);
    expect(keyed.takeNow('a', one).ok).toBe(true);
    expect(keyed.takeNow('a', one).ok).toBe(false);
    expect(keyed.takeNow('b', one).ok).toBe(true);
    t += 5_000;
    expect(keyed.takeNow('c', one).ok).toBe(true); // the full buckets of a and b were swept
    expect(keyed.size).toBe(1);
    // A changed limit (a registry reload) starts a fresh bucket.
    expect(keyed.takeNow('c', one).ok).toBe(false);
    expect(keyed.takeNow('c', { perSecond: 1, burst: 2 }).ok).toBe(true);
  });
});
