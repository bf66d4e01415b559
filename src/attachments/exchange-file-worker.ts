/**
 * Files in a SMEV exchange's file store (pull mode), fetched after the message is accepted.
 *
 * Design — nothing lost, nothing twice:
 * - The message is accepted and acknowledged to the exchange as any other: in the same atomic
 *   commit as the inbox item, each file named in FSAttachmentsList becomes a durable job of
 *   queue `exchange-files` (id `<inbox id>:<uuid>`), and a state document
 *   (`exchange-file-states/<inbox id>`) lists every file as `pending`. The exchange's
 *   credentials live only in the job's payload (the store), never in the inbox item, the
 *   journal or a log line.
 * - A worker (FILE_STORE_CONCURRENCY per process) downloads the file, streamed, into
 *   ATTACHMENT_DIR/partial/ (blob-store.ts), S3 first when the exchange has one, FTP/FTPS as
 *   the fallback (file-store-download.ts), extending its lease while bytes flow. A transfer cut
 *   mid-file (the server stops, the gateway is killed) leaves the partial file; the retry — with
 *   exponential backoff, FILE_STORE_BACKOFF_MS doubling to FILE_STORE_BACKOFF_CAP_MS, or after
 *   the lease of a killed process runs out — continues from its size (FTP REST, S3 Range).
 * - The whole file is then read once from disk: its size against the server's, its hash against
 *   the RefAttachmentHeader's Hash the sender signed (GOST R 34.11-2012 256 for a sender signing
 *   with GOST, SHA-256 for RSA/ECDSA), and its SHA-256, which names the blob
 *   (`sha256-<hex>`, content-addressed: a retry after a crash renames the same bytes onto the same
 *   name). A mismatch discards the partial file and tries once more from scratch, then fails.
 * - The file's state turns `stored` (with `attachmentId`, readable at GET /api/v1/attachments/{id},
 *   streamed) in one commit with the `attachments` document; files of one message are handled one
 *   at a time (job group = the inbox item) so their shared state document has a single writer.
 * - When no file is pending any more, the same commit enqueues a city webhook event:
 *   `attachments.ready` (all stored) or `attachments.failed` (some failed for good).
 * - A file that fails for good (not in the store, too large, hash mismatch twice, attempts used up)
 *   is marked `failed` with the reason, and `onFailed` is called — the hook for dead handling.
 * The detached CMS signature of a file (SignaturePKCS7) is to be checked where `checkFileSignature`
 * is called, on the downloaded file before it is stored.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ATTACHMENTS } from '../city/model.js';
import type { FlowContext } from '../flows/context.js';
import { EXCHANGE_FILE_QUEUE, FILE_STATE_COLLECTION, eventJobFor, type ExchangeFileState, type ExchangeFileStates, type FileHashAlgorithm, type FileJob, type FileStoreCredentials } from '../flows/exchange-files.js';
import type { Logger } from '../log.js';
import { StreebogStream } from '../crypto/streebog-stream.js';
import { write } from '../store/collection.js';
import type { DocWrite, Job, JobInput } from '../store/types.js';
import { startQueueWorker, type QueueWorker } from '../delivery/queue-worker.js';
import { BlobStore } from './blob-store.js';
import { downloadExchangeFile, PermanentDownloadError, scrub } from './file-store-download.js';

/**
 * Where the detached CMS signature (RefAttachmentHeader/SignaturePKCS7) of a downloaded file is
 * to be verified (issue 21, point 2): it gets the file's path before the file is stored. Today
 * the verdict stays `present-unverified` / `absent`, as recorded at acceptance.
 */
export async function checkFileSignature(_file: string, _uuid: string): Promise<void> {}

export interface ExchangeFileWorkerOptions {
  /** Called once a file failed for good (the hook for dead handling). */
  onFailed?: (file: { inboxId: string; uuid: string; fileName: string; reason: string }) => Promise<void>;
  leaseMs?: number;
  idleMs?: number;
}

class HashMismatch extends Error {}

export function startExchangeFileWorker(ctx: FlowContext, options: ExchangeFileWorkerOptions = {}): QueueWorker {
  const settings = ctx.config.fileStore;
  const blobs = new BlobStore(settings.attachmentDir);
  // A killed process's job is taken again when its lease runs out: twice the transfer time limit, at least 10 s
  // (extended while bytes flow; a process stalled longer than that may find its job taken — see stillMine).
  const leaseMs = options.leaseMs ?? Math.max(10_000, settings.timeoutMs * 2);
  const queue = ctx.store.queue(EXCHANGE_FILE_QUEUE);
  const log: Logger = ctx.logger;
  // The file stores' TLS certificates (FTPS, S3 over https) are checked against OUTBOUND_TLS_CA_FILE when set; read once.
  const caFile = ctx.config.outboundTls?.caFile ?? null;
  const ca = caFile ? readFileSync(caFile) : undefined;

  async function settle(job: FileJob, update: Partial<ExchangeFileState>): Promise<void> {
    const current = await ctx.store.getDoc(FILE_STATE_COLLECTION, job.inboxId);
    if (!current) return;
    const files = current.files.map((f) => (f.uuid === job.uuid ? { ...f, ...update, updatedAt: new Date().toISOString() } : f));
    const docs: DocWrite[] = [write(FILE_STATE_COLLECTION, job.inboxId, { ...current, files })];
    const jobs: JobInput[] = [];
    const wasOpen = current.files.some((f) => f.state === 'pending');
    if (wasOpen && !files.some((f) => f.state === 'pending') && ctx.config.cityWebhookUrl) {
      jobs.push(eventJobFor(job.inboxId, files.every((f) => f.state === 'stored') ? 'attachments.ready' : 'attachments.failed'));
    }
    await ctx.store.commit({ docs, jobs });
  }

  async function fail(job: FileJob, reason: string): Promise<void> {
    await settle(job, { state: 'failed', reason });
    log.warn({ inboxId: job.inboxId, uuid: job.uuid, reason }, 'file from the exchange file store failed for good');
    await options.onFailed?.({ inboxId: job.inboxId, uuid: job.uuid, fileName: job.fileName, reason });
  }

  return startQueueWorker({
    store: ctx.store,
    queue: EXCHANGE_FILE_QUEUE,
    logger: ctx.logger,
    concurrency: settings.concurrency,
    leaseMs,
    ...(options.idleMs !== undefined ? { idleMs: options.idleMs } : {}),
    backoff: { baseMs: settings.backoffMs, capMs: settings.backoffCapMs },
    async handle(raw: Job<FileJob>) {
      const job = raw.payload;
      const credentials: FileStoreCredentials = { userName: job.userName, password: job.password };
      const states = await ctx.store.getDoc(FILE_STATE_COLLECTION, job.inboxId);
      const mine = states?.files.find((f) => f.uuid === job.uuid);
      if (!mine || mine.state !== 'pending') return { kind: 'done' };
      const lastAttempt = raw.attempts >= Math.min(settings.maxAttempts, raw.maxAttempts);
      const exchange = ctx.partners.exchange(job.exchange);
      if (!exchange?.fileStore) {
        const reason = `exchange ${job.exchange} has no fileStore in the partners file`;
        if (lastAttempt) {
          await fail(job, reason);
          return { kind: 'done' };
        }
        await settle(job, { reason });
        return { kind: 'retry', error: reason };
      }
      // Before every write: is the lease still ours? A stalled process whose lease ran out must not write over the
      // attempt that took the job since (the queue is at-least-once; this keeps the file's state single-writer).
      const stillMine = () => queue.extend(raw.id, raw.leaseToken!, leaseMs);
      const lost = { kind: 'retry' as const, error: 'the lease ran out; another attempt has the job' };
      const partial = await blobs.partialPath(`${job.inboxId}-${job.uuid}`);
      // Keep the lease while bytes flow (a 100 MB file may take longer than one lease).
      const keep = setInterval(() => void queue.extend(raw.id, raw.leaseToken!, leaseMs).catch(() => undefined), Math.floor(leaseMs / 3));
      try {
        const startAt = await blobs.partialSize(partial);
        const result = await downloadExchangeFile(exchange.fileStore, { uuid: job.uuid, fileName: job.fileName }, credentials, partial, { timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, startAt, ...(ca ? { ca } : {}) });
        const check = await digestFile(partial, job.hashAlgorithm);
        if (result.remoteSize !== null && check.size !== result.remoteSize) throw new Error(`size ${check.size} differs from the file store's ${result.remoteSize}`);
        if (!hashMatches(job.hash!, check.digest, job.hashAlgorithm)) throw new HashMismatch(`the file's ${job.hashAlgorithm} does not match the signed RefAttachmentHeader Hash`);
        await checkFileSignature(partial, job.uuid);
        if (!(await stillMine())) return lost;
        const id = await blobs.finish(partial, check.sha256);
        await ctx.store.commit({ docs: [write(ATTACHMENTS, id, { mimeType: mine.mimeType ?? 'application/octet-stream', blob: true, size: check.size }, { ifAbsent: true })] });
        await settle(job, { state: 'stored', attachmentId: id, size: check.size, sha256: check.sha256, reason: null, via: result.via });
        log.info({ inboxId: job.inboxId, uuid: job.uuid, size: check.size, via: result.via, attempts: raw.attempts }, 'file from the exchange file store stored');
        return { kind: 'done' };
      } catch (error) {
        const reason = scrub((error as Error).message, credentials);
        if (!(await stillMine().catch(() => false))) return lost;
        if (error instanceof HashMismatch) {
          await blobs.discardPartial(partial);
          if (raw.attempts >= 2 || lastAttempt) {
            await fail(job, reason);
            return { kind: 'done' };
          }
          return { kind: 'retry', error: `${reason}; fetching it again from the start`, delayMs: 0 };
        }
        if (error instanceof PermanentDownloadError || lastAttempt) {
          await blobs.discardPartial(partial);
          await fail(job, reason);
          return { kind: 'done' };
        }
        await settle(job, { reason });
        log.info({ inboxId: job.inboxId, uuid: job.uuid, attempts: raw.attempts, error: reason }, 'file from the exchange file store: will try again');
        return { kind: 'retry', error: reason };
      } finally {
        clearInterval(keep);
      }
    },
  });
}

/** One pass over the file: its size, SHA-256 and the hash the sender signed. */
async function digestFile(file: string, algorithm: FileHashAlgorithm): Promise<{ size: number; sha256: string; digest: Buffer }> {
  const sha = createHash('sha256');
  const other = algorithm === 'sha256' ? null : new StreebogStream(256);
  let size = 0;
  // One reused buffer: reading a 100 MB file this way leaves no garbage behind.
  const buffer = Buffer.allocUnsafe(64 * 1024);
  const handle = await open(file, 'r');
  try {
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, size);
      if (bytesRead === 0) break;
      const chunk = buffer.subarray(0, bytesRead);
      size += bytesRead;
      sha.update(chunk);
      other?.update(chunk);
    }
  } finally {
    await handle.close();
  }
  const shaBytes = sha.digest();
  return { size, sha256: shaBytes.toString('hex'), digest: other ? other.digest() : shaBytes };
}

/**
 * The signed Hash is base64 of the digest bytes. For Streebog the bytes are compared in the
 * order the algorithm outputs them (= openssl, = XMLDSig DigestValue) and, since CryptoPro
 * tools are known to print GOST digests reversed and we found no SMEV text fixing the order,
 * also reversed (reversal keeps the hash's collision resistance).
 */
export function hashMatches(signed: string, digest: Buffer, algorithm: FileHashAlgorithm): boolean {
  const expected = Buffer.from(signed.replace(/\s+/g, ''), 'base64');
  if (expected.length !== digest.length) return false;
  if (expected.equals(digest)) return true;
  return algorithm === 'gost3411-2012-256' && expected.equals(Buffer.from(digest).reverse());
}
