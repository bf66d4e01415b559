/**
 * Making a detached CMS SignedData (RFC 5652) over a file with the gateway's Signer — the same
 * interface that signs XMLDSig, so a file key, a GOST key or a PKCS#11 token all work, and no
 * private key is touched here. Signed attributes: contentType (id-data), signingTime and
 * messageDigest; the signer's certificate is included; the signer is named by
 * issuerAndSerialNumber (version 1), as CryptoPro and `openssl cms -sign` do.
 */
import {
  ECDSA_SHA256_URI,
  GOST2012_256_URI,
  GOST2012_512_URI,
  RSA_SHA256_URI,
  RSA_SHA512_URI,
} from '../../crypto/index.js';
import type { Signer } from '../signer.js';
import { explicit, nullValue, octetString, oid, sequence, set, smallInteger, time, tlv } from '../der-writer.js';
import { cmsDigest, cmsDigestStream, OID, type CmsDigestStream } from './algorithms.js';

interface Scheme {
  digestOid: string;
  /** The signatureAlgorithm AlgorithmIdentifier. */
  signatureAlgorithm: Buffer;
  /** The Signer's signature value → CMS's. */
  encode(signature: Buffer): Buffer;
}

const SCHEMES: Readonly<Record<string, Scheme>> = {
  [RSA_SHA256_URI]: { digestOid: OID.sha256, signatureAlgorithm: sequence(oid(OID.rsaEncryption), nullValue()), encode: (s) => s },
  [RSA_SHA512_URI]: { digestOid: OID.sha512, signatureAlgorithm: sequence(oid(OID.rsaEncryption), nullValue()), encode: (s) => s },
  // the Signer gives r ‖ s (XMLDSig's form); CMS wants Ecdsa-Sig-Value (RFC 5753)
  [ECDSA_SHA256_URI]: { digestOid: OID.sha256, signatureAlgorithm: sequence(oid(OID.ecdsaSha256)), encode: ecdsaDer },
  // GOST: the key OID as signatureAlgorithm and s ‖ r as is (RFC 4490 §3.2, RFC 9215; as the gost engine writes)
  [GOST2012_256_URI]: { digestOid: OID.streebog256, signatureAlgorithm: sequence(oid(OID.gost2012_256Key), nullValue()), encode: (s) => s },
  [GOST2012_512_URI]: { digestOid: OID.streebog512, signatureAlgorithm: sequence(oid(OID.gost2012_512Key), nullValue()), encode: (s) => s },
};

export interface CmsSignOptions {
  /** The signingTime attribute (default now). */
  signingTime?: Date;
  /** More certificates to include (intermediate CAs). */
  chain?: readonly Uint8Array[];
}

function schemeOf(signer: Signer): Scheme {
  const scheme = SCHEMES[signer.signatureAlgorithm.uri];
  if (!scheme) throw new Error(`no CMS signature for ${signer.signatureAlgorithm.name}`);
  return scheme;
}

/**
 * The digest a CMS signature by `signer` is made over, as a stream: feed the content in chunks
 * (a 100 MB file is never held whole), then give `digest()` to signDetachedCmsDigest.
 */
export function cmsContentDigest(signer: Signer): CmsDigestStream {
  return cmsDigestStream(schemeOf(signer).digestOid);
}

/** A detached CMS SignedData (DER) over `content`, signed by `signer`. */
export async function signDetachedCms(content: Uint8Array, signer: Signer, options: CmsSignOptions = {}): Promise<Buffer> {
  return signDetachedCmsDigest(cmsDigest(schemeOf(signer).digestOid).hash(content), signer, options);
}

/**
 * A detached CMS SignedData (DER) over content whose digest (cmsContentDigest(signer)) is
 * `contentDigest`: what signDetachedCms makes, for content read as a stream.
 */
export async function signDetachedCmsDigest(contentDigest: Uint8Array, signer: Signer, options: CmsSignOptions = {}): Promise<Buffer> {
  const scheme = schemeOf(signer);
  const expected = cmsDigestStream(scheme.digestOid).size;
  if (contentDigest.length !== expected) throw new RangeError(`the content digest has ${contentDigest.length} bytes; ${signer.signatureAlgorithm.name} signs a ${expected}-byte digest`);
  const digestAlgorithm = sequence(oid(scheme.digestOid), nullValue());
  const attributes = [
    attribute(OID.contentType, oid(OID.data)),
    attribute(OID.signingTime, time(options.signingTime ?? new Date())),
    attribute(OID.messageDigest, octetString(Buffer.from(contentDigest))),
  ];
  const signedAttributes = derSetOf(attributes);
  const signature = scheme.encode(await signer.sign(signedAttributes));
  const cert = signer.certificate;
  const signerInfo = sequence(
    smallInteger(1),
    sequence(cert.issuerDer, signedInteger(cert.serialNumber)),
    digestAlgorithm,
    tlv(0xa0, ...sortedDer(attributes)), // [0] IMPLICIT: the same bytes under another tag
    scheme.signatureAlgorithm,
    octetString(signature),
  );
  const signedData = sequence(
    smallInteger(1),
    set(digestAlgorithm),
    sequence(oid(OID.data)), // no eContent: detached
    tlv(0xa0, cert.der, ...(options.chain ?? [])),
    set(signerInfo),
  );
  return sequence(oid(OID.signedData), explicit(0, signedData));
}

const attribute = (type: string, value: Buffer): Buffer => sequence(oid(type), set(value));

/** DER SET OF: the elements in the order of their encodings (X.690 §11.6). */
function sortedDer(items: readonly Buffer[]): Buffer[] {
  return [...items].sort(Buffer.compare);
}

const derSetOf = (items: readonly Buffer[]): Buffer => set(...sortedDer(items));

/** An INTEGER in two's complement, minimal (serial numbers may, wrongly but really, be negative). */
function signedInteger(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
    const top = bytes[0]! & 0x80;
    if ((v === 0n && !top) || (v === -1n && top)) break;
  }
  return tlv(0x02, Buffer.from(bytes));
}

/** r ‖ s (each half of the length) → SEQUENCE { INTEGER r, INTEGER s }. */
function ecdsaDer(raw: Buffer): Buffer {
  const half = raw.length / 2;
  const int = (b: Buffer): Buffer => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const m = b.subarray(i);
    return tlv(0x02, (m[0]! & 0x80) !== 0 ? Buffer.concat([Buffer.from([0]), m]) : m);
  };
  return sequence(int(raw.subarray(0, half)), int(raw.subarray(half)));
}
