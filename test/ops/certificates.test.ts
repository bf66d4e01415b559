/**
 * The `certificates` readiness check (ops/certificates.ts): every certificate
 * in use, warned about within CERT_EXPIRY_WARNING_DAYS of its end; only the
 * gateway's own signing certificate, once out of date, fails it.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { certificateExpiryCheck, type CertificateInUse } from '../../src/ops/certificates.js';
import { projectRoot } from '../helpers/gateway.js';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const cert = (role: CertificateInUse['role'], owner: string, days: number, notBeforeDays = -100): CertificateInUse => ({
  role,
  owner,
  subject: `CN=${role}-${owner}`,
  serial: '01',
  notBefore: new Date(NOW.getTime() + notBeforeDays * DAY),
  notAfter: new Date(NOW.getTime() + days * DAY),
});

describe('the certificates check', () => {
  it('passes when nothing ends within the warning period', () => {
    expect(certificateExpiryCheck([cert('gateway', 'self', 400), cert('ca', 'trust', 31)], NOW, 30)).toMatchObject({ status: 'pass', expiring: [] });
  });

  it('warns listing every certificate within the period, whatever its role, and expired ones of partners', () => {
    const list = [cert('gateway', 'self', 400), cert('https', 'self', 29), cert('outbound-tls', 'self', 5), cert('partner', 'portal', -3), cert('partner-tls', 'agency', 1), cert('exchange', 'smev', 12), cert('ca', 'trust', 20)];
    const outcome = certificateExpiryCheck(list, NOW, 30);
    expect(outcome.status).toBe('warn');
    expect((outcome.expiring as Array<{ role: string }>).map((e) => e.role)).toEqual(['https', 'outbound-tls', 'partner', 'partner-tls', 'exchange', 'ca']);
    expect(outcome.detail).toMatch(/^6 of 7 certificates expire within 30 days or are out of date: https "CN=https-self" expires on .* \(29 days\); /);
    expect(outcome.detail).toContain('partner of portal "CN=partner-portal" expired on');
  });

  it('fails when the gateway’s own signing certificate has expired or is not valid yet', () => {
    expect(certificateExpiryCheck([cert('gateway', 'self', -1)], NOW, 30).status).toBe('fail');
    expect(certificateExpiryCheck([cert('gateway', 'self', 400, 2)], NOW, 30)).toMatchObject({ status: 'fail', detail: expect.stringMatching(/not valid before/) });
  });

  it('takes its period from CERT_EXPIRY_WARNING_DAYS (30 by default)', () => {
    expect(loadConfig({}, projectRoot).certExpiryWarningDays).toBe(30);
    expect(loadConfig({ CERT_EXPIRY_WARNING_DAYS: '60' }, projectRoot).certExpiryWarningDays).toBe(60);
    expect(certificateExpiryCheck([cert('ca', 'trust', 45)], NOW, 60).status).toBe('warn');
    expect(() => loadConfig({ CERT_EXPIRY_WARNING_DAYS: 'soon' }, projectRoot)).toThrow(ConfigError);
    expect(() => loadConfig({ CERT_EXPIRY_WARNING_DAYS: 'soon' }, projectRoot)).toThrow(/CERT_EXPIRY_WARNING_DAYS/);
  });
});
