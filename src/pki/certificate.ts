/**
 * X.509 certificates parsed once into a small immutable object. Our own DER reader is used
 * because node's X509Certificate cannot read GOST keys; RSA/EC keys still go to node:crypto.
 */
import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import {
  AlgorithmError,
  GOST2001_URI,
  GOST2012_256_URI,
  GOST2012_512_URI,
  getSignatureAlgorithm,
  gostPublicKey,
  isGostPublicKey,
  type GostKeyAlgorithm,
  type KeyAlgorithm,
  type PublicKey,
} from '../crypto/index.js';
import {
  bitStringBytes,
  children,
  decodeInteger,
  decodeOid,
  decodeString,
  decodeTime,
  DerError,
  expectTag,
  readDer,
  type Der,
} from './asn1.js';

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
  readonly code = 'BAD_CERTIFICATE';
}

export const KEY_USAGE_NAMES = [
  'digitalSignature',
  'nonRepudiation',
  'keyEncipherment',
  'dataEncipherment',
  'keyAgreement',
  'keyCertSign',
  'cRLSign',
  'encipherOnly',
  'decipherOnly',
] as const;
export type KeyUsageName = (typeof KEY_USAGE_NAMES)[number];

export interface Certificate {
  /** The whole certificate, DER. */
  readonly der: Buffer;
  /** RFC 4514 order (most specific first), e.g. "CN=Okno, O=City, C=RU". */
  readonly subject: string;
  readonly subjectDer: Buffer;
  readonly issuer: string;
  readonly issuerDer: Buffer;
  readonly serialNumber: bigint;
  /** Serial as lowercase hex of its magnitude (no sign octet). */
  readonly serialHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Undefined when the certificate has no keyUsage extension (= any usage, RFC 5280). */
  readonly keyUsage: ReadonlySet<KeyUsageName> | undefined;
  /** Undefined when the extension is absent. */
  readonly basicConstraints: { readonly cA: boolean; readonly pathLength?: number } | undefined;
  /** extendedKeyUsage OIDs; undefined when the extension is absent. */
  readonly extendedKeyUsage: ReadonlySet<string> | undefined;
  /** OCSP responder URLs from Authority Information Access (id-ad-ocsp), in the certificate's order. */
  readonly ocspUrls: readonly string[];
  /** CRL distribution points (URIs of the fullName form), in the certificate's order. */
  readonly crlDistributionPoints: readonly string[];
  /** The subjectPublicKey BIT STRING's bytes (what an OCSP CertID's issuerKeyHash hashes). */
  readonly publicKeyBits: Buffer;
  /** Undefined for key types we cannot use (the certificate still parses). */
  readonly keyAlgorithm: KeyAlgorithm | undefined;
  readonly publicKeyOid: string;
  readonly publicKey: PublicKey | undefined;
  readonly signatureAlgorithmOid: string;
  /** As in the certificate; for GOST that is s ‖ r big-endian, for ECDSA DER. */
  readonly signatureValue: Buffer;
  /** The exact signed bytes (tbsCertificate). */
  readonly tbs: Buffer;
  /** SHA-256 of the DER, lowercase hex. */
  readonly fingerprintSha256: string;
}

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'SERIALNUMBER',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'STREET',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'T',
  '2.5.4.42': 'G',
  '1.2.840.113549.1.9.1': 'E',
  '0.9.2342.19200300.100.1.25': 'DC',
  '0.9.2342.19200300.100.1.1': 'UID',
  // Russian qualified-certificate attributes (Order of FSB No. 795)
  '1.2.643.3.131.1.1': 'INN',
  '1.2.643.100.1': 'OGRN',
  '1.2.643.100.3': 'SNILS',
  '1.2.643.100.4': 'INNLE',
  '1.2.643.100.5': 'OGRNIP',
};

const escapeRdnValue = (v: string): string =>
  v.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');

export function nameToString(name: Der): string {
  const rdns = children(name).map((set) =>
    children(set)
      .map((atv) => {
        const [type, value] = children(atv);
        const oid = decodeOid(expectTag(type, 0x06, 'attribute type'));
        if (!value) throw new DerError('attribute without value');
        return `${ATTRIBUTE_NAMES[oid] ?? oid}=${escapeRdnValue(decodeString(value))}`;
      })
      .join('+'),
  );
  return rdns.reverse().join(', ');
}

const GOST_KEY_ALGORITHMS: Readonly<Record<string, GostKeyAlgorithm>> = {
  '1.2.643.2.2.19': 'gost2001',
  '1.2.643.7.1.1.1.1': 'gost2012-256',
  '1.2.643.7.1.1.1.2': 'gost2012-512',
};

function parsePublicKey(spki: Der): Pick<Certificate, 'keyAlgorithm' | 'publicKey' | 'publicKeyOid' | 'publicKeyBits'> {
  const [algId, bits] = children(spki);
  const publicKeyBits = Buffer.from(bitStringBytes(expectTag(bits, 0x03, 'subjectPublicKey')));
  return { publicKeyBits, ...parseKeyOf(algId, bits, spki) };
}

function parseKeyOf(algId: Der | undefined, bits: Der | undefined, spki: Der): Pick<Certificate, 'keyAlgorithm' | 'publicKey' | 'publicKeyOid'> {
  const [oidEl, params] = children(expectTag(algId, 0x30, 'SubjectPublicKeyInfo.algorithm'));
  const publicKeyOid = decodeOid(expectTag(oidEl, 0x06, 'key algorithm'));
  const gost = GOST_KEY_ALGORITHMS[publicKeyOid];
  if (gost) {
    // RFC 4491 / RFC 9215: parameters = SEQUENCE { publicKeyParamSet OID, digestParamSet OID OPTIONAL, ... }
    const paramSet = decodeOid(expectTag(children(expectTag(params, 0x30, 'GOST key parameters'))[0], 0x06, 'paramSet'));
    const octets = readDer(bitStringBytes(expectTag(bits, 0x03, 'subjectPublicKey')));
    const point = expectTag(octets, 0x04, 'GOST public key').contents;
    try {
      return { keyAlgorithm: gost, publicKeyOid, publicKey: gostPublicKey(gost, paramSet, point) };
    } catch (e) {
      if (e instanceof AlgorithmError) return { keyAlgorithm: undefined, publicKeyOid, publicKey: undefined };
      throw e;
    }
  }
  let publicKey: PublicKey;
  try {
    publicKey = createPublicKey({ key: Buffer.from(spki.raw), format: 'der', type: 'spki' });
  } catch {
    return { keyAlgorithm: undefined, publicKeyOid, publicKey: undefined };
  }
  const keyAlgorithm: KeyAlgorithm | undefined =
    publicKey.asymmetricKeyType === 'rsa'
      ? 'rsa'
      : publicKey.asymmetricKeyType === 'ec' && publicKey.asymmetricKeyDetails?.namedCurve === 'prime256v1'
        ? 'ec-p256'
        : undefined;
  return { keyAlgorithm, publicKeyOid, publicKey };
}

/** id-ad-ocsp (RFC 5280 §4.2.2.1) */
const ID_AD_OCSP = '1.3.6.1.5.5.7.48.1';
/** GeneralName uniformResourceIdentifier [6] IMPLICIT IA5String */
const GENERAL_NAME_URI = 0x86;

const uris = (generalNames: readonly Der[]): string[] => generalNames.filter((n) => n.tag === GENERAL_NAME_URI).map((n) => Buffer.from(n.contents).toString('latin1'));

type ParsedExtensions = Pick<Certificate, 'keyUsage' | 'basicConstraints' | 'extendedKeyUsage' | 'ocspUrls' | 'crlDistributionPoints'>;

function parseExtensions(exts: Der | undefined): ParsedExtensions {
  let keyUsage: Set<KeyUsageName> | undefined;
  let basicConstraints: Certificate['basicConstraints'];
  let extendedKeyUsage: Set<string> | undefined;
  const ocspUrls: string[] = [];
  const crlDistributionPoints: string[] = [];
  // exts is [3] EXPLICIT Extensions
  const list = exts ? children(expectTag(children(exts)[0], 0x30, 'extensions')) : [];
  for (const ext of list) {
    const parts = children(ext);
    const oid = decodeOid(expectTag(parts[0], 0x06, 'extnID'));
    const value = readDer(expectTag(parts[parts.length - 1], 0x04, 'extnValue').contents);
    if (oid === '2.5.29.15') {
      const bytes = bitStringBytes(expectTag(value, 0x03, 'keyUsage'));
      keyUsage = new Set(KEY_USAGE_NAMES.filter((_, i) => ((bytes[i >> 3] ?? 0) >> (7 - (i & 7))) & 1));
    } else if (oid === '2.5.29.19') {
      const items = children(expectTag(value, 0x30, 'basicConstraints'));
      const first = items[0];
      const cA = first?.tag === 0x01 && first.contents[0] !== 0;
      const pathEl = items.find((i) => i.tag === 0x02);
      basicConstraints = Object.freeze(pathEl ? { cA, pathLength: Number(decodeInteger(pathEl)) } : { cA });
    } else if (oid === '2.5.29.37') {
      extendedKeyUsage = new Set(children(expectTag(value, 0x30, 'extKeyUsage')).map((o) => decodeOid(expectTag(o, 0x06, 'KeyPurposeId'))));
    } else if (oid === '1.3.6.1.5.5.7.1.1') {
      // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription { accessMethod, accessLocation GeneralName }
      for (const ad of children(expectTag(value, 0x30, 'authorityInfoAccess'))) {
        const [method, location] = children(expectTag(ad, 0x30, 'AccessDescription'));
        if (decodeOid(expectTag(method, 0x06, 'accessMethod')) === ID_AD_OCSP && location) ocspUrls.push(...uris([location]));
      }
    } else if (oid === '2.5.29.31') {
      // CRLDistributionPoints ::= SEQUENCE OF DistributionPoint { distributionPoint [0] { fullName [0] GeneralNames } ... }
      for (const dp of children(expectTag(value, 0x30, 'cRLDistributionPoints'))) {
        const name = children(expectTag(dp, 0x30, 'DistributionPoint')).find((e) => e.tag === 0xa0);
        const fullName = name ? children(name).find((e) => e.tag === 0xa0) : undefined;
        if (fullName) crlDistributionPoints.push(...uris(children(fullName)));
      }
    }
  }
  return { keyUsage, basicConstraints, extendedKeyUsage, ocspUrls: Object.freeze(ocspUrls), crlDistributionPoints: Object.freeze(crlDistributionPoints) };
}

function toDer(input: string | Uint8Array): Buffer {
  if (typeof input !== 'string') {
    if (input[0] === 0x30) return Buffer.from(input);
    input = Buffer.from(input).toString('latin1');
  }
  const pem = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(input);
  // without armour: the bare base64 of an XMLDSig <X509Certificate>
  const b64 = (pem?.[1] ?? input).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new CertificateError('neither DER, PEM nor base64');
  return Buffer.from(b64, 'base64');
}

/** Parses PEM, DER, or the bare base64 of an XMLDSig X509Certificate. Throws CertificateError. */
export function parseCertificate(input: string | Uint8Array): Certificate {
  const der = toDer(input);
  try {
    const cert = readDer(der);
    if (cert.raw.length !== der.length) throw new DerError('trailing bytes after certificate');
    const [tbsEl, sigAlgEl, sigEl] = children(expectTag(cert, 0x30, 'Certificate'));
    const tbs = expectTag(tbsEl, 0x30, 'tbsCertificate');
    const fields = children(tbs);
    // version [0] is optional (v1 certificates omit it)
    const f = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
    const [serialEl, , issuerEl, validityEl, subjectEl, spkiEl] = f;
    const [notBeforeEl, notAfterEl] = children(expectTag(validityEl, 0x30, 'validity'));
    const serial = expectTag(serialEl, 0x02, 'serialNumber');
    const issuer = expectTag(issuerEl, 0x30, 'issuer');
    const subject = expectTag(subjectEl, 0x30, 'subject');
    const signatureAlgorithmOid = decodeOid(expectTag(children(expectTag(sigAlgEl, 0x30, 'signatureAlgorithm'))[0], 0x06, 'sig OID'));
    return Object.freeze({
      der,
      subject: nameToString(subject),
      subjectDer: Buffer.from(subject.raw),
      issuer: nameToString(issuer),
      issuerDer: Buffer.from(issuer.raw),
      serialNumber: decodeInteger(serial),
      serialHex: Buffer.from(serial.contents).toString('hex').replace(/^(00)+(?=.)/, ''),
      notBefore: decodeTime(expectTag(notBeforeEl, notBeforeEl?.tag === 0x18 ? 0x18 : 0x17, 'notBefore')),
      notAfter: decodeTime(expectTag(notAfterEl, notAfterEl?.tag === 0x18 ? 0x18 : 0x17, 'notAfter')),
      ...parseExtensions(f.find((e) => e.tag === 0xa3)),
      ...parsePublicKey(expectTag(spkiEl, 0x30, 'subjectPublicKeyInfo')),
      signatureAlgorithmOid,
      signatureValue: Buffer.from(bitStringBytes(expectTag(sigEl, 0x03, 'signatureValue'))),
      tbs: Buffer.from(tbs.raw),
      fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    });
  } catch (e) {
    if (e instanceof DerError) throw new CertificateError(`malformed certificate: ${e.message}`);
    throw e;
  }
}

type CertSignatureCheck = (tbs: Buffer, signature: Buffer, key: PublicKey) => boolean;

const nodeCheck =
  (hash: string): CertSignatureCheck =>
  (tbs, signature, key) =>
    !isGostPublicKey(key) && nodeVerify(hash, tbs, key, signature); // ECDSA here is DER, node's default

const gostCheck =
  (uri: string): CertSignatureCheck =>
  (tbs, signature, key) => {
    const alg = getSignatureAlgorithm(uri);
    return isGostPublicKey(key) && key.algorithm === alg.keyAlgorithm && alg.verify(tbs, signature, key);
  };

/** Certificate signature algorithms (OIDs) we accept. SHA-1 and MD5 are refused. */
const CERT_SIGNATURES: ReadonlyMap<string, { keys: readonly string[]; check: CertSignatureCheck }> = new Map([
  ['1.2.840.113549.1.1.11', { keys: ['rsa'], check: nodeCheck('sha256') }],
  ['1.2.840.113549.1.1.12', { keys: ['rsa'], check: nodeCheck('sha384') }],
  ['1.2.840.113549.1.1.13', { keys: ['rsa'], check: nodeCheck('sha512') }],
  ['1.2.840.10045.4.3.2', { keys: ['ec'], check: nodeCheck('sha256') }],
  ['1.2.840.10045.4.3.3', { keys: ['ec'], check: nodeCheck('sha384') }],
  ['1.2.840.10045.4.3.4', { keys: ['ec'], check: nodeCheck('sha512') }],
  ['1.2.643.7.1.1.3.2', { keys: ['gost'], check: gostCheck(GOST2012_256_URI) }],
  ['1.2.643.7.1.1.3.3', { keys: ['gost'], check: gostCheck(GOST2012_512_URI) }],
  ['1.2.643.2.2.3', { keys: ['gost'], check: gostCheck(GOST2001_URI) }],
]);

/**
 * Whether `issuer`'s key made `cert`'s signature. Only the mathematics: names, validity and
 * constraints are the chain builder's business. Throws ALGORITHM_NOT_ALLOWED for refused
 * signature algorithms; a key of the wrong type simply gives false.
 */
export function verifyIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  return verifySignedBy(cert, issuer);
}

/**
 * The same check for any X.509 signed structure (a certificate, a CRL): its
 * exact TBS bytes, signature algorithm OID and signature value against the
 * issuer's key.
 */
export function verifySignedBy(signed: Pick<Certificate, 'tbs' | 'signatureAlgorithmOid' | 'signatureValue'>, issuer: Certificate): boolean {
  const cert = signed;
  const entry = CERT_SIGNATURES.get(cert.signatureAlgorithmOid);
  if (!entry) {
    throw new AlgorithmError('ALGORITHM_NOT_ALLOWED', `signature algorithm ${cert.signatureAlgorithmOid}: not allowed`, cert.signatureAlgorithmOid);
  }
  const key = issuer.publicKey;
  if (!key) return false;
  const kind = isGostPublicKey(key) ? 'gost' : (key.asymmetricKeyType ?? '');
  if (!entry.keys.includes(kind)) return false;
  try {
    return entry.check(cert.tbs, cert.signatureValue, key);
  } catch {
    return false;
  }
}
