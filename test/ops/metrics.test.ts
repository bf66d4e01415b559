/**
 * GET /metrics through a real gateway: the exposition parses, message
 * counters move by exactly the number of messages under the right labels,
 * stage histograms fill, signature failures are counted by reason, queue
 * gauges and certificate expiry are there, and no label carries a message id.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { scrape, select, total, type Exposition } from './prom-text.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const SERVICE = 'advertising-permit';
const QUEUES = ['portal-status', 'agency-queries', 'query-deadlines', 'city-responses', 'city-webhook'];

const accepted = { partner: 'portal', service: SERVICE, direction: 'inbound', operation: 'SendRequest', outcome: 'accepted' };
const fault = { partner: 'unknown', service: 'unknown', direction: 'inbound', operation: 'SendRequest', outcome: 'fault' };

describe('GET /metrics', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(() => gw?.close());

  it('answers in the Prometheus text format, without a token', async () => {
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    await res.text();
  });

  it('counts accepted, duplicate and refused messages exactly, with stage timings and signature reasons', async () => {
    const before = await scrape(gw.url);
    const messageIds: string[] = [];

    for (let i = 0; i < 3; i++) {
      const { xml, messageId } = await signedSendRequest({ catalogue, service: SERVICE });
      messageIds.push(messageId);
      const res = await postSoap(gw.url, xml);
      expect(res.status, res.body).toBe(200);
      if (i === 0) expect((await postSoap(gw.url, xml)).status).toBe(200); // a duplicate
    }
    // Tampered after signing: the digest no longer matches.
    for (let i = 0; i < 2; i++) {
      const { xml, messageId } = await signedSendRequest({ catalogue, service: SERVICE });
      messageIds.push(messageId);
      const res = await postSoap(gw.url, xml.replace(/<OrderId>(\d)/, (_a, d: string) => `<OrderId>${d === '1' ? '2' : '1'}`));
      expect(res.status).toBe(500);
      expect(faultOf(res.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    }
    // Signed by a certificate nobody trusts.
    const untrusted = await signedSendRequest({ catalogue, service: SERVICE, signer: sampleSigner('untrusted') });
    const refused = await postSoap(gw.url, untrusted.xml);
    expect(faultOf(refused.body).fault).toBe('SignatureVerificationFault');
    const untrustedReason = faultOf(refused.body).reason!;

    const after = await scrape(gw.url);
    const delta = (name: string, labels: Record<string, string>) => total(after, name, labels) - total(before, name, labels);

    expect(delta('okno_messages_total', accepted)).toBe(3);
    expect(delta('okno_messages_total', { ...accepted, outcome: 'duplicate' })).toBe(1);
    expect(delta('okno_messages_total', fault)).toBe(3);
    expect(delta('okno_messages_total', {})).toBe(7);
    const reasons = ['SignatureIsInvalid', 'SignatureIsInvalid', untrustedReason];
    for (const reason of new Set(reasons)) expect(delta('okno_signature_failures_total', { reason }), reason).toBe(reasons.filter((r) => r === reason).length);
    expect(delta('okno_signature_failures_total', {})).toBe(3);

    // Every message was parsed and verified; the accepted ones (and the duplicate) were also translated and stored.
    expect(delta('okno_stage_seconds_count', { stage: 'parse' })).toBe(7);
    expect(delta('okno_stage_seconds_count', { stage: 'verify' })).toBe(7);
    expect(delta('okno_stage_seconds_count', { stage: 'translate' })).toBeGreaterThanOrEqual(3);
    expect(delta('okno_stage_seconds_count', { stage: 'store' })).toBeGreaterThanOrEqual(3);
    expect(total(after, 'okno_stage_seconds_sum', { stage: 'verify' })).toBeGreaterThan(0);
    const inf = select(after, 'okno_stage_seconds_bucket', { stage: 'parse', le: '+Inf' })[0]!;
    expect(inf.value).toBe(total(after, 'okno_stage_seconds_count', { stage: 'parse' }));
    expect(delta('okno_message_seconds_count', { direction: 'inbound', operation: 'SendRequest' })).toBe(7);

    // Bounded labels only: never a message id.
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const id of messageIds) expect(text).not.toContain(id);
  });

  it('declares each metric with its type', async () => {
    const exp = await scrape(gw.url);
    expect(exp.types.get('okno_messages_total')).toBe('counter');
    expect(exp.types.get('okno_stage_seconds')).toBe('histogram');
    expect(exp.types.get('okno_message_seconds')).toBe('histogram');
    expect(exp.types.get('okno_signature_failures_total')).toBe('counter');
    expect(exp.types.get('okno_delivery_retries_total')).toBe('counter');
    expect(exp.types.get('okno_dead_letters_total')).toBe('counter');
    expect(exp.types.get('okno_queue_depth')).toBe('gauge');
    expect(exp.types.get('okno_queue_oldest_open_age_seconds')).toBe('gauge');
    expect(exp.types.get('okno_certificate_expiry_days')).toBe('gauge');
    // prom-client's process metrics, with the okno_ prefix
    expect(exp.types.get('okno_process_cpu_user_seconds_total')).toBe('counter');
    expect(select(exp, 'okno_nodejs_heap_size_used_bytes').length).toBe(1);
  });

  it('reports every queue by state, its oldest open item, and whether the store answered', async () => {
    const exp = await scrape(gw.url);
    for (const queue of QUEUES) {
      expect(select(exp, 'okno_queue_depth', { queue }).map((s) => s.labels.state).sort()).toEqual(['dead', 'done', 'due', 'inflight', 'pending', 'waiting']);
      expect(select(exp, 'okno_queue_oldest_open_age_seconds', { queue })).toHaveLength(1);
      expect(total(exp, 'okno_queue_stats_up', { queue })).toBe(1);
      expect(select(exp, 'okno_delivery_retries_total', { queue })).toHaveLength(1);
      expect(select(exp, 'okno_dead_letters_total', { queue })).toHaveLength(1);
    }
  });

  it('reports days until the gateway’s and each partner’s certificate expires', async () => {
    const exp = await scrape(gw.url);
    const own = select(exp, 'okno_certificate_expiry_days', { role: 'gateway' });
    expect(own).toHaveLength(1);
    expect(own[0]!.labels.subject).toMatch(/CN=okno-gateway/);
    expect(own[0]!.value).toBeGreaterThan(5 * 365);
    for (const partner of gw.gateway.partners.partners) {
      const certs = select(exp, 'okno_certificate_expiry_days', { partner: partner.id, role: 'partner' });
      expect(certs).toHaveLength(partner.certificates.length);
      for (const c of certs) expect(c.value).toBeGreaterThan(0);
    }
    // The trust anchors too.
    const anchors = select(exp, 'okno_certificate_expiry_days', { role: 'ca' });
    expect(anchors.map((a) => a.labels.subject)).toEqual([expect.stringMatching(/CN=Okno Test CA/)]);
    expect(anchors[0]!.labels.partner).toBe('trust');
  });

  it('shows a store that does not answer as okno_queue_stats_up 0 instead of hanging the scrape', async () => {
    const store = gw.gateway.store;
    const original = store.queue.bind(store);
    store.queue = (name) => {
      const q = original(name);
      return Object.assign(Object.create(q) as typeof q, { stats: () => new Promise<never>(() => {}) });
    };
    try {
      const started = Date.now();
      const exp: Exposition = await scrape(gw.url);
      expect(Date.now() - started).toBeLessThan(10_000);
      for (const queue of QUEUES) {
        expect(total(exp, 'okno_queue_stats_up', { queue })).toBe(0);
        expect(select(exp, 'okno_queue_depth', { queue })).toHaveLength(0);
      }
      expect(select(exp, 'okno_messages_total').length).toBeGreaterThan(0);
    } finally {
      store.queue = original;
    }
  });
});
