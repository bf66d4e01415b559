/**
 * Replacing the gateway key while it runs (pki/gateway-keys.ts,
 * pki/swappable-signer.ts): a signature in progress during a swap
 * finishes with the key it started with; a reload checks the new key fully
 * and keeps the old one on any problem.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/env.js';
import { loadGatewayKey } from '../../src/flows/flow-parts.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { GatewayKeys } from '../../src/pki/gateway-keys.js';
import { signDocument } from '../../src/signature/sign.js';
import type { Signer } from '../../src/pki/signer.js';
import { SwappableSigner } from '../../src/pki/swappable-signer.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import { projectRoot } from '../helpers/gateway.js';
import { issueCertificate, SAMPLE_CA_PEM, tempDir, type IssuedPem } from '../helpers/tls-pki.js';
import { rmSync } from 'node:fs';

const sample = (name: string) => ({ keyFile: path.join(projectRoot, `certs-sample/${name}.key.pem`), certFile: path.join(projectRoot, `certs-sample/${name}.crt.pem`) });

let dir: string;
let renewed: IssuedPem;
let other: IssuedPem;
let expired: IssuedPem;
let selfSigned: IssuedPem;
const keyFile = () => path.join(dir, 'gateway.key.pem');
const certFile = () => path.join(dir, 'gateway.crt.pem');
const config = () => ({ gatewayKey: { kind: 'pem', keyFile: keyFile(), certFile: certFile() } }) as unknown as Config;
const install = (files: { keyFile: string; certFile: string }) => {
  copyFileSync(files.keyFile, keyFile());
  copyFileSync(files.certFile, certFile());
};

beforeAll(() => {
  dir = tempDir('okno-keys-');
  renewed = issueCertificate(dir, { cn: 'okno-gateway-renewed', days: 400 });
  other = issueCertificate(dir, { cn: 'okno-gateway-other', days: 400 });
  expired = issueCertificate(dir, { cn: 'okno-gateway-expired', days: -2 });
  selfSigned = issueCertificate(dir, { cn: 'okno-gateway-self', days: 400, selfSigned: true });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function newKeys(): GatewayKeys {
  install(sample('gateway'));
  return new GatewayKeys({ initial: loadGatewayKey(config()), load: () => loadGatewayKey(config()), trustAnchors: new TrustAnchorSet([SAMPLE_CA_PEM()]) });
}

const DOC = '<d:Doc xmlns:d="urn:okno:test" Id="doc-1"><d:Text>renewal</d:Text></d:Doc>';

function signedBy(xml: string): { valid: string; certificate: string } {
  const doc = parseXml(xml);
  const sig = doc.root.children.find((c) => c.type === 'element' && c.localName === 'Signature');
  if (!sig || sig.type !== 'element') throw new Error('no signature');
  const verdict = verifySignature(doc, sig, null, { trust: null });
  return { valid: verdict.math, certificate: verdict.details.certificate!.subject };
}

describe('a swappable signer', () => {
  it('finishes a signature in progress with the key and certificate it started with, and the next one uses the new key', async () => {
    const keys = newKeys();
    const old = keys.signer.current();
    // A slow key: the signature waits inside sign() until released, as a token might.
    let release!: () => void;
    const entered = new Promise<void>((resolve) => {
      const slow: Signer = {
        certificate: old.certificate,
        signatureAlgorithm: old.signatureAlgorithm,
        digestAlgorithm: old.digestAlgorithm,
        sign: async (data) => {
          resolve();
          await new Promise<void>((r) => (release = r));
          return old.sign(data);
        },
      };
      keys.signer.swap(slow);
    });
    const inProgress = signDocument(DOC, { signer: keys.signer, profile: 'xmldsig' });
    await entered;
    install({ keyFile: renewed.keyFile, certFile: renewed.certFile });
    const result = await keys.reload();
    expect(result.ok).toBe(true);
    release();
    const before = signedBy(await inProgress);
    expect(before).toEqual({ valid: 'valid', certificate: expect.stringMatching(/CN=okno-gateway$/) });
    const after = signedBy(await signDocument(DOC, { signer: keys.signer, profile: 'xmldsig' }));
    expect(after).toEqual({ valid: 'valid', certificate: expect.stringMatching(/CN=okno-gateway-renewed/) });
    // Journal checkpoints made before the renewal stay the gateway's.
    expect(keys.signer.certificates.map((c) => c.subject)).toEqual([expect.stringMatching(/renewed/), expect.stringMatching(/CN=okno-gateway$/)]);
  });

  it('signs with whatever key it holds when used as a plain Signer', async () => {
    const keys = newKeys();
    const s = new SwappableSigner(keys.signer.current());
    expect(s.certificate.subject).toMatch(/CN=okno-gateway$/);
    expect(signedBy(await signDocument(DOC, { signer: s, profile: 'smev' })).valid).toBe('valid');
  });
});

describe('a key reload', () => {
  it('swaps to a renewed key and reports both certificates', async () => {
    const keys = newKeys();
    install({ keyFile: renewed.keyFile, certFile: renewed.certFile });
    const result = await keys.reload();
    expect(result).toMatchObject({ ok: true, changed: true, previous: { subject: expect.stringMatching(/CN=okno-gateway$/) }, current: { subject: expect.stringMatching(/CN=okno-gateway-renewed/), serial: parseCertificate(renewed.certPem).serialHex } });
    expect(keys.certificate.subject).toMatch(/renewed/);
    expect(keys.identity.source).toContain('gateway.crt.pem');
    // The same files again: nothing changes.
    expect(await keys.reload()).toMatchObject({ ok: true, changed: false });
  });

  const refused: Array<[string, () => void, RegExp]> = [
    ['a key that does not belong to the certificate', () => { copyFileSync(other.keyFile, keyFile()); copyFileSync(renewed.certFile, certFile()); }, /GATEWAY_KEY_FILE: the private key in .* does not belong to the certificate in GATEWAY_CERT_FILE/],
    ['an expired certificate', () => install({ keyFile: expired.keyFile, certFile: expired.certFile }), /certificate "[^"]*CN=okno-gateway-expired" expired on/],
    ['a certificate no trusted CA issued (the one in use chains to TRUST_CA_FILE)', () => install({ keyFile: selfSigned.keyFile, certFile: selfSigned.certFile }), /the certificate in use chains to TRUST_CA_FILE, the new one does not: certificate "[^"]*CN=okno-gateway-self" is self-signed/],
    ['a missing file', () => rmSync(keyFile()), /GATEWAY_KEY_FILE: cannot read .*ENOENT/],
    ['a file that holds no key', () => writeFileSync(keyFile(), 'not a key'), /GATEWAY_KEY_FILE: .* holds neither a PEM nor a DER private key/],
  ];
  for (const [what, replace, problem] of refused) {
    it(`refuses ${what} and keeps the key in use`, async () => {
      const keys = newKeys();
      const before = keys.signer.current();
      replace();
      const result = await keys.reload();
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.problem).toMatch(problem);
      expect(result.current.subject).toMatch(/CN=okno-gateway$/);
      expect(keys.signer.current()).toBe(before);
      expect(signedBy(await signDocument(DOC, { signer: keys.signer, profile: 'xmldsig' })).certificate).toMatch(/CN=okno-gateway$/);
    });
  }

  it('refuses the sample key when NODE_ENV=production refuses it', async () => {
    install({ keyFile: renewed.keyFile, certFile: renewed.certFile });
    const keys = new GatewayKeys({ initial: loadGatewayKey(config()), load: () => loadGatewayKey(config()), refuseSample: true });
    install(sample('gateway'));
    expect(await keys.reload()).toMatchObject({ ok: false, problem: expect.stringMatching(/is the sample key/) });
  });

  it('runs concurrent reloads one after the other', async () => {
    const keys = newKeys();
    install({ keyFile: renewed.keyFile, certFile: renewed.certFile });
    const [a, b] = await Promise.all([keys.reload(), keys.reload()]);
    expect(a).toMatchObject({ ok: true, changed: true });
    expect(b).toMatchObject({ ok: true, changed: false });
  });
});
