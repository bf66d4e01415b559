/**
 * Reading a private key file: PKCS#8 PrivateKeyInfo (PEM or DER), and for RSA/EC also the
 * traditional PKCS#1 / SEC1 forms. GOST R 34.10-2012 keys are read with our DER reader, in
 * every encoding OpenSSL's gost engine reads (gost_ameth.c, priv_decode_gost):
 *   - the bare scalar, little-endian, optionally followed by CryptoPro masks (key ‖ m1 ‖ …,
 *     d = key·m1·… mod q) — what the engine writes by default;
 *   - an OCTET STRING holding the scalar little-endian (GOST_PK_FORMAT=LEGACY_PK_WRAP);
 *   - an INTEGER (big-endian);
 *   - a SEQUENCE { masked key OCTET STRING, public key OCTET STRING } (CryptoPro's export).
 * RSA and EC keys go to node:crypto. Anything else is refused with what it is, not "unreadable".
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { GOST_KEY_OIDS, findGostCurve, gostPrivateKey, type GostKeyAlgorithm, type PrivateKey } from '../crypto/index.js';
import { children, decodeOid, DerError, expectTag, readDer, type Der } from './asn1.js';

export interface LoadedPrivateKey {
  readonly key: PrivateKey;
  /** e.g. `gost2012-256 TC26-256-A`, `rsa-2048`, `ec-prime256v1`. */
  readonly description: string;
}

/** The key's kind is known but Okno cannot sign with it, or the file holds no key at all. */
export class PrivateKeyError extends Error {
  override readonly name = 'PrivateKeyError';
}

/** What a key algorithm OID is, for refusals that say so. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  '1.2.643.2.2.19': 'a GOST R 34.10-2001 key: verify-only (signing with GOST R 34.10-2001 is no longer allowed; make a GOST R 34.10-2012 key)',
  '1.2.643.2.2.20': 'a GOST R 34.10-94 key: not supported',
  '1.2.643.2.2.98': 'a GOST R 34.10-2001 Diffie-Hellman key: not supported',
  '1.2.643.7.1.1.6.1': 'a GOST R 34.10-2012 256-bit Diffie-Hellman key: not supported',
  '1.2.643.7.1.1.6.2': 'a GOST R 34.10-2012 512-bit Diffie-Hellman key: not supported',
  '1.3.101.112': 'an Ed25519 key: not supported',
  '1.3.101.113': 'an Ed448 key: not supported',
  '1.3.101.110': 'an X25519 key: not supported',
  '1.3.101.111': 'an X448 key: not supported',
  '1.2.840.10040.4.1': 'a DSA key: not supported',
  '1.2.840.10046.2.1': 'a Diffie-Hellman key: not supported',
  '1.2.840.113549.1.1.10': 'an RSA-PSS key: not supported (use a plain RSA key)',
  '1.2.156.10197.1.301': 'an SM2 key: not supported',
};

const GOST_BY_OID: Readonly<Record<string, GostKeyAlgorithm>> = Object.fromEntries(
  Object.entries(GOST_KEY_OIDS).map(([alg, oid]) => [oid, alg as GostKeyAlgorithm]),
);

const PEM_RE = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Reads a key file's bytes (PEM or DER). Throws PrivateKeyError saying what the file holds. */
export function readPrivateKey(bytes: Uint8Array): LoadedPrivateKey {
  const text = Buffer.from(bytes).toString('latin1');
  const blocks = [...text.matchAll(PEM_RE)];
  if (blocks.length === 0) {
    if (bytes[0] !== 0x30) throw new PrivateKeyError('holds neither a PEM nor a DER private key');
    return fromDer(Buffer.from(bytes));
  }
  const labels = blocks.map((b) => b[1]!);
  const pick = blocks.find((b) => /PRIVATE KEY$/.test(b[1]!));
  if (!pick) {
    if (labels.includes('CERTIFICATE')) throw new PrivateKeyError('holds a certificate, not a private key');
    throw new PrivateKeyError(`holds no private key (PEM ${labels.join(', ')})`);
  }
  const [whole, label, body] = pick as unknown as [string, string, string];
  if (label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,ENCRYPTED/.test(body)) {
    throw new PrivateKeyError('holds an encrypted private key: not supported (decrypt it with `openssl pkey -engine gost -in FILE -out plain.pem`, or use a PKCS#12 file)');
  }
  if (label === 'PRIVATE KEY') return fromPkcs8(Buffer.from(body.replace(/\s+/g, ''), 'base64'));
  // PKCS#1 "RSA PRIVATE KEY", SEC1 "EC PRIVATE KEY", …: node:crypto reads those
  return fromNode(whole, `a ${label.replace(/ PRIVATE KEY$/, '')} private key`);
}

function fromDer(der: Buffer): LoadedPrivateKey {
  let looksPkcs8 = false;
  try {
    const [version, alg] = children(readDer(der));
    looksPkcs8 = version?.tag === 0x02 && alg?.tag === 0x30;
  } catch {
    // not even DER: let node:crypto have a go and fail with the general message
  }
  if (looksPkcs8) return fromPkcs8(der);
  for (const type of ['pkcs1', 'sec1'] as const) {
    try {
      return describeNodeKey(createPrivateKey({ key: der, format: 'der', type }));
    } catch {
      // next form
    }
  }
  throw new PrivateKeyError('holds no readable private key (DER, neither PKCS#8, PKCS#1 nor SEC1)');
}

/** PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, OCTET STRING privateKey, … } */
export function fromPkcs8(der: Buffer): LoadedPrivateKey {
  let oid: string;
  let params: Der | undefined;
  let privateKey: Der;
  try {
    const info = expectTag(readDer(der), 0x30, 'PrivateKeyInfo');
    const [version, alg, key] = children(info);
    expectTag(version, 0x02, 'PrivateKeyInfo.version');
    const algParts = children(expectTag(alg, 0x30, 'PrivateKeyInfo.privateKeyAlgorithm'));
    oid = decodeOid(expectTag(algParts[0], 0x06, 'key algorithm'));
    params = algParts[1];
    privateKey = expectTag(key, 0x04, 'PrivateKeyInfo.privateKey');
  } catch (error) {
    if (error instanceof DerError) throw new PrivateKeyError(`holds a malformed PKCS#8 private key (${error.message})`);
    throw error;
  }
  const gost = GOST_BY_OID[oid];
  if (gost && gost !== 'gost2001') return gostKey(gost, params, privateKey.contents);
  const unsupported = UNSUPPORTED[oid];
  if (unsupported) throw new PrivateKeyError(`holds ${unsupported}`);
  if (oid === '1.2.840.113549.1.1.1') return fromNode({ key: der, format: 'der', type: 'pkcs8' }, 'an RSA private key');
  if (oid === '1.2.840.10045.2.1') return fromNode({ key: der, format: 'der', type: 'pkcs8' }, 'an EC private key');
  throw new PrivateKeyError(`holds a key of algorithm ${oid}: not supported (Okno signs with GOST R 34.10-2012, RSA or ECDSA P-256)`);
}

function fromNode(input: Parameters<typeof createPrivateKey>[0], what: string): LoadedPrivateKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(input);
  } catch (error) {
    throw new PrivateKeyError(`holds ${what} that cannot be read (${(error as Error).message})`);
  }
  return describeNodeKey(key);
}

function describeNodeKey(key: KeyObject): LoadedPrivateKey {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === 'rsa') return { key, description: `rsa-${d?.modulusLength ?? '?'}` };
  if (key.asymmetricKeyType === 'ec') {
    if (d?.namedCurve === 'prime256v1') return { key, description: 'ec-prime256v1' };
    throw new PrivateKeyError(`holds an EC key on curve ${d?.namedCurve ?? 'unknown'}: not supported (only P-256 / prime256v1)`);
  }
  throw new PrivateKeyError(`holds ${key.asymmetricKeyType === 'ed25519' ? 'an Ed25519' : `a ${key.asymmetricKeyType ?? 'unknown'}`} key: not supported`);
}

const leToBigint = (b: Uint8Array): bigint => {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i] ?? 0);
  return n;
};
const bigintToLe = (n: bigint, size: number): Uint8Array => Buffer.from(n.toString(16).padStart(size * 2, '0'), 'hex').reverse();

function gostKey(algorithm: GostKeyAlgorithm, params: Der | undefined, value: Uint8Array): LoadedPrivateKey {
  const title = algorithm === 'gost2012-512' ? 'GOST R 34.10-2012 512-bit' : 'GOST R 34.10-2012 256-bit';
  let paramSet: string;
  try {
    // GostR3410-2012-PublicKeyParameters ::= SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL }
    paramSet = decodeOid(expectTag(children(expectTag(params, 0x30, 'GOST key parameters'))[0], 0x06, 'publicKeyParamSet'));
  } catch (error) {
    if (error instanceof DerError) throw new PrivateKeyError(`holds a ${title} key without readable parameters (${error.message})`);
    throw error;
  }
  const curve = findGostCurve(paramSet);
  if (!curve) throw new PrivateKeyError(`holds a ${title} key on parameter set ${paramSet}: not supported`);
  const size = algorithm === 'gost2012-512' ? 64 : 32;
  if (curve.size !== size) throw new PrivateKeyError(`holds a ${title} key on the ${curve.size * 8}-bit parameter set ${curve.name}: inconsistent`);
  const q = BigInt('0x' + curve.q);
  let d: bigint;
  try {
    d = gostScalar(value, size, q);
  } catch (error) {
    if (error instanceof DerError) throw new PrivateKeyError(`holds a ${title} key whose private value cannot be read (${error.message})`);
    throw error;
  }
  if (d <= 0n || d >= q) throw new PrivateKeyError(`holds a ${title} key whose private value is out of range`);
  return { key: gostPrivateKey(algorithm, curve.oid, bigintToLe(d, size)), description: `${algorithm} ${curve.name}` };
}

/** The private scalar d from the PKCS#8 privateKey octets, in the order gost_ameth.c tries. */
function gostScalar(value: Uint8Array, size: number, q: bigint): bigint {
  if (value.length > 0 && value.length % size === 0) return unmask(value, size, q);
  const inner = readDer(value);
  if (inner.raw.length !== value.length) throw new DerError('trailing bytes after the private value');
  switch (inner.tag) {
    case 0x04: // OCTET STRING, little-endian
      if (inner.contents.length !== 32 && inner.contents.length !== 64) throw new DerError(`a ${inner.contents.length}-byte OCTET STRING`);
      return leToBigint(inner.contents);
    case 0x02: // INTEGER, big-endian
      return inner.contents.length === 0 ? 0n : BigInt('0x' + Buffer.from(inner.contents).toString('hex'));
    case 0x30: {
      // CryptoPro masked key: SEQUENCE { masked_priv_key OCTET STRING, public_key OCTET STRING }
      const masked = expectTag(children(inner)[0], 0x04, 'masked private key').contents;
      if (masked.length === 0 || masked.length % size !== 0) throw new DerError(`a masked key of ${masked.length} bytes`);
      return unmask(masked, size, q);
    }
    default:
      throw new DerError(`unexpected tag 0x${inner.tag.toString(16)}`);
  }
}

/** key ‖ mask1 ‖ … ‖ maskN, each little-endian: d = key · mask1 · … · maskN mod q. */
function unmask(buf: Uint8Array, size: number, q: bigint): bigint {
  let d = leToBigint(buf.subarray(0, size));
  if (buf.length === size) return d;
  for (let off = size; off < buf.length; off += size) d = (d * leToBigint(buf.subarray(off, off + size))) % q;
  return d;
}
