/** The 24-hour series: 5-minute buckets per partner in the store's counters, p95 from a fixed histogram, expiry after 25 h. */
import { describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/events/messages.js';
import { LATENCY_BOUNDS_MS, p95, SERIES_BUCKET_MS, SERIES_TTL_MS, SeriesRecorder } from '../../src/ops/dashboard/series.js';
import { RecentFlow } from '../../src/ops/dashboard/recent.js';
import { MemoryStore } from '../../src/store/index.js';

const event = (at: number, over: Partial<MessageEvent> = {}): MessageEvent => ({
  at: new Date(at).toISOString(), direction: 'inbound', operation: 'SendRequest', partner: 'portal', service: 's', messageId: null, outcome: 'accepted',
  faultCode: null, signatureReason: null, applicationId: null, registrationNumber: null, durationMs: 30, stages: {}, ...over,
});

describe('SeriesRecorder', () => {
  it('counts messages and errors per partner and bucket; exchange traffic has its own line; p95 is a histogram bound', async () => {
    let now = Date.UTC(2026, 11, 7, 12, 0, 0);
    const store = new MemoryStore({ clock: { now: () => now } });
    const series = new SeriesRecorder(store, () => now);
    for (let i = 0; i < 19; i++) series.add(event(now - SERIES_BUCKET_MS, { durationMs: 8 }));
    series.add(event(now - SERIES_BUCKET_MS, { durationMs: 4000, outcome: 'fault' }));
    series.add(event(now, { partner: null, exchange: 'smev', direction: 'outbound', operation: 'Ack', outcome: 'delivered' }));
    series.add(event(now, { partner: null }));
    const s = await series.read();
    expect(s.partners.map((p) => p.partner)).toEqual(['(unknown)', 'exchange:smev', 'portal']);
    const portal = s.partners.find((p) => p.partner === 'portal')!.points;
    expect(portal).toHaveLength(288);
    expect(portal.at(-2)).toMatchObject({ messages: 20, errors: 1, p95Ms: 10 });
    expect(portal.at(-1)).toMatchObject({ messages: 0, errors: 0, p95Ms: null });
    expect(s.partners.find((p) => p.partner === 'exchange:smev')!.points.at(-1)).toMatchObject({ messages: 1, errors: 0 });
    // Gone once the TTL has passed.
    now += SERIES_TTL_MS + 1;
    expect((await series.read()).partners).toEqual([]);
  });

  it('p95 is the upper bound of the bucket that holds the 95th percentile', () => {
    const h = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
    expect(p95(h)).toBeNull();
    h[0] = 95;
    h[5] = 5;
    expect(p95(h)).toBe(LATENCY_BOUNDS_MS[0]);
    h[5] = 6;
    expect(p95(h)).toBe(LATENCY_BOUNDS_MS[5]);
  });
});

describe('RecentFlow polls', () => {
  it('counts polls per exchange over one and five minutes, failures apart', () => {
    let now = 1_000_000_000_000;
    const flow = new RecentFlow(() => now);
    flow.addPoll({ at: new Date(now - 4 * 60_000).toISOString(), exchange: 'smev', operation: 'GetRequest', outcome: 'empty' });
    flow.addPoll({ at: new Date(now).toISOString(), exchange: 'smev', operation: 'GetRequest', outcome: 'failed' });
    flow.addPoll({ at: new Date(now).toISOString(), exchange: 'smev', operation: 'GetStatus', outcome: 'message' });
    expect(flow.pollCounts()).toEqual([{ exchange: 'smev', polls1m: 2, polls5m: 3, failed1m: 1, failed5m: 1, lastPollAt: new Date(now).toISOString() }]);
    now += 10 * 60_000;
    expect(flow.pollCounts()).toEqual([]);
  });
});
