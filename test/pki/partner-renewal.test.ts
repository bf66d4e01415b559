/**
 * A partner renews its certificate: during the overlap the registry lists
 * both (`certificates` takes several), so messages signed with either are
 * accepted and attributed to the partner, and one signed with a certificate
 * the same CA issued to nobody registered is refused. The old certificate,
 * close to its end, is listed by /ready (`certificates`, a warning: it is only
 * that partner's problem) and by okno_certificate_expiry_days.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';
import { issueCertificate, tempDir, type IssuedPem } from '../helpers/tls-pki.js';

const signerOf = (c: IssuedPem) => new LocalKeySigner(createPrivateKey(c.keyPem), c.certPem);

describe('a partner registered with its old and its new certificate', () => {
  let dir: string;
  let oldCert: IssuedPem;
  let newCert: IssuedPem;
  let stranger: IssuedPem;
  let gw: RunningGateway;

  beforeAll(async () => {
    dir = tempDir('okno-partner-renewal-');
    oldCert = issueCertificate(dir, { cn: 'portal-2024', days: 10 });
    newCert = issueCertificate(dir, { cn: 'portal-2025', days: 400 });
    stranger = issueCertificate(dir, { cn: 'portal-impostor', days: 400 });
    const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
    for (const p of registry.partners) {
      p.certificates = p.id === 'portal' ? [oldCert.certFile, newCert.certFile] : (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
    }
    writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(registry));
    gw = await startGateway({ PARTNERS_FILE: path.join(dir, 'partners.json') });
  });
  afterAll(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = async (c: IssuedPem) => {
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: signerOf(c) });
    return postSoap(gw.url, xml);
  };

  it('accepts a message signed with the old certificate and one signed with the new', async () => {
    for (const c of [oldCert, newCert]) {
      const res = await send(c);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toContain('requestIsQueued');
    }
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox`, { headers: { authorization: 'Bearer dev-city-token' } })).json()) as { items: Array<{ partner: string }> };
    expect(inbox.items.map((i) => i.partner)).toEqual(['portal', 'portal']);
  });

  it('refuses one signed with a certificate registered to nobody, though the same CA issued it', async () => {
    const res = await send(stranger);
    expect(res.status).toBe(500);
    expect(faultOf(res.body).fault).toBe('SenderIsNotRegistered');
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox`, { headers: { authorization: 'Bearer dev-city-token' } })).json()) as { items: unknown[] };
    expect(inbox.items).toHaveLength(2);
  });

  it('/ready and the metric warn that the old certificate ends soon, without failing', async () => {
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { status: string; checks: Array<{ name: string; status: string; detail: string; expiring?: Array<Record<string, unknown>> }> };
    expect(ready.status).toBe('ready');
    const check = ready.checks.find((c) => c.name === 'certificates')!;
    expect(check.status).toBe('warn');
    expect(check.expiring).toEqual([expect.objectContaining({ role: 'partner', owner: 'portal', subject: expect.stringMatching(/CN=portal-2024/), daysUntilExpiry: 9 })]);
    expect(check.detail).toMatch(/partner of portal "[^"]*CN=portal-2024" expires on .* \(9 days\)/);
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const series = metrics.split('\n').filter((l) => l.startsWith('okno_certificate_expiry_days{') && l.includes('partner="portal"'));
    expect(series).toHaveLength(2);
    const days = (cn: string) => Number(series.find((l) => l.includes(`CN=${cn}`))!.split(' ').pop());
    expect(days('portal-2024')).toBeGreaterThan(9);
    expect(days('portal-2024')).toBeLessThan(10.01);
    expect(days('portal-2025')).toBeGreaterThan(399);
  });
});
