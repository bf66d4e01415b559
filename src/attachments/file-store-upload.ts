/**
 * Puts one file the gateway sends (pull mode, above ATTACHMENT_INLINE_MAX_BYTES) into the SMEV
 * exchange's file store, streamed from disk: to the S3-compatible storage when the exchange has
 * one (bucket `attachment`, key `{uuid}/{file name}`, one PutObject with a stream and its
 * Content-Length — @aws-sdk/lib-storage is not a dependency), else — or when S3 fails — over
 * FTP/FTPS to `/{uuid}/{file name}` (the directory made first). The credentials are the
 * gateway's upload account (the partners file's fileStore.upload; S3: access key / secret).
 *
 * A cut FTP transfer is resumed, not restarted: the next attempt asks the server how much it
 * has (SIZE) and appends the rest (APPE) from that offset of the local file; whatever the server
 * holds is a prefix of what was sent (one TCP stream, written in order). After every transfer
 * the server's SIZE must equal the local size; a larger or unreadable one (a write still
 * landing when SIZE was asked) sends the next attempt back to the start (STOR overwrites).
 * The first attempt always starts from scratch: a file already under a fresh uuid is not ours.
 * S3 has no partial objects: a failed PutObject is simply repeated by the FTP fallback's
 * caller or the next send. The recipient checks the signed Hash in any case.
 *
 * Errors never carry the credentials: every message is passed through `scrub`.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FileStoreCredentials } from '../flows/exchange-files.js';
import type { ExchangeFileStore } from '../registry/partners.js';
import { scrub } from './file-store-download.js';
import { fileStoreName } from './file-store-name.js';
import { openFtpSession } from './ftp-session.js';
import { openS3Client } from './s3-session.js';

export interface LocalFile {
  /** The file-store uuid (the directory, the S3 key prefix, RefAttachmentHeader/uuid). */
  uuid: string;
  /** As the file store accepts it: fileStoreName() of the city's name. */
  fileName: string;
  /** The bytes on disk (the blob in ATTACHMENT_DIR). */
  path: string;
}

export interface UploadOptions {
  /** Connect / idle-socket time limit of one FTP or S3 exchange (FILE_STORE_TIMEOUT_MS). */
  timeoutMs: number;
  /** FTP attempts in all, resuming after the first (default 4). */
  attempts?: number;
  /** Pause before the second attempt, doubled each time (default 500 ms). */
  backoffMs?: number;
  /** CAs for the file store's TLS certificate (FTPS, S3 over https): OUTBOUND_TLS_CA_FILE. */
  ca?: string | Buffer;
}

export interface UploadResult {
  via: 's3' | 'ftp' | 'ftps';
  size: number;
  /** FTP attempts made (0 when S3 took the file). */
  attempts: number;
  /** The offsets later FTP attempts resumed from (APPE), in order; empty: no resumption. */
  resumedFrom: number[];
}

export async function uploadExchangeFile(store: ExchangeFileStore, file: LocalFile, credentials: FileStoreCredentials, options: UploadOptions): Promise<UploadResult> {
  if (fileStoreName(file.fileName) !== file.fileName) throw new RangeError(`"${file.fileName}" is not a file-store name (use fileStoreName())`);
  if (!/^[0-9A-Za-z-]{1,64}$/.test(file.uuid)) throw new RangeError(`"${file.uuid}" is not a file-store uuid`);
  const { size } = await stat(file.path);
  let s3Error: string | null = null;
  if (store.s3) {
    try {
      await toS3(store, file, size, credentials, options);
      return { via: 's3', size, attempts: 0, resumedFrom: [] };
    } catch (error) {
      // FTP is the fallback; the S3 error is kept only when FTP fails too.
      s3Error = scrub((error as Error).message ?? String(error), credentials);
    }
  }
  try {
    return await toFtpWithRetries(store, file, size, credentials, options);
  } catch (error) {
    const ftp = scrub((error as Error).message ?? String(error), credentials);
    throw new Error(s3Error === null ? `ftp: ${ftp}` : `s3: ${s3Error}; ftp: ${ftp}`);
  }
}

async function toS3(store: ExchangeFileStore, file: LocalFile, size: number, credentials: FileStoreCredentials, options: UploadOptions): Promise<void> {
  const { client, bucket, sdk } = await openS3Client(store, credentials, { timeoutMs: options.timeoutMs, ...(options.ca ? { ca: options.ca } : {}) });
  const key = `${file.uuid}/${file.fileName}`;
  const body = createReadStream(file.path);
  try {
    await client.send(new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentLength: size }));
    // What the store says it holds: the whole file, not a truncated body.
    const head = await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }));
    if (head.ContentLength !== size) throw new Error(`the store holds ${head.ContentLength} bytes of ${size}`);
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    throw new Error(`${(error as Error).name}${status ? ` (${status})` : ''}: ${(error as Error).message}`);
  } finally {
    body.destroy();
    client.destroy();
  }
}

async function toFtpWithRetries(store: ExchangeFileStore, file: LocalFile, size: number, credentials: FileStoreCredentials, options: UploadOptions): Promise<UploadResult> {
  const attempts = options.attempts ?? 4;
  let delay = options.backoffMs ?? 500;
  const resumedFrom: number[] = [];
  let fromScratch = true;
  for (let attempt = 1; ; attempt++) {
    try {
      const outcome = await toFtp(store, file, size, credentials, options, fromScratch);
      if (outcome.resumedFrom !== null) resumedFrom.push(outcome.resumedFrom);
      return { via: outcome.via, size, attempts: attempt, resumedFrom };
    } catch (error) {
      if ((error as { permanent?: boolean }).permanent || attempt >= attempts) throw error;
      // A wrong size after a whole transfer means the server's copy cannot be trusted as a prefix: start over.
      fromScratch = (error as { restart?: boolean }).restart === true;
      await sleep(delay);
      delay *= 2;
    }
  }
}

async function toFtp(
  store: ExchangeFileStore,
  file: LocalFile,
  size: number,
  credentials: FileStoreCredentials,
  options: UploadOptions,
  fromScratch: boolean,
): Promise<{ via: 'ftp' | 'ftps'; resumedFrom: number | null }> {
  const session = await openFtpSession(store, credentials, { timeoutMs: options.timeoutMs, ...(options.ca ? { ca: options.ca } : {}) }).catch((error: unknown) => {
    // 530: the upload account is refused; trying again will not change that.
    if ((error as { code?: number }).code === 530) throw Object.assign(new Error(`login refused (530): check fileStore.upload`), { permanent: true });
    throw error;
  });
  const { client } = session;
  const remotePath = `/${file.uuid}/${file.fileName}`;
  try {
    await client.ensureDir(`/${file.uuid}`);
    let offset = 0;
    if (!fromScratch) {
      const held = await remoteSize(session, remotePath);
      if (held !== null && held <= size) offset = held;
    }
    session.touch();
    if (offset === size && offset > 0) {
      // The cut came after the last byte: nothing to send.
    } else if (offset > 0) {
      await client.appendFrom(createReadStream(file.path, { start: offset }), remotePath);
    } else {
      await client.uploadFrom(createReadStream(file.path), remotePath);
    }
    const held = await remoteSize(session, remotePath);
    if (held !== null && held !== size) throw Object.assign(new Error(`the file store holds ${held} bytes of ${size}`), { restart: true });
    return { via: session.secure ? 'ftps' : 'ftp', resumedFrom: offset > 0 ? offset : null };
  } finally {
    session.close();
  }
}

/** SIZE of the remote file; null when the server has none or does not answer SIZE. */
async function remoteSize(session: { client: { size(path: string): Promise<number> } }, remotePath: string): Promise<number | null> {
  try {
    return await session.client.size(remotePath);
  } catch {
    return null;
  }
}
