/**
 * The digest and signature algorithms of CMS SignerInfos, by OID, over the algorithms the
 * XMLDSig engine already has (GOST R 34.10/34.11, RSA, ECDSA in signature/algorithms) and
 * node:crypto. Lookups fail closed with a sentence saying why, as the XMLDSig registry does.
 *
 * GOST in CMS (RFC 4490, RFC 9215; what CryptoPro and OpenSSL's gost engine write): the
 * signatureAlgorithm is usually the *key* OID (id-GostR3410-2001, id-tc26-gost3410-12-256/512),
 * sometimes the signature-with-digest OID; the signature value is s ‖ r, big-endian, and the
 * digest is read as a little-endian integer — the same conventions as XMLDSig and X.509, so the
 * registry's algorithms verify it unchanged.
 */
import { constants, createHash, publicDecrypt, verify as nodeVerify, type KeyObject } from 'node:crypto';
import {
  AlgorithmError,
  getSignatureAlgorithm,
  GOST2001_URI,
  GOST2012_256_URI,
  GOST2012_512_URI,
  isGostPublicKey,
  type PublicKey,
} from '../../crypto/index.js';
import { gostDigest, gostVerifyDigest } from '../../crypto/gost-engine.js';
import { StreebogStream } from '../../crypto/streebog-stream.js';
import { children, decodeInteger, decodeOid, type Der } from '../asn1.js';

export const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  gost94: '1.2.643.2.2.9',
  streebog256: '1.2.643.7.1.1.2.2',
  streebog512: '1.2.643.7.1.1.2.3',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
  sha256WithRsa: '1.2.840.113549.1.1.11',
  sha384WithRsa: '1.2.840.113549.1.1.12',
  sha512WithRsa: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaSha256: '1.2.840.10045.4.3.2',
  ecdsaSha384: '1.2.840.10045.4.3.3',
  ecdsaSha512: '1.2.840.10045.4.3.4',
  gost2001Key: '1.2.643.2.2.19',
  gost2001Sig: '1.2.643.2.2.3',
  gost2012_256Key: '1.2.643.7.1.1.1.1',
  gost2012_512Key: '1.2.643.7.1.1.1.2',
  gost2012_256Sig: '1.2.643.7.1.1.3.2',
  gost2012_512Sig: '1.2.643.7.1.1.3.3',
} as const;

export interface CmsDigest {
  readonly oid: string;
  readonly name: string;
  /** node:crypto's name, for RSA and ECDSA; undefined for the GOST digests. */
  readonly nodeName?: string;
  hash(data: Uint8Array): Buffer;
  /**
   * A hasher fed chunk by chunk (a file streamed once, memory bounded): the same digest as
   * `hash` over the concatenation. Undefined for GOST R 34.11-94, which has no streaming
   * implementation here.
   */
  readonly stream?: () => CmsStreamHasher;
}

export interface CmsStreamHasher {
  update(chunk: Uint8Array): void;
  digest(): Buffer;
}

const node = (oid: string, name: string, nodeName: string): CmsDigest => ({
  oid,
  name,
  nodeName,
  hash: (d) => createHash(nodeName).update(d).digest(),
  stream: () => {
    const h = createHash(nodeName);
    return { update: (c) => void h.update(c), digest: () => h.digest() };
  },
});

const streebog = (bits: 256 | 512) => (): CmsStreamHasher => {
  const h = new StreebogStream(bits);
  return { update: (c) => void h.update(c), digest: () => Buffer.from(h.digest()) };
};

const DIGESTS: ReadonlyMap<string, CmsDigest> = new Map(
  [
    node(OID.sha256, 'SHA-256', 'sha256'),
    node(OID.sha384, 'SHA-384', 'sha384'),
    node(OID.sha512, 'SHA-512', 'sha512'),
    { oid: OID.streebog256, name: 'GOST R 34.11-2012-256', hash: (d: Uint8Array) => gostDigest('2012-256', d), stream: streebog(256) },
    { oid: OID.streebog512, name: 'GOST R 34.11-2012-512', hash: (d: Uint8Array) => gostDigest('2012-512', d), stream: streebog(512) },
    // CryptoPro parameter set: the only one CMS uses with GOST R 34.10-2001 (RFC 4490 §2.1)
    { oid: OID.gost94, name: 'GOST R 34.11-94', hash: (d: Uint8Array) => gostDigest('94', d) },
  ].map((d): [string, CmsDigest] => [d.oid, d]),
);

const REFUSED: ReadonlyMap<string, string> = new Map([
  [OID.sha1, 'SHA-1 is broken (collisions are practical)'],
  ['1.2.840.113549.2.5', 'MD5 is broken'],
  ['1.2.840.113549.1.1.4', 'MD5 is broken'],
  ['1.2.840.113549.1.1.5', 'SHA-1 is broken (collisions are practical)'],
  ['1.2.840.10045.4.1', 'SHA-1 is broken (collisions are practical)'],
  ['1.2.840.10040.4.3', 'DSA with SHA-1 is broken'],
]);

/** A digest fed in chunks (a file read as a stream). */
export interface CmsDigestStream {
  /** Bytes of the digest. */
  readonly size: number;
  update(chunk: Uint8Array): void;
  digest(): Buffer;
}

/** The digest of `oid` as a stream (CmsDigest.stream), with its size: SHA-2 and GOST R 34.11-2012. */
export function cmsDigestStream(oid: string): CmsDigestStream {
  const d = cmsDigest(oid);
  if (!d.stream) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `digest algorithm ${d.name}: not available as a stream`, oid);
  const h = d.stream();
  return { size: d.hash(new Uint8Array(0)).length, update: (c) => h.update(c), digest: () => h.digest() };
}

export function cmsDigest(oid: string): CmsDigest {
  const d = DIGESTS.get(oid);
  if (!d) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `digest algorithm ${oid}: ${REFUSED.get(oid) ?? 'not supported'}`, oid);
  return d;
}

export interface CmsSignatureScheme {
  readonly name: string;
  verify(data: Uint8Array, signature: Uint8Array, key: PublicKey): boolean;
  /**
   * The same check given the digest of the data instead of the data (a SignerInfo without
   * signed attributes over a file that was streamed, not held). Undefined where node:crypto
   * offers no verification of a precomputed digest (ECDSA, RSA-PSS).
   */
  verifyDigest?(digest: Uint8Array, signature: Uint8Array, key: PublicKey): boolean;
}

/** DER of DigestInfo up to the digest (RFC 8017 §9.2 note 1): what RSA PKCS#1 v1.5 signs. */
const DIGEST_INFO_PREFIX: ReadonlyMap<string, Buffer> = new Map([
  [OID.sha256, Buffer.from('3031300d060960864801650304020105000420', 'hex')],
  [OID.sha384, Buffer.from('3041300d060960864801650304020205000430', 'hex')],
  [OID.sha512, Buffer.from('3051300d060960864801650304020305000440', 'hex')],
]);

const GOST: ReadonlyMap<string, { uri: string; digest: string; key: string }> = new Map([
  [OID.gost2001Key, { uri: GOST2001_URI, digest: OID.gost94, key: 'gost2001' }],
  [OID.gost2001Sig, { uri: GOST2001_URI, digest: OID.gost94, key: 'gost2001' }],
  [OID.gost2012_256Key, { uri: GOST2012_256_URI, digest: OID.streebog256, key: 'gost2012-256' }],
  [OID.gost2012_256Sig, { uri: GOST2012_256_URI, digest: OID.streebog256, key: 'gost2012-256' }],
  [OID.gost2012_512Key, { uri: GOST2012_512_URI, digest: OID.streebog512, key: 'gost2012-512' }],
  [OID.gost2012_512Sig, { uri: GOST2012_512_URI, digest: OID.streebog512, key: 'gost2012-512' }],
]);

/** The digest each "xWithY" OID names; it must be the SignerInfo's digestAlgorithm. */
const IMPLIED_DIGEST: ReadonlyMap<string, string> = new Map([
  [OID.sha256WithRsa, OID.sha256],
  [OID.sha384WithRsa, OID.sha384],
  [OID.sha512WithRsa, OID.sha512],
  [OID.ecdsaSha256, OID.sha256],
  [OID.ecdsaSha384, OID.sha384],
  [OID.ecdsaSha512, OID.sha512],
]);

const RSA_OIDS = new Set<string>([OID.rsaEncryption, OID.sha256WithRsa, OID.sha384WithRsa, OID.sha512WithRsa]);
const ECDSA_OIDS = new Set<string>([OID.ecPublicKey, OID.ecdsaSha256, OID.ecdsaSha384, OID.ecdsaSha512]);

const nodeKey = (key: PublicKey, type: string, what: string): KeyObject => {
  if (isGostPublicKey(key) || key.asymmetricKeyType !== type) throw new AlgorithmError('KEY_MISMATCH', `${what} cannot be made with the certificate's ${isGostPublicKey(key) ? key.algorithm : (key.asymmetricKeyType ?? 'unknown')} key`);
  return key;
};

/**
 * The signature scheme of a SignerInfo: its signatureAlgorithm (with parameters, for RSA-PSS)
 * and the digest the SignerInfo names. Throws AlgorithmError with the reason.
 */
export function cmsSignatureScheme(oid: string, params: Der | undefined, digest: CmsDigest): CmsSignatureScheme {
  const gost = GOST.get(oid);
  if (gost) {
    const algorithm = getSignatureAlgorithm(gost.uri);
    if (digest.oid !== gost.digest) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `${algorithm.name} must be used with digest ${cmsDigest(gost.digest).name}, not ${digest.name}`, oid);
    return {
      name: algorithm.name,
      verify: (data, signature, key) => {
        if (!isGostPublicKey(key) || key.algorithm !== gost.key) throw new AlgorithmError('KEY_MISMATCH', `${algorithm.name} cannot be made with the certificate's ${isGostPublicKey(key) ? key.algorithm : (key.asymmetricKeyType ?? 'unknown')} key`);
        return algorithm.verify(data, signature, key);
      },
      verifyDigest: (d, signature, key) => {
        if (!isGostPublicKey(key) || key.algorithm !== gost.key) throw new AlgorithmError('KEY_MISMATCH', `${algorithm.name} cannot be made with the certificate's ${isGostPublicKey(key) ? key.algorithm : (key.asymmetricKeyType ?? 'unknown')} key`);
        return gostVerifyDigest(d, signature, key.curve, key.point);
      },
    };
  }
  const implied = IMPLIED_DIGEST.get(oid);
  if (implied && implied !== digest.oid) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `signature algorithm ${oid} implies ${cmsDigest(implied).name}, but the digest algorithm is ${digest.name}`, oid);
  const hash = digest.nodeName;
  if (RSA_OIDS.has(oid)) {
    const name = `RSA PKCS#1 v1.5 with ${digest.name}`;
    if (!hash) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `${name}: not supported`, oid);
    const prefix = DIGEST_INFO_PREFIX.get(digest.oid);
    return {
      name,
      verify: (data, signature, key) => nodeVerify(hash, data, nodeKey(key, 'rsa', name), signature),
      ...(prefix
        ? {
            // The signature opened with the public key is the DigestInfo it signs.
            verifyDigest: (d: Uint8Array, signature: Uint8Array, key: PublicKey) => {
              let opened: Buffer;
              try {
                opened = publicDecrypt({ key: nodeKey(key, 'rsa', name), padding: constants.RSA_PKCS1_PADDING }, signature);
              } catch (error) {
                if (error instanceof AlgorithmError) throw error;
                return false;
              }
              return opened.equals(Buffer.concat([prefix, d]));
            },
          }
        : {}),
    };
  }
  if (oid === OID.rsaPss) return rsaPss(params, digest);
  if (ECDSA_OIDS.has(oid)) {
    const name = `ECDSA with ${digest.name}`;
    if (!hash) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `${name}: not supported`, oid);
    // CMS carries ECDSA as DER Ecdsa-Sig-Value (RFC 5753), node's default encoding
    return { name, verify: (data, signature, key) => nodeVerify(hash, data, nodeKey(key, 'ec', name), signature) };
  }
  throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `signature algorithm ${oid}: ${REFUSED.get(oid) ?? 'not supported'}`, oid);
}

/** RSASSA-PSS (RFC 4055): the parameters' hash and MGF1 hash must be the SignerInfo's digest. */
function rsaPss(params: Der | undefined, digest: CmsDigest): CmsSignatureScheme {
  let hashOid: string = OID.sha1;
  let mgfHashOid: string = OID.sha1;
  let saltLength = 20;
  const oidIn = (seq: Der | undefined): string => {
    const first = seq?.tag === 0x30 ? children(seq)[0] : undefined;
    if (first?.tag !== 0x06) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', 'RSA-PSS: the parameters cannot be read', OID.rsaPss);
    return decodeOid(first);
  };
  try {
    for (const field of params && params.tag === 0x30 ? children(params) : []) {
      const [inner] = children(field);
      if (field.tag === 0xa0) hashOid = oidIn(inner);
      else if (field.tag === 0xa1) {
        if (oidIn(inner) !== OID.mgf1) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', 'RSA-PSS: only MGF1 is supported', OID.rsaPss);
        mgfHashOid = oidIn(children(inner!)[1]);
      } else if (field.tag === 0xa2 && inner?.tag === 0x02) saltLength = Number(decodeInteger(inner));
    }
  } catch (error) {
    if (error instanceof AlgorithmError) throw error;
    throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `RSA-PSS: the parameters cannot be read (${(error as Error).message})`, OID.rsaPss);
  }
  if (!Number.isSafeInteger(saltLength) || saltLength < 0 || saltLength > 1024) throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `RSA-PSS: salt length ${saltLength}`, OID.rsaPss);
  const name = `RSA-PSS with ${digest.name}`;
  if (hashOid !== digest.oid || mgfHashOid !== digest.oid || !digest.nodeName) {
    throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `${name}: the PSS parameters' hash (${hashOid}, MGF1 ${mgfHashOid}) must be the digest algorithm`, OID.rsaPss);
  }
  const hash = digest.nodeName;
  return { name, verify: (data, signature, key) => nodeVerify(hash, data, { key: nodeKey(key, 'rsa', name), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }, signature) };
}
