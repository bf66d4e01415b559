/**
 * Revocation (CRL_FILES) through real HTTP: a CRL made by openssl at test
 * time (an independent producer) revokes one freshly issued partner
 * certificate; a message signed with it is refused, one signed with its
 * unrevoked twin is accepted. A CRL no trusted CA signed stops start-up.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/log.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { loadCrls, parseCrl } from '../../src/pki/crl.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

const samples = path.join(projectRoot, 'certs-sample');
const dir = mkdtempSync(path.join(tmpdir(), 'okno-crl-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] }).toString('utf8');

/** A partner-like certificate from the sample CA (digitalSignature), with its key. */
function issue(name: string, serial: string, caKey = path.join(samples, 'ca.key.pem'), caCert = path.join(samples, 'ca.crt.pem')): { key: string; cert: string } {
  writeFileSync(path.join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n');
  openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key.pem`, '-subj', `/C=RU/O=Okno CRL test/CN=${name}`, '-out', `${name}.csr`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', caCert, '-CAkey', caKey, '-set_serial', `0x${serial}`, '-days', '30', '-extfile', 'leaf.ext', '-out', `${name}.crt.pem`);
  return { key: path.join(dir, `${name}.key.pem`), cert: path.join(dir, `${name}.crt.pem`) };
}

/** `openssl ca -gencrl` over an index that lists `revokedSerial` as revoked. */
function makeCrl(name: string, revokedSerial: string, opts: { caKey?: string; caCert?: string; seconds?: number } = {}): string {
  const index = path.join(dir, `${name}.index.txt`);
  writeFileSync(index, `R\t351231000000Z\t250101000000Z\t${revokedSerial.toUpperCase()}\tunknown\t/C=RU/O=Okno CRL test/CN=revoked\n`);
  writeFileSync(`${index}.attr`, 'unique_subject = no\n');
  writeFileSync(path.join(dir, `${name}.cnf`), `[ ca ]\ndefault_ca = test\n[ test ]\ndatabase = ${index}\ndefault_md = sha256\ncrlnumber = ${path.join(dir, `${name}.crlnumber`)}\n`);
  writeFileSync(path.join(dir, `${name}.crlnumber`), '01\n');
  const out = path.join(dir, `${name}.crl.pem`);
  const seconds = opts.seconds ?? 7 * 24 * 3600;
  openssl('ca', '-gencrl', '-config', `${name}.cnf`, '-keyfile', opts.caKey ?? path.join(samples, 'ca.key.pem'), '-cert', opts.caCert ?? path.join(samples, 'ca.crt.pem'), '-crlsec', String(seconds), '-out', out);
  return out;
}

describe('CRL_FILES', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;
  let revoked: { key: string; cert: string };
  let good: { key: string; cert: string };
  let crlFile: string;

  beforeAll(async () => {
    requireTool('openssl', ['version'], 'openssl');
    revoked = issue('revoked-partner', '5eed01');
    good = issue('good-partner', '5eed02');
    crlFile = makeCrl('main', '5eed01');
    const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[] }> };
    for (const p of registry.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    registry.partners.find((p) => p.id === 'portal')!.certificates.push(revoked.cert, good.cert);
    writeFileSync(path.join(dir, 'partners.json'), JSON.stringify(registry));
    redis = await startRedisServer();
    gw = await startGateway({ REDIS_URL: redis.url, PARTNERS_FILE: path.join(dir, 'partners.json'), CRL_FILES: crlFile });
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
  });

  const signer = (pair: { key: string; cert: string }) => new LocalKeySigner(createPrivateKey(readFileSync(pair.key)), readFileSync(pair.cert, 'utf8'));

  it('parses what openssl made: issuer, dates, the revoked serial', () => {
    const crl = parseCrl(readFileSync(crlFile));
    expect(crl.issuer).toBe(parseCertificate(readFileSync(path.join(samples, 'ca.crt.pem'), 'utf8')).subject);
    expect([...crl.revoked.keys()]).toEqual(['5eed01']);
    expect(crl.revoked.get('5eed01')!.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()).toBe(7 * 24 * 3_600_000);
    // DER works too
    const der = path.join(dir, 'main.crl.der');
    openssl('crl', '-in', crlFile, '-outform', 'DER', '-out', der);
    expect([...parseCrl(readFileSync(der)).revoked.keys()]).toEqual(['5eed01']);
  });

  it('a message signed with the revoked certificate is refused over HTTP; its unrevoked twin is accepted', async () => {
    const bad = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: signer(revoked) });
    const refused = await postSoap(gw.url, bad.xml);
    expect(refused.status).toBe(500);
    const f = faultOf(refused.body);
    expect(f).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    expect(f.faultstring).toMatch(/CN=revoked-partner.*\(serial 5eed01\) was revoked on 2025-01-01T00:00:00\.000Z/);

    const ok = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: signer(good) });
    const accepted = await postSoap(gw.url, ok.xml);
    expect(accepted.status, accepted.body).toBe(200);

    const inbox = (await (await fetch(`${gw.url}/api/v1/inbox?limit=100`, { headers: CITY })).json()) as { items: Array<{ messageId: string }> };
    expect(inbox.items.map((i) => i.messageId)).toEqual([ok.messageId]);
  });

  it('/ready lists the CRL; one past its nextUpdate is still used and makes /ready warn', async () => {
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(ready.checks.find((c) => c.name === 'crls')).toMatchObject({ status: 'pass', detail: expect.stringContaining('1 revoked') });

    const stale = makeCrl('stale', '5eed01', { seconds: 1 });
    await new Promise((r) => setTimeout(r, 2100));
    const staleGw = await startGateway({ PARTNERS_FILE: path.join(dir, 'partners.json'), CRL_FILES: stale });
    try {
      expect(staleGw.logs.some((l) => l.level === 'warn' && /past its nextUpdate/.test(String(l.msg)))).toBe(true);
      const r = (await (await fetch(`${staleGw.url}/ready`)).json()) as { checks: Array<{ name: string; status: string; detail: string }> };
      expect(r.checks.find((c) => c.name === 'crls')).toMatchObject({ status: 'warn', detail: expect.stringContaining('past nextUpdate (still used)') });
      const bad = await signedSendRequest({ catalogue: staleGw.gateway.catalogue, service: 'advertising-permit', signer: signer(revoked) });
      expect(faultOf((await postSoap(staleGw.url, bad.xml)).body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    } finally {
      await staleGw.close();
    }
  });

  it('every chain member is checked: a revoked intermediate CA refuses the leaves it issued', () => {
    writeFileSync(path.join(dir, 'sub-ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    openssl('req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'sub-ca.key.pem', '-subj', '/C=RU/O=Okno CRL test/CN=sub-ca', '-out', 'sub-ca.csr');
    openssl('x509', '-req', '-in', 'sub-ca.csr', '-CA', path.join(samples, 'ca.crt.pem'), '-CAkey', path.join(samples, 'ca.key.pem'), '-set_serial', '0x5eed10', '-days', '30', '-extfile', 'sub-ca.ext', '-out', 'sub-ca.crt.pem');
    const leaf = issue('sub-leaf', '5eed11', path.join(dir, 'sub-ca.key.pem'), path.join(dir, 'sub-ca.crt.pem'));
    const anchors = [parseCertificate(readFileSync(path.join(samples, 'ca.crt.pem')))];
    const sub = parseCertificate(readFileSync(path.join(dir, 'sub-ca.crt.pem')));
    const leafCert = parseCertificate(readFileSync(leaf.cert));
    const now = new Date();
    expect(new TrustAnchorSet(anchors).evaluate(leafCert, [sub], now)).toMatchObject({ trusted: true });
    const revokesSub = loadCrls([makeCrl('sub', '5eed10')], anchors);
    const verdict = new TrustAnchorSet(anchors, revokesSub).evaluate(leafCert, [sub], now);
    expect(verdict).toMatchObject({ trusted: false, reason: 'CertificateIsExpired', message: expect.stringMatching(/"CN=sub-ca, [^"]*" \(serial 5eed10\) was revoked/) });
    // a CRL of the root that does not list the intermediate changes nothing
    expect(new TrustAnchorSet(anchors, loadCrls([crlFile], anchors)).evaluate(leafCert, [sub], now)).toMatchObject({ trusted: true });
  });

  it('a CRL not signed by a trusted CA stops start-up with a clear message; so does a file that is no CRL', async () => {
    // a look-alike CA: same subject as the sample CA, different key
    writeFileSync(path.join(dir, 'ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n');
    const caSubject = execFileSync('openssl', ['x509', '-in', path.join(samples, 'ca.crt.pem'), '-noout', '-subject', '-nameopt', 'compat']).toString().replace(/^subject=\s*/, '').trim();
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'fake-ca.key.pem', '-subj', caSubject, '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', 'fake-ca.crt.pem');
    const forged = makeCrl('forged', '5eed02', { caKey: path.join(dir, 'fake-ca.key.pem'), caCert: path.join(dir, 'fake-ca.crt.pem') });
    expect(parseCrl(readFileSync(forged)).issuer).toBe(parseCrl(readFileSync(crlFile)).issuer);
    const start = (env: Record<string, string>) => createGateway(loadConfig({ PORT: '0', ...env }, projectRoot), createLogger({ level: 'silent' }));
    await expect(start({ CRL_FILES: forged })).rejects.toThrow(/^CRL_FILES: .*forged\.crl\.pem \(issuer "[^"]+"\) is not signed by a trusted CA in TRUST_CA_FILE/);
    await expect(start({ CRL_FILES: path.join(samples, 'ca.crt.pem') })).rejects.toThrow(/^CRL_FILES: .*ca\.crt\.pem is not a CRL/);
    await expect(start({ CRL_FILES: path.join(dir, 'missing.crl') })).rejects.toThrow(/^CRL_FILES: cannot read .*missing\.crl: ENOENT/);
  });
});
