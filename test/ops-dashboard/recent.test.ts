/** The dashboard's memory of the last five minutes: 10-second buckets per partner and direction, errors counted apart. */
import { describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/events/messages.js';
import { BUCKET_MS, RecentFlow, WINDOW_MS } from '../../src/ops/dashboard/recent.js';

const event = (at: number, over: Partial<MessageEvent> = {}): MessageEvent => ({
  at: new Date(at).toISOString(),
  direction: 'inbound',
  operation: 'SendRequest',
  partner: 'portal',
  service: 'advertising-permit',
  messageId: null,
  outcome: 'accepted',
  faultCode: null,
  signatureReason: null,
  applicationId: null,
  registrationNumber: null,
  durationMs: 1,
  stages: {},
  ...over,
});

describe('RecentFlow', () => {
  it('counts per partner, direction and 10-second bucket; faults, refusals and retries are errors', () => {
    let now = 1_000_000_000_000;
    const flow = new RecentFlow(() => now);
    flow.add(event(now));
    flow.add(event(now + 1, { outcome: 'fault', faultCode: 'InvalidContent' }));
    flow.add(event(now + 2, { direction: 'outbound', outcome: 'refused' }));
    flow.add(event(now + 3, { direction: 'outbound', outcome: 'delivered' }));
    flow.add(event(now + 4, { partner: null, outcome: 'fault' }));
    flow.add(event(now + 5, { outcome: 'duplicate' }));
    const s = flow.snapshot();
    expect(s.bucketMs).toBe(BUCKET_MS);
    expect(s.buckets.map((b) => [b.partner, b.direction, b.total, b.errors])).toEqual([
      ['portal', 'inbound', 3, 1],
      ['portal', 'outbound', 2, 1],
      [null, 'inbound', 1, 1],
    ]);
    expect(s.events).toHaveLength(6);
    now += WINDOW_MS + 2 * BUCKET_MS;
    expect(flow.snapshot().buckets).toEqual([]);
  });

  it('keeps only the latest 50 events', () => {
    const flow = new RecentFlow(() => 0);
    for (let i = 0; i < 120; i++) flow.add(event(i, { messageId: String(i) }));
    const s = flow.snapshot();
    expect(s.events).toHaveLength(50);
    expect(s.events[0]!.messageId).toBe('70');
    expect(s.buckets).toEqual([{ t: 0, partner: 'portal', exchange: null, direction: 'inbound', total: 120, errors: 0 }]);
  });
});
