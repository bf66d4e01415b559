/**
 * The gateway's key in a real PKCS#11 token (SoftHSM2): keys generated inside the
 * token, signatures checked by openssl; start-up failures name their variable;
 * a token that goes away makes signing fail and /ready's check fail, and both
 * recover when it is back.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey, verify } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pkcs11Source } from '../../src/config/env.js';
import { loadGatewayIdentity, KeyMaterialError, type GatewayIdentity } from '../../src/pki/gateway-identity.js';
import { ECDSA_SHA256_URI, RSA_SHA256_URI } from '../../src/crypto/index.js';
import { SignerError } from '../../src/pki/signer.js';
import { createSoftHsmToken, SOFTHSM_MODULE, type SoftHsmToken } from '../helpers/softhsm.js';
import { CKK_GOSTR3410_512, CKM_GOSTR3410_512, CKM_GOSTR3410_WITH_GOSTR3411_12_256, CKM_GOSTR3410_WITH_GOSTR3411_12_512, plansFor, type StandardConstants } from '../../src/pki/pkcs11-mechanisms.js';
import { createRequire } from 'node:module';

let token: SoftHsmToken;
let rsaCert: string;
let ecCert: string;
const open: GatewayIdentity[] = [];

function source(over: Partial<Pkcs11Source> = {}): Pkcs11Source {
  return { kind: 'pkcs11', module: SOFTHSM_MODULE, token: token.label, key: { label: 'gw-rsa' }, pinFile: token.pinFile, certFile: rsaCert, ...over };
}

function load(over: Partial<Pkcs11Source> = {}): GatewayIdentity {
  const identity = loadGatewayIdentity(source(over));
  open.push(identity);
  return identity;
}

function failure(over: Partial<Pkcs11Source>): KeyMaterialError {
  try {
    load(over);
  } catch (error) {
    expect(error).toBeInstanceOf(KeyMaterialError);
    return error as KeyMaterialError;
  }
  throw new Error('expected a KeyMaterialError');
}

/** openssl as the judge: `openssl dgst -sha256 -verify`. ECDSA's r ‖ s is wrapped in DER first. */
function opensslVerifies(certFile: string, data: Buffer, signature: Buffer, ecdsa: boolean): boolean {
  const dir = token.dir;
  const pub = path.join(dir, 'judge.pub.pem');
  writeFileSync(pub, createPublicKey(readFileSync(certFile)).export({ type: 'spki', format: 'pem' }));
  writeFileSync(path.join(dir, 'judge.data'), data);
  writeFileSync(path.join(dir, 'judge.sig'), ecdsa ? ecdsaDer(signature) : signature);
  try {
    execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', path.join(dir, 'judge.sig'), path.join(dir, 'judge.data')], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

function ecdsaDer(rs: Buffer): Buffer {
  const int = (b: Buffer) => {
    let v = b;
    while (v.length > 1 && v[0] === 0 && v[1]! < 0x80) v = v.subarray(1);
    if (v[0]! >= 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(rs.subarray(0, rs.length / 2)), int(rs.subarray(rs.length / 2))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

beforeAll(() => {
  token = createSoftHsmToken();
  process.env.SOFTHSM2_CONF = token.conf;
  rsaCert = token.generateKey('rsa', 'gw-rsa', '01').certFile;
  ecCert = token.generateKey('ec', 'gw-ec', '02', { writeCertificate: true }).certFile;
}, 60_000);

afterEach(async () => {
  // One module instance at a time in a process: each test closes what it opened.
  for (const identity of open.splice(0)) await identity.signer.close?.();
});

afterAll(() => token?.remove());

describe('a key in a PKCS#11 token (SoftHSM2)', () => {
  it('signs RSA-SHA256 with the token key (CKM_SHA256_RSA_PKCS); openssl verifies with the certificate', async () => {
    const identity = load();
    expect(identity.signer.signatureAlgorithm.uri).toBe(RSA_SHA256_URI);
    expect(identity.keyDescription).toBe('rsa-2048 (CKM_SHA256_RSA_PKCS)');
    expect(identity.source).toContain('PKCS#11 token "okno-test" key "gw-rsa"');
    const data = Buffer.from('<ds:SignedInfo>rsa</ds:SignedInfo>');
    const signature = await identity.signer.sign(data);
    expect(signature.length).toBe(256);
    expect(opensslVerifies(rsaCert, data, signature, false)).toBe(true);
    expect(opensslVerifies(rsaCert, Buffer.from('other'), signature, false)).toBe(false);
  });

  it('signs ECDSA P-256 (CKM_ECDSA over SHA-256) as raw r ‖ s; openssl verifies', async () => {
    const identity = load({ key: { label: 'gw-ec' }, certFile: ecCert });
    expect(identity.signer.signatureAlgorithm.uri).toBe(ECDSA_SHA256_URI);
    const data = Buffer.from('<ds:SignedInfo>ec</ds:SignedInfo>');
    const signature = await identity.signer.sign(data);
    expect(signature.length).toBe(64);
    expect(verify('sha256', data, { key: createPublicKey(readFileSync(ecCert)), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(opensslVerifies(ecCert, data, signature, true)).toBe(true);
  });

  it('finds the key by CKA_ID and reads the certificate from the token when GATEWAY_CERT_FILE is unset', async () => {
    const identity = load({ key: { id: '02' }, certFile: null });
    expect(identity.certificatePem.replace(/\s/g, '')).toBe(readFileSync(ecCert, 'utf8').replace(/\s/g, ''));
    const signature = await identity.signer.sign(Buffer.from('x'));
    expect(opensslVerifies(ecCert, Buffer.from('x'), signature, true)).toBe(true);
  });

  it('signs many at once over its sessions, each signature valid', async () => {
    const identity = load();
    const data = Array.from({ length: 24 }, (_, i) => Buffer.from(`message ${i}`));
    const signatures = await Promise.all(data.map((d) => identity.signer.sign(d)));
    const key = createPublicKey(readFileSync(rsaCert));
    signatures.forEach((s, i) => expect(verify('sha256', data[i]!, key, s)).toBe(true));
  });

  describe('start-up failures name the variable', () => {
    it('a missing module: GATEWAY_PKCS11_MODULE', () => {
      const e = failure({ module: path.join(token.dir, 'no-such-module.so') });
      expect(e.variable).toBe('GATEWAY_PKCS11_MODULE');
      expect(e.message).toMatch(/^GATEWAY_PKCS11_MODULE: cannot load the PKCS#11 module .*no-such-module\.so/);
    });

    it('an unknown token: GATEWAY_PKCS11_TOKEN, listing the tokens present', () => {
      const e = failure({ token: 'no-such-token' });
      expect(e.variable).toBe('GATEWAY_PKCS11_TOKEN');
      expect(e.message).toMatch(/no token labelled "no-such-token".*tokens present: "okno-test"/);
    });

    it('a wrong PIN: GATEWAY_PKCS11_PIN_FILE', () => {
      const wrong = path.join(token.dir, 'wrong-pin');
      writeFileSync(wrong, '000000\n');
      const e = failure({ pinFile: wrong });
      expect(e.variable).toBe('GATEWAY_PKCS11_PIN_FILE');
      expect(e.message).toMatch(/CKR_PIN_INCORRECT/);
      expect(e.message).not.toContain('000000');
    });

    it('an unreadable PIN file: GATEWAY_PKCS11_PIN_FILE', () => {
      expect(failure({ pinFile: path.join(token.dir, 'nothing') }).message).toMatch(/^GATEWAY_PKCS11_PIN_FILE: cannot read .*ENOENT/);
    });

    it('a missing key: GATEWAY_PKCS11_KEY', () => {
      const e = failure({ key: { label: 'no-such-key' } });
      expect(e.variable).toBe('GATEWAY_PKCS11_KEY');
      expect(e.message).toMatch(/holds no private key "no-such-key"/);
    });

    it('a certificate of another key: GATEWAY_CERT_FILE', () => {
      // The EC certificate with the RSA key: a different key type.
      expect(failure({ certFile: ecCert }).variable).toBe('GATEWAY_CERT_FILE');
      // Same type, other key: the start-up signature does not verify with the certificate.
      const other = token.generateKey('rsa', 'gw-rsa-other', '03').certFile;
      const e = failure({ certFile: other });
      expect(e.variable).toBe('GATEWAY_CERT_FILE');
      expect(e.message).toMatch(/does not belong to certificate/);
    });

    it('no certificate file and none on the token: GATEWAY_CERT_FILE', () => {
      expect(failure({ certFile: null }).message).toMatch(/^GATEWAY_CERT_FILE: is not set, and token "okno-test" holds no certificate for key "gw-rsa"/);
    });
  });

  it('a token that stops answering: sign() throws and health() fails naming the token; both recover when it is back', async () => {
    const identity = load();
    const signer = identity.signer;
    expect((await signer.health!()).ok).toBe(true);
    token.takeAway();
    try {
      await expect(signer.sign(Buffer.from('during'))).rejects.toBeInstanceOf(SignerError);
      const down = await signer.health!();
      expect(down.ok).toBe(false);
      expect(down.detail).toMatch(/PKCS#11 token "okno-test" is not answering since/);
      // Still down while the backoff runs and while the token is away.
      await expect(signer.sign(Buffer.from('during'))).rejects.toThrow(/okno-test/);
    } finally {
      token.bringBack();
    }
    let health = await signer.health!();
    for (let i = 0; i < 100 && !health.ok; i++) {
      await new Promise((r) => setTimeout(r, 100));
      health = await signer.health!();
    }
    expect(health.ok, health.detail).toBe(true);
    const data = Buffer.from('after');
    expect(opensslVerifies(rsaCert, data, await signer.sign(data), false)).toBe(true);
  });
});

describe('GOST R 34.10-2012 through PKCS#11 (vendor constants; SoftHSM2 has no GOST, so no token signs here)', () => {
  const lib = createRequire(import.meta.url)('pkcs11js') as StandardConstants;

  it('uses the TC26 vendor-defined values Rutoken and JaCarta publish, and the standard ones for GOST-256 keys', () => {
    expect(CKM_GOSTR3410_WITH_GOSTR3411_12_256).toBe(0xd4321008);
    expect(CKM_GOSTR3410_WITH_GOSTR3411_12_512).toBe(0xd4321009);
    expect(CKM_GOSTR3410_512).toBe(0xd4321006);
    expect(CKK_GOSTR3410_512).toBe(0xd4321003);
    expect([lib.CKK_GOSTR3410, lib.CKM_GOSTR3410]).toEqual([0x30, 0x1201]);
  });

  it('prefers the token hashing (…_WITH_GOSTR3411_12_*), else signs a Streebog digest made here; 2001 keys may not sign', () => {
    expect(plansFor('gost2012-256', lib)).toEqual({
      keyTypes: [0x30],
      plans: [
        { mechanism: 0xd4321008, name: 'CKM_GOSTR3410_WITH_GOSTR3411_12_256', input: 'data' },
        { mechanism: 0x1201, name: 'CKM_GOSTR3410', input: { digest: 'streebog256' } },
      ],
    });
    expect(plansFor('gost2012-512', lib)?.plans.map((p) => p.name)).toEqual(['CKM_GOSTR3410_WITH_GOSTR3411_12_512', 'CKM_GOSTR3410_512']);
    expect(plansFor('gost2012-512', lib)?.keyTypes).toEqual([0xd4321003]);
    expect(plansFor('gost2001', lib)).toBeNull();
  });
});
