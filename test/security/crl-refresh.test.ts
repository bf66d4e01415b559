/**
 * CRLs refreshed while the gateway runs, through real HTTP: a partner
 * certificate names a loopback CRL distribution point; the CRL served there
 * changes mid-test (openssl revokes the certificate), and after the next
 * refresh the gateway refuses it. The messages go through a large-message
 * lane thread (LARGE_MESSAGE_BYTES=1024), so the threads are proven to judge
 * by the refreshed CRLs too. A download that fails keeps the old CRL and
 * /ready warns once that one is past its nextUpdate; a changed CRL_FILES
 * file is read again.
 */
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalKeySigner } from '../../src/pki/signer.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { TestCa } from '../helpers/ocsp.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';
import { requireTool } from '../helpers/tools.js';

type Pair = { key: string; cert: string; serial: string };
type Check = { name: string; status: string; detail: string };

const ca = new TestCa();
const LEAF = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,nonRepudiation'];

/** Waits (polling) until `probe` holds; fails with `what` after `ms`. */
async function until(what: string, probe: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('CRL refresh (CRL_REFRESH_INTERVAL_MS): distribution points and CRL_FILES', () => {
  let redis: RedisTestServer;
  let gw: RunningGateway;
  let server: Server;
  const served = { body: Buffer.alloc(0), failing: false, requests: 0 };
  let crlUrl: string;
  let crlFile: string;
  let victim: Pair;
  let fileVictim: Pair;

  beforeAll(async () => {
    requireTool('openssl', ['version'], 'openssl');
    server = createServer((_req, res) => {
      served.requests++;
      if (served.failing) return void res.writeHead(500).end('down');
      res.writeHead(200, { 'content-type': 'application/pkix-crl' }).end(served.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    crlUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/ca.crl`;
    victim = ca.issue('crl-victim', '0d0001', [...LEAF, `crlDistributionPoints=URI:${crlUrl}`]);
    fileVictim = ca.issue('crl-file-victim', '0d0002', LEAF);
    served.body = readFileSync(ca.makeCrl('empty', []));
    crlFile = path.join(ca.dir, 'in-use.crl.pem');
    copyFileSync(ca.makeCrl('file-empty', []), crlFile);

    const registry = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as { partners: Array<{ id: string; certificates: string[] }> };
    for (const p of registry.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    registry.partners.find((p) => p.id === 'portal')!.certificates.push(victim.cert, fileVictim.cert);
    writeFileSync(path.join(ca.dir, 'partners.json'), JSON.stringify(registry));
    redis = await startRedisServer();
    gw = await startGateway({
      REDIS_URL: redis.url,
      PARTNERS_FILE: path.join(ca.dir, 'partners.json'),
      CRL_FILES: crlFile,
      CRL_REFRESH_INTERVAL_MS: '1000',
      LARGE_MESSAGE_BYTES: '1024',
      LARGE_MESSAGE_THREADS: '1',
    });
    await until('the lane thread is ready', async () => (await check('largeMessages')).detail.startsWith('1 of 1'));
  }, 60_000);
  afterAll(async () => {
    await gw?.close();
    await redis?.dispose();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  async function check(name: string): Promise<Check> {
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Check[] };
    return ready.checks.find((c) => c.name === name)!;
  }
  const send = async (pair: Pair) => {
    const m = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'advertising-permit', signer: new LocalKeySigner(createPrivateKey(readFileSync(pair.key)), readFileSync(pair.cert, 'utf8')) });
    return postSoap(gw.url, m.xml);
  };
  /** Log lines of the intake written by the lane thread. */
  const laneLines = (outcome: string) => gw.logs.filter((l) => l.lane === 0 && l.outcome === outcome);

  it('the distribution point named by the partner certificate is downloaded at start-up', async () => {
    expect(served.requests).toBeGreaterThanOrEqual(1);
    expect(await check('crls')).toMatchObject({ status: 'pass', detail: expect.stringContaining(`${crlUrl}: 0 revoked`) });
    const ok = await send(victim);
    expect(ok.status, ok.body).toBe(200);
    expect(laneLines('accepted').length).toBeGreaterThanOrEqual(1);
  });

  it('the CA revokes the certificate: after the next refresh the gateway (its lane thread too) refuses it', async () => {
    served.body = readFileSync(ca.makeCrl('revoking', [victim.serial]));
    await until('the new CRL is in use', async () => (await check('crls')).detail.includes(`${crlUrl}: 1 revoked`));
    const refused = await send(victim);
    expect(refused.status).toBe(500);
    const f = faultOf(refused.body);
    expect(f).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    expect(f.faultstring).toMatch(/CN=crl-victim.*\(serial 0d0001\) was revoked on 2025-01-01T00:00:00\.000Z/);
    expect(laneLines('fault').length).toBeGreaterThanOrEqual(1);
    expect(gw.logs.some((l) => l.level === 'info' && /CRL http:.* loaded: 1 revoked/.test(String(l.msg)))).toBe(true);
  });

  it('a CRL that fails to download keeps the old one; /ready warns once that one is past its nextUpdate', async () => {
    // A short-lived revoking CRL first, then the distribution point fails.
    served.body = readFileSync(ca.makeCrl('short', [victim.serial], 3));
    const thisUpdate = Date.now();
    await until('the short-lived CRL is in use', async () => {
      const c = await check('crls');
      const m = /ca\.crl: 1 revoked, next update (\S+)/.exec(c.detail);
      return m !== null && Date.parse(m[1]!) - thisUpdate < 60_000;
    });
    served.failing = true;
    const failingFrom = served.requests;
    await until('a refresh failed', async () => (await check('crls')).detail.includes('last refresh failed: download failed: HTTP 500'));
    expect(served.requests).toBeGreaterThan(failingFrom);
    expect(faultOf((await send(victim)).body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    await until('/ready warns', async () => {
      const c = await check('crls');
      return c.status === 'warn' && c.detail.includes(`past nextUpdate (still used): ${crlUrl}`);
    });
    // Still used after its nextUpdate: a revocation stays true.
    expect(faultOf((await send(victim)).body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    expect(gw.logs.some((l) => l.level === 'warn' && /could not be refreshed; the previous one stays in use/.test(String(l.msg)))).toBe(true);
  });

  it('a changed CRL_FILES file is read again', async () => {
    const ok = await send(fileVictim);
    expect(ok.status, ok.body).toBe(200);
    copyFileSync(ca.makeCrl('file-revoking', [fileVictim.serial]), crlFile);
    await until('the file is read again', async () => (await check('crls')).detail.includes(`${crlFile}: 1 revoked`));
    const refused = await send(fileVictim);
    expect(faultOf(refused.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'CertificateIsExpired' });
    expect(faultOf(refused.body).faultstring).toMatch(/\(serial 0d0002\) was revoked/);
  });
});
