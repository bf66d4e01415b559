/** src/flows/freshness.ts: how old (or how far ahead) a MessageID or a GetStatus Timestamp may be. */
import { describe, expect, it } from 'vitest';
import { checkMessageIdFresh, checkTimestampFresh, CLOCK_SKEW_MS, GETSTATUS_MAX_AGE_MS } from '../../src/flows/freshness.js';
import { SmevFault } from '../../src/soap/faults.js';
import { uuidV1 } from '../../src/soap/message-id.js';
import { parseXml } from '../../src/xml/parser.js';
import { uuidV1At } from '../helpers/flow-context.js';

const HOUR = 3_600_000;
const now = new Date('2026-12-07T12:00:00.000Z');

function faultOf(run: () => void): SmevFault | null {
  try {
    run();
    return null;
  } catch (error) {
    if (!(error instanceof SmevFault)) throw error;
    return error;
  }
}

const timestamp = (value: string) => parseXml(`<Timestamp xmlns="urn:t">${value}</Timestamp>`).root;

describe('checkMessageIdFresh', () => {
  it('accepts a MessageID made now, within the age window, and up to the skew ahead', () => {
    expect(faultOf(() => checkMessageIdFresh(uuidV1At(now), now, 72))).toBeNull();
    expect(faultOf(() => checkMessageIdFresh(uuidV1At(new Date(now.getTime() - 72 * HOUR + 1000)), now, 72))).toBeNull();
    expect(faultOf(() => checkMessageIdFresh(uuidV1At(new Date(now.getTime() + CLOCK_SKEW_MS)), now, 72))).toBeNull();
  });

  it('refuses older than the window with StaleMessageId, saying when it was made', () => {
    const id = uuidV1At(new Date(now.getTime() - 73 * HOUR));
    const fault = faultOf(() => checkMessageIdFresh(id, now, 72));
    expect(fault?.fault).toBe('StaleMessageId');
    expect(fault?.message).toBe(`MessageID ${id} was made at 2026-12-04T11:00:00.000Z, more than 72 h ago; give the message a new MessageID`);
    // The window is the caller's (MESSAGE_MAX_AGE_HOURS).
    expect(faultOf(() => checkMessageIdFresh(id, now, 74))).toBeNull();
  });

  it('refuses further ahead than the skew allowance, pointing at the sender\'s clock', () => {
    const fault = faultOf(() => checkMessageIdFresh(uuidV1At(new Date(now.getTime() + CLOCK_SKEW_MS + 1000)), now, 72));
    expect(fault?.fault).toBe('StaleMessageId');
    expect(fault?.message).toMatch(/in the future by the gateway's clock \(2026-12-07T12:00:00.000Z\); check the sender's clock$/);
  });

  it('leaves what is not a version-1 UUID to the format check', () => {
    expect(faultOf(() => checkMessageIdFresh('6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d', now, 72))).toBeNull();
    expect(faultOf(() => checkMessageIdFresh(uuidV1(), new Date(), 1))).toBeNull();
  });
});

describe('checkTimestampFresh', () => {
  it('accepts a Timestamp close to now, with or without a zone', () => {
    expect(faultOf(() => checkTimestampFresh(timestamp('2026-12-07T12:00:00Z'), now))).toBeNull();
    expect(faultOf(() => checkTimestampFresh(timestamp(' 2026-12-07T14:55:00.123+03:00 '), now))).toBeNull();
  });

  it('refuses one older than GETSTATUS_MAX_AGE plus the skew, or ahead by more than the skew, with InvalidContent', () => {
    const old = new Date(now.getTime() - GETSTATUS_MAX_AGE_MS - CLOCK_SKEW_MS - 1000).toISOString();
    const fault = faultOf(() => checkTimestampFresh(timestamp(old), now));
    expect(fault?.fault).toBe('InvalidContent');
    expect(fault?.message).toBe(`Timestamp ${old} is older than 15 min; sign a new request`);
    const edge = new Date(now.getTime() - GETSTATUS_MAX_AGE_MS - CLOCK_SKEW_MS + 1000).toISOString();
    expect(faultOf(() => checkTimestampFresh(timestamp(edge), now))).toBeNull();
    const ahead = new Date(now.getTime() + CLOCK_SKEW_MS + 1000).toISOString();
    expect(faultOf(() => checkTimestampFresh(timestamp(ahead), now))?.message).toMatch(/is in the future by the gateway's clock/);
  });

  it('refuses what is not an xs:dateTime, naming the element', () => {
    for (const bad of ['yesterday', '2026-12-07', '2026-13-45T99:00:00Z', '']) {
      const fault = faultOf(() => checkTimestampFresh(timestamp(bad), now));
      expect(fault?.fault, bad).toBe('InvalidContent');
      expect(fault?.message).toBe('Timestamp is not an xs:dateTime');
    }
  });
});
