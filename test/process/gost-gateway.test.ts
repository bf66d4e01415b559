/**
 * The gateway as a new user runs it on GOST: `node dist/main.js` with a GOST R 34.10-2012-256
 * key made by `openssl genpkey -engine gost`, a certificate from a throwaway GOST CA made with
 * `openssl req/x509 -engine gost`, real Redis, and a portal whose GOST certificate the same CA
 * issued. The portal's GOST-signed SendRequest is accepted, and the gateway's signed reply
 * checks out with tools that share no code with Okno (lxml canonicalises SignedInfo,
 * OpenSSL's gost engine checks the SignatureValue). A key that does not fit its certificate
 * stops the gateway (exit 78) with one line naming the variable.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalogue } from '../../src/catalogue/load.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { loadGatewayIdentity } from '../../src/pki/gateway-identity.js';
import { GOST2012_256_URI, STREEBOG256_URI } from '../../src/crypto/index.js';
import { projectRoot } from '../helpers/gateway.js';
import { gostTempDir, makeGostCa, makeGostLeaf, ossl, type GostFiles } from '../helpers/gost-openssl-pki.js';
import { opensslVerifiesSignedInfo, signaturesByLxml } from '../helpers/independent-dsig.js';
import { freePort } from '../helpers/net.js';
import { spawnGateway, startGatewayProcess, type GatewayProcess } from '../helpers/process.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { OPS, postSoap, signedSendRequest } from '../helpers/smev.js';

let dir: string;
let ca: GostFiles;
let gateway: GostFiles;
let portal: GostFiles;
let redis: RedisTestServer;
let env: Record<string, string>;

beforeAll(async () => {
  dir = gostTempDir('okno-gost-gw-');
  ca = makeGostCa(dir); // GOST R 34.10-2012-512, TC26-512-A, self-signed
  gateway = makeGostLeaf(dir, ca, 'gateway', { algorithm: 'gost2012_256', paramset: 'A', cn: 'okno-gateway-gost' });
  portal = makeGostLeaf(dir, ca, 'portal', { algorithm: 'gost2012_256', paramset: 'TCA', cn: 'portal-gost' });
  const agency = makeGostLeaf(dir, ca, 'agency', { algorithm: 'gost2012_512', paramset: 'A', cn: 'agency-gost' });
  const partners = path.join(dir, 'partners.json');
  writeFileSync(
    partners,
    JSON.stringify({
      partners: [
        { id: 'portal', name: 'Portal (GOST)', role: 'portal', certificates: [portal.cert], sends: ['advertising-permit', 'dwelling-replanning', 'kindergarten-enrollment'], receives: ['elk-order-status'], endpoint: 'http://127.0.0.1:9/ws/smev3', signatureProfile: 'smev' },
        { id: 'agency', name: 'Agency (GOST)', role: 'agency', certificates: [agency.cert], sends: ['advertising-permit-register-extract'], receives: ['egrn-extract', 'zags-birth-record', 'egrul-extract'], endpoint: 'http://127.0.0.1:9/ws/smev3', signatureProfile: 'smev' },
      ],
    }),
  );
  redis = await startRedisServer();
  env = {
    REDIS_URL: redis.url,
    GATEWAY_KEY_FILE: gateway.key,
    GATEWAY_CERT_FILE: gateway.cert,
    TRUST_CA_FILE: ca.cert,
    PARTNERS_FILE: partners,
    LOG_LEVEL: 'info',
  };
}, 60_000);

afterAll(async () => {
  await redis?.dispose();
});

describe('a gateway started with an OpenSSL-made GOST key', () => {
  let gw: GatewayProcess;
  beforeAll(async () => {
    gw = await startGatewayProcess({ ...env, PORT: String(await freePort()) });
  }, 30_000);
  afterAll(async () => {
    gw?.child.kill('SIGTERM');
    await gw?.exited;
  });

  it('reports its GOST key on /ready', async () => {
    const ready = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail?: string; algorithm?: string }> };
    const key = ready.checks.find((c) => c.name === 'signingKey');
    expect(key?.detail).toMatch(/^gost2012-256 CryptoPro-A from /);
    expect(key?.algorithm).toBe('GOST R 34.10-2012-256');
  });

  it("answers the portal's GOST-signed SendRequest; its reply's GOST signature verifies with lxml + openssl's gost engine", async () => {
    const catalogue = loadCatalogue(path.join(projectRoot, 'config/services'));
    const portalSigner = loadGatewayIdentity({ kind: 'pem', keyFile: portal.key, certFile: portal.cert }).signer;
    const { xml } = await signedSendRequest({ catalogue, service: 'advertising-permit', signer: portalSigner, profile: 'smev' });
    // the request itself is GOST-signed, and openssl agrees with its signature
    const [requestSig] = signaturesByLxml(dir, xml);
    expect(requestSig!.signatureMethod).toBe(GOST2012_256_URI);
    expect(opensslVerifiesSignedInfo(dir, requestSig!)).toBe(true);

    const reply = await postSoap(gw.url, xml);
    expect(reply.status, reply.body).toBe(200);
    const sigs = signaturesByLxml(dir, reply.body);
    expect(sigs.length, reply.body).toBeGreaterThanOrEqual(1);
    const gatewayDer = parseCertificate(readFileSync(gateway.cert, 'utf8')).der;
    for (const sig of sigs) {
      expect(sig.signatureMethod).toBe(GOST2012_256_URI);
      expect(sig.digestMethods).toEqual([STREEBOG256_URI]);
      expect(sig.certificate?.equals(gatewayDer)).toBe(true);
      expect(opensslVerifiesSignedInfo(dir, sig, gatewayDer)).toBe(true);
      // and a flipped byte of the signed form does not verify: openssl is really judging
      const broken = { ...sig, signedInfo: Buffer.from(sig.signedInfo.toString('utf8').replace('DigestValue>', 'DigestValue> ')) };
      expect(opensslVerifiesSignedInfo(dir, broken, gatewayDer)).toBe(false);
    }
  });

  it('signs its journal checkpoints with the GOST key too', async () => {
    // a checkpoint is written within CHECKPOINT interval (5 s) once there is something new
    const client = new Redis(redis.url);
    try {
      type Checkpoint = { algorithm?: string; signature?: string; certificate?: string };
      let checkpoint: Checkpoint | undefined;
      for (let i = 0; i < 150 && !checkpoint; i++) {
        // the Redis store keeps a document as a string at <prefix>doc:<collection>:<id>
        for (const k of await client.keys('*doc:journal-checkpoints:*')) {
          const parsed = JSON.parse((await client.get(k)) ?? '{}') as Checkpoint;
          if (parsed.algorithm) checkpoint = parsed;
        }
        if (!checkpoint) await sleep(100);
      }
      expect(checkpoint?.algorithm, (await client.keys('*')).join(' ')).toBe(GOST2012_256_URI);
      expect(Buffer.from(checkpoint!.certificate!, 'base64').equals(parseCertificate(readFileSync(gateway.cert, 'utf8')).der)).toBe(true);
      const verify = (await (await fetch(`${gw.url}/api/v1/journal/verify`, { headers: OPS })).json()) as { ok: boolean; checkpointedUpTo: number };
      expect(verify.ok).toBe(true);
      expect(verify.checkpointedUpTo).toBeGreaterThanOrEqual(1);
    } finally {
      client.disconnect();
    }
  }, 30_000);
});

describe('a key that does not fit its certificate stops start-up (exit 78, one line naming the variable)', () => {
  it('GATEWAY_KEY_FILE holds the portal key, GATEWAY_CERT_FILE the gateway certificate', async () => {
    const proc = spawnGateway({ ...env, GATEWAY_KEY_FILE: portal.key, PORT: String(await freePort()) });
    expect(await proc.exited).toBe(78);
    const lines = proc.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^okno: GATEWAY_KEY_FILE: the private key in .*portal\.key\.pem does not belong to the certificate in GATEWAY_CERT_FILE/);
  });

  it('GATEWAY_CERT_FILE holds no certificate', async () => {
    const proc = spawnGateway({ ...env, GATEWAY_CERT_FILE: gateway.key, PORT: String(await freePort()) });
    expect(await proc.exited).toBe(78);
    expect(proc.stderr().trim()).toMatch(/^okno: GATEWAY_CERT_FILE: .*gateway\.key\.pem holds a private key, not a certificate$/);
  });

  it('GATEWAY_P12_FILE with a GOST key and no certificate', async () => {
    // (openssl refuses to bundle a key with a certificate that is not its own)
    const p12 = path.join(dir, 'mismatch.p12');
    ossl(['pkcs12', '-export', '-engine', 'gost', '-inkey', portal.key, '-nocerts', '-passout', 'pass:x', '-out', p12]);
    const { GATEWAY_KEY_FILE: _k, GATEWAY_CERT_FILE: _c, ...rest } = env;
    const noCert = spawnGateway({ ...rest, GATEWAY_P12_FILE: p12, GATEWAY_P12_PASSWORD: 'x', PORT: String(await freePort()) });
    expect(await noCert.exited).toBe(78);
    expect(noCert.stderr().trim()).toMatch(/^okno: GATEWAY_P12_FILE: .*mismatch\.p12 holds no certificate$/);
  });
});
