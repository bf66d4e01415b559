/**
 * HTTPS and the TLS client certificate on the SOAP endpoint, over real TLS on
 * loopback: certificates are issued at test time by the sample CA. With
 * TLS_CLIENT_AUTH the connection's certificate must belong to the partner
 * whose certificate signed the message (its tlsCertificates, or its signing
 * certificates when it lists none); anything else is AccessDenied, journaled,
 * with nothing stored. The JSON API on the same listener keeps its tokens.
 */
import https from 'node:https';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { spawnGateway, startGatewayProcess } from '../helpers/process.js';
import { issueCertificate, sampleIdentity, SAMPLE_CA_PEM, tempDir, type IssuedPem } from '../helpers/tls-pki.js';

interface ClientIdentity {
  certPem: string;
  keyPem: string;
}

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request on a fresh connection (no session reuse between identities). */
function request(url: string, o: { method?: string; path: string; client?: ClientIdentity | null; headers?: Record<string, string>; body?: string }): Promise<Answer> {
  const target = new URL(o.path, url);
  return new Promise((resolve, reject) => {
    const req = https.request(
      target,
      {
        method: o.method ?? 'GET',
        agent: false,
        ca: SAMPLE_CA_PEM(),
        ...(o.client ? { cert: o.client.certPem, key: o.client.keyPem } : {}),
        headers: { ...(o.body !== undefined ? { 'content-type': 'text/xml; charset=utf-8', 'content-length': String(Buffer.byteLength(o.body)) } : {}), ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(o.body);
  });
}

const postSoapTls = (url: string, xml: string, client: ClientIdentity | null) => request(url, { method: 'POST', path: '/ws/smev3', client, body: xml, headers: { soapaction: 'urn:SendRequest' } });

async function lastJournal(gw: RunningGateway): Promise<Record<string, unknown> | null> {
  const [last] = await gw.gateway.store.readFeedBackwards('journal', Number.MAX_SAFE_INTEGER, 1);
  return last ? ((await gw.gateway.store.getDoc('journal', last.id)) as Record<string, unknown> | null) : null;
}

const inboxSize = async (gw: RunningGateway) => (await gw.gateway.store.readFeed('inbox', 0, 10_000)).length;

interface Pki {
  dir: string;
  server: IssuedPem;
  agencyTls: IssuedPem;
  stranger: IssuedPem;
  rogue: IssuedPem;
  expired: IssuedPem;
  registry: string;
}

/** Server certificate, partner TLS certificates and a registry where the agency lists its own TLS certificate. */
function makePki(): Pki {
  const dir = tempDir('okno-tls-');
  const server = issueCertificate(dir, { cn: 'okno-tls-server', loopback: true });
  const agencyTls = issueCertificate(dir, { cn: 'agency-tls-client' });
  const stranger = issueCertificate(dir, { cn: 'stranger-tls-client' });
  const rogue = issueCertificate(dir, { cn: 'rogue-tls-client', selfSigned: true });
  const expired = issueCertificate(dir, { cn: 'expired-tls-client', days: -1 });
  const base = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<Record<string, unknown>> };
  for (const p of base.partners) {
    p.certificates = (p.certificates as string[]).map((c) => path.resolve(projectRoot, 'config', c));
    if (p.id === 'agency') p.tlsCertificates = [agencyTls.certFile];
  }
  const registry = path.join(dir, 'partners.json');
  writeFileSync(registry, JSON.stringify(base));
  return { dir, server, agencyTls, stranger, rogue, expired, registry };
}

const tlsEnv = (pki: Pki, clientAuth: string) => ({
  TLS_CERT_FILE: pki.server.certFile,
  TLS_KEY_FILE: pki.server.keyFile,
  TLS_CLIENT_AUTH: clientAuth,
  PARTNERS_FILE: pki.registry,
});

describe('TLS_CLIENT_AUTH=required', () => {
  let pki: Pki;
  let gw: RunningGateway;
  const portal = () => sampleIdentity('portal');

  beforeAll(async () => {
    pki = makePki();
    gw = await startGateway(tlsEnv(pki, 'required'));
  });
  afterAll(async () => gw?.close());

  const fromPortal = () => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
  const fromAgency = () => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit-register-extract', signer: sampleSigner('agency') });

  it('serves HTTPS with the configured certificate', async () => {
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(gw.url, { path: '/health' });
    expect(res).toEqual({ status: 200, body: '{"status":"ok"}' });
  });

  it('/ready reports the HTTPS certificate and the client-certificate mode; /metrics the partners\' TLS certificates', async () => {
    const ready = JSON.parse((await request(gw.url, { path: '/ready' })).body) as { checks: Array<{ name: string; status: string; detail: string; clientAuth?: string; daysUntilExpiry?: number }> };
    const check = ready.checks.find((c) => c.name === 'tlsCertificate');
    expect(check).toMatchObject({ status: 'warn', clientAuth: 'required' }); // the test certificate lasts 30 days: under the 30-day warning
    expect(check!.detail).toMatch(/^HTTPS \(client certificates required\): .*CN=okno-tls-server/);
    const metrics = (await request(gw.url, { path: '/metrics' })).body;
    expect(metrics).toMatch(/okno_certificate_expiry_days\{subject="[^"]*CN=agency-tls-client[^"]*",partner="agency",serial="[0-9a-f]+",role="partner-tls"\} \d/);
    expect(metrics).toMatch(/okno_certificate_expiry_days\{subject="[^"]*CN=okno-tls-server[^"]*",partner="self",serial="[0-9a-f]+",role="https"\} \d/);
    // The HTTPS certificate expires within 30 days: the `certificates` check lists it too (a warning, not a failure).
    const certificates = ready.checks.find((c) => c.name === 'certificates') as unknown as { status: string; expiring: Array<{ role: string; subject: string }> };
    expect(certificates.status).toBe('warn');
    expect(certificates.expiring).toEqual(expect.arrayContaining([expect.objectContaining({ role: 'https', subject: expect.stringMatching(/CN=okno-tls-server/) })]));
  });

  it('the portal, connecting with its signing certificate (it lists no TLS certificates), is accepted', async () => {
    const before = await inboxSize(gw);
    const res = await postSoapTls(gw.url, (await fromPortal()).xml, portal());
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('requestIsQueued');
    expect(await inboxSize(gw)).toBe(before + 1);
  });

  it('the agency, connecting with its registered TLS certificate, is accepted', async () => {
    const res = await postSoapTls(gw.url, (await fromAgency()).xml, pki.agencyTls);
    expect(res.status, res.body).toBe(200);
    expect(res.body).toContain('requestIsQueued');
  });

  it("another partner's TLS certificate under a validly signed message → AccessDenied, journaled, nothing stored", async () => {
    const before = await inboxSize(gw);
    const portalOverAgency = await postSoapTls(gw.url, (await fromPortal()).xml, pki.agencyTls);
    expect(portalOverAgency.status).toBe(500);
    expect(faultOf(portalOverAgency.body).fault).toBe('AccessDenied');
    expect(faultOf(portalOverAgency.body).faultstring).toMatch(/belongs to partner "agency", but the message is signed by "portal"/);
    expect(await lastJournal(gw)).toMatchObject({ succeeded: false, faultCode: 'AccessDenied', partner: 'portal', direction: 'inbound' });

    const agencyOverPortal = await postSoapTls(gw.url, (await fromAgency()).xml, portal());
    expect(faultOf(agencyOverPortal.body).fault).toBe('AccessDenied');
    expect(await inboxSize(gw)).toBe(before);
  });

  it('a partner that lists TLS certificates cannot connect with its signing certificate instead', async () => {
    const res = await postSoapTls(gw.url, (await fromAgency()).xml, sampleIdentity('agency'));
    expect(res.status).toBe(500);
    expect(faultOf(res.body).fault).toBe('AccessDenied');
    expect(faultOf(res.body).faultstring).toMatch(/registered to no partner/);
  });

  it('no client certificate → AccessDenied before the body is even parsed; journaled', async () => {
    const before = await inboxSize(gw);
    const signed = await postSoapTls(gw.url, (await fromPortal()).xml, null);
    expect(signed.status).toBe(500);
    expect(faultOf(signed.body).fault).toBe('AccessDenied');
    expect(faultOf(signed.body).faultstring).toMatch(/requires a TLS client certificate/);
    // Garbage gets the same answer: nothing was parsed.
    const garbage = await postSoapTls(gw.url, '<not-even-xml', null);
    expect(faultOf(garbage.body).fault).toBe('AccessDenied');
    expect(await lastJournal(gw)).toMatchObject({ succeeded: false, faultCode: 'AccessDenied', partner: null });
    expect(await inboxSize(gw)).toBe(before);
  });

  it('a certificate not from the client CA, an expired one, or a trusted one of no partner → AccessDenied', async () => {
    const xml = (await fromPortal()).xml;
    const rogue = await postSoapTls(gw.url, xml, pki.rogue);
    expect(faultOf(rogue.body).fault).toBe('AccessDenied');
    expect(faultOf(rogue.body).faultstring).toMatch(/rogue-tls-client.*is not accepted \(/);
    const expired = await postSoapTls(gw.url, xml, pki.expired);
    expect(faultOf(expired.body).fault).toBe('AccessDenied');
    expect(faultOf(expired.body).faultstring).toMatch(/CERT_HAS_EXPIRED/);
    const stranger = await postSoapTls(gw.url, xml, pki.stranger);
    expect(faultOf(stranger.body).fault).toBe('AccessDenied');
    expect(faultOf(stranger.body).faultstring).toMatch(/registered to no partner/);
  });

  it('the right TLS certificate does not excuse a forged signature', async () => {
    const xml = (await fromPortal()).xml.replace(/(<ds:SignatureValue>)(.)/, (_m, open: string, c: string) => `${open}${c === 'A' ? 'B' : 'A'}`);
    const res = await postSoapTls(gw.url, xml, portal());
    expect(faultOf(res.body).fault).toBe('SignatureVerificationFault');
  });

  it('the JSON API on the same listener keeps bearer tokens and needs no client certificate', async () => {
    expect((await request(gw.url, { path: '/api/v1/inbox', headers: { authorization: 'Bearer dev-city-token' } })).status).toBe(200);
    expect((await request(gw.url, { path: '/api/v1/inbox' })).status).toBe(401);
    // A partner's client certificate is no substitute for a token.
    expect((await request(gw.url, { path: '/api/v1/inbox', client: portal() })).status).toBe(401);
  });
});

describe('TLS_CLIENT_AUTH=optional', () => {
  let pki: Pki;
  let gw: RunningGateway;
  beforeAll(async () => {
    pki = makePki();
    gw = await startGateway(tlsEnv(pki, 'optional'));
  });
  afterAll(async () => gw?.close());

  it('without a client certificate the signature alone decides', async () => {
    const res = await postSoapTls(gw.url, (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' })).xml, null);
    expect(res.status, res.body).toBe(200);
  });

  it('a certificate that is presented must be trusted and the signer’s', async () => {
    const xml = (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' })).xml;
    expect(faultOf((await postSoapTls(gw.url, xml, pki.agencyTls)).body).fault).toBe('AccessDenied');
    expect(faultOf((await postSoapTls(gw.url, xml, pki.rogue)).body).fault).toBe('AccessDenied');
    const ok = await postSoapTls(gw.url, (await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' })).xml, sampleIdentity('portal'));
    expect(ok.status, ok.body).toBe(200);
  });
});

describe('TLS configuration', () => {
  it('names every inconsistent TLS variable', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, projectRoot);
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ TLS_CERT_FILE: 'a.pem' })).toEqual([expect.stringMatching(/^TLS_KEY_FILE: must be set together with TLS_CERT_FILE/)]);
    expect(problems({ TLS_CLIENT_AUTH: 'required' })).toEqual([expect.stringMatching(/^TLS_CLIENT_AUTH: is required, but HTTPS is off/)]);
    expect(problems({ TLS_CERT_FILE: 'a', TLS_KEY_FILE: 'b', TLS_CLIENT_AUTH: 'sometimes' })).toEqual([expect.stringMatching(/^TLS_CLIENT_AUTH: must be one of off, optional, required/)]);
    expect(problems({ TLS_CERT_FILE: 'a', TLS_KEY_FILE: 'b', TLS_CLIENT_CA_FILE: 'c' })).toEqual([expect.stringMatching(/^TLS_CLIENT_CA_FILE: is set, but TLS_CLIENT_AUTH is off/)]);
    const config = loadConfig({ TLS_CERT_FILE: 'a', TLS_KEY_FILE: 'b', TLS_CLIENT_AUTH: 'optional' }, projectRoot);
    expect(config.tls).toEqual({ certFile: path.join(projectRoot, 'a'), keyFile: path.join(projectRoot, 'b'), clientAuth: 'optional', clientCaFile: path.join(projectRoot, 'certs-sample/ca.crt.pem') });
  });

  it('a key that does not fit the certificate, or a missing file, stops start-up naming the variable', async () => {
    const dir = tempDir('okno-tls-bad-');
    const a = issueCertificate(dir, { cn: 'a', loopback: true });
    const b = issueCertificate(dir, { cn: 'b', loopback: true });
    const logger = createLogger({ level: 'silent' });
    await expect(createGateway(loadConfig({ TLS_CERT_FILE: a.certFile, TLS_KEY_FILE: b.keyFile }, projectRoot), logger)).rejects.toThrow(/TLS_CERT_FILE \/ TLS_KEY_FILE: .*key values mismatch/);
    await expect(createGateway(loadConfig({ TLS_CERT_FILE: path.join(dir, 'none.pem'), TLS_KEY_FILE: b.keyFile }, projectRoot), logger)).rejects.toThrow(/TLS_CERT_FILE: cannot read .*ENOENT/);
  });
});

describe('outbound: the gateway presents its TLS client certificate to partners over https', () => {
  let dir: string;
  let outbound: IssuedPem;
  let portal: PortalSimulator;
  let front: https.Server;
  let frontUrl: string;
  const seen: string[] = [];
  const handshakeErrors: string[] = [];

  beforeAll(async () => {
    dir = tempDir('okno-tls-out-');
    const server = issueCertificate(dir, { cn: 'partner-tls-server', loopback: true });
    outbound = issueCertificate(dir, { cn: 'okno-outbound-client' });
    const trust = new TrustAnchorSet([SAMPLE_CA_PEM()]);
    const catalogue = (await import('../../src/catalogue/load.js')).loadCatalogue(path.join(projectRoot, 'config/services'));
    const gatewayFingerprint = parseCertificate(readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8')).fingerprintSha256;
    portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: gatewayFingerprint, signer: sampleSigner('portal'), catalogue });
    // The portal behind a TLS front that demands a client certificate from the sample CA.
    front = https.createServer({ cert: server.certPem, key: server.keyPem, ca: SAMPLE_CA_PEM(), requestCert: true, rejectUnauthorized: true }, (req, res) => {
      seen.push(String((req.socket as TLSSocket).getPeerCertificate().subject.CN));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void fetch(`${portal.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: Buffer.concat(chunks) }).then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' });
          res.end(await answer.text());
        });
      });
    });
    front.on('tlsClientError', (error) => handshakeErrors.push(error.message));
    await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
    frontUrl = `https://127.0.0.1:${(front.address() as AddressInfo).port}/ws/smev3`;
  });
  afterAll(async () => {
    front?.closeAllConnections();
    await new Promise((r) => front?.close(r));
    await portal?.close();
  });

  const FAST = { DELIVERY_BACKOFF_MS: '50', DELIVERY_BACKOFF_CAP_MS: '200', DELIVERY_TIMEOUT_MS: '2000', DELIVERY_MAX_ATTEMPTS: '50' };

  async function statusDelivery(gw: RunningGateway): Promise<string> {
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit' });
    expect((await postSoap(gw.url, xml)).status).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=500`, { headers: CITY })).json()) as { items: Array<{ messageId: string; applicationId: string }> };
    const applicationId = inbox.items.find((i) => i.messageId === messageId)!.applicationId;
    const res = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: JSON.stringify({ code: 'registered' }) });
    expect(res.status).toBe(202);
    return ((await res.json()) as { deliveryId: string }).deliveryId;
  }

  async function deliveryState(gw: RunningGateway, id: string, until: (d: { state: string; attempts: number }) => boolean) {
    for (let i = 0; ; i++) {
      const d = (await (await fetch(`${gw.url}/api/v1/deliveries/${id}`, { headers: CITY })).json()) as { state: string; attempts: number; lastError: string | null };
      if (until(d) || i > 200) return d;
      await sleep(50);
    }
  }

  it('with OUTBOUND_TLS_CERT_FILE the status reaches the portal over mTLS and is delivered', async () => {
    const gw = await startGateway({ PORTAL_URL: frontUrl, OUTBOUND_TLS_CERT_FILE: outbound.certFile, OUTBOUND_TLS_KEY_FILE: outbound.keyFile, OUTBOUND_TLS_CA_FILE: path.join(projectRoot, 'certs-sample/ca.crt.pem'), ...FAST });
    try {
      const id = await statusDelivery(gw);
      const d = await deliveryState(gw, id, (x) => x.state !== 'pending');
      expect(d).toMatchObject({ state: 'delivered' });
      expect(seen).toContain('okno-outbound-client');
    } finally {
      await gw.close();
    }
  });

  it('without a client certificate the front refuses the handshake and the status stays pending, retried', async () => {
    const before = seen.length;
    const gw = await startGateway({ PORTAL_URL: frontUrl, OUTBOUND_TLS_CA_FILE: path.join(projectRoot, 'certs-sample/ca.crt.pem'), ...FAST });
    try {
      const id = await statusDelivery(gw);
      const d = await deliveryState(gw, id, (x) => x.attempts >= 2);
      expect(d.state).toBe('pending');
      expect(d.attempts).toBeGreaterThanOrEqual(2);
      expect((d as { lastError: string | null }).lastError).toMatch(/^network: /);
      expect(seen.length).toBe(before);
      expect(handshakeErrors.length).toBeGreaterThan(0);
    } finally {
      await gw.close();
    }
  });

  it('names a half-configured outbound certificate', () => {
    expect(() => loadConfig({ OUTBOUND_TLS_CERT_FILE: 'a.pem' }, projectRoot)).toThrow(/OUTBOUND_TLS_KEY_FILE: must be set together with OUTBOUND_TLS_CERT_FILE/);
    expect(loadConfig({ OUTBOUND_TLS_CA_FILE: 'ca.pem' }, projectRoot).outboundTls).toEqual({ certFile: null, keyFile: null, caFile: path.join(projectRoot, 'ca.pem') });
  });
});

describe('the gateway process (node dist/main.js) with TLS', () => {
  it('serves HTTPS and stops cleanly; a key that does not fit or TLS_CLIENT_AUTH without HTTPS exits 78 naming the variable', async () => {
    const dir = tempDir('okno-tls-proc-');
    const server = issueCertificate(dir, { cn: 'okno-proc-server', loopback: true });
    const other = issueCertificate(dir, { cn: 'other-key', loopback: true });
    const gw = await startGatewayProcess({ PORT: '0', TLS_CERT_FILE: server.certFile, TLS_KEY_FILE: server.keyFile, TLS_CLIENT_AUTH: 'required' });
    try {
      expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      expect(await request(gw.url, { path: '/health' })).toEqual({ status: 200, body: '{"status":"ok"}' });
      const noCert = await postSoapTls(gw.url, '<a/>', null);
      expect(faultOf(noCert.body).fault).toBe('AccessDenied');
    } finally {
      gw.child.kill('SIGTERM');
    }
    expect(await gw.exited).toBe(0);

    const mismatch = spawnGateway({ PORT: '0', TLS_CERT_FILE: server.certFile, TLS_KEY_FILE: other.keyFile });
    expect(await mismatch.exited).toBe(78);
    expect(mismatch.stderr()).toMatch(/TLS_CERT_FILE \/ TLS_KEY_FILE: /);
    const noHttps = spawnGateway({ PORT: '0', TLS_CLIENT_AUTH: 'required' });
    expect(await noHttps.exited).toBe(78);
    expect(noHttps.stderr()).toMatch(/TLS_CLIENT_AUTH: is required, but HTTPS is off/);
  }, 120_000);
});
