/**
 * Fetches one file of a SMEV exchange's file store into a local (partial) file, streamed:
 * from the S3-compatible storage when the exchange has one (bucket `attachment`, key
 * `{uuid}/{file name}`), else — or when S3 fails — over FTP (`/{uuid}/{file name}`), FTPS
 * when the URL says ftps:// or the server's FEAT offers AUTH TLS. The credentials are the
 * per-file UserName/Password of FSAttachmentsList (S3: access key / secret). A partial file
 * from an earlier attempt is continued (FTP REST, S3 Range), not fetched again.
 *
 * Errors never carry the credentials: basic-ftp and the AWS SDK report server answers and
 * socket errors only, and every message is passed through `scrub` anyway.
 */
import type { FileStoreCredentials } from '../flows/exchange-files.js';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
// The S3 SDK and the FTP client load on first use (import() below): a gateway whose exchanges have
// no file store, and every CLI command, start without them (the SDK alone takes ~130 ms to load).
import type { ExchangeFileStore } from '../registry/partners.js';
import { openFtpSession } from './ftp-session.js';
import { openS3Client } from './s3-session.js';


export interface RemoteFile {
  uuid: string;
  fileName: string;
}

export interface DownloadOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Bytes already in `target` from an earlier attempt. */
  startAt: number;
  /** CAs for the file store's TLS certificate (FTPS, S3 over https): OUTBOUND_TLS_CA_FILE; absent: Node's built-in CAs. */
  ca?: string | Buffer;
}

export interface DownloadResult {
  via: 's3' | 'ftp' | 'ftps';
  /** The size the server announced (FTP SIZE, S3 Content-Length + Range start). */
  remoteSize: number | null;
}

/** A failure that will not go away by trying again (the file is not there, it is too large). */
export class PermanentDownloadError extends Error {}

export type { FileStoreCredentials };

export function scrub(message: string, credentials: FileStoreCredentials): string {
  let out = message;
  for (const secret of [credentials.password, credentials.userName]) {
    if (secret.length > 0) out = out.split(secret).join('***');
  }
  return out;
}

export async function downloadExchangeFile(store: ExchangeFileStore, file: RemoteFile, credentials: FileStoreCredentials, target: string, options: DownloadOptions): Promise<DownloadResult> {
  if (store.s3) {
    try {
      return await fromS3(store, file, credentials, target, options);
    } catch (error) {
      if (error instanceof PermanentDownloadError && /larger than/.test(error.message)) throw error;
      // FTP is the fallback; the S3 error is kept only when FTP fails too.
      try {
        return await fromFtp(store, file, credentials, target, { ...options, startAt: await sizeOf(target) });
      } catch (ftpError) {
        throw withContext(ftpError, `s3: ${scrub((error as Error).message, credentials)}; ftp`, credentials);
      }
    }
  }
  try {
    return await fromFtp(store, file, credentials, target, options);
  } catch (error) {
    throw withContext(error, 'ftp', credentials);
  }
}

function withContext(error: unknown, where: string, credentials: FileStoreCredentials): Error {
  const message = `${where}: ${scrub((error as Error).message ?? String(error), credentials)}`;
  return error instanceof PermanentDownloadError ? new PermanentDownloadError(message) : new Error(message);
}

async function sizeOf(target: string): Promise<number> {
  const { stat } = await import('node:fs/promises');
  try {
    return (await stat(target)).size;
  } catch {
    return 0;
  }
}

async function fromFtp(store: ExchangeFileStore, file: RemoteFile, credentials: FileStoreCredentials, target: string, options: DownloadOptions): Promise<DownloadResult> {
  const session = await openFtpSession(store, credentials, { timeoutMs: options.timeoutMs, ...(options.ca ? { ca: options.ca } : {}) });
  const { client, secure } = session;
  try {
    const remotePath = `/${file.uuid}/${file.fileName}`;
    let remoteSize: number | null = null;
    try {
      remoteSize = await client.size(remotePath);
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code === 550) throw new PermanentDownloadError(`${remotePath} is not in the file store (550)`);
      // SIZE is optional in FTP; go on without it.
    }
    if (remoteSize !== null && remoteSize > options.maxBytes) throw new PermanentDownloadError(`the file is larger than FILE_STORE_MAX_BYTES (${remoteSize} > ${options.maxBytes})`);
    let startAt = options.startAt;
    if (remoteSize !== null && startAt > remoteSize) startAt = 0;
    if (remoteSize === null || startAt < remoteSize) {
      session.touch();
      try {
        await client.downloadTo(target, remotePath, startAt);
      } catch (error) {
        const code = (error as { code?: number }).code;
        if (code === 550) throw new PermanentDownloadError(`${remotePath} is not in the file store (550)`);
        throw error;
      }
    }
    return { via: secure ? 'ftps' : 'ftp', remoteSize };
  } finally {
    session.close();
  }
}

async function fromS3(store: ExchangeFileStore, file: RemoteFile, credentials: FileStoreCredentials, target: string, options: DownloadOptions): Promise<DownloadResult> {
  const { client, bucket, sdk } = await openS3Client(store, credentials, { timeoutMs: options.timeoutMs, ...(options.ca ? { ca: options.ca } : {}) });
  const { GetObjectCommand } = sdk;
  try {
    const startAt = options.startAt;
    let answer;
    try {
      answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${file.uuid}/${file.fileName}`, ...(startAt > 0 ? { Range: `bytes=${startAt}-` } : {}) }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      // 416: the partial file is already whole (or longer than the object): start over.
      if (status === 416 && startAt > 0) {
        answer = await client.send(new GetObjectCommand({ Bucket: bucket, Key: `${file.uuid}/${file.fileName}` }));
        return await writeS3Body(answer.Body as Readable, answer.ContentLength, 0, target, options);
      }
      throw new Error(`${(error as Error).name}${status ? ` (${status})` : ''}: ${(error as Error).message}`);
    }
    const ranged = startAt > 0 && answer.ContentRange !== undefined;
    return await writeS3Body(answer.Body as Readable, answer.ContentLength, ranged ? startAt : 0, target, options);
  } finally {
    client.destroy();
  }
}

async function writeS3Body(body: Readable, length: number | undefined, startAt: number, target: string, options: DownloadOptions): Promise<DownloadResult> {
  const remoteSize = length === undefined ? null : startAt + length;
  if (remoteSize !== null && remoteSize > options.maxBytes) {
    body.destroy();
    throw new PermanentDownloadError(`the file is larger than FILE_STORE_MAX_BYTES (${remoteSize} > ${options.maxBytes})`);
  }
  (body as Readable & { setTimeout?: (ms: number) => void }).setTimeout?.(options.timeoutMs);
  await pipeline(body, createWriteStream(target, startAt > 0 ? { flags: 'r+', start: startAt } : { flags: 'w' }));
  return { via: 's3', remoteSize };
}
