/**
 * Every certificate the gateway uses, with what it is for — one list for the
 * readiness check `certificates` and the metric okno_certificate_expiry_days:
 * the gateway's signing certificate (the one in use now: it follows key
 * reloads), the HTTPS listener's, the outbound TLS client certificate, the
 * partners' signing and TLS client certificates, the exchanges', and the
 * trust anchors (CA certificates).
 */
import type { PartnerRegistry } from '../registry/partners.js';
import type { Certificate } from '../pki/certificate.js';
import type { CheckOutcome } from './readiness.js';

export type CertificateRole = 'gateway' | 'https' | 'outbound-tls' | 'partner' | 'partner-tls' | 'exchange' | 'ca';

/** The `owner` of the gateway's own certificates (the metric's partner="self"). */
export const SELF = 'self';
/** The `owner` of the trust anchors. */
export const TRUST = 'trust';

export interface CertificateInUse {
  role: CertificateRole;
  /** SELF, TRUST, a partner id or an exchange id. */
  owner: string;
  subject: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateSources {
  /** The gateway's signing certificate in use now. */
  gateway: () => Certificate;
  https?: Certificate | null;
  outboundTls?: Certificate | null;
  partners: PartnerRegistry;
  trustAnchors: readonly Certificate[];
}

/** The current list (call it per scrape or probe: the gateway's entry follows reloads). */
export function certificatesInUse(s: CertificateSources): CertificateInUse[] {
  const entry = (role: CertificateRole, owner: string, c: Certificate): CertificateInUse => ({ role, owner, subject: c.subject, serial: c.serialHex, notBefore: c.notBefore, notAfter: c.notAfter });
  const list: CertificateInUse[] = [entry('gateway', SELF, s.gateway())];
  if (s.https) list.push(entry('https', SELF, s.https));
  if (s.outboundTls) list.push(entry('outbound-tls', SELF, s.outboundTls));
  for (const p of s.partners.partners) {
    for (const c of p.certificates) list.push(entry('partner', p.id, c.certificate));
    for (const c of p.tlsCertificates ?? []) list.push(entry('partner-tls', p.id, c.certificate));
  }
  for (const e of s.partners.exchanges) for (const c of e.certificates) list.push(entry('exchange', e.id, c.certificate));
  for (const c of s.trustAnchors) list.push(entry('ca', TRUST, c));
  return list;
}

const DAY = 86_400_000;

/**
 * The readiness check: pass when nothing expires within `warnDays`; warn
 * listing what does (and what has expired: a partner's expired certificate is
 * that partner's problem); fail only when the gateway's own signing
 * certificate has expired or is not yet valid (every reply would be refused).
 */
export function certificateExpiryCheck(list: readonly CertificateInUse[], now: Date, warnDays: number): CheckOutcome {
  const soon: Array<Record<string, unknown>> = [];
  let fail = false;
  for (const c of list) {
    const days = Math.floor((c.notAfter.getTime() - now.getTime()) / DAY);
    const notYet = now < c.notBefore;
    if (days >= warnDays && !notYet) continue;
    if (c.role === 'gateway' && (days < 0 || notYet)) fail = true;
    soon.push({ role: c.role, owner: c.owner, subject: c.subject, serial: c.serial, notAfter: c.notAfter.toISOString(), daysUntilExpiry: days, ...(notYet ? { notBefore: c.notBefore.toISOString() } : {}) });
  }
  if (soon.length === 0) return { status: 'pass', detail: `${list.length} certificates in use, none expires within ${warnDays} days`, warnDays, expiring: [] };
  const describe = (e: Record<string, unknown>) =>
    `${String(e.role)}${e.owner === SELF || e.owner === TRUST ? '' : ` of ${String(e.owner)}`} "${String(e.subject)}" ${e.notBefore ? `not valid before ${String(e.notBefore)}` : (e.daysUntilExpiry as number) < 0 ? `expired on ${String(e.notAfter)}` : `expires on ${String(e.notAfter)} (${String(e.daysUntilExpiry)} days)`}`;
  return {
    status: fail ? 'fail' : 'warn',
    detail: `${soon.length} of ${list.length} certificates expire within ${warnDays} days or are out of date: ${soon.map(describe).join('; ')}`,
    warnDays,
    expiring: soon,
  };
}
