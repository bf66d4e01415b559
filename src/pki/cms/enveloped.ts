/**
 * CMS EnvelopedData (RFC 5652 §6), the format `openssl cms -encrypt/-decrypt` reads and writes:
 * a content encrypted once with a random AES-256-CBC key, that key encrypted to each recipient's
 * RSA certificate (RSAES-OAEP with SHA-256, RFC 8017 / RFC 4055; KeyTransRecipientInfo by issuer
 * and serial number). Any one recipient's private key opens it:
 *
 *   openssl cms -decrypt -inform DER -in FILE -recip cert.pem -inkey key.pem -out FILE.zip
 *
 * Written with node:crypto and streamed: the DER lengths are known in advance (CBC with PKCS#7
 * padding makes n bytes into 16·(⌊n/16⌋+1)), so a 32 MB segment never needs to be in memory twice.
 * Read: DER or BER (openssl's streaming output), key transport with RSAES-OAEP (any SHA-2 or SHA-1,
 * MGF1 with the same hash) or RSAES-PKCS1-v1_5, content in AES-128/192/256-CBC.
 * GOST recipients (KeyAgreeRecipientInfo, VKO) are not supported.
 */
import { constants, createCipheriv, createDecipheriv, createHash, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { decodeInteger, decodeOid, DerError, type Der } from '../asn1.js';
import type { Certificate } from '../certificate.js';
import { encodeLength, explicit, nullValue, octetString, oid, sequence, set, smallInteger, unsignedInteger } from '../der-writer.js';
import { berChildren, readBerWhole } from './ber.js';

export const ENVELOPED_OID = {
  envelopedData: '1.2.840.113549.1.7.3',
  data: '1.2.840.113549.1.7.1',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsaesOaep: '1.2.840.113549.1.1.7',
  mgf1: '1.2.840.113549.1.1.8',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  aes128Cbc: '2.16.840.1.101.3.4.1.2',
  aes192Cbc: '2.16.840.1.101.3.4.1.22',
  aes256Cbc: '2.16.840.1.101.3.4.1.42',
} as const;

const HASHES: Record<string, string> = { [ENVELOPED_OID.sha1]: 'sha1', [ENVELOPED_OID.sha256]: 'sha256', [ENVELOPED_OID.sha384]: 'sha384', [ENVELOPED_OID.sha512]: 'sha512' };
const CIPHERS: Record<string, { name: string; keyBytes: number }> = {
  [ENVELOPED_OID.aes128Cbc]: { name: 'aes-128-cbc', keyBytes: 16 },
  [ENVELOPED_OID.aes192Cbc]: { name: 'aes-192-cbc', keyBytes: 24 },
  [ENVELOPED_OID.aes256Cbc]: { name: 'aes-256-cbc', keyBytes: 32 },
};

export class EnvelopeError extends Error {
  override readonly name = 'EnvelopeError';
}

/** A recipient: an RSA certificate (its public key encrypts the content key; issuer and serial name it). */
export interface EnvelopeRecipient {
  certificate: Pick<Certificate, 'issuerDer' | 'serialNumber' | 'subject'>;
  publicKey: KeyObject;
}

const sha256WithNull = () => sequence(oid(ENVELOPED_OID.sha256), nullValue());
/** RSAES-OAEP-params: SHA-256, MGF1 with SHA-256, the empty label (RFC 4055 §3.1). */
const OAEP_SHA256 = sequence(oid(ENVELOPED_OID.rsaesOaep), sequence(explicit(0, sha256WithNull()), explicit(1, sequence(oid(ENVELOPED_OID.mgf1), sha256WithNull()))));

function serialDer(serial: bigint): Buffer {
  if (serial < 0n) throw new EnvelopeError('a negative certificate serial number cannot name a recipient');
  let hex = serial.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return unsignedInteger(Buffer.from(hex, 'hex'));
}

function recipientInfo(r: EnvelopeRecipient, contentKey: Buffer): Buffer {
  if (r.publicKey.asymmetricKeyType !== 'rsa') throw new EnvelopeError(`${r.certificate.subject}: a ${r.publicKey.asymmetricKeyType ?? 'non-RSA'} key; only RSA recipients are supported`);
  const encryptedKey = publicEncrypt({ key: r.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, contentKey);
  // KeyTransRecipientInfo version 0: rid is IssuerAndSerialNumber.
  return sequence(smallInteger(0), sequence(r.certificate.issuerDer, serialDer(r.certificate.serialNumber)), OAEP_SHA256, octetString(encryptedKey));
}

const header = (tag: number, contentLength: number) => Buffer.concat([Buffer.from([tag]), encodeLength(contentLength)]);

/**
 * Writes `size` bytes from `source`, enveloped to every recipient, as one DER ContentInfo to
 * `output` (created; it must not exist). Returns the file's length and SHA-256.
 */
export async function envelopeToFile(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, size: number, output: string, recipients: readonly EnvelopeRecipient[]): Promise<{ bytes: number; sha256: string }> {
  if (recipients.length === 0) throw new EnvelopeError('no recipients');
  const contentKey = randomBytes(32);
  const iv = randomBytes(16);
  try {
    // DER: a SET OF is sorted by its elements' encodings.
    const infos = recipients.map((r) => recipientInfo(r, contentKey)).sort(Buffer.compare);
    const cipherLength = (Math.floor(size / 16) + 1) * 16;
    const eciHead = Buffer.concat([oid(ENVELOPED_OID.data), sequence(oid(ENVELOPED_OID.aes256Cbc), octetString(iv)), header(0x80, cipherLength)]);
    const eciLength = eciHead.length + cipherLength;
    const envelopedHead = Buffer.concat([smallInteger(0), set(...infos), header(0x30, eciLength), eciHead]);
    const envelopedLength = envelopedHead.length + cipherLength;
    const explicitLength = header(0x30, envelopedLength).length + envelopedLength;
    const contentTypeOid = oid(ENVELOPED_OID.envelopedData);
    const contentInfoLength = contentTypeOid.length + header(0xa0, explicitLength).length + explicitLength;
    const head = Buffer.concat([header(0x30, contentInfoLength), contentTypeOid, header(0xa0, explicitLength), header(0x30, envelopedLength), envelopedHead]);
    const total = head.length + cipherLength;

    const cipher = createCipheriv('aes-256-cbc', contentKey, iv);
    const hash = createHash('sha256');
    let read = 0;
    let written = 0;
    await pipeline(
      async function* () {
        yield head;
        for await (const chunk of source) {
          read += chunk.length;
          const out = cipher.update(chunk);
          if (out.length > 0) yield out;
        }
        yield cipher.final();
      },
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          written += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(output, { flags: 'wx' }),
    );
    if (read !== size || written !== total) throw new EnvelopeError(`the content changed while it was encrypted (${read} bytes read, ${size} expected)`);
    return { bytes: written, sha256: hash.digest('hex') };
  } finally {
    contentKey.fill(0);
  }
}

/** Whether the bytes begin like a CMS ContentInfo holding EnvelopedData (a cheap look, not a parse of the whole). */
export function looksEnveloped(bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x30) return false;
  const want = oid(ENVELOPED_OID.envelopedData);
  // The OID follows the outer header (2 to 6 bytes).
  for (let at = 2; at <= 6; at++) if (Buffer.from(bytes.subarray(at, at + want.length)).equals(want)) return true;
  return false;
}

interface Parsed {
  recipients: Array<{ version: number; issuerDer: Buffer | null; serial: bigint | null; keyAlgorithm: Der; encryptedKey: Buffer }>;
  cipher: { name: string; keyBytes: number };
  iv: Buffer;
  encrypted: Buffer;
}

function parseEnveloped(bytes: Uint8Array): Parsed {
  const fail = (why: string): never => {
    throw new EnvelopeError(`not a CMS EnvelopedData: ${why}`);
  };
  let ci: Der;
  try {
    ci = readBerWhole(bytes);
  } catch (error) {
    return fail((error as Error).message);
  }
  const [type, wrapped] = ci.tag === 0x30 ? berChildren(ci) : fail('not a SEQUENCE');
  if (!type || type.tag !== 0x06 || decodeOid(type) !== ENVELOPED_OID.envelopedData) return fail('another content type');
  const ed = wrapped?.tag === 0xa0 ? berChildren(wrapped)[0] : undefined;
  if (!ed || ed.tag !== 0x30) return fail('no content');
  const parts = berChildren(ed);
  let i = 1; // version
  if (parts[i]?.tag === 0xa0) i++; // originatorInfo
  const infos = parts[i++];
  const eci = parts[i];
  if (!infos || infos.tag !== 0x31 || !eci || eci.tag !== 0x30) return fail('no recipientInfos or encryptedContentInfo');
  const recipients: Parsed['recipients'] = [];
  for (const ri of berChildren(infos)) {
    if (ri.tag !== 0x30) continue; // kari [1], kekri [2], pwri [3], ori [4]: not for RSA keys
    const [version, rid, algorithm, encryptedKey] = berChildren(ri);
    if (!version || !rid || !algorithm || encryptedKey?.tag !== 0x04) continue;
    const v = Number(decodeInteger(version));
    const isn = rid.tag === 0x30 ? berChildren(rid) : null;
    recipients.push({ version: v, issuerDer: isn?.[0] ? Buffer.from(isn[0].raw) : null, serial: isn?.[1] ? decodeInteger(isn[1]) : null, keyAlgorithm: algorithm, encryptedKey: Buffer.from(encryptedKey.contents) });
  }
  const [contentType, algorithm, content] = berChildren(eci);
  if (!contentType || !algorithm || algorithm.tag !== 0x30) return fail('no content-encryption algorithm');
  const [algOid, ivEl] = berChildren(algorithm);
  const cipher = algOid ? CIPHERS[decodeOid(algOid)] : undefined;
  if (!cipher || !algOid) throw new EnvelopeError(`the content is encrypted with ${algOid ? decodeOid(algOid) : 'nothing named'}; AES-CBC is supported`);
  if (ivEl?.tag !== 0x04 || ivEl.contents.length !== 16) return fail('no 16-byte IV');
  let encrypted: Buffer;
  if (content?.tag === 0x80) encrypted = Buffer.from(content.contents.buffer, content.contents.byteOffset, content.contents.byteLength);
  else if (content?.tag === 0xa0) encrypted = Buffer.concat(berChildren(content).map((c) => Buffer.from(c.contents)));
  else return fail('the encrypted content is detached (not in the file)');
  return { recipients, cipher, iv: Buffer.from(ivEl.contents), encrypted };
}

/** The recipients an envelope names (issuer DN in DER, serial), for messages. */
export function envelopeRecipientSerials(bytes: Uint8Array): string[] {
  return parseEnveloped(bytes).recipients.map((r) => (r.serial !== null ? r.serial.toString(16) : '(by key identifier)'));
}

function unwrapKey(r: Parsed['recipients'][number], key: KeyObject): Buffer {
  const [algOid, params] = berChildren(r.keyAlgorithm);
  const alg = algOid ? decodeOid(algOid) : '';
  if (alg === ENVELOPED_OID.rsaEncryption) return privateDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, r.encryptedKey);
  if (alg !== ENVELOPED_OID.rsaesOaep) throw new EnvelopeError(`key transport ${alg} is not supported`);
  let hash = 'sha1';
  let mgfHash = 'sha1';
  let label: Buffer | undefined;
  for (const p of params && params.tag === 0x30 ? berChildren(params) : []) {
    const inner = berChildren(p)[0];
    if (!inner) continue;
    const [o, sub] = berChildren(inner);
    if (p.tag === 0xa0 && o) hash = HASHES[decodeOid(o)] ?? fail(`OAEP hash ${decodeOid(o)}`);
    if (p.tag === 0xa1 && sub) {
      const [mo] = berChildren(sub);
      if (mo) mgfHash = HASHES[decodeOid(mo)] ?? fail(`MGF1 hash ${decodeOid(mo)}`);
    }
    if (p.tag === 0xa2 && sub?.tag === 0x04 && sub.contents.length > 0) label = Buffer.from(sub.contents);
  }
  if (hash !== mgfHash) throw new EnvelopeError(`OAEP with ${hash} and MGF1 with ${mgfHash} is not supported (the same hash for both is)`);
  return privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash, ...(label ? { oaepLabel: label } : {}) }, r.encryptedKey);

  function fail(what: string): never {
    throw new EnvelopeError(`${what} is not supported`);
  }
}

/**
 * Opens an envelope with one private key: the recipient whose issuer and serial are
 * `certificate`'s is tried first (when given), then every other (a key without its certificate).
 */
export function openEnvelope(bytes: Uint8Array, key: KeyObject, certificate?: Pick<Certificate, 'issuerDer' | 'serialNumber'>): Buffer {
  const parsed = parseEnveloped(bytes);
  if (parsed.encrypted.length === 0 || parsed.encrypted.length % 16 !== 0) throw new EnvelopeError('the encrypted content is not whole AES blocks (truncated?)');
  const mine = (r: Parsed['recipients'][number]) => certificate !== undefined && r.serial === certificate.serialNumber && r.issuerDer !== null && r.issuerDer.equals(certificate.issuerDer);
  const order = [...parsed.recipients.filter(mine), ...parsed.recipients.filter((r) => !mine(r))];
  const why: string[] = [];
  for (const r of order) {
    let contentKey: Buffer;
    try {
      contentKey = unwrapKey(r, key);
    } catch (error) {
      why.push(error instanceof EnvelopeError ? error.message : 'the key does not open it');
      continue;
    }
    try {
      if (contentKey.length !== parsed.cipher.keyBytes) throw new DerError('wrong key length');
      const decipher = createDecipheriv(parsed.cipher.name, contentKey, parsed.iv);
      return Buffer.concat([decipher.update(parsed.encrypted), decipher.final()]);
    } catch {
      // PKCS#1 v1.5 with implicit rejection gives a random key for the wrong private key: the padding then fails.
      why.push('the key does not open it');
    } finally {
      contentKey.fill(0);
    }
  }
  throw new EnvelopeError(parsed.recipients.length === 0 ? 'the envelope has no recipient a private key can open' : `the key opens none of its ${parsed.recipients.length} recipient(s) (${[...new Set(why)].join('; ')})`);
}
