/**
 * OCSP against a real `openssl ocsp` responder on loopback (an independent
 * producer of the responses), through real HTTP into the gateway: partner
 * certificates issued at test time name the responder in their AIA (behind a
 * counting proxy that can also play dead or spoil a signed byte).
 *
 * good → accepted, and a second message within nextUpdate is answered from
 * the cache (the responder is not asked again); revoked and unknown →
 * refused; responder down → refused (fail-closed), accepted with
 * OCSP_ON_OUTAGE=accept and counted; a spoiled signature, a responder the
 * CA did not authorise, an expired response → never trusted.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import type { OcspSettings } from '../../src/config/env.js';
import { OcspClient } from '../../src/pki/ocsp-client.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { gostOpensslConf, sampleCa, startCountingProxy, startOcspResponder, TestCa, type CountingProxy, type Responder } from '../helpers/ocsp.js';
import { CITY, faultOf, OPS, postSoap, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

type Pair = { key: string; cert: string; serial: string };

const ca = new TestCa();
const signer = (pair: Pair) => new LocalKeySigner(createPrivateKey(readFileSync(pair.key)), readFileSync(pair.cert, 'utf8'));
const cert = (pair: Pair | string) => parseCertificate(readFileSync(typeof pair === 'string' ? pair : pair.cert));
const LEAF = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation'];
const settings = (o: Partial<OcspSettings> = {}): OcspSettings => ({ mode: 'on', responderUrl: null, onOutage: 'refuse', timeoutMs: 2_000, cacheSize: 100, hash: 'sha1', ...o });

describe('OCSP for partner certificates', () => {
  let responder: Responder;
  let proxy: CountingProxy;
  let gw: RunningGateway;
  let lenient: RunningGateway;
  const pairs: Record<string, Pair> = {};
  let delegate: Pair;

  beforeAll(async () => {
    requireTool('openssl', ['version'], 'openssl');
    proxy = await startCountingProxy(0);
    const aia = `authorityInfoAccess=OCSP;URI:${proxy.url},caIssuers;URI:http://127.0.0.1:1/ca.crt`;
    for (const [name, serial] of Object.entries({ good: '0c5901', revoked: '0c5902', unknown: '0c5903', good2: '0c5904', good3: '0c5905', good4: '0c5906' })) {
      pairs[name] = ca.issue(`ocsp-${name}`, serial, [...LEAF, aia]);
    }
    delegate = ca.issue('ocsp-responder', '0c59f0', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=OCSPSigning']);
    const index = ca.writeIndex('index.txt', [
      { serial: pairs.good!.serial },
      { serial: pairs.revoked!.serial, revoked: true },
      { serial: pairs.good2!.serial },
      { serial: pairs.good3!.serial },
      { serial: pairs.good4!.serial },
    ]);
    responder = await startOcspResponder(ca, { index, rsigner: delegate.cert, rkey: delegate.key, nmin: 60 });
    proxy.target = responder.port;

    const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[] }> };
    for (const p of registry.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    registry.partners.find((p) => p.id === 'portal')!.certificates.push(...Object.values(pairs).map((p) => p.cert));
    writeFileSync(path.join(ca.dir, 'partners.json'), JSON.stringify(registry));
    gw = await startGateway({ PARTNERS_FILE: path.join(ca.dir, 'partners.json') });
    lenient = await startGateway({ PARTNERS_FILE: path.join(ca.dir, 'partners.json'), OCSP_ON_OUTAGE: 'accept' });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await lenient?.close();
    await proxy?.close();
    await responder?.stop();
  });

  const send = async (target: RunningGateway, pair: Pair) => {
    const m = await signedSendRequest({ catalogue: target.gateway.catalogue, service: 'advertising-permit', signer: signer(pair) });
    return { ...(await postSoap(target.url, m.xml)), messageId: m.messageId };
  };
  const metric = async (target: RunningGateway, line: RegExp) => {
    const text = await (await fetch(`${target.url}/metrics`)).text();
    return Number(line.exec(text)?.[1] ?? NaN);
  };

  it('the certificate parser exposes AIA OCSP URLs, CRL distribution points and extended key usage', () => {
    const withCdp = ca.issue('ocsp-cdp', '0c59e0', [...LEAF, 'authorityInfoAccess=OCSP;URI:http://ocsp.example/a,OCSP;URI:http://ocsp.example/b', 'crlDistributionPoints=URI:http://crl.example/ca.crl,URI:ldap://crl.example/ca']);
    const c = cert(withCdp);
    expect(c.ocspUrls).toEqual(['http://ocsp.example/a', 'http://ocsp.example/b']);
    expect(c.crlDistributionPoints).toEqual(['http://crl.example/ca.crl', 'ldap://crl.example/ca']);
    expect(c.extendedKeyUsage).toBeUndefined();
    expect([...cert(delegate).extendedKeyUsage!]).toEqual(['1.3.6.1.5.5.7.3.9']);
    expect(cert(pairs.good!).ocspUrls).toEqual([proxy.url]);
    expect(cert(path.join(projectRoot, 'certs-sample/portal.crt.pem')).ocspUrls).toEqual([]);
  });

  it('good → accepted; a second message within nextUpdate is answered from the cache (the responder is not asked again)', async () => {
    const before = proxy.requests;
    const first = await send(gw, pairs.good!);
    expect(first.status, first.body).toBe(200);
    expect(proxy.requests).toBe(before + 1);
    const second = await send(gw, pairs.good!);
    expect(second.status, second.body).toBe(200);
    expect(proxy.requests).toBe(before + 1);
    expect(await metric(gw, /^okno_ocsp_checks_total\{result="good",source="cache"\} (\d+)$/m)).toBe(1);
    expect(await metric(gw, /^okno_ocsp_checks_total\{result="good",source="responder"\} (\d+)$/m)).toBe(1);
  });

  it('revoked → SignatureVerificationFault / CertificateIsExpired naming the date; unknown → CertificateIsNotFound; neither is stored, both are journaled', async () => {
    const revoked = await send(gw, pairs.revoked!);
    expect(revoked.status).toBe(500);
    const r = faultOf(revoked.body);
    expect(r).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    expect(r.faultstring).toMatch(/CN=ocsp-revoked.*\(serial 0c5902\) was revoked on 2025-01-01T00:00:00\.000Z \(keyCompromise\) \(OCSP responder http:\/\/127\.0\.0\.1:\d+\/\)/);

    const unknown = await send(gw, pairs.unknown!);
    expect(unknown.status).toBe(500);
    const u = faultOf(unknown.body);
    expect(u).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsNotFound' });
    expect(u.faultstring).toMatch(/does not know certificate "CN=ocsp-unknown[^"]*" \(serial 0c5903\); its revocation status could not be established/);

    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> };
    expect(inbox.items.map((i) => i.messageId)).not.toContain(revoked.messageId);
    expect(inbox.items.map((i) => i.messageId)).not.toContain(unknown.messageId);
    const journal = (await (await fetch(`${gw.url}/api/v1/journal?outcome=failed&limit=50`, { headers: OPS })).json()) as { items: Array<{ faultCode: string | null; faultString: string | null }> };
    expect(journal.items.some((j) => j.faultCode === 'SignatureVerificationFault' && /was revoked on/.test(j.faultString ?? ''))).toBe(true);
    expect(journal.items.some((j) => /revocation status could not be established/.test(j.faultString ?? ''))).toBe(true);
  });

  it('responder down → SMEVFailure saying the status could not be established (fail-closed), journaled, /ready warns; accepted once it is back', async () => {
    proxy.down = true;
    try {
      const refused = await send(gw, pairs.good2!);
      expect(refused.status).toBe(500);
      const f = faultOf(refused.body);
      expect(f.fault).toBe('SMEVFailure');
      expect(f.faultstring).toMatch(/the revocation status of certificate "CN=ocsp-good2[^"]*" \(serial 0c5904\) could not be established: OCSP responder http:\/\/127\.0\.0\.1:\d+\/: the responder cannot be reached .*; retry later/);
      const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; status: string; detail: string }> };
      expect(ready.checks.find((c) => c.name === 'ocsp')).toMatchObject({ status: 'warn', detail: expect.stringContaining('last request failed') });
      const journal = (await (await fetch(`${gw.url}/api/v1/journal?outcome=failed&limit=50`, { headers: OPS })).json()) as { items: Array<{ faultCode: string | null; faultString: string | null }> };
      expect(journal.items.some((j) => j.faultCode === 'SMEVFailure' && /\(serial 0c5904\) could not be established/.test(j.faultString ?? ''))).toBe(true);
    } finally {
      proxy.down = false;
    }
    const accepted = await send(gw, pairs.good2!);
    expect(accepted.status, accepted.body).toBe(200);
    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> };
    expect(inbox.items.map((i) => i.messageId)).toContain(accepted.messageId);
  });

  it('OCSP_ON_OUTAGE=accept: accepted while the responder is down, logged and counted — but never a revoked certificate', async () => {
    const revoked = await send(lenient, pairs.revoked!);
    expect(faultOf(revoked.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    proxy.down = true;
    try {
      const accepted = await send(lenient, pairs.good3!);
      expect(accepted.status, accepted.body).toBe(200);
    } finally {
      proxy.down = false;
    }
    expect(await metric(lenient, /^okno_ocsp_outage_accepted_total (\d+)$/m)).toBe(1);
    expect(lenient.logs.some((l) => l.level === 'warn' && l.revocation === 'accepted-on-outage' && /OCSP_ON_OUTAGE=accept/.test(String(l.msg)))).toBe(true);
  });

  it('a spoiled signed byte (bad responder signature) is never trusted: SMEVFailure', async () => {
    proxy.tamper = true;
    try {
      const refused = await send(gw, pairs.good4!);
      expect(faultOf(refused.body).fault).toBe('SMEVFailure');
      expect(faultOf(refused.body).faultstring).toMatch(/the response's signature does not verify with "CN=ocsp-responder/);
    } finally {
      proxy.tamper = false;
    }
  });

  it('the CA itself may sign (SHA-256 CertID too); a responder the CA did not authorise or did not issue is refused; an expired response is refused', async () => {
    const index = path.join(ca.dir, 'index.txt');
    const good = cert(pairs.good!);
    const issuer = cert(sampleCa.cert);
    const byCa = await startOcspResponder(ca, { index, rsigner: sampleCa.cert, rkey: sampleCa.key, nmin: 60 });
    const notAuthorised = ca.issue('ocsp-no-eku', '0c59f1', ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature']);
    const byPlainCert = await startOcspResponder(ca, { index, rsigner: notAuthorised.cert, rkey: notAuthorised.key, nmin: 60 });
    ca.openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'rogue.key.pem', '-subj', '/CN=rogue responder', '-days', '2', '-addext', 'extendedKeyUsage=OCSPSigning', '-out', 'rogue.crt.pem');
    const byRogue = await startOcspResponder(ca, { index, rsigner: path.join(ca.dir, 'rogue.crt.pem'), rkey: path.join(ca.dir, 'rogue.key.pem'), nmin: 60 });
    try {
      const now = new Date();
      for (const hash of ['sha1', 'sha256'] as const) {
        expect(await new OcspClient(settings({ responderUrl: byCa.url, hash })).check(good, issuer, now)).toMatchObject({ status: 'good', cached: false });
      }
      expect(await new OcspClient(settings({ responderUrl: byPlainCert.url })).check(good, issuer, now)).toMatchObject({ status: 'unavailable', problem: expect.stringMatching(/is not authorised for OCSP signing \(no id-kp-OCSPSigning\)/) });
      expect(await new OcspClient(settings({ responderUrl: byRogue.url })).check(good, issuer, now)).toMatchObject({ status: 'unavailable', problem: expect.stringMatching(/"CN=rogue responder" is not issued by the certificate's CA/) });
      // The responder's nextUpdate is an hour on: judged two hours later, the answer has expired.
      const later = new Date(now.getTime() + 2 * 3_600_000);
      expect(await new OcspClient(settings({ responderUrl: byCa.url })).check(good, issuer, later)).toMatchObject({ status: 'unavailable', problem: expect.stringMatching(/the response expired: its nextUpdate .* has passed/) });
    } finally {
      await Promise.all([byCa.stop(), byPlainCert.stop(), byRogue.stop()]);
    }
  });

  it('no AIA and no OCSP_RESPONDER_URL: skipped and /ready names the partners; OCSP=off skips everything; an unreachable override refuses', async () => {
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail: string; uncheckedPartners?: string[] }> };
    const check = ready.checks.find((c) => c.name === 'ocsp')!;
    expect(check.detail).toMatch(/not checked by OCSP \(no AIA responder, no OCSP_RESPONDER_URL\): .*agency/);
    expect(check.uncheckedPartners).toContain('agency');
    const sample = cert(path.join(projectRoot, 'certs-sample/portal.crt.pem'));
    expect(await new OcspClient(settings()).check(sample, cert(sampleCa.cert), new Date())).toMatchObject({ status: 'skipped' });
    expect(await new OcspClient(settings({ mode: 'off' })).check(cert(pairs.revoked!), cert(sampleCa.cert), new Date())).toMatchObject({ status: 'skipped', why: 'OCSP=off' });
    const closed = await freePort();
    const down = await new OcspClient(settings({ responderUrl: `http://127.0.0.1:${closed}/` })).check(sample, cert(sampleCa.cert), new Date());
    expect(down).toMatchObject({ status: 'unavailable', acceptedOnOutage: false, problem: expect.stringContaining('ECONNREFUSED') });
  });
});

describe('OCSP with a GOST R 34.10-2012 CA (openssl gost engine as the responder)', () => {
  it('a GOST-signed response verifies through the algorithm registry; a spoiled one does not', async () => {
    requireTool('openssl', ['engine', 'gost'], 'libengine-gost-openssl');
    const gost = new TestCa();
    const env = { OPENSSL_CONF: gostOpensslConf(gost) };
    const run = (...args: string[]) => execFileSync('openssl', args, { cwd: gost.dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    run('req', '-x509', '-newkey', 'gost2012_256', '-pkeyopt', 'paramset:A', '-nodes', '-keyout', 'ca.key', '-subj', '/CN=GOST OCSP test CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'ca.crt');
    run('req', '-new', '-newkey', 'gost2012_256', '-pkeyopt', 'paramset:A', '-nodes', '-keyout', 'leaf.key', '-subj', '/CN=GOST leaf', '-out', 'leaf.csr');
    writeFileSync(path.join(gost.dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    run('x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', '0x77', '-days', '30', '-extfile', 'leaf.ext', '-out', 'leaf.crt');
    const index = gost.writeIndex('index.txt', [{ serial: '77' }]);
    const caCert = path.join(gost.dir, 'ca.crt');
    const responder = await startOcspResponder(gost, { index, rsigner: caCert, rkey: path.join(gost.dir, 'ca.key'), caCert, env, rmd: null, nmin: 60 });
    const proxy = await startCountingProxy(responder.port);
    try {
      const issuer = cert(caCert);
      expect(issuer.signatureAlgorithmOid).toBe('1.2.643.7.1.1.3.2');
      const leaf = cert(path.join(gost.dir, 'leaf.crt'));
      expect(await new OcspClient(settings({ responderUrl: proxy.url })).check(leaf, issuer, new Date())).toMatchObject({ status: 'good' });
      proxy.tamper = true;
      expect(await new OcspClient(settings({ responderUrl: proxy.url })).check(leaf, issuer, new Date())).toMatchObject({ status: 'unavailable', problem: expect.stringMatching(/signature does not verify with "CN=GOST OCSP test CA"/) });
    } finally {
      await proxy.close();
      await responder.stop();
    }
  });
});

describe('revocation settings', () => {
  it('defaults: OCSP on, fail-closed, SHA-1 CertID, hourly CRL refresh with distribution points', () => {
    expect(loadConfig({}, '/srv/okno').revocation).toEqual({
      ocsp: { mode: 'on', responderUrl: null, onOutage: 'refuse', timeoutMs: 5_000, cacheSize: 10_000, hash: 'sha1' },
      crlRefreshIntervalMs: 3_600_000,
      crlUrls: [],
      crlDownload: true,
    });
  });

  it('each bad value is named', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/srv/okno');
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems({ OCSP: 'maybe' })).toEqual(['OCSP: must be one of on, off, got "maybe"']);
    expect(problems({ OCSP_ON_OUTAGE: 'ignore' })).toEqual(['OCSP_ON_OUTAGE: must be one of refuse, accept, got "ignore"']);
    expect(problems({ OCSP_RESPONDER_URL: 'ldap://ocsp' })).toEqual(['OCSP_RESPONDER_URL: must be a http or https URL, got "ldap:"']);
    expect(problems({ CRL_URLS: 'http://crl.example/a.crl, ftp://x/b.crl' })).toEqual(['CRL_URLS: "ftp://x/b.crl" is not an http(s) URL']);
    expect(problems({ CRL_REFRESH_INTERVAL_MS: '500' })).toEqual(['CRL_REFRESH_INTERVAL_MS: must be 0 (never) or at least 1000, got 500']);
  });
});
