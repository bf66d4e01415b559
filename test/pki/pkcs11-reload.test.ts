/**
 * Reloading a key held in a real PKCS#11 token (SoftHSM2) while it signs: the
 * reload opens the new key on the same module beside the one in use (one module
 * per process: a second C_Initialize/C_Finalize would end the live link), swaps
 * it in through GatewayKeys, and the replaced signer closes its sessions only
 * after its signatures end — without finalizing the module under the new one.
 * Renewal on the same token: the successor key carries the same label and the
 * key that signs for GATEWAY_CERT_FILE's certificate is taken. A wrong PIN, a
 * missing key or a certificate of another key is refused and the old key signs on.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Source } from '../../src/config/env.js';
import { loadGatewayKey } from '../../src/flows/flow-parts.js';
import { parseCertificate } from '../../src/pki/certificate.js';
import { GatewayKeys } from '../../src/pki/gateway-keys.js';
import type { GatewayIdentity } from '../../src/pki/gateway-identity.js';
import { snapshotOf } from '../../src/pki/swappable-signer.js';
import type { Signer } from '../../src/pki/signer.js';
import { createSoftHsmToken, SOFTHSM_MODULE, type SoftHsmToken } from '../helpers/softhsm.js';

let token: SoftHsmToken;
let certA: string;
let certB: string;
let certWrongType: string;
/** GATEWAY_CERT_FILE: replaced (rename) at renewal, as an operator would. */
let certFile: string;
let keys: GatewayKeys<GatewayIdentity> | null = null;

function source(over: Partial<Pkcs11Source> = {}): Pkcs11Source {
  return { kind: 'pkcs11', module: SOFTHSM_MODULE, token: token.label, key: { label: 'gw' }, pinFile: token.pinFile, certFile, ...over };
}

/** The gateway's keys as gateway.ts makes them: each reload reads `current` (the configuration's files) again. */
function gatewayKeys(current: { source: Pkcs11Source }): GatewayKeys<GatewayIdentity> {
  const config = () => ({ gatewayKey: current.source }) as Parameters<typeof loadGatewayKey>[0];
  keys = new GatewayKeys({ initial: loadGatewayKey(config()), load: () => loadGatewayKey(config()), retireGraceMs: 200 });
  return keys;
}

function install(pem: string): void {
  const tmp = `${certFile}.new`;
  copyFileSync(pem, tmp);
  renameSync(tmp, certFile);
}

/** openssl as the judge: the signature verifies with the public key of `pem`'s certificate. */
function opensslVerifies(pem: string, data: Buffer, signature: Buffer): boolean {
  const pub = path.join(token.dir, 'judge.pub.pem');
  writeFileSync(pub, createPublicKey(readFileSync(pem)).export({ type: 'spki', format: 'pem' }));
  writeFileSync(path.join(token.dir, 'judge.data'), data);
  writeFileSync(path.join(token.dir, 'judge.sig'), signature);
  try {
    execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', path.join(token.dir, 'judge.sig'), path.join(token.dir, 'judge.data')], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const fingerprintOf = (pem: string) => parseCertificate(readFileSync(pem, 'utf8')).fingerprintSha256;

beforeAll(() => {
  token = createSoftHsmToken('okno-renew');
  process.env.SOFTHSM2_CONF = token.conf;
  certA = token.generateKey('rsa', 'gw', '01').certFile;
  certWrongType = token.generateKey('ec', 'gw-ec', '09').certFile;
  certFile = path.join(token.dir, 'gateway.crt.pem');
}, 60_000);
afterEach(async () => {
  await keys?.close();
  keys = null;
});
afterAll(() => token?.remove());

describe('a PKCS#11 key reload on the same token (the successor key has the same label)', () => {
  it('swaps to key B while signatures run; each verifies with the key it was begun with; the old signer closes after them and B signs on', async () => {
    install(certA);
    const current = { source: source() };
    const k = gatewayKeys(current);
    const data = Buffer.from('<SignedInfo>before</SignedInfo>');
    expect(opensslVerifies(certA, data, await k.signer.sign(data))).toBe(true);

    certB = token.generateKey('rsa', 'gw', '02').certFile;
    install(certB);
    // Signatures begun before and during the reload (snapshots of the key of their moment).
    const running: Array<Promise<{ signer: Signer; data: Buffer; signature: Buffer }>> = [];
    const begin = (i: number) => {
      const signer = snapshotOf(k.signer);
      const d = Buffer.from(`<SignedInfo>${i}</SignedInfo>`);
      running.push(signer.sign(d).then((signature) => ({ signer, data: d, signature })));
    };
    for (let i = 0; i < 20; i++) begin(i);
    const reloading = k.reload();
    for (let i = 20; i < 40; i++) begin(i);
    const result = await reloading;
    // Begun with A just before the swap: the retired signer still takes it within the grace.
    const oldSigner = k.signerFor(fingerprintOf(certA));
    expect(oldSigner).not.toBeNull();
    const late = Buffer.from('<SignedInfo>late</SignedInfo>');
    const lateSignature = await oldSigner!.sign(late);
    for (let i = 40; i < 60; i++) begin(i);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (!result.ok) return;
    expect(result.changed).toBe(true);
    expect(result.current.fingerprint).toBe(fingerprintOf(certB));
    expect(k.identity.source).toBe(`PKCS#11 token "okno-renew" key "gw" (${SOFTHSM_MODULE})`);

    const done = await Promise.all(running);
    const byA = done.filter((d) => d.signer.certificate.fingerprintSha256 === fingerprintOf(certA));
    const byB = done.filter((d) => d.signer.certificate.fingerprintSha256 === fingerprintOf(certB));
    expect(byA.length + byB.length).toBe(60);
    expect(byB.length).toBeGreaterThanOrEqual(20);
    for (const d of byA) expect(opensslVerifies(certA, d.data, d.signature)).toBe(true);
    for (const d of byB) expect(opensslVerifies(certB, d.data, d.signature)).toBe(true);
    expect(opensslVerifies(certA, late, lateSignature)).toBe(true);

    // After the grace the old signer has closed its sessions (and kept the module: B still signs).
    for (let i = 0; i < 100 && k.signerFor(fingerprintOf(certA)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(k.signerFor(fingerprintOf(certA))).toBeNull();
    await expect(oldSigner!.sign(late)).rejects.toThrow(/closed/);
    const after = Buffer.from('<SignedInfo>after</SignedInfo>');
    expect(opensslVerifies(certB, after, await k.signer.sign(after))).toBe(true);
    expect((await k.signer.current().health!()).ok).toBe(true);
  }, 60_000);

  it('refuses a wrong PIN file (the token is logged in already, so the PIN is compared with that login\'s), a missing key, a certificate of another key; the key in use signs on', async () => {
    install(certB);
    const current = { source: source() };
    const k = gatewayKeys(current);
    const wrongPin = path.join(token.dir, 'wrong-pin');
    writeFileSync(wrongPin, '999999\n');
    const cases: Array<[Partial<Pkcs11Source>, () => void, RegExp]> = [
      [{ pinFile: wrongPin }, () => install(certB), /^GATEWAY_PKCS11_PIN_FILE: is not the PIN token "okno-renew" is logged in with/],
      [{ key: { label: 'gw-gone' } }, () => install(certB), /^GATEWAY_PKCS11_KEY: token "okno-renew" holds no private key "gw-gone"/],
      [{}, () => install(certWrongType), /^GATEWAY_CERT_FILE: none of the 2 private keys "gw" in token "okno-renew" belongs to certificate/],
    ];
    for (const [over, prepare, problem] of cases) {
      prepare();
      current.source = source(over);
      const result = await k.reload();
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problem).toMatch(problem);
      const data = Buffer.from(`<SignedInfo>${problem.source}</SignedInfo>`);
      expect(opensslVerifies(certB, data, await k.signer.sign(data))).toBe(true);
      expect(k.certificate.fingerprintSha256).toBe(fingerprintOf(certB));
    }
    install(certB);
  }, 60_000);
});

describe('a PKCS#11 key reload onto a new token', () => {
  it('a wrong PIN is refused by the new token itself (CKR_PIN_INCORRECT) and the old key signs on; the right one swaps to the new token, and closing the old signer leaves the module to it', async () => {
    install(certB);
    // Plugged in before the module is initialized: SoftHSM2 lists its tokens at C_Initialize only (a
    // hardware token's module lists a token plugged in later; SoftHSM2 cannot show that).
    token.addToken('okno-renew-2');
    const current = { source: source() };
    const k = gatewayKeys(current);
    const certC = token.generateKey('ec', 'gw', '01', { token: 'okno-renew-2' }).certFile;
    install(certC);
    const wrongPin = path.join(token.dir, 'wrong-pin-2');
    writeFileSync(wrongPin, '999999\n');
    current.source = source({ token: 'okno-renew-2', pinFile: wrongPin });
    const refused = await k.reload();
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.problem).toMatch(/^GATEWAY_PKCS11_PIN_FILE: login to token "okno-renew-2" failed: CKR_PIN_INCORRECT/);
    const data = Buffer.from('<SignedInfo>still B</SignedInfo>');
    expect(opensslVerifies(certB, data, await k.signer.sign(data))).toBe(true);

    current.source = source({ token: 'okno-renew-2' });
    const result = await k.reload();
    expect(result.ok, JSON.stringify(result)).toBe(true);
    expect(k.signer.signatureAlgorithm.name).toMatch(/ecdsa/i);
    expect(k.identity.source).toMatch(/^PKCS#11 token "okno-renew-2" key "gw"/);
    for (let i = 0; i < 100 && k.signerFor(fingerprintOf(certB)); i++) await new Promise((r) => setTimeout(r, 20));
    expect(k.signerFor(fingerprintOf(certB))).toBeNull();
    const signature = await k.signer.sign(data);
    expect(k.signer.certificate.fingerprintSha256).toBe(fingerprintOf(certC));
    expect(k.signer.signatureAlgorithm.verify(data, signature, k.signer.certificate.publicKey!)).toBe(true);
    expect((await k.signer.current().health!()).ok).toBe(true);
    install(certB);
  }, 60_000);
});
