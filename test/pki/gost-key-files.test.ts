/**
 * GOST R 34.10-2012 key files as OpenSSL's gost engine writes them, every parameter set it
 * makes, read by the gateway's loader; signatures cross-checked with the engine both ways.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { children, readDer } from '../../src/pki/asn1.js';
import { loadGatewayIdentity } from '../../src/pki/gateway-identity.js';
import { hasGostMac } from '../../src/pki/pkcs12-gost.js';
import { readPrivateKey } from '../../src/pki/private-key.js';
import { GOST2012_256_URI, GOST2012_512_URI, getSignatureAlgorithm, isGostPrivateKey } from '../../src/crypto/index.js';
import {
  genGostKey,
  gostTempDir,
  makeGostCa,
  makeGostLeaf,
  opensslSign,
  opensslVerifies,
  ossl,
  publicKeyOf,
  type GostFiles,
  type GostOpensslAlgorithm,
} from '../helpers/gost-openssl-pki.js';

// paramset names `openssl genpkey -engine gost -pkeyopt paramset:…` accepts, and what they are
const PARAMSETS: ReadonlyArray<readonly [GostOpensslAlgorithm, string, string]> = [
  ['gost2012_256', 'A', 'CryptoPro-A'],
  ['gost2012_256', 'B', 'CryptoPro-B'],
  ['gost2012_256', 'C', 'CryptoPro-C'],
  ['gost2012_256', 'XA', 'CryptoPro-XchA'],
  ['gost2012_256', 'XB', 'CryptoPro-XchB'],
  ['gost2012_256', 'TCA', 'TC26-256-A'],
  ['gost2012_256', 'TCB', 'TC26-256-B'],
  ['gost2012_256', 'TCC', 'TC26-256-C'],
  ['gost2012_256', 'TCD', 'TC26-256-D'],
  ['gost2012_512', 'A', 'TC26-512-A'],
  ['gost2012_512', 'B', 'TC26-512-B'],
  ['gost2012_512', 'C', 'TC26-512-C'],
];

let dir: string;
let ca: GostFiles;

beforeAll(() => {
  dir = gostTempDir();
  ca = makeGostCa(dir);
});

const pemBody = (file: string): Buffer =>
  Buffer.from(
    readFileSync(file, 'utf8')
      .replace(/-----[A-Z ]+-----/g, '')
      .replace(/\s+/g, ''),
    'base64',
  );
const toPem = (der: Uint8Array, label = 'PRIVATE KEY') =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

/** DER TLV with a definite length. */
function tlv(tag: number, contents: Uint8Array): Buffer {
  const n = contents.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), contents]);
}

/** The same PrivateKeyInfo with another privateKey value. */
function withPrivateValue(pkcs8: Buffer, value: Uint8Array): Buffer {
  const [version, alg] = children(readDer(pkcs8));
  return tlv(0x30, Buffer.concat([version!.raw, alg!.raw, tlv(0x04, value)]));
}

const le = (n: bigint, size: number) => Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex').reverse();
const fromLe = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'));
/** Minimal two's-complement big-endian, as DER wants it. */
function derInteger(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  if (parseInt(hex.slice(0, 2), 16) & 0x80) hex = '00' + hex;
  return Buffer.from(hex, 'hex');
}
function inverse(a: bigint, m: bigint): bigint {
  let [r0, r1, s0, s1] = [a % m, m, 1n, 0n];
  while (r1 !== 0n) {
    const t = r0 / r1;
    [r0, r1, s0, s1] = [r1, r0 - t * r1, s1, s0 - t * s1];
  }
  return ((s0 % m) + m) % m;
}

describe('GOST R 34.10-2012 key files from openssl genpkey -engine gost', () => {
  it.each(PARAMSETS)('%s paramset:%s (%s): PEM and DER load, sign, and openssl verifies; openssl signs and Okno verifies', (algorithm, paramset, curveName) => {
    const leaf = makeGostLeaf(dir, ca, `leaf-${algorithm}-${paramset}`, { algorithm, paramset });
    const id = loadGatewayIdentity({ kind: 'pem', keyFile: leaf.key, certFile: leaf.cert });
    const bits = algorithm === 'gost2012_512' ? 512 : 256;
    expect(id.keyDescription).toBe(`gost2012-${bits} ${curveName}`);
    expect(id.signer.signatureAlgorithm.uri).toBe(bits === 512 ? GOST2012_512_URI : GOST2012_256_URI);
    expect(id.certificate.subject).toContain(`CN=leaf-${algorithm}-${paramset}`);
    expect(id).not.toHaveProperty('privateKey');

    // DER key and DER certificate, as `openssl pkey -outform DER` / `openssl x509 -outform DER` write them
    const keyDer = path.join(dir, `${path.basename(leaf.key)}.der`);
    const certDer = path.join(dir, `${path.basename(leaf.cert)}.der`);
    ossl(['pkey', '-engine', 'gost', '-in', leaf.key, '-outform', 'DER', '-out', keyDer]);
    ossl(['x509', '-engine', 'gost', '-in', leaf.cert, '-outform', 'DER', '-out', certDer]);
    const fromDer = loadGatewayIdentity({ kind: 'pem', keyFile: keyDer, certFile: certDer });
    expect(fromDer.keyDescription).toBe(id.keyDescription);

    const pub = publicKeyOf(dir, leaf.cert);
    const data = randomBytes(200);
    return (async () => {
      const sig = await id.signer.sign(data);
      expect(opensslVerifies(dir, algorithm, pub, data, sig)).toBe(true);
      const tampered = Buffer.from(data);
      tampered[0]! ^= 1;
      expect(opensslVerifies(dir, algorithm, pub, tampered, sig)).toBe(false);
      const theirs = opensslSign(dir, algorithm, leaf.key, data);
      const alg = getSignatureAlgorithm(id.signer.signatureAlgorithm.uri);
      expect(alg.verify(data, theirs, id.certificate.publicKey!)).toBe(true);
      expect(alg.verify(tampered, theirs, id.certificate.publicKey!)).toBe(false);
    })();
  });

  it('reads the other private-value encodings: OCTET STRING-wrapped, INTEGER, CryptoPro masked (bare and in a SEQUENCE)', () => {
    const leaf = makeGostLeaf(dir, ca, 'encodings', { algorithm: 'gost2012_256', paramset: 'A' });
    const pkcs8 = pemBody(leaf.key);
    const raw = readDer(children(readDer(pkcs8))[2]!.raw).contents; // the engine's default: bare scalar, little-endian
    expect(raw.length).toBe(32);
    const d = fromLe(raw);
    const q = BigInt('0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF6C611070995AD10045841B09B761B893'); // CryptoPro-A
    const mask = (BigInt('0x' + randomBytes(31).toString('hex')) % (q - 2n)) + 2n;
    const masked = Buffer.concat([le((d * inverse(mask, q)) % q, 32), le(mask, 32)]);
    const mask2 = (BigInt('0x' + randomBytes(31).toString('hex')) % (q - 2n)) + 2n;
    const masked2 = Buffer.concat([le((d * inverse((mask * mask2) % q, q)) % q, 32), le(mask, 32), le(mask2, 32)]);
    const variants: Record<string, Buffer> = {
      'octet-wrapped': withPrivateValue(pkcs8, tlv(0x04, raw)),
      integer: withPrivateValue(pkcs8, tlv(0x02, derInteger(d))),
      'masked, one mask': withPrivateValue(pkcs8, masked),
      'masked, two masks': withPrivateValue(pkcs8, masked2),
      'masked in a SEQUENCE': withPrivateValue(pkcs8, tlv(0x30, Buffer.concat([tlv(0x04, masked), tlv(0x04, Buffer.alloc(64, 1))]))),
    };
    const expected = ossl(['pkey', '-engine', 'gost', '-in', leaf.key, '-pubout']).toString();
    for (const [name, der] of Object.entries(variants)) {
      const file = path.join(dir, `variant-${name.replace(/\W+/g, '-')}.pem`);
      writeFileSync(file, toPem(der));
      // the engine itself reads the variant as the same key: the construction is right
      expect(ossl(['pkey', '-engine', 'gost', '-in', file, '-pubout']).toString(), name).toBe(expected);
      const id = loadGatewayIdentity({ kind: 'pem', keyFile: file, certFile: leaf.cert });
      expect(id.keyDescription, name).toBe('gost2012-256 CryptoPro-A');
      const k = readPrivateKey(readFileSync(file)).key;
      expect(isGostPrivateKey(k) && Buffer.from(k.scalar).equals(Buffer.from(raw)), name).toBe(true);
    }
    // the engine's own legacy wrapped form
    const legacy = path.join(dir, 'legacy-wrap.pem');
    ossl(['pkey', '-engine', 'gost', '-in', leaf.key, '-out', legacy], undefined, { GOST_PK_FORMAT: 'LEGACY_PK_WRAP' });
    expect(readDer(children(readDer(pemBody(legacy)))[2]!.raw).contents[0]).toBe(0x04);
    expect(loadGatewayIdentity({ kind: 'pem', keyFile: legacy, certFile: leaf.cert }).keyDescription).toBe('gost2012-256 CryptoPro-A');
  });
});

describe('the key stays inside the signer', () => {
  it('neither the identity nor its signer shows the private scalar (JSON, util.inspect)', () => {
    const leaf = makeGostLeaf(dir, ca, 'hidden', { algorithm: 'gost2012_256', paramset: 'A' });
    const id = loadGatewayIdentity({ kind: 'pem', keyFile: leaf.key, certFile: leaf.cert });
    const shown = inspect(id, { depth: 20, showHidden: true, maxArrayLength: null });
    expect(shown).toContain('GOST R 34.10-2012-256'); // the signer is in there …
    expect(shown).not.toMatch(/scalar|gost-private|privateKey/); // … its key is not
    expect(JSON.stringify(id, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).not.toMatch(/scalar|gost-private|privateKey/);
    expect(Object.getOwnPropertyNames(id.signer)).not.toContain('privateKey');
  });
});

describe('refusals say what the key is', () => {
  it('a GOST R 34.10-2001 key: verify-only', () => {
    const key = path.join(dir, 'gost2001.key.pem');
    ossl(['genpkey', '-engine', 'gost', '-algorithm', 'gost2001', '-pkeyopt', 'paramset:A', '-out', key]);
    const leaf = makeGostLeaf(dir, ca, 'leaf-for-2001', {});
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: key, certFile: leaf.cert })).toThrow(
      /^GATEWAY_KEY_FILE: .*gost2001\.key\.pem holds a GOST R 34\.10-2001 key: verify-only/,
    );
  });

  it('Ed25519, P-384, encrypted, a certificate instead of a key', () => {
    const leaf = makeGostLeaf(dir, ca, 'leaf-for-refusals', {});
    const write = (name: string, text: string | Buffer) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    };
    const load = (keyFile: string) => () => loadGatewayIdentity({ kind: 'pem', keyFile, certFile: leaf.cert });
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' });
    expect(load(write('ed.pem', ed))).toThrow(/^GATEWAY_KEY_FILE: .* holds an Ed25519 key: not supported$/);
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'der' });
    expect(load(write('p384.der', p384))).toThrow(/holds an EC key on curve secp384r1: not supported/);
    const enc = ossl(['pkcs8', '-engine', 'gost', '-topk8', '-in', leaf.key, '-passout', 'pass:x', '-v2', 'aes-256-cbc']);
    expect(load(write('enc.pem', enc))).toThrow(/holds an encrypted private key: not supported/);
    expect(load(leaf.cert)).toThrow(/holds a certificate, not a private key/);
    expect(() => readPrivateKey(Buffer.from('hello'))).toThrow(/holds neither a PEM nor a DER private key/);
  });

  it('a key that belongs to another certificate: the loader names GATEWAY_KEY_FILE and the certificate', () => {
    const a = makeGostLeaf(dir, ca, 'mismatch-a', {});
    const b = makeGostLeaf(dir, ca, 'mismatch-b', {});
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: a.key, certFile: b.cert })).toThrow(
      /^GATEWAY_KEY_FILE: the private key in .*mismatch-a\.key\.pem does not belong to the certificate in GATEWAY_CERT_FILE \(.*mismatch-b\.crt\.pem, "O=Okno tests, CN=mismatch-b"\)$/,
    );
    const other512 = genGostKey(path.join(dir, 'other.key.pem'), 'gost2012_512', 'A');
    expect(() => loadGatewayIdentity({ kind: 'pem', keyFile: other512, certFile: a.cert })).toThrow(/^GATEWAY_KEY_FILE: .* does not belong/);
  });
});

describe('PKCS#12 with a GOST key', () => {
  it("openssl pkcs12 -export -engine gost with OpenSSL's default PBE (PBES2, AES-256-CBC, hmacWithSHA256)", async () => {
    const leaf = makeGostLeaf(dir, ca, 'p12-leaf', { algorithm: 'gost2012_512', paramset: 'C' });
    const p12 = path.join(dir, 'gost.p12');
    ossl(['pkcs12', '-export', '-engine', 'gost', '-inkey', leaf.key, '-in', leaf.cert, '-certfile', ca.cert, '-passout', 'pass:s3cret', '-out', p12]);
    const id = loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 's3cret' });
    expect(id.keyDescription).toBe('gost2012-512 TC26-512-C');
    expect(id.certificate.subject).toBe("O=Okno tests, CN=p12-leaf");
    expect(id.chainPems).toHaveLength(1);
    const data = Buffer.from('okno');
    expect(opensslVerifies(dir, 'gost2012_512', publicKeyOf(dir, leaf.cert), data, await id.signer.sign(data))).toBe(true);
    expect(() => loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 'wrong' })).toThrow(/^GATEWAY_P12_FILE: cannot open .*wrong GATEWAY_P12_PASSWORD/);
  });

  it.each([
    ['md_gost12_256', 'gost2012_256', 'TCA', 'gost2012-256 TC26-256-A'],
    ['md_gost12_512', 'gost2012_512', 'A', 'gost2012-512 TC26-512-A'],
  ] as const)('GOST PBE: -keypbe gost89 -certpbe gost89 -macalg %s (PBKDF2-HMAC-Streebog, GOST 28147-89 CFB)', async (macalg, algorithm, paramset, description) => {
    const leaf = makeGostLeaf(dir, ca, `p12-gost-${macalg}`, { algorithm, paramset });
    const p12 = path.join(dir, `gost-pbe-${macalg}.p12`);
    ossl(['pkcs12', '-export', '-engine', 'gost', '-inkey', leaf.key, '-in', leaf.cert, '-certfile', ca.cert, '-keypbe', 'gost89', '-certpbe', 'gost89', '-macalg', macalg, '-passout', 'pass:пароль', '-out', p12]);
    // the bundle really is GOST-protected: Streebog MAC, GOST 28147-89 (OID 1.2.643.2.2.21) bags
    expect(hasGostMac(readFileSync(p12))).toBe(true);
    expect(readFileSync(p12).includes(Buffer.from([0x06, 0x06, 0x2a, 0x85, 0x03, 0x02, 0x02, 0x15]))).toBe(true);
    const id = loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 'пароль' });
    expect(id.keyDescription).toBe(description);
    expect(id.certificate.subject).toBe(`O=Okno tests, CN=p12-gost-${macalg}`);
    expect(id.chainPems).toHaveLength(1);
    const data = Buffer.from('okno gost pbe');
    expect(opensslVerifies(dir, algorithm, publicKeyOf(dir, leaf.cert), data, await id.signer.sign(data))).toBe(true);
    expect(() => loadGatewayIdentity({ kind: 'p12', p12File: p12, password: 'parol' })).toThrow(/^GATEWAY_P12_FILE: cannot open .*MAC mismatch: wrong password/);
  }, 60_000);
});
