/**
 * `node dist/main.js` signing with a key in a real PKCS#11 token (SoftHSM2):
 * replies verify with xmlsec1 against the CA; bad token settings stop start-up
 * (exit 78) with one line naming the variable; a token that goes away turns
 * replies into SMEVFailure faults and /ready into 503 naming the token, and both
 * recover when it is back, with nothing accepted lost. The large-message lane's
 * threads sign through the event loop's token session.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { PortalSimulator } from '../../src/simulators/portal.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { readInbox } from '../helpers/city.js';
import { projectRoot } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';
import { spawnGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';
import { createSoftHsmToken, type SoftHsmToken } from '../helpers/softhsm.js';
import { requireTool } from '../helpers/tools.js';

const TYPES_11 = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1';
const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));

let token: SoftHsmToken;
let rsaCert: string;
let ecCert: string;

beforeAll(() => {
  requireTool('xmlsec1', ['--version'], 'xmlsec1');
  token = createSoftHsmToken();
  rsaCert = token.generateKey('rsa', 'gw-rsa', '01').certFile;
  ecCert = token.generateKey('ec', 'gw-ec', '02').certFile;
}, 60_000);
afterAll(() => token?.remove());

/** xmlsec1 checks the reply's SMEVSignature over MessageMetadata against the sample CA. */
function xmlsecVerifies(reply: string): { ok: boolean; output: string } {
  const file = path.join(token.dir, `reply-${Date.now()}-${Math.random()}.xml`);
  writeFileSync(file, reply);
  const r = spawnSync('xmlsec1', ['--verify', '--trusted-pem', path.join(projectRoot, 'certs-sample/ca.crt.pem'), '--id-attr:Id', `${TYPES_11}:MessageMetadata`, file], { encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

function certificateIn(reply: string): string {
  return /<ds:X509Certificate>([^<]+)</.exec(reply)?.[1] ?? '';
}

function derOf(pemFile: string): string {
  const r = spawnSync('openssl', ['x509', '-in', pemFile, '-outform', 'DER'], { encoding: 'buffer' });
  return r.stdout.toString('base64');
}

/** The child's log lines arrive over a pipe, after the HTTP answers that follow them: wait for one. */
async function logged(gw: GatewayProcess, msg: RegExp, where: (l: Record<string, unknown>) => boolean = () => true): Promise<boolean> {
  const seen = () => gw.lines.some((l) => msg.test(String(l.msg)) && where(l));
  for (let i = 0; i < 60 && !seen(); i++) await new Promise((r) => setTimeout(r, 50));
  return seen();
}

async function readiness(url: string): Promise<{ status: number; body: { checks: Array<{ name: string; status: string; detail: string }> } }> {
  const res = await fetch(`${url}/ready`);
  return { status: res.status, body: (await res.json()) as { checks: Array<{ name: string; status: string; detail: string }> } };
}

describe('start-up with bad token settings: exit 78, one line naming the variable', () => {
  const cases: Array<[string, () => Record<string, string>, RegExp]> = [
    ['a missing module', () => ({ ...token.env('gw-rsa', rsaCert), GATEWAY_PKCS11_MODULE: '/usr/lib/no-such-pkcs11.so' }), /^okno: GATEWAY_PKCS11_MODULE: cannot load the PKCS#11 module \/usr\/lib\/no-such-pkcs11\.so/],
    ['an unknown token', () => ({ ...token.env('gw-rsa', rsaCert), GATEWAY_PKCS11_TOKEN: 'elsewhere' }), /^okno: GATEWAY_PKCS11_TOKEN: no token labelled "elsewhere"/],
    ['a wrong PIN', () => {
      const file = path.join(token.dir, 'bad-pin');
      writeFileSync(file, '111111\n');
      return { ...token.env('gw-rsa', rsaCert), GATEWAY_PKCS11_PIN_FILE: file };
    }, /^okno: GATEWAY_PKCS11_PIN_FILE: login to token "okno-test" failed: CKR_PIN_INCORRECT/],
    ['a missing key', () => token.env('gw-nothing', rsaCert), /^okno: GATEWAY_PKCS11_KEY: token "okno-test" holds no private key "gw-nothing"/],
    ['a certificate of another key', () => token.env('gw-rsa', ecCert), /^okno: GATEWAY_CERT_FILE: the certificate holds a ec-p256 key, but token key "gw-rsa" is of another type/],
  ];
  for (const [name, env, line] of cases) {
    it(name, async () => {
      const proc = spawnGateway({ PORT: String(await freePort()), ...env() });
      expect(await proc.exited).toBe(78);
      const lines = proc.stderr().trim().split('\n');
      expect(lines, proc.stderr()).toHaveLength(1);
      expect(lines[0]).toMatch(line);
    });
  }

  it('a key file and a token together are refused, naming both', async () => {
    const proc = spawnGateway({ PORT: String(await freePort()), ...token.env('gw-rsa', rsaCert), GATEWAY_KEY_FILE: 'certs-sample/gateway.key.pem' });
    expect(await proc.exited).toBe(78);
    expect(proc.stderr()).toMatch(/GATEWAY_PKCS11_MODULE: set together with GATEWAY_KEY_FILE/);
  });
});

describe('a gateway signing with a token key', () => {
  let redis: RedisTestServer;
  let gw: GatewayProcess;

  beforeAll(async () => {
    redis = await startRedisServer();
    // Every SOAP body is "large" here, so each message is processed by the lane's thread, which asks the event loop to sign.
    gw = await startGatewayProcess({ PORT: String(await freePort()), REDIS_URL: redis.url, LARGE_MESSAGE_THREADS: '1', LARGE_MESSAGE_BYTES: '1024', ...token.env('gw-rsa', rsaCert) });
    // Until its thread is ready, the lane sends messages to the event loop.
    const threadReady = async () => (await readiness(gw.url)).body.checks.find((c) => c.name === 'largeMessages')?.detail.startsWith('1 of 1') ?? false;
    for (let i = 0; i < 200 && !(await threadReady()); i++) await new Promise((r) => setTimeout(r, 100));
  }, 60_000);
  afterAll(async () => {
    gw?.child.kill('SIGTERM');
    if (gw) expect(await gw.exited).toBe(0);
    await redis?.stop();
  });

  it('answers a SendRequest with a reply signed in the token (lane thread → event loop → token); xmlsec1 verifies it', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue, service: 'kindergarten-enrollment' });
    const res = await postSoap(gw.url, xml);
    expect(res.status, res.body).toBe(200);
    const verdict = xmlsecVerifies(res.body);
    expect(verdict.ok, verdict.output).toBe(true);
    expect(certificateIn(res.body)).toBe(derOf(rsaCert));
    // Processed in the lane's thread (its log lines carry `lane`).
    expect(await logged(gw, /accepted/, (l) => l.messageId === messageId && l.lane === 0)).toBe(true);
    const ready = await readiness(gw.url);
    expect(ready.status).toBe(200);
    expect(ready.body.checks.find((c) => c.name === 'signingKey')?.detail).toMatch(/^rsa-2048 \(CKM_SHA256_RSA_PKCS\) from PKCS#11 token "okno-test" key "gw-rsa" \(\/usr\/lib\/softhsm\/libsofthsm2\.so\); the token answers/);
  });

  it('a token that stops answering: SMEVFailure and /ready 503 naming it; after it is back, both recover and the retried message is accepted once', async () => {
    const before = (await readInbox(gw.url)).items.length;
    const { xml, messageId } = await signedSendRequest({ catalogue, service: 'kindergarten-enrollment' });
    token.takeAway();
    try {
      const res = await postSoap(gw.url, xml);
      expect(res.status).toBe(500);
      expect(faultOf(res.body).fault).toBe('SMEVFailure');
      expect(res.body).toMatch(/<faultcode>soap:Server<\/faultcode>/);
      // /ready caches its checks for a second: ask until the outage shows.
      let ready = await readiness(gw.url);
      for (let i = 0; i < 50 && ready.status !== 503; i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await readiness(gw.url);
      }
      expect(ready.status).toBe(503);
      const check = ready.body.checks.find((c) => c.name === 'signingKey');
      expect(check?.status).toBe('fail');
      expect(check?.detail).toMatch(/PKCS#11 token "okno-test" is not answering since/);
      expect((await fetch(`${gw.url}/health`)).status).toBe(200);
      // The reply is signed before the atomic commit: a message whose reply could not be signed was not taken.
      expect((await readInbox(gw.url)).items.length).toBe(before);
    } finally {
      token.bringBack();
    }
    let status = 503;
    for (let i = 0; i < 150 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await readiness(gw.url)).status;
    }
    expect(status).toBe(200);
    expect(await logged(gw, /PKCS#11 token "okno-test" stopped answering/)).toBe(true);
    expect(await logged(gw, /PKCS#11 token "okno-test" answers again/)).toBe(true);
    // The partner retries the same message: accepted now, and only once.
    const retry = await postSoap(gw.url, xml);
    expect(retry.status, retry.body).toBe(200);
    expect(xmlsecVerifies(retry.body).ok).toBe(true);
    const again = await postSoap(gw.url, xml);
    expect(again.status).toBe(200);
    expect(again.body).toBe(retry.body);
    const items = (await readInbox(gw.url)).items.filter((i) => i.messageId === messageId);
    expect(items).toHaveLength(1);
  }, 60_000);

  it('WORKERS=2: each process logs in to the token on its own and signs', async () => {
    const two = await startGatewayProcess({ PORT: String(await freePort()), REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'okno-w2:', WORKERS: '2', LARGE_MESSAGE_THREADS: '0', ...token.env('gw-rsa', rsaCert) });
    try {
      const listening = () => new Set(two.lines.filter((l) => /^okno gateway listening/.test(String(l.msg))).map((l) => l.pid));
      for (let i = 0; i < 200 && listening().size < 2; i++) await new Promise((r) => setTimeout(r, 50));
      // Each listens only after logging in and signing its start-up challenge in the token.
      expect(listening().size).toBe(2);
      const replies = await Promise.all(Array.from({ length: 6 }, async () => postSoap(two.url, (await signedSendRequest({ catalogue, service: 'kindergarten-enrollment' })).xml)));
      for (const r of replies) {
        expect(r.status, r.body).toBe(200);
        expect(xmlsecVerifies(r.body).ok).toBe(true);
      }
    } finally {
      two.child.kill('SIGTERM');
      expect(await two.exited).toBe(0);
    }
  }, 60_000);
});

describe('ECDSA P-256 in the token, on the event loop (memory store)', () => {
  it('answers with an ECDSA reply xmlsec1 verifies', async () => {
    const gw = await startGatewayProcess({ PORT: String(await freePort()), ...token.env('gw-ec', ecCert) });
    try {
      const { xml } = await signedSendRequest({ catalogue, service: 'advertising-permit' });
      const res = await postSoap(gw.url, xml);
      expect(res.status, res.body).toBe(200);
      expect(res.body).toContain('http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256');
      const verdict = xmlsecVerifies(res.body);
      expect(verdict.ok, verdict.output).toBe(true);
    } finally {
      gw.child.kill('SIGTERM');
      expect(await gw.exited).toBe(0);
    }
  });
});

describe('status delivery to the portal while the token is away', () => {
  it('retries, and delivers the status signed by the token key once it is back', async () => {
    const trust = new TrustAnchorSet([readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8')]);
    const portal = await PortalSimulator.start({ port: 0, trust, expectedSigner: parseCertificate(readFileSync(rsaCert, 'utf8')).fingerprintSha256, signer: sampleSigner('portal'), catalogue });
    const gw = await startGatewayProcess({
      PORT: String(await freePort()),
      PORTAL_URL: `${portal.url}/ws/smev3`,
      DELIVERY_BACKOFF_MS: '50',
      DELIVERY_BACKOFF_CAP_MS: '200',
      DELIVERY_MAX_ATTEMPTS: '1000',
      ...token.env('gw-rsa', rsaCert),
    });
    try {
      const { xml, messageId } = await signedSendRequest({ catalogue, service: 'advertising-permit' });
      expect((await postSoap(gw.url, xml)).status).toBe(200);
      const applicationId = (await readInbox(gw.url)).items.find((i) => i.messageId === messageId)!.applicationId!;
      type Delivery = { state: string; attempts: number; lastError: string | null };
      const delivery = async (id: string) => (await (await fetch(`${gw.url}/api/v1/deliveries/${id}`, { headers: CITY })).json()) as Delivery;
      token.takeAway();
      let id: string;
      try {
        const res = await fetch(`${gw.url}/api/v1/applications/${applicationId}/status`, { method: 'POST', headers: { ...CITY, 'content-type': 'application/json' }, body: '{"code":"registered"}' });
        expect(res.status).toBe(202);
        id = ((await res.json()) as { deliveryId: string }).deliveryId;
        let d = await delivery(id);
        for (let i = 0; i < 100 && d.attempts < 2; i++) {
          await new Promise((r) => setTimeout(r, 50));
          d = await delivery(id);
        }
        expect(d.state).toBe('pending');
        expect(d.lastError).toMatch(/PKCS#11 token "okno-test"/);
        expect(portal.attempts).toBe(0);
      } finally {
        token.bringBack();
      }
      let d = await delivery(id);
      for (let i = 0; i < 200 && d.state !== 'delivered'; i++) {
        await new Promise((r) => setTimeout(r, 50));
        d = await delivery(id);
      }
      expect(d.state).toBe('delivered');
      // The simulator accepts only messages signed with the token's certificate (expectedSigner).
      expect(portal.statuses().map((st) => st.signerSubject)).toEqual([expect.stringMatching(/CN=gw-rsa/)]);
    } finally {
      gw.child.kill('SIGTERM');
      await gw.exited;
      await portal.close();
    }
  }, 60_000);
});
