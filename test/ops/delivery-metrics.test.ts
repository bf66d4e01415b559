/**
 * Retries and dead letters in /metrics: a status for the portal while the
 * portal's port is closed is retried (each attempt an outbound "retry"
 * message) until its attempts are used up and it goes dead.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { CITY, postSoap, signedSendRequest } from '../helpers/smev.js';
import { scrape, total } from './prom-text.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const MAX_ATTEMPTS = 4;

describe('delivery retries and dead letters', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    const closed = await freePort();
    gw = await startGateway({
      PORTAL_URL: `http://127.0.0.1:${closed}/ws/smev3`,
      DELIVERY_BACKOFF_MS: '20',
      DELIVERY_BACKOFF_CAP_MS: '50',
      DELIVERY_TIMEOUT_MS: '500',
      DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    });
  });
  afterAll(() => gw?.close());

  it('counts each retry and the dead letter of the portal-status queue', async () => {
    const service = 'advertising-permit';
    const content = { ...(JSON.parse(readFileSync(path.join(projectRoot, 'config/services', service, 'example.request.person.json'), 'utf8')) as object), orderId: 7100000001 };
    const { xml, messageId } = await signedSendRequest({ catalogue, service, content });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
    const applicationId = inbox.items.find((i) => i.messageId === messageId)!.applicationId;

    const before = await scrape(gw.url);
    const res = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, {
      method: 'POST',
      headers: { ...CITY, 'content-type': 'application/json' },
      body: JSON.stringify({ code: 'registered' }),
    });
    expect(res.status).toBe(202);

    const deadline = Date.now() + 20_000;
    let after = await scrape(gw.url);
    while (total(after, 'okno_dead_letters_total', { queue: 'portal-status' }) === 0 && Date.now() < deadline) {
      await sleep(50);
      after = await scrape(gw.url);
    }
    const delta = (name: string, labels: Record<string, string>) => total(after, name, labels) - total(before, name, labels);
    expect(delta('okno_dead_letters_total', { queue: 'portal-status' })).toBe(1);
    // Every attempt but the last was put back for another.
    expect(delta('okno_delivery_retries_total', { queue: 'portal-status' })).toBe(MAX_ATTEMPTS - 1);
    expect(delta('okno_messages_total', { partner: 'portal', direction: 'outbound', operation: 'SendRequest', outcome: 'retry' })).toBe(MAX_ATTEMPTS);
    expect(delta('okno_stage_seconds_count', { stage: 'deliver' })).toBe(MAX_ATTEMPTS);
    expect(total(after, 'okno_queue_depth', { queue: 'portal-status', state: 'dead' })).toBe(1);
    for (const queue of ['agency-queries', 'city-responses']) {
      expect(delta('okno_delivery_retries_total', { queue })).toBe(0);
      expect(delta('okno_dead_letters_total', { queue })).toBe(0);
    }
  });
});
