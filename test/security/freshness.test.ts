/** Freshness rules and the new variables, below HTTP (the HTTP cases are in hostile-soap.test.ts). */
import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../src/config/env.js';
import { checkMessageIdFresh, CLOCK_SKEW_MS } from '../../src/flows/freshness.js';
import { SmevFault } from '../../src/soap/faults.js';
import { uuidV1, uuidV1Time } from '../../src/soap/message-id.js';
import { uuidV1At } from './envelopes.js';

const HOUR = 3_600_000;

describe('MessageID time', () => {
  it('uuidV1Time reads back the time a version-1 UUID was made (ms precision)', () => {
    const at = new Date('2026-11-23T12:34:56.789Z');
    expect(uuidV1Time(uuidV1At(at))).toEqual(at);
    const now = Date.now();
    expect(Math.abs(uuidV1Time(uuidV1())!.getTime() - now)).toBeLessThan(1000);
    expect(uuidV1Time('6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d')).toBeNull();
  });

  it('refuses older than the window and further ahead than the skew allowance, with StaleMessageId', () => {
    const now = new Date();
    const fault = (id: string) => {
      try {
        checkMessageIdFresh(id, now, 72);
        return null;
      } catch (error) {
        return (error as SmevFault).fault;
      }
    };
    expect(fault(uuidV1At(new Date(now.getTime() - 71 * HOUR)))).toBeNull();
    expect(fault(uuidV1At(new Date(now.getTime() - 73 * HOUR)))).toBe('StaleMessageId');
    expect(fault(uuidV1At(new Date(now.getTime() + CLOCK_SKEW_MS - 1000)))).toBeNull();
    expect(fault(uuidV1At(new Date(now.getTime() + CLOCK_SKEW_MS + 1000)))).toBe('StaleMessageId');
  });
});

describe('MESSAGE_MAX_AGE_HOURS and CRL_FILES', () => {
  it('defaults: 72 hours, no CRLs', () => {
    const c = loadConfig({}, '/srv/okno');
    expect(c.messageMaxAgeHours).toBe(72);
    expect(c.crlFiles).toEqual([]);
  });

  it('CRL_FILES is a comma-separated list resolved against the working directory', () => {
    expect(loadConfig({ CRL_FILES: 'crl/a.pem, /etc/okno/b.crl ,' }, '/srv/okno').crlFiles).toEqual(['/srv/okno/crl/a.pem', '/etc/okno/b.crl']);
  });

  it('a bad MESSAGE_MAX_AGE_HOURS is named', () => {
    expect(() => loadConfig({ MESSAGE_MAX_AGE_HOURS: '0' }, '/srv/okno')).toThrow(ConfigError);
    expect(() => loadConfig({ MESSAGE_MAX_AGE_HOURS: 'a day' }, '/srv/okno')).toThrow(/MESSAGE_MAX_AGE_HOURS: must be a whole number from 1 to 8760, got "a day"/);
  });
});
