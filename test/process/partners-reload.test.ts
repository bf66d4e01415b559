/**
 * A partner's renewed certificate taken while the gateway runs: PARTNERS_FILE
 * and TRUST_CA_FILE are read again by the same reload as the key (SIGHUP, POST
 * /api/v1/maintenance/reload-keys), on `node dist/main.js` with Redis and a
 * large-message thread (which reads the files too). Before the reload a message
 * signed with the partner's new certificate is refused; after it, it is accepted
 * on the event loop and in the thread, and so is the old one (the overlap). A
 * partner certificate from a new CA is trusted once TRUST_CA_FILE holds that CA.
 * A registry or anchor file that is invalid, or that changes what needs a
 * restart, is refused as a whole (422 REGISTRY_RELOAD_FAILED, nothing reloaded)
 * and what is in use stays.
 */
import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { LocalKeySigner, type Signer } from '../../src/pki/signer.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { faultOf, OPS, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { issueCertificate, tempDir, type IssuedPem } from '../helpers/tls-pki.js';

const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
/** Bodies of this size or more go to the large-message thread: the ones with an attachment. */
const LARGE = 7000;

type Registry = { description?: string; partners: Array<Record<string, unknown> & { id: string; certificates: string[] }> };

describe('reloading PARTNERS_FILE with the key (node dist/main.js, Redis, a large-message thread)', () => {
  let redis: RedisTestServer;
  let gw: GatewayProcess;
  let dir: string;
  let renewed: IssuedPem;
  let renewedSigner: Signer;
  const file = () => path.join(dir, 'partners.json');
  const trustFile = () => path.join(dir, 'trust.pem');
  const writeTrust = (...pems: string[]) => {
    writeFileSync(`${trustFile()}.new`, pems.map((f) => readFileSync(f, 'utf8')).join(''));
    renameSync(`${trustFile()}.new`, trustFile());
  };
  const original = JSON.parse(readFileSync(path.join(projectRoot, 'config/partners.json'), 'utf8')) as Registry;
  const sample = (name: string) => path.join(projectRoot, 'certs-sample', name);

  /** The registry with absolute certificate paths, `edit`ed, put in place at once (rename). */
  const write = (edit: (r: Registry) => void = () => {}, raw?: string) => {
    const r = structuredClone(original);
    for (const p of r.partners) p.certificates = p.certificates.map((c) => path.resolve(projectRoot, 'config', c));
    edit(r);
    writeFileSync(`${file()}.new`, raw ?? JSON.stringify(r, null, 2));
    renameSync(`${file()}.new`, file());
  };

  const send = async (signer: Signer, large: boolean) => {
    const attachments = large ? [{ contentId: 'scan', mimeType: 'application/pdf', content: Buffer.alloc(3000, 7) }] : undefined;
    const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit', attachments, signer });
    if (large !== xml.length >= LARGE) throw new Error(`test setup: a ${large ? 'large' : 'small'} message is ${xml.length} bytes`);
    return { messageId, ...(await postSoap(gw.url, xml)) };
  };
  const waitFor = async (what: string, done: () => boolean, ms = 20_000) => {
    const deadline = Date.now() + ms;
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; stderr: ${gw.stderr()}`);
      await sleep(25);
    }
  };
  const reload = async () => {
    const res = await fetch(`${gw.url}/api/v1/maintenance/reload-keys`, { method: 'POST', headers: OPS });
    return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; partners?: unknown } };
  };
  /** Where each message was accepted: the thread's lines carry `lane`. */
  const acceptedIn = async (messageId: string) => {
    await waitFor('the accepted line', () => gw.lines.some((l) => l.msg === 'SendRequest accepted' && l.messageId === messageId), 5_000);
    return gw.lines.find((l) => l.msg === 'SendRequest accepted' && l.messageId === messageId)!.lane === 0 ? 'thread' : 'event loop';
  };

  beforeAll(async () => {
    dir = tempDir('okno-partners-reload-');
    write();
    writeTrust(sample('ca.crt.pem'));
    renewed = issueCertificate(dir, { cn: 'portal-2027', days: 400 });
    renewedSigner = new LocalKeySigner(createPrivateKey(renewed.keyPem), renewed.certPem);
    redis = await startRedisServer();
    gw = await startGatewayProcess({ PORT: String(await freePort()), REDIS_URL: redis.url, PARTNERS_FILE: file(), TRUST_CA_FILE: trustFile(), LARGE_MESSAGE_THREADS: '1', LARGE_MESSAGE_BYTES: String(LARGE), LOG_LEVEL: 'info' });
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
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('SIGHUP takes the portal\'s renewed certificate next to the old one, on the event loop and in the thread', async () => {
    for (const large of [false, true]) {
      const before = await send(renewedSigner, large);
      expect(before.status).toBe(500);
      expect(faultOf(before.body).fault).toBe('SenderIsNotRegistered');
    }
    write((r) => r.partners.find((p) => p.id === 'portal')!.certificates.push(renewed.certFile));
    const from = gw.lines.length;
    gw.child.kill('SIGHUP');
    await waitFor('the reload', () => gw.lines.slice(from).some((l) => /^gateway key reloaded/.test(String(l.msg))));
    const line = gw.lines.slice(from).find((l) => /^gateway key reloaded/.test(String(l.msg)))!;
    expect(line).toMatchObject({ level: 'info', trigger: 'SIGHUP', changed: false, threads: 1, partners: { changed: true, partners: 2 }, msg: expect.stringMatching(/partner registry renewed$/) });
    for (const large of [false, true]) {
      for (const signer of [renewedSigner, sampleSigner('portal')]) {
        const r = await send(signer, large);
        expect(r.status, r.body).toBe(200);
        expect(await acceptedIn(r.messageId)).toBe(large ? 'thread' : 'event loop');
      }
    }
    // /ready's certificates and the metric list the new partner certificate.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/okno_certificate_expiry_days\{[^}]*CN=portal-2027/);
  }, 60_000);

  it('an invalid registry, or one that removes a partner, or a trust file holding no CA, is refused as a whole (422 REGISTRY_RELOAD_FAILED); what is in use stays', async () => {
    const cases: Array<[() => void, RegExp]> = [
      [() => write(undefined, '{ "partners": [ '), /PARTNERS_FILE: partner registry .* is invalid: - not valid JSON/],
      [() => write((r) => r.partners.find((p) => p.id === 'portal')!.certificates.push(path.join(dir, 'missing.crt.pem'))), /PARTNERS_FILE: partner registry .* is invalid: .*missing\.crt\.pem/],
      [() => write((r) => (r.partners = r.partners.filter((p) => p.id !== 'agency'))), /PARTNERS_FILE: the partners differ \(agency, portal → portal\); adding or removing a partner needs a restart/],
      // A trust file holding a partner's (non-CA) certificate, with a registry change that would be fine: neither is taken.
      [() => {
        write((r) => r.partners.find((p) => p.id === 'portal')!.certificates.push(renewed.certFile));
        writeTrust(sample('ca.crt.pem'), sample('agency.crt.pem'));
      }, /TRUST_CA_FILE: certificate #2 in .* is not a CA certificate/],
    ];
    for (const [prepare, problem] of cases) {
      prepare();
      const from = gw.lines.length;
      const res = await reload();
      expect(res.status, JSON.stringify(res.body)).toBe(422);
      expect(res.body.error!.code).toBe('REGISTRY_RELOAD_FAILED');
      expect(res.body.error!.message).toMatch(/^the partner registry or trust anchors were refused; nothing was reloaded/);
      expect(res.body.error!.message).toMatch(problem);
      await waitFor('the refusal logged', () => gw.lines.slice(from).some((l) => /^gateway reload refused/.test(String(l.msg))));
      // The registry in use, with the renewed certificate, still serves both paths.
      for (const large of [false, true]) expect((await send(renewedSigner, large)).status).toBe(200);
    }
    writeTrust(sample('ca.crt.pem'));
    // Dropping the old certificate once the partner has switched: the API reload takes it.
    write((r) => (r.partners.find((p) => p.id === 'portal')!.certificates = [renewed.certFile]));
    const res = await reload();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.partners).toEqual({ changed: true, partners: 2 });
    for (const large of [false, true]) {
      expect((await send(renewedSigner, large)).status).toBe(200);
      const old = await send(sampleSigner('portal'), large);
      expect(old.status).toBe(500);
      expect(faultOf(old.body).fault).toBe('SenderIsNotRegistered');
    }
  }, 60_000);

  it('a partner certificate from a new CA: refused until TRUST_CA_FILE holds the CA, then trusted on the event loop and in the thread', async () => {
    const ca = path.join(dir, 'ca2');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', '/O=Okno reload test/CN=Okno second CA', '-days', '30', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { stdio: 'ignore' });
    const leaf = path.join(dir, 'portal-ca2');
    execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${leaf}.key`, '-out', `${leaf}.csr`, '-subj', '/O=Okno reload test/CN=portal-ca2'], { stdio: 'ignore' });
    writeFileSync(`${leaf}.ext`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n');
    execFileSync('openssl', ['x509', '-req', '-in', `${leaf}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '30', '-extfile', `${leaf}.ext`, '-out', `${leaf}.crt`], { stdio: 'ignore' });
    const signer = new LocalKeySigner(createPrivateKey(readFileSync(`${leaf}.key`)), readFileSync(`${leaf}.crt`, 'utf8'));

    write((r) => (r.partners.find((p) => p.id === 'portal')!.certificates = [renewed.certFile, `${leaf}.crt`]));
    expect((await reload()).status).toBe(200);
    for (const large of [false, true]) {
      const r = await send(signer, large);
      expect(r.status).toBe(500);
      expect(faultOf(r.body).reason).toBe('CertificateIsNotFound');
    }
    writeTrust(sample('ca.crt.pem'), `${ca}.crt`);
    const from = gw.lines.length;
    gw.child.kill('SIGHUP');
    await waitFor('the reload', () => gw.lines.slice(from).some((l) => /^gateway key reloaded/.test(String(l.msg))));
    for (const large of [false, true]) {
      const r = await send(signer, large);
      expect(r.status, r.body).toBe(200);
      expect(await acceptedIn(r.messageId)).toBe(large ? 'thread' : 'event loop');
      // The sample CA's partners stay trusted.
      expect((await send(renewedSigner, large)).status).toBe(200);
    }
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail: string }> };
    expect(ready.checks.find((c) => c.name === 'trustAnchors')?.detail).toBe('2 trusted CA certificate(s)');
  }, 60_000);
});
