/**
 * Renewing a key held in a PKCS#11 token (SoftHSM2) on a running
 * `node dist/main.js` (Redis, one large-message thread that signs through the
 * event loop's token session). Renewal as documented in the README: the new key
 * pair is generated in the same token under the same label (the old key stays
 * until it is deleted), its certificate replaces GATEWAY_CERT_FILE, then SIGHUP
 * or POST /api/v1/maintenance/reload-keys. Under steady load every request
 * succeeds, replies before are signed with key A and after with key B (the
 * project's verifier checks each, xmlsec1 one of each against the CA), on the
 * event loop and in the thread. A reload with a wrong PIN file answers 422 and
 * the key in use signs on.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { requireTool } from '../helpers/tools.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
const OPS = { authorization: 'Bearer dev-ops-token' };
/** Bodies of this size or more go to the large-message thread: the ones with an attachment. */
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

const derOf = (pemFile: string) => parseCertificate(readFileSync(pemFile, 'utf8')).der.toString('base64');

describe('renewing a token key on a running gateway (node dist/main.js, SoftHSM2, Redis, a large-message thread)', () => {
  let token: SoftHsmToken;
  let redis: RedisTestServer;
  let gw: GatewayProcess;
  let certA: string;
  let certB: string;
  let certFile: string;

  /** GATEWAY_CERT_FILE replaced at once (rename), as ops would. */
  const install = (pem: string) => {
    copyFileSync(pem, `${certFile}.new`);
    renameSync(`${certFile}.new`, certFile);
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

  function xmlsecVerifies(body: string, name: string): void {
    const file = path.join(token.dir, `reply-${name}.xml`);
    writeFileSync(file, body);
    const res = spawnSync('xmlsec1', ['--verify', '--enabled-key-data', 'x509', '--trusted-pem', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '--id-attr:Id', `${ns.types('1.1')}:MessageMetadata`, file], { encoding: 'utf8' });
    expect(`${res.status} ${res.stderr}`).toMatch(/^0 [\s\S]*OK/);
  }

  beforeAll(async () => {
    requireTool('xmlsec1', ['--version'], 'xmlsec1');
    token = createSoftHsmToken('okno-city');
    certA = token.generateKey('rsa', 'okno-gw', '01').certFile;
    certFile = path.join(token.dir, 'gateway.crt.pem');
    install(certA);
    redis = await startRedisServer();
    gw = await startGatewayProcess({
      REDIS_URL: redis.url,
      PORT: String(await freePort()),
      LARGE_MESSAGE_THREADS: '1',
      LARGE_MESSAGE_BYTES: String(LARGE),
      LOG_LEVEL: 'info',
      ...token.env('okno-gw', certFile),
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail: string }> };
      if (/^1 of 1/.test(r.checks.find((c) => c.name === 'largeMessages')?.detail ?? '')) break;
      if (Date.now() > deadline) throw new Error(`large-message thread not ready: ${gw.stderr()}`);
      await sleep(50);
    }
  }, 60_000);

  afterAll(async () => {
    if (gw && gw.child.exitCode === null) {
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    }
    await redis?.stop();
    token?.remove();
  });

  it('under steady load, key B generated in the token under the same label and SIGHUP: no request fails, key A before, key B after, on the event loop and in the thread', async () => {
    const replies: Reply[] = [];
    let stop = false;
    const loops = Array.from({ length: 4 }, async (_, i) => {
      for (let n = 0; !stop; n++) replies.push(await send((n + i) % 2 === 0));
    });
    await waitFor('30 replies under key A', () => replies.length >= 30, 60_000);
    // The new key pair is made in the token while the gateway signs from it (another process: pkcs11-tool).
    certB = token.generateKey('rsa', 'okno-gw', '02').certFile;
    install(certB);
    const from = gw.lines.length;
    const swappedAt = Date.now();
    gw.child.kill('SIGHUP');
    await waitFor('the reload', () => logged(/^gateway key re/, from).length > 0);
    const reloadedAt = Date.now();
    await waitFor('30 replies under key B', () => replies.filter((r) => r.started > reloadedAt).length >= 30, 60_000);
    stop = true;
    await Promise.all(loops);
    if (process.env.KEY_RELOAD_STATS) console.log(JSON.stringify({ replies: replies.length, duringReload: replies.filter((r) => r.finished >= swappedAt && r.started <= reloadedAt).length, reloadMs: reloadedAt - swappedAt, p100Ms: Math.max(...replies.map((r) => r.finished - r.started)) }));

    const failed = replies.filter((r) => r.status !== 200 || !r.body.includes('requestIsQueued'));
    expect(failed.map((r) => `${r.status} ${r.body.slice(0, 300)}`)).toEqual([]);
    const A = derOf(certA);
    const B = derOf(certB);
    const signers = replies.map((r) => ({ ...r, cert: replySigner(r.body) }));
    expect(signers.filter((r) => r.cert !== A && r.cert !== B)).toEqual([]);
    const before = signers.filter((r) => r.finished < swappedAt);
    const after = signers.filter((r) => r.started > reloadedAt);
    expect(before.length).toBeGreaterThanOrEqual(30);
    expect(before.every((r) => r.cert === A)).toBe(true);
    expect(after.every((r) => r.cert === B)).toBe(true);
    expect(new Set(after.map((r) => r.large))).toEqual(new Set([true, false]));
    // The large ones after the reload were processed in the thread, which forwards SignedInfo to the event loop's token.
    const acceptedLines = () => new Map(gw.lines.filter((l) => l.msg === 'SendRequest accepted').map((l) => [l.messageId, l]));
    await waitFor('every accepted line', () => replies.every((r) => acceptedLines().has(r.messageId)), 5_000);
    const accepted = acceptedLines();
    expect(after.filter((r) => r.large && accepted.get(r.messageId)?.lane !== 0).map((r) => r.messageId)).toEqual([]);

    const lines = logged(/^gateway key reloaded/, from);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      trigger: 'SIGHUP',
      changed: true,
      threads: 1,
      previous: { serial: parseCertificate(readFileSync(certA, 'utf8')).serialHex },
      current: { subject: expect.stringMatching(/^CN=okno-gw-02,/), serial: parseCertificate(readFileSync(certB, 'utf8')).serialHex, source: expect.stringMatching(/^PKCS#11 token "okno-city" key "okno-gw"/) },
    });
    expect(gw.lines.slice(from).filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    xmlsecVerifies(before[0]!.body, 'a');
    xmlsecVerifies(after.find((r) => r.large)!.body, 'b-thread');
    xmlsecVerifies(after.find((r) => !r.large)!.body, 'b-event-loop');
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; status: string; detail: string }> };
    expect(ready.checks.find((c) => c.name === 'signingKey')).toMatchObject({ status: 'pass', detail: expect.stringMatching(/from PKCS#11 token "okno-city" key "okno-gw" .*; the token answers/) });
  }, 180_000);

  it('POST /api/v1/maintenance/reload-keys with a wrong PIN file: 422 naming GATEWAY_PKCS11_PIN_FILE, key B signs on; with the PIN fixed, key C', async () => {
    const url = `${gw.url}/api/v1/maintenance/reload-keys`;
    const certC = token.generateKey('ec', 'okno-gw', '03').certFile;
    install(certC);
    writeFileSync(token.pinFile, '999999\n');
    let from = gw.lines.length;
    const res = await fetch(url, { method: 'POST', headers: OPS });
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(422);
    expect(body.error.code).toBe('KEY_RELOAD_FAILED');
    expect(body.error.message).toMatch(/the key in use stays \("CN=okno-gw-02, [^"]*", serial [0-9a-f]+\): GATEWAY_PKCS11_PIN_FILE: is not the PIN token "okno-city" is logged in with/);
    await waitFor('the refusal logged', () => logged(/^gateway key reload refused/, from).length === 1);
    const B = derOf(certB);
    for (let i = 0; i < 6; i++) {
      const r = await send(i % 2 === 0);
      expect(r.status, r.body).toBe(200);
      expect(replySigner(r.body)).toBe(B);
    }

    writeFileSync(token.pinFile, `${token.pin}\n`);
    from = gw.lines.length;
    const ok = await fetch(url, { method: 'POST', headers: OPS });
    const report = (await ok.json()) as Record<string, unknown>;
    expect(ok.status, JSON.stringify(report)).toBe(200);
    expect(report).toMatchObject({ changed: true, threads: 1, previous: { subject: expect.stringMatching(/^CN=okno-gw-02,/) }, current: { subject: expect.stringMatching(/^CN=okno-gw-03,/), algorithm: expect.stringMatching(/ecdsa/i) } });
    const C = derOf(certC);
    for (let i = 0; i < 6; i++) {
      const r = await send(i % 2 === 0);
      expect(r.status, r.body).toBe(200);
      expect(replySigner(r.body)).toBe(C);
      if (i < 2) xmlsecVerifies(r.body, `c-${i}`);
    }
    // The replaced keys can go from the token: key C signs on.
    token.deleteKey('01');
    token.deleteKey('02');
    for (let i = 0; i < 4; i++) expect(replySigner((await send(i % 2 === 0)).body)).toBe(C);
  }, 60_000);

  it('WORKERS=2: SIGHUP to the supervisor, each process opens key D beside its own key in use and swaps', async () => {
    const two = await startGatewayProcess({ PORT: String(await freePort()), REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'okno-p11w2:', WORKERS: '2', LARGE_MESSAGE_THREADS: '0', LOG_LEVEL: 'info', ...token.env('okno-gw', certFile) });
    try {
      const pids = (pattern: RegExp, from = 0) => new Set(two.lines.slice(from).filter((l) => pattern.test(String(l.msg))).map((l) => l.pid));
      for (let i = 0; i < 200 && pids(/^okno gateway listening/).size < 2; i++) await sleep(50);
      expect(pids(/^okno gateway listening/).size).toBe(2);
      const certD = token.generateKey('rsa', 'okno-gw', '04').certFile;
      install(certD);
      const from = two.lines.length;
      two.child.kill('SIGHUP');
      for (let i = 0; i < 200 && pids(/^gateway key reloaded/, from).size < 2; i++) await sleep(50);
      expect(pids(/^gateway key reloaded/, from).size, two.stderr()).toBe(2);
      const D = derOf(certD);
      // (The workers share the port: which one answers is the kernel's choice; both reloaded above.)
      const replies = await Promise.all(Array.from({ length: 12 }, async () => postSoap(two.url, (await signedSendRequest({ catalogue, service: 'advertising-permit' })).xml)));
      for (const r of replies) {
        expect(r.status, r.body).toBe(200);
        expect(replySigner(r.body)).toBe(D);
      }
      expect(two.lines.slice(from).filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
    } finally {
      two.child.kill('SIGTERM');
      expect(await two.exited).toBe(0);
    }
  }, 60_000);
});
