/**
 * Reading a CMS ContentInfo / SignedData (RFC 5652) as SMEV carries it in SignaturePKCS7:
 * DER or BER, PEM ("-----BEGIN CMS-----", "PKCS7", "SIGNED DATA") or bare base64. Only the
 * structure is read here; verify.ts decides what it means.
 */
import { children, decodeInteger, decodeOid, decodeTime, DerError, readDer, type Der } from '../asn1.js';
import { CertificateError, nameToString, parseCertificate, type Certificate } from '../certificate.js';
import { berChildren, octetStringBytes, readBerWhole } from './ber.js';
import { OID } from './algorithms.js';

export class CmsError extends Error {
  override readonly name = 'CmsError';
  readonly code = 'BAD_CMS';
}

export type SignerIdentifier =
  | { readonly kind: 'issuerAndSerialNumber'; readonly issuerDer: Buffer; readonly issuer: string; readonly serialNumber: bigint }
  | { readonly kind: 'subjectKeyIdentifier'; readonly keyIdentifier: Buffer };

export interface CmsAttribute {
  readonly oid: string;
  readonly values: readonly Der[];
}

export interface CmsSignerInfo {
  readonly sid: SignerIdentifier;
  readonly digestAlgorithmOid: string;
  /**
   * The signed attributes as signed: the DER of `SET OF Attribute` (the [0] IMPLICIT tag
   * replaced by SET's, RFC 5652 §5.4). Undefined when the signature is over the content itself.
   */
  readonly signedAttributesDer?: Buffer;
  readonly signedAttributes?: readonly CmsAttribute[];
  readonly signatureAlgorithmOid: string;
  readonly signatureAlgorithmParams?: Der;
  readonly signature: Buffer;
}

export interface CmsSignedData {
  /** eContentType (id-data for a file). */
  readonly contentType: string;
  /** The encapsulated content, when the signature is not detached (`openssl cms -nodetach`). */
  readonly content?: Buffer;
  readonly certificates: readonly Certificate[];
  /** Certificates in the CMS that could not be read (they are skipped, and reported if a signer needed one). */
  readonly unreadableCertificates: number;
  readonly signers: readonly CmsSignerInfo[];
}

/** The bytes of a CMS from DER/BER bytes, PEM or base64 (text or bytes of text). */
export function cmsBytes(input: string | Uint8Array): Buffer {
  if (typeof input !== 'string') {
    if (input[0] === 0x30) return Buffer.from(input);
    input = Buffer.from(input).toString('latin1');
  }
  const pem = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(input);
  const b64 = (pem?.[2] ?? input).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new CmsError('the signature is neither DER, PEM nor base64');
  const bytes = Buffer.from(b64, 'base64');
  if (bytes[0] !== 0x30) throw new CmsError('the signature is not a CMS structure (no SEQUENCE at the start)');
  return bytes;
}

const need = (el: Der | undefined, tag: number, what: string): Der => {
  if (!el || el.tag !== tag) throw new CmsError(`${what}: expected tag 0x${tag.toString(16)}${el ? `, got 0x${el.tag.toString(16)}` : ', got nothing'}`);
  return el;
};

/** Parses a detached (or attached) CMS SignedData. Throws CmsError with what is wrong. */
export function parseCms(input: string | Uint8Array): CmsSignedData {
  const bytes = cmsBytes(input);
  try {
    const contentInfo = readBerWhole(bytes);
    const [typeEl, explicit] = berChildren(need(contentInfo, 0x30, 'ContentInfo'));
    const contentType = decodeOid(need(typeEl, 0x06, 'ContentInfo.contentType'));
    if (contentType !== OID.signedData) throw new CmsError(`ContentInfo holds ${contentType}, not SignedData (${OID.signedData})`);
    const [signedData] = berChildren(need(explicit, 0xa0, 'ContentInfo.content'));
    const fields = berChildren(need(signedData, 0x30, 'SignedData'));
    const [, , encap] = fields;
    const rest = fields.slice(3);
    const [eTypeEl, eContentEl] = berChildren(need(encap, 0x30, 'encapContentInfo'));
    const eContentType = decodeOid(need(eTypeEl, 0x06, 'eContentType'));
    const eContent = eContentEl ? berChildren(need(eContentEl, 0xa0, 'eContent'))[0] : undefined;
    if (eContentEl && !eContent) throw new CmsError('eContent: empty');
    const content = eContent ? octetStringBytes(eContent) : undefined;
    const certificates: Certificate[] = [];
    let unreadable = 0;
    let signerInfos: Der | undefined;
    for (const el of rest) {
      if (el.tag === 0xa0) {
        for (const c of berChildren(el)) {
          if (c.tag !== 0x30) continue; // other certificate formats (attribute certificates …)
          try {
            certificates.push(parseCertificate(c.raw));
          } catch (e) {
            if (!(e instanceof CertificateError)) throw e;
            unreadable++;
          }
        }
      } else if (el.tag === 0x31) signerInfos = el;
      // [1] crls: not used (revocation comes from the gateway's CRLs and OCSP)
    }
    const signers = berChildren(need(signerInfos, 0x31, 'signerInfos')).map(parseSignerInfo);
    return { contentType: eContentType, ...(content ? { content } : {}), certificates, unreadableCertificates: unreadable, signers };
  } catch (e) {
    if (e instanceof DerError) throw new CmsError(`malformed CMS: ${e.message}`);
    throw e;
  }
}

function parseSignerInfo(el: Der): CmsSignerInfo {
  const fields = berChildren(need(el, 0x30, 'SignerInfo'));
  const [, sidEl, digestAlgEl, ...more] = fields;
  let sid: SignerIdentifier;
  if (sidEl?.tag === 0x30) {
    const [issuerEl, serialEl] = children(sidEl);
    const issuer = need(issuerEl, 0x30, 'issuerAndSerialNumber.issuer');
    sid = { kind: 'issuerAndSerialNumber', issuerDer: Buffer.from(issuer.raw), issuer: nameToString(issuer), serialNumber: decodeInteger(need(serialEl, 0x02, 'serialNumber')) };
  } else if (sidEl?.tag === 0x80) {
    sid = { kind: 'subjectKeyIdentifier', keyIdentifier: Buffer.from(sidEl.contents) };
  } else throw new CmsError('SignerInfo.sid: neither issuerAndSerialNumber nor subjectKeyIdentifier');
  const digestAlgorithmOid = algorithmOid(digestAlgEl, 'SignerInfo.digestAlgorithm');
  let i = 0;
  let signedAttributesDer: Buffer | undefined;
  let signedAttributes: CmsAttribute[] | undefined;
  if (more[0]?.tag === 0xa0) {
    const attrs = more[0];
    // Signed attributes are DER by rule: re-read them with the strict reader to refuse BER here.
    signedAttributesDer = Buffer.from(attrs.raw);
    signedAttributesDer[0] = 0x31;
    const strict = readDer(signedAttributesDer);
    if (strict.raw.length !== signedAttributesDer.length) throw new CmsError('signedAttrs are not DER');
    signedAttributes = children(strict).map((a) => {
      const [typeEl, valuesEl] = children(need(a, 0x30, 'Attribute'));
      return { oid: decodeOid(need(typeEl, 0x06, 'Attribute.attrType')), values: children(need(valuesEl, 0x31, 'Attribute.attrValues')) };
    });
    i = 1;
  }
  const sigAlg = need(more[i], 0x30, 'SignerInfo.signatureAlgorithm');
  const [sigOidEl, sigParams] = children(sigAlg);
  const signatureEl = more[i + 1];
  if (!signatureEl) throw new CmsError('SignerInfo.signature: missing');
  const signature = octetStringBytes(signatureEl);
  return {
    sid,
    digestAlgorithmOid,
    ...(signedAttributesDer && signedAttributes ? { signedAttributesDer, signedAttributes } : {}),
    signatureAlgorithmOid: decodeOid(need(sigOidEl, 0x06, 'signatureAlgorithm')),
    ...(sigParams ? { signatureAlgorithmParams: sigParams } : {}),
    signature,
  };
}

function algorithmOid(el: Der | undefined, what: string): string {
  return decodeOid(need(children(need(el, 0x30, what))[0], 0x06, what));
}

/** A signed attribute's single value; CmsError when it occurs more than once or with several values (RFC 5652 §11). */
export function singleAttribute(info: CmsSignerInfo, oid: string, what: string): Der | undefined {
  const found = (info.signedAttributes ?? []).filter((a) => a.oid === oid);
  if (found.length === 0) return undefined;
  if (found.length > 1 || found[0]!.values.length !== 1) throw new CmsError(`the ${what} attribute must occur once with one value`);
  return found[0]!.values[0];
}

export const attributeTime = (el: Der): Date => decodeTime(el);

/** The certificate's subjectKeyIdentifier extension (2.5.29.14), when it has one. */
export function subjectKeyIdentifier(cert: Certificate): Buffer | undefined {
  try {
    const tbs = children(readDer(cert.tbs));
    const exts = tbs.find((e) => e.tag === 0xa3);
    if (!exts) return undefined;
    for (const ext of children(children(exts)[0]!)) {
      const parts = children(ext);
      if (decodeOid(parts[0]!) !== '2.5.29.14') continue;
      const value = readDer(parts[parts.length - 1]!.contents);
      return value.tag === 0x04 ? Buffer.from(value.contents) : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}
