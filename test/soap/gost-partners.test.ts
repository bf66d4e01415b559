/**
 * The GOST sample PKI through the front door: a portal signing with its GOST R 34.10-2012 key
 * (certs-sample/gost/portal.*), registered in config/partners.gost.json, its certificate issued
 * by the GOST CA with a GOST signature — the gateway verifies, trusts and accepts it.
 *
 * The last describe block is the README's GOST walk-through with the gateway's own GOST key
 * (GATEWAY_KEY_FILE=certs-sample/gost/gateway.key.pem) and `okno send --key …gost/portal.key.pem`:
 * it needs GATEWAY_KEY_FILE to read GOST PKCS#8 keys (issue 18 point 1, branch gost-keys).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxItem } from '../../src/city/model.js';
import { loadGatewayIdentity } from '../../src/pki/gateway-identity.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { CITY, faultOf, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

const gostDir = path.join(projectRoot, 'certs-sample/gost');

/** The sample partner's GOST key through the same reader the gateway and `okno --key` use. */
const gostSigner = (name: string) =>
  loadGatewayIdentity({ kind: 'pem', keyFile: path.join(gostDir, `${name}.key.pem`), certFile: path.join(gostDir, `${name}.crt.pem`) }).signer;

async function inbox(url: string): Promise<InboxItem[]> {
  const res = await fetch(`${url}/api/v1/inbox?after=0&limit=500`, { headers: CITY });
  expect(res.status).toBe(200);
  return ((await res.json()) as { items: InboxItem[] }).items;
}

describe('a GOST-signing portal (GOST CA, config/partners.gost.json)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    // The gateway keeps its RSA sample key here; it trusts both CAs so `okno send`-style checks of
    // its replies and the GOST partners' chains both work.
    const dir = mkdtempSync(path.join(tmpdir(), 'okno-gost-trust-'));
    const bundle = path.join(dir, 'trust.pem');
    writeFileSync(bundle, readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8') + readFileSync(path.join(gostDir, 'ca.crt.pem'), 'utf8'));
    gw = await startGateway({ TRUST_CA_FILE: bundle, PARTNERS_FILE: path.join(projectRoot, 'config/partners.gost.json') });
  });
  afterAll(() => gw.close());

  it('accepts its GOST R 34.10-2012 signed SendRequest into the inbox', async () => {
    const { xml, messageId } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment', signer: gostSigner('portal') });
    expect(xml).toContain('urn:ietf:params:xml:ns:cpxmlsec:algorithms:gostr34102012-gostr34112012-256');
    const res = await postSoap(gw.url, xml);
    expect(res.body).toMatch(/requestIsQueued/);
    expect(res.status).toBe(200);
    const item = (await inbox(gw.url)).find((i) => i.messageId === messageId);
    expect(item).toMatchObject({ kind: 'application', partner: 'portal', service: 'kindergarten-enrollment' });
    expect(item?.signature).toMatchObject({ valid: true, partner: 'portal' });
    expect(item?.signature?.algorithm).toMatch(/34\.10-2012/);
  });

  it('refuses a GOST signature over changed content', async () => {
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment', signer: gostSigner('portal') });
    // The last hex digit of the signed MessageID: still a well-formed UUID, no longer what was signed.
    const changed = xml.replace(/(MessageID>[0-9a-f-]{35})([0-9a-f])/, (_, head: string, last: string) => head + (last === '0' ? '1' : '0'));
    expect(changed).not.toBe(xml);
    const res = await postSoap(gw.url, changed);
    expect(res.status).toBe(500);
    expect(faultOf(res.body).fault).toBe('SignatureVerificationFault');
  });

  it('the RSA portal certificate is not registered in the GOST registry', async () => {
    const { xml } = await signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'kindergarten-enrollment', signer: sampleSigner('portal') });
    const res = await postSoap(gw.url, xml);
    expect(res.status).toBe(500);
    expect(faultOf(res.body).fault).toBe('SenderIsNotRegistered');
  });
});

describe('the README GOST walk-through: the gateway signs with its GOST key from GATEWAY_KEY_FILE', () => {
  let gw: RunningGateway;
  const env = {
    GATEWAY_KEY_FILE: path.join(gostDir, 'gateway.key.pem'),
    GATEWAY_CERT_FILE: path.join(gostDir, 'gateway.crt.pem'),
    TRUST_CA_FILE: path.join(gostDir, 'ca.crt.pem'),
    PARTNERS_FILE: path.join(projectRoot, 'config/partners.gost.json'),
  };
  beforeAll(async () => {
    gw = await startGateway(env);
  });
  afterAll(() => gw?.close());

  it('okno send --key certs-sample/gost/portal.key.pem: a GOST SendRequest, a GOST-signed reply that verifies against the GOST CA', async () => {
    // Asynchronously: the gateway runs in this process and must answer while okno send waits.
    const result = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [
          path.join(projectRoot, 'bin/okno.js'), 'send', 'config/services/kindergarten-enrollment/example.request.json',
          '--service', 'kindergarten-enrollment', '--to', `${gw.url}/ws/smev3`,
          '--key', 'certs-sample/gost/portal.key.pem', '--cert', 'certs-sample/gost/portal.crt.pem',
        ],
        { cwd: projectRoot, encoding: 'utf8', env: { ...process.env, TRUST_CA_FILE: env.TRUST_CA_FILE }, timeout: 30_000 },
        (_error, stdout, stderr) => resolve({ status: child.exitCode, stdout, stderr }),
      );
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/reply: requestIsQueued; signed by "CN=okno-gateway \(GOST\), O=Okno Sample PKI \(TEST ONLY\), C=RU" \(valid\)/);
    expect(result.stdout).toMatch(/gostr34102012-gostr34112012-256/);
  });
});
