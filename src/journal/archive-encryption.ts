/**
 * Encrypted archives (issue 23 point 8): archive segments hold personal data, so with
 * ARCHIVE_ENCRYPT_TO every segment is stored as a CMS EnvelopedData (src/pki/cms/enveloped.ts)
 * to one or more recipient certificates, named `<segment>.zip.p7m`; any one recipient's key
 * opens it with ordinary tools:
 *
 *   openssl cms -decrypt -inform DER -in journal-…zip.p7m -recip cert.pem -inkey key.pem -out journal-….zip
 *
 * EncryptingArchiveStore wraps any ArchiveStore (a directory, a bucket): the archiver, the
 * reader and the verifier keep seeing `journal-…zip` names and zip bytes. `put` encrypts the
 * finished zip into a second scratch file and hands that on (the clear scratch file is removed);
 * `get` decrypts with ARCHIVE_DECRYPT_KEY_FILE, and without it fails naming that variable —
 * except for the segment it has just written, whose stored bytes it compares with what it
 * encrypted, so the archiver's read-back check passes without the key being on the gateway.
 *
 * A plain zip in an archive that is encrypted is served (it may be one written before the
 * setting), logged once per segment; verifyArchive reports it as a problem when it comes after an
 * encrypted segment (archive-verify.ts).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { readFile, rm, stat } from 'node:fs/promises';
import { SettingError } from '../config/startup-failure.js';
import type { Logger } from '../log.js';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { envelopeToFile, looksEnveloped, openEnvelope, type EnvelopeRecipient } from '../pki/cms/enveloped.js';
import { splitPem } from '../pki/gateway-identity.js';
import { parseSegmentName } from './archive-segment.js';
import type { ArchiveStore } from './archive-store.js';

/** The stored name of an encrypted segment: `journal-…zip` + this. */
export const ENCRYPTED_SUFFIX = '.p7m';

/** The name the archiver, reader and index use (`journal-…zip`), from a stored one. */
export function logicalSegmentName(name: string): string {
  return name.endsWith(ENCRYPTED_SUFFIX) ? name.slice(0, -ENCRYPTED_SUFFIX.length) : name;
}

export interface ArchiveRecipient extends EnvelopeRecipient {
  file: string;
  certificate: Certificate;
}

export interface ArchiveKey {
  file: string;
  key: KeyObject;
  /** The recipient certificate the key belongs to (null: none given, every recipient is tried). */
  certificate: Certificate | null;
}

/** How a segment was found in the archive. */
export interface SegmentRead {
  /** The name it is stored under. */
  stored: string;
  encrypted: boolean;
  /** The zip (decrypted if it was encrypted), or null when it could not be opened. */
  bytes: Buffer | null;
  /** Why it could not be opened (bytes null). */
  unreadable: string | null;
}

export class ArchiveKeyError extends Error {
  override readonly name = 'ArchiveKeyError';
}

const spki = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });

/** ARCHIVE_ENCRYPT_TO: certificate PEM files (comma-separated), each holding one or more certificates. */
export function loadRecipients(files: readonly string[]): ArchiveRecipient[] {
  const recipients: ArchiveRecipient[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const pems = splitPem(text);
    if (pems.length === 0) throw new Error(`${file} holds no PEM certificate`);
    for (const pem of pems) {
      let certificate: Certificate;
      let publicKey: KeyObject;
      try {
        certificate = parseCertificate(pem);
        publicKey = createPublicKey(pem);
      } catch (error) {
        throw new Error(`${file}: not a certificate (${(error as Error).message})`);
      }
      if (publicKey.asymmetricKeyType !== 'rsa') throw new Error(`${file}: ${certificate.subject} has a ${publicKey.asymmetricKeyType ?? certificate.publicKeyOid} key; archive recipients must have RSA keys (GOST recipients are not supported yet)`);
      recipients.push({ file, certificate, publicKey });
    }
  }
  return recipients;
}

/** ARCHIVE_DECRYPT_KEY_FILE / --key: an RSA private key (PEM, not encrypted), matched to a recipient when there are recipients. */
export function loadArchiveKey(file: string, recipients: readonly ArchiveRecipient[] = []): ArchiveKey {
  let key: KeyObject;
  try {
    key = createPrivateKey(readFileSync(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' ? `cannot read ${file}: ${code}` : `${file} is not a private key in PEM without a passphrase (${(error as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${file}: a ${key.asymmetricKeyType ?? 'non-RSA'} key; encrypted archives use RSA keys`);
  if (recipients.length === 0) return { file, key, certificate: null };
  const own = spki(createPublicKey(key));
  const match = recipients.find((r) => spki(r.publicKey).equals(own));
  if (!match) throw new Error(`the key in ${file} belongs to none of the ${recipients.length} ARCHIVE_ENCRYPT_TO certificate(s) (${recipients.map((r) => r.certificate.subject).join('; ')}): the gateway could not read the segments it writes`);
  return { file, key, certificate: match.certificate };
}

export interface ArchiveEncryptionSettings {
  /** ARCHIVE_ENCRYPT_TO, resolved paths (empty: segments are written plain). */
  encryptTo: readonly string[];
  /** ARCHIVE_DECRYPT_KEY_FILE (null: encrypted segments cannot be read, but for the read-back of the one just written). */
  decryptKeyFile: string | null;
}

/** At start-up: the recipients and the key, each failure naming its variable (exit 78 in main.ts). */
export function loadArchiveEncryption(settings: ArchiveEncryptionSettings): { recipients: ArchiveRecipient[]; key: ArchiveKey | null } {
  let recipients: ArchiveRecipient[];
  try {
    recipients = loadRecipients(settings.encryptTo);
  } catch (error) {
    throw new SettingError('ARCHIVE_ENCRYPT_TO', error);
  }
  let key: ArchiveKey | null = null;
  if (settings.decryptKeyFile) {
    try {
      key = loadArchiveKey(settings.decryptKeyFile, recipients);
    } catch (error) {
      throw new SettingError('ARCHIVE_DECRYPT_KEY_FILE', error);
    }
  }
  return { recipients, key };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** One segment's stored bytes as found: decrypted with the key when they are an envelope. */
export function openSegmentBytes(stored: string, bytes: Buffer, key: ArchiveKey | null, keyHint: string): SegmentRead {
  if (!looksEnveloped(bytes)) return { stored, encrypted: false, bytes, unreadable: null };
  if (!key) return { stored, encrypted: true, bytes: null, unreadable: `the segment is encrypted (CMS EnvelopedData) and there is no key to open it: ${keyHint}` };
  try {
    return { stored, encrypted: true, bytes: openEnvelope(bytes, key.key, key.certificate ?? undefined), unreadable: null };
  } catch (error) {
    return { stored, encrypted: true, bytes: null, unreadable: `the segment is encrypted and ${key.file} does not open it: ${(error as Error).message}` };
  }
}

export interface EncryptingArchiveOptions {
  /** ARCHIVE_ENCRYPT_TO (empty: new segments are written plain; encrypted ones are still read with the key). */
  recipients: readonly ArchiveRecipient[];
  key: ArchiveKey | null;
  /** What to do without a key, for the error message. */
  keyHint?: string;
  logger?: Logger;
}

export class EncryptingArchiveStore implements ArchiveStore {
  private readonly warned = new Set<string>();
  /** The segment just written, in clear, until it is read back (only without a key). */
  private justWritten: { name: string; sha256: string; zip: Buffer } | null = null;
  private readonly keyHint: string;

  constructor(
    readonly inner: ArchiveStore,
    private readonly options: EncryptingArchiveOptions,
  ) {
    this.keyHint = options.keyHint ?? 'set ARCHIVE_DECRYPT_KEY_FILE to a recipient\'s private key';
  }

  /** Whether new segments are encrypted (ARCHIVE_ENCRYPT_TO is set). */
  get encrypting(): boolean {
    return this.options.recipients.length > 0;
  }

  get where(): string {
    return this.inner.where;
  }

  scratchDir(): Promise<string> {
    return this.inner.scratchDir();
  }

  async put(name: string, localFile: string): Promise<void> {
    if (!parseSegmentName(name) || name.endsWith(ENCRYPTED_SUFFIX)) throw new RangeError(`not a segment name: ${name}`);
    if (!this.encrypting) return this.inner.put(name, localFile);
    const sealed = `${localFile}${ENCRYPTED_SUFFIX}`;
    this.justWritten = null;
    try {
      const size = (await stat(localFile)).size;
      // Without a key the clear zip is kept (in memory) for the read-back; with one, it is streamed.
      const zip = this.options.key ? null : await readFile(localFile);
      const { sha256: digest } = await envelopeToFile(zip ? [zip] : createReadStream(localFile), size, sealed, this.options.recipients);
      await this.inner.put(`${name}${ENCRYPTED_SUFFIX}`, sealed);
      if (zip) this.justWritten = { name, sha256: digest, zip };
    } finally {
      // The clear zip never stays on disk; the envelope is the inner store's now (or failed).
      await rm(localFile, { force: true });
      await rm(sealed, { force: true });
    }
  }

  /** How the segment is stored, and its zip when it can be opened (null: no such segment). */
  async read(name: string): Promise<SegmentRead | null> {
    const logical = logicalSegmentName(name);
    let stored = `${logical}${ENCRYPTED_SUFFIX}`;
    let bytes = await this.inner.get(stored);
    if (!bytes) {
      stored = logical;
      bytes = await this.inner.get(stored);
    }
    if (!bytes) return null;
    const just = this.justWritten;
    if (just && just.name === logical && !this.options.key && looksEnveloped(bytes)) {
      this.justWritten = null;
      // What the archive holds is exactly what was encrypted from this zip.
      if (sha256(bytes) === just.sha256) return { stored, encrypted: true, bytes: just.zip, unreadable: null };
    }
    const read = openSegmentBytes(stored, bytes, this.options.key, this.keyHint);
    if (!read.encrypted && this.encrypting && !this.warned.has(stored)) {
      this.warned.add(stored);
      this.options.logger?.warn({ segment: stored, archive: this.where }, 'journal archive: a segment is stored unencrypted although ARCHIVE_ENCRYPT_TO is set (written before the setting, or by a gateway without it); run `okno journal verify`');
    }
    return read;
  }

  async get(name: string): Promise<Buffer | null> {
    const read = await this.read(name);
    if (!read) return null;
    if (!read.bytes) throw new ArchiveKeyError(`${read.stored}: ${read.unreadable}`);
    return read.bytes;
  }

  async list(): Promise<string[]> {
    return [...new Set((await this.inner.list()).map(logicalSegmentName))].sort();
  }

  /** Segments stored both encrypted and in clear (a plain copy beside the envelope): the clear one is never read, but it is there. */
  async plainTwins(): Promise<string[]> {
    const stored = new Set(await this.inner.list());
    return [...stored].filter((n) => !n.endsWith(ENCRYPTED_SUFFIX) && stored.has(`${n}${ENCRYPTED_SUFFIX}`)).sort();
  }

  async remove(name: string): Promise<void> {
    const logical = logicalSegmentName(name);
    await this.inner.remove(`${logical}${ENCRYPTED_SUFFIX}`);
    await this.inner.remove(logical);
  }

  async setAside(name: string): Promise<void> {
    const logical = logicalSegmentName(name);
    const there = new Set(await this.inner.list());
    for (const stored of [`${logical}${ENCRYPTED_SUFFIX}`, logical]) if (there.has(stored)) await this.inner.setAside(stored);
  }
}
