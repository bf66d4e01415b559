/**
 * Certificate revocation lists (X.509 v2 CRLs, RFC 5280 §5), read at start-up
 * from CRL_FILES (and kept fresh while running by crl-set.ts). node:crypto has no CRL parser, so this reads the DER
 * with the project's own ASN.1 reader, keeping the exact TBS bytes so that the
 * CRL's signature is checked against the CA that issued it.
 *
 * A CRL counts only when a trusted CA (TRUST_CA_FILE) signed it: one that no
 * anchor signed stops start-up, since silently ignoring it would let revoked
 * certificates through. An expired CRL (nextUpdate passed) is still used — the
 * revocations it lists stay true — and /ready warns so that ops fetch a new one.
 */
import { readFileSync } from 'node:fs';
import { children, decodeInteger, decodeOid, decodeTime, DerError, expectTag, readDer, bitStringBytes, type Der } from './asn1.js';
import { nameToString, verifySignedBy, type Certificate } from './certificate.js';
import { KeyMaterialError } from './gateway-identity.js';

export interface Crl {
  readonly issuer: string;
  readonly issuerDer: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date | null;
  /** Revoked serial numbers (lowercase hex of the magnitude, as Certificate.serialHex) → revocation date. */
  readonly revoked: ReadonlyMap<string, Date>;
  readonly tbs: Buffer;
  readonly signatureAlgorithmOid: string;
  readonly signatureValue: Buffer;
}

/** A CRL whose signature was checked against a trusted CA. */
export interface TrustedCrl extends Crl {
  /** Where it came from: a file of CRL_FILES, or the URL it was downloaded from. */
  readonly file: string;
  /** The CRL as DER (what is handed to the large-message threads). */
  readonly der: Buffer;
  /** The anchor that signed it (its fingerprint decides which certificates it speaks for). */
  readonly issuerCertificate: Certificate;
}

export class CrlError extends Error {
  override readonly name = 'CrlError';
}

const isTime = (el: Der | undefined): el is Der => el?.tag === 0x17 || el?.tag === 0x18;

function toDer(input: Uint8Array): Buffer {
  if (input[0] === 0x30) return Buffer.from(input);
  const text = Buffer.from(input).toString('latin1');
  const pem = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/.exec(text);
  if (!pem) throw new CrlError('neither DER nor a PEM "X509 CRL" block');
  return Buffer.from(pem[1]!.replace(/\s+/g, ''), 'base64');
}

/** Parses one CRL (PEM or DER). Throws CrlError when it is not one. */
export function parseCrl(input: Uint8Array): Crl {
  const der = toDer(input);
  try {
    const list = readDer(der);
    if (list.raw.length !== der.length) throw new DerError('trailing bytes after the CRL');
    const [tbsEl, sigAlgEl, sigEl] = children(expectTag(list, 0x30, 'CertificateList'));
    const tbs = expectTag(tbsEl, 0x30, 'tbsCertList');
    const fields = children(tbs);
    let i = fields[0]?.tag === 0x02 ? 1 : 0; // version (v2) is optional
    expectTag(fields[i++], 0x30, 'signature');
    const issuer = expectTag(fields[i++], 0x30, 'issuer');
    const thisUpdateEl = fields[i++];
    if (!isTime(thisUpdateEl)) throw new DerError('thisUpdate: expected a time');
    let nextUpdate: Date | null = null;
    if (isTime(fields[i])) nextUpdate = decodeTime(fields[i++]!);
    const revoked = new Map<string, Date>();
    if (fields[i]?.tag === 0x30) {
      for (const entry of children(fields[i++]!)) {
        const [serialEl, dateEl] = children(expectTag(entry, 0x30, 'revokedCertificate'));
        const serial = expectTag(serialEl, 0x02, 'userCertificate');
        if (!isTime(dateEl)) throw new DerError('revocationDate: expected a time');
        revoked.set(Buffer.from(serial.contents).toString('hex').replace(/^(00)+(?=.)/, ''), decodeTime(dateEl));
      }
    }
    return Object.freeze({
      issuer: nameToString(issuer),
      issuerDer: Buffer.from(issuer.raw),
      thisUpdate: decodeTime(thisUpdateEl),
      nextUpdate,
      revoked,
      tbs: Buffer.from(tbs.raw),
      signatureAlgorithmOid: decodeOid(expectTag(children(expectTag(sigAlgEl, 0x30, 'signatureAlgorithm'))[0], 0x06, 'signature OID')),
      signatureValue: Buffer.from(bitStringBytes(expectTag(sigEl, 0x03, 'signatureValue'))),
    });
  } catch (e) {
    if (e instanceof DerError) throw new CrlError(`malformed CRL: ${e.message}`);
    throw e;
  }
}

/** Reads every CRL file and checks each was signed by one of the anchors; any problem stops start-up. */
export function loadCrls(files: readonly string[], anchors: readonly Certificate[]): TrustedCrl[] {
  return files.map((file) => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new KeyMaterialError('CRL_FILES', `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    try {
      return trustCrl(bytes, file, anchors);
    } catch (error) {
      if (error instanceof UntrustedCrlError) throw new KeyMaterialError('CRL_FILES', `${error.message}; refusing to start with a CRL that cannot be trusted`);
      throw new KeyMaterialError('CRL_FILES', `${file} is not a CRL: ${(error as Error).message}`);
    }
  });
}

export class UntrustedCrlError extends CrlError {}

/** Parses one CRL and checks that an anchor signed it; CrlError (UntrustedCrlError for the signature) otherwise. */
export function trustCrl(bytes: Uint8Array, source: string, anchors: readonly Certificate[]): TrustedCrl {
  const crl = parseCrl(bytes);
  const issuerCertificate = anchors.find((a) => a.subjectDer.equals(crl.issuerDer) && signedBy(crl, a));
  if (!issuerCertificate) throw new UntrustedCrlError(`${source} (issuer "${crl.issuer}") is not signed by a trusted CA in TRUST_CA_FILE`);
  return Object.freeze({ ...crl, file: source, der: toDer(bytes), issuerCertificate });
}

function signedBy(crl: Crl, ca: Certificate): boolean {
  try {
    return verifySignedBy(crl, ca);
  } catch {
    return false; // a refused algorithm (SHA-1, MD5) never makes a CRL trusted
  }
}
