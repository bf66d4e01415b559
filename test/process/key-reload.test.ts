/**
 * Renewing the gateway's key without stopping it, on the real thing:
 * `node dist/main.js` with WORKERS=2 (node:cluster), a large-message thread
 * per process, and Redis. Under steady concurrent load of signed
 * SendRequests, the key files are replaced and the supervisor gets SIGHUP:
 * every request is answered with success, replies before are signed with the
 * old certificate and after with the new one (the project's verifier checks
 * every reply, xmlsec1 one of each), in both processes and their threads.
 * POST /api/v1/maintenance/reload-keys does the same (ops token; 403 for the
 * city's) and the other worker follows; a key that does not fit its
 * certificate is refused with the old key kept; a certificate within 30 days
 * of its end makes /ready and the metric warn.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { ns } from '../../src/soap/namespaces.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { postSoap, signedSendRequest } from '../helpers/smev.js';
import { issueCertificate, tempDir, type IssuedPem } from '../helpers/tls-pki.js';
import { requireTool } from '../helpers/tools.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const OPS = { authorization: 'Bearer dev-ops-token' };
const CITY = { authorization: 'Bearer dev-city-token' };
/** Bodies of this size or more go to a large-message thread: the ones with an attachment. */
const LARGE = 7000;

interface Reply {
  messageId: string;
  started: number;
  finished: number;
  large: boolean;
  status: number;
  body: string;
}

/** The certificate (DER, base64) in the reply's SMEVSignature, after checking the signature's mathematics with it. */
function replySigner(body: string): string {
  const doc = parseXml(body);
  const signature = find(doc.root, (e) => e.localName === 'Signature');
  if (!signature) throw new Error(`no signature in ${body.slice(0, 300)}`);
  const verdict = verifySignature(doc, signature, null, { trust: null });
  if (verdict.math !== 'valid') throw new Error(`reply signature: ${verdict.message}`);
  return verdict.details.certificate!.der.toString('base64');
}

function find(el: XmlElement, test: (e: XmlElement) => boolean): XmlElement | null {
  if (test(el)) return el;
  for (const c of el.children) {
    if (c.type !== 'element') continue;
    const found = find(c, test);
    if (found) return found;
  }
  return null;
}

const derOf = (pem: string) => parseCertificate(pem).der.toString('base64');

describe('key renewal on a running gateway (node dist/main.js, WORKERS=2, Redis)', () => {
  let redis: RedisTestServer;
  let dir: string;
  let gw: GatewayProcess;
  let renewed: IssuedPem;
  let soon: IssuedPem;
  let stranger: IssuedPem;
  const keyFile = () => path.join(dir, 'gateway.key.pem');
  const certFile = () => path.join(dir, 'gateway.crt.pem');
  const oldCertPem = readFileSync(path.join(projectRoot, 'certs-sample/gateway.crt.pem'), 'utf8');

  /** Puts a key and certificate in place the way ops would: each file replaced at once (rename). */
  const install = (key: string, cert: string) => {
    copyFileSync(key, `${keyFile()}.new`);
    copyFileSync(cert, `${certFile()}.new`);
    renameSync(`${keyFile()}.new`, keyFile());
    renameSync(`${certFile()}.new`, certFile());
  };

  const send = async (large: boolean): Promise<Reply> => {
    const attachments = large ? [{ contentId: 'scan', mimeType: 'application/pdf', content: Buffer.alloc(3000, 7) }] : undefined;
    const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', attachments });
    if (large !== xml.length >= LARGE) throw new Error(`test setup: a ${large ? 'large' : 'small'} message is ${xml.length} bytes`);
    const started = Date.now();
    const res = await postSoap(gw.url, xml);
    return { messageId, started, finished: Date.now(), large, status: res.status, body: res.body };
  };

  const logged = (pattern: RegExp, from = 0) => gw.lines.slice(from).filter((l) => pattern.test(String(l.msg)));
  const waitFor = async (what: string, done: () => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${gw.stderr()}`);
      await sleep(25);
    }
  };
  const reloadedBoth = (from: number) => new Set(logged(/^gateway key reloaded/, from).map((l) => l.pid)).size >= 2;

  beforeAll(async () => {
    requireTool('xmlsec1', ['--version'], 'xmlsec1');
    redis = await startRedisServer();
    dir = tempDir('okno-key-reload-');
    install(path.join(projectRoot, 'certs-sample/gateway.key.pem'), path.join(projectRoot, 'certs-sample/gateway.crt.pem'));
    renewed = issueCertificate(dir, { cn: 'okno-gateway-2026', days: 400 });
    soon = issueCertificate(dir, { cn: 'okno-gateway-ends-soon', days: 10 });
    stranger = issueCertificate(dir, { cn: 'okno-gateway-stranger', days: 400 });
    gw = await startGatewayProcess({
      REDIS_URL: redis.url,
      WORKERS: '2',
      PORT: String(await freePort()),
      GATEWAY_KEY_FILE: keyFile(),
      GATEWAY_CERT_FILE: certFile(),
      LARGE_MESSAGE_THREADS: '1',
      LARGE_MESSAGE_BYTES: String(LARGE),
      LOG_LEVEL: 'info',
    });
    await waitFor('both workers', () => new Set(gw.lines.filter((l) => /^okno gateway listening/.test(String(l.msg))).map((l) => l.pid)).size === 2);
    // Both processes' large-message threads ready (each probe reaches one process or the other).
    let readyInARow = 0;
    const deadline = Date.now() + 30_000;
    while (readyInARow < 6) {
      if (Date.now() > deadline) throw new Error(`large-message threads not ready: ${gw.stderr()}`);
      const r = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail: string }> };
      readyInARow = /^1 of 1/.test(r.checks.find((c) => c.name === 'largeMessages')?.detail ?? '') ? readyInARow + 1 : 0;
      if (readyInARow < 6) await sleep(50);
    }
  }, 60_000);

  afterAll(async () => {
    if (gw && gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      await gw.exited;
    }
    await redis?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('under steady load, SIGHUP swaps the key in both processes and their threads: no request fails, old certificate before, new after', async () => {
    const replies: Reply[] = [];
    let stop = false;
    let swappedAt = Number.POSITIVE_INFINITY;
    let reloadedAt = Number.POSITIVE_INFINITY;
    const loops = Array.from({ length: 4 }, async (_, i) => {
      for (let n = 0; !stop; n++) replies.push(await send((n + i) % 2 === 0));
    });
    await waitFor('40 replies under the old key', () => replies.length >= 40, 60_000);
    const from = gw.lines.length;
    install(renewed.keyFile, renewed.certFile);
    swappedAt = Date.now();
    gw.child.kill('SIGHUP');
    await waitFor('both workers reloaded', () => reloadedBoth(from));
    reloadedAt = Date.now();
    await waitFor('40 replies under the new key', () => replies.filter((r) => r.started > reloadedAt).length >= 40, 60_000);
    stop = true;
    await Promise.all(loops);
    if (process.env.KEY_RELOAD_STATS) console.log(JSON.stringify({ replies: replies.length, duringReload: replies.filter((r) => r.finished >= swappedAt && r.started <= reloadedAt).length, reloadMs: reloadedAt - swappedAt, p100Ms: Math.max(...replies.map((r) => r.finished - r.started)) }));

    const failed = replies.filter((r) => r.status !== 200 || !r.body.includes('requestIsQueued'));
    expect(failed.map((r) => `${r.status} ${r.body.slice(0, 300)}`)).toEqual([]);
    const OLD = derOf(oldCertPem);
    const NEW = derOf(renewed.certPem);
    const signers = replies.map((r) => ({ ...r, cert: replySigner(r.body) }));
    expect(signers.filter((r) => r.cert !== OLD && r.cert !== NEW)).toEqual([]);
    const before = signers.filter((r) => r.finished < swappedAt);
    const after = signers.filter((r) => r.started > reloadedAt);
    expect(before.length).toBeGreaterThanOrEqual(40);
    expect(before.every((r) => r.cert === OLD)).toBe(true);
    expect(after.every((r) => r.cert === NEW)).toBe(true);
    // Both paths were exercised on both sides of the swap: the event loop (small) and the threads (large).
    expect(new Set(before.map((r) => r.large))).toEqual(new Set([true, false]));
    expect(new Set(after.map((r) => r.large))).toEqual(new Set([true, false]));
    // The large ones were processed, and signed, in the threads (their log lines carry `lane`).
    const acceptedLines = () => new Map(gw.lines.filter((l) => l.msg === 'SendRequest accepted').map((l) => [l.messageId, l]));
    // A thread's log lines reach stdout through the event loop: they may come just after the reply.
    await waitFor('every accepted line', () => replies.every((r) => acceptedLines().has(r.messageId)), 5_000);
    const accepted = acceptedLines();
    const inThread = (r: Reply) => accepted.get(r.messageId)?.lane === 0;
    // (While starting, a process whose thread is not ready yet processes large ones itself.)
    expect(before.some((r) => r.large && inThread(r))).toBe(true);
    expect(after.filter((r) => r.large && !inThread(r)).map((r) => r.messageId)).toEqual([]);
    expect(after.filter((r) => !r.large && inThread(r)).map((r) => r.messageId)).toEqual([]);

    // One line per process with the old and the new certificate, its thread included.
    const lines = logged(/^gateway key reloaded/, from);
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).toMatchObject({
        level: 'info',
        trigger: 'SIGHUP',
        changed: true,
        threads: 1,
        previous: { subject: expect.stringMatching(/CN=okno-gateway$/), serial: parseCertificate(oldCertPem).serialHex, notAfter: parseCertificate(oldCertPem).notAfter.toISOString() },
        current: { subject: expect.stringMatching(/CN=okno-gateway-2026$/), serial: parseCertificate(renewed.certPem).serialHex },
      });
    }
    expect(gw.lines.slice(from).filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);

    // xmlsec1, an independent verifier, agrees on one reply of each key (the portal's profile is plain XMLDSig).
    for (const r of [before[0]!, after[0]!]) {
      const file = path.join(dir, `reply-${r.cert === OLD ? 'old' : 'new'}.xml`);
      writeFileSync(file, r.body);
      const res = spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '--id-attr:Id', `${ns.types('1.1')}:MessageMetadata`, file], { encoding: 'utf8' });
      expect(`${res.status} ${res.stderr}`).toMatch(/^0 [\s\S]*OK/);
    }
  }, 180_000);

  it('POST /api/v1/maintenance/reload-keys: 403 for the city, and with an ops token it reloads, the other worker following', async () => {
    const url = `${gw.url}/api/v1/maintenance/reload-keys`;
    expect((await fetch(url, { method: 'POST', headers: CITY })).status).toBe(403);
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    install(soon.keyFile, soon.certFile);
    const from = gw.lines.length;
    const res = await fetch(url, { method: 'POST', headers: OPS });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({
      changed: true,
      threads: 1,
      otherProcesses: true,
      previous: { subject: expect.stringMatching(/CN=okno-gateway-2026$/) },
      current: { subject: expect.stringMatching(/CN=okno-gateway-ends-soon$/), serial: parseCertificate(soon.certPem).serialHex, algorithm: expect.any(String), fingerprint: parseCertificate(soon.certPem).fingerprintSha256 },
    });
    await waitFor('both workers reloaded', () => reloadedBoth(from));
    expect(logged(/^gateway key reloaded/, from).map((l) => l.trigger).sort()).toEqual(['SIGHUP', 'api']);
    const SOON = derOf(soon.certPem);
    for (let i = 0; i < 12; i++) expect(replySigner((await send(i % 2 === 0)).body)).toBe(SOON);
  }, 60_000);

  it('/ready and the metric warn about the gateway certificate that ends within 30 days (in either process)', async () => {
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${gw.url}/ready`);
      const ready = (await res.json()) as { status: string; checks: Array<{ name: string; status: string; detail: string; expiring?: Array<Record<string, unknown>> }> };
      expect(res.status).toBe(200);
      expect(ready.status).toBe('ready');
      expect(ready.checks.find((c) => c.name === 'gatewayCertificate')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/CN=okno-gateway-ends-soon valid until/) });
      const certificates = ready.checks.find((c) => c.name === 'certificates')!;
      expect(certificates.status).toBe('warn');
      expect(certificates.expiring).toEqual([expect.objectContaining({ role: 'gateway', owner: 'self', subject: expect.stringMatching(/CN=okno-gateway-ends-soon$/), daysUntilExpiry: 9 })]);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      const gateway = metrics.split('\n').filter((l) => l.startsWith('okno_certificate_expiry_days{') && l.includes('role="gateway"'));
      // Only the certificate in use: the replaced ones leave no series.
      expect(gateway).toHaveLength(1);
      expect(gateway[0]).toMatch(/CN=okno-gateway-ends-soon/);
      const days = Number(gateway[0]!.split(' ').pop());
      expect(days).toBeGreaterThan(9);
      expect(days).toBeLessThan(10.01);
    }
  });

  it('a key that does not fit its certificate is refused, by the API (422) and on SIGHUP, and the key in use stays', async () => {
    copyFileSync(stranger.keyFile, keyFile());
    copyFileSync(renewed.certFile, certFile());
    let from = gw.lines.length;
    const res = await fetch(`${gw.url}/api/v1/maintenance/reload-keys`, { method: 'POST', headers: OPS });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status).toBe(422);
    expect(body.error.code).toBe('KEY_RELOAD_FAILED');
    expect(body.error.message).toMatch(/the key in use stays \("[^"]*CN=okno-gateway-ends-soon", serial [0-9a-f]+\): GATEWAY_KEY_FILE: the private key in .* does not belong to the certificate in GATEWAY_CERT_FILE/);
    await waitFor('the refusal logged', () => logged(/^gateway key reload refused/, from).length === 1);
    expect(logged(/^gateway key reload refused/, from)[0]).toMatchObject({ level: 'error', trigger: 'api', problem: expect.stringMatching(/does not belong/) });

    from = gw.lines.length;
    gw.child.kill('SIGHUP');
    await waitFor('both workers refused', () => new Set(logged(/^gateway key reload refused/, from).map((l) => l.pid)).size === 2);
    expect(logged(/^gateway key reloaded/, from)).toEqual([]);
    const SOON = derOf(soon.certPem);
    for (let i = 0; i < 8; i++) {
      const r = await send(i % 2 === 0);
      expect(r.status, r.body).toBe(200);
      expect(replySigner(r.body)).toBe(SOON);
    }
  }, 60_000);

  it('the journal’s checkpoints, signed with each key in turn, still verify as the gateway’s', async () => {
    const res = await fetch(`${gw.url}/api/v1/journal/verify`, { headers: OPS });
    const report = (await res.json()) as { ok: boolean; checkpointedUpTo: number; problems: unknown[] };
    expect(res.status).toBe(200);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });
});
