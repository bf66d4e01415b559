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
 * - Its detached CMS signature (RefAttachmentHeader/SignaturePKCS7), carried in the job with the
 *   service's `attachments.signature` policy, is verified after the size and hash checks and
 *   before the file is stored (checkFileSignature): the signature is parsed first to learn its
 *   signers' digest algorithms, the one pass over the file (digestFile, a 64 KiB buffer) computes
 *   them beside the SHA-256 and the Hash, and the CMS is checked on those digests
 *   (pki/cms verifyDetachedCmsDigests) — the file is never read whole, whatever its size. Trust
 *   anchors and CRLs as for inline files, then OCSP (a responder that cannot answer: retry).
 *   The verdict goes into the file's state (`pkcs7Signature`, `signature`: what the API and the
 *   webhook show), a log line (status, reason code, algorithm; no signer, no credentials) and a
 *   journal record (operation FileStoreDownload), in the commit that settles the file.
 * - A file the policy refuses (its signature does not verify) is not stored: it is `failed` with a
 *   reason naming it and the problem, and the same commit queues a RequestRejected to the
 *   request's ReplyTo through the exchange (flows/rejection.ts; once per message, recorded in the
 *   state document) — the message was acknowledged already. A message without a ReplyTo (a
 *   response: SMEV has no rejection of one) only gets `failed` and attachments.failed. A file
 *   without a signature under `required` never gets here: the message is refused at acceptance
 *   (flows/inbound-message.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { ATTACHMENTS } from '../city/model.js';
import type { FlowContext } from '../flows/context.js';
import { journalAttachmentSignature, requireAttachmentSignersNotRevoked } from '../flows/attachment-signatures.js';
import { EXCHANGE_FILE_QUEUE, FILE_STATE_COLLECTION, eventJobFor, type ExchangeFileState, type ExchangeFileStates, type FileHashAlgorithm, type FileJob, type FileStoreCredentials } from '../flows/exchange-files.js';
import { REJECTION_QUEUE, type RejectionJob } from '../flows/rejection.js';
import { RevocationUnavailable } from '../flows/revocation.js';
import { journalWrites } from '../journal/records.js';
import type { Logger } from '../log.js';
import { StreebogStream } from '../crypto/streebog-stream.js';
import { checkAttachmentSignatureDigests, type AttachmentSignatureCheck } from '../pki/cms/attachment.js';
import { cmsDigest, OID as CMS_OID, type CmsStreamHasher } from '../pki/cms/algorithms.js';
import type { CmsSignedData } from '../pki/cms/parse.js';
import { cmsDigestOids, readCmsSignature } from '../pki/cms/verify.js';
import { SmevFault } from '../soap/faults.js';
import { uuidV1 } from '../soap/message-id.js';
import { write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { DocWrite, FeedAppend, Job, JobInput } from '../store/types.js';
import { startQueueWorker, type QueueWorker } from '../delivery/queue-worker.js';
import { BlobStore } from './blob-store.js';
import { downloadExchangeFile, PermanentDownloadError, scrub } from './file-store-download.js';

/** A file's SignaturePKCS7 read before the download is hashed: which digests the one pass over the file must compute. */
export interface FileSignature {
  /** The parsed CMS; null when the file has none, or it cannot be read (the verdict then says why). */
  cms: CmsSignedData | null;
  /** The digest algorithms (OIDs) of its signers. */
  digestOids: string[];
}

export function readFileSignature(job: Pick<FileJob, 'signaturePkcs7'>): FileSignature {
  if (!job.signaturePkcs7) return { cms: null, digestOids: [] };
  const cms = readCmsSignature(job.signaturePkcs7);
  return 'valid' in cms ? { cms: null, digestOids: [] } : { cms, digestOids: cmsDigestOids(cms) };
}

/**
 * The detached CMS signature (RefAttachmentHeader/SignaturePKCS7) of a downloaded file, checked
 * on the file's digests (its bytes are never held: see digestFile) under the service's policy,
 * as for inline files: mathematics, signed attributes, the chain to the gateway's trust anchors
 * with its CRLs, then OCSP for the signers when the gateway asks OCSP (a responder that cannot
 * answer throws RevocationUnavailable: the job is retried). `at` is when the message was
 * accepted. Null for a job queued before signatures were verified (no policy in it): not checked.
 */
export async function checkFileSignature(
  ctx: Pick<FlowContext, 'trustAnchors' | 'revocation'>,
  job: Pick<FileJob, 'signaturePkcs7' | 'signaturePolicy' | 'fileName' | 'uuid'>,
  signature: FileSignature,
  digests: ReadonlyMap<string, Uint8Array>,
  at: Date,
): Promise<AttachmentSignatureCheck | null> {
  if (!job.signaturePolicy) return null;
  const name = `${job.fileName} (file store uuid ${job.uuid})`;
  const check = checkAttachmentSignatureDigests(digests, signature.cms ?? job.signaturePkcs7, job.signaturePolicy, ctx.trustAnchors, { now: at, name });
  if (!check.accepted || check.status !== 'valid') return check;
  try {
    await requireAttachmentSignersNotRevoked(ctx, [{ name, check }], at);
    return check;
  } catch (error) {
    if (error instanceof RevocationUnavailable || !(error instanceof SmevFault)) throw error;
    // Revoked, or unknown to the responder: the signature does not verify (the fault's text names the file);
    // the reasons flows/revocation.ts gives the sender's own certificate in the same cases.
    const reason = / was revoked on /.test(error.message) ? 'CertificateIsExpired' : 'CertificateIsNotFound';
    return { status: 'invalid', accepted: false, refusal: error.message, ...(check.summary ? { summary: { ...check.summary, valid: false, trusted: false, reason, message: error.message } } : {}) };
  }
}

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

  /** Writes the file's new state; `more` adds to the same commit what depends on the state document as read (journal, rejection). */
  async function settle(job: FileJob, update: Partial<ExchangeFileState>, more?: (current: ExchangeFileStates) => { patch?: Partial<ExchangeFileStates>; docs?: DocWrite[]; feeds?: FeedAppend[]; jobs?: JobInput[] }): Promise<void> {
    const current = await ctx.store.getDoc(FILE_STATE_COLLECTION, job.inboxId);
    if (!current) return;
    const files = current.files.map((f) => (f.uuid === job.uuid ? { ...f, ...update, updatedAt: new Date().toISOString() } : f));
    const extra = more?.(current) ?? {};
    const docs: DocWrite[] = [write(FILE_STATE_COLLECTION, job.inboxId, { ...current, ...extra.patch, files }), ...(extra.docs ?? [])];
    const jobs: JobInput[] = [...(extra.jobs ?? [])];
    const wasOpen = current.files.some((f) => f.state === 'pending');
    if (wasOpen && !files.some((f) => f.state === 'pending') && ctx.config.cityWebhookUrl) {
      jobs.push(eventJobFor(job.inboxId, files.every((f) => f.state === 'stored') ? 'attachments.ready' : 'attachments.failed'));
    }
    await ctx.store.commit({ docs, jobs, ...(extra.feeds ? { feeds: extra.feeds } : {}) });
  }

  /** `logged`: what the log line says instead of `reason` (a signature's reason may name its signer, a person). */
  async function fail(job: FileJob, reason: string, update: Partial<ExchangeFileState> = {}, more?: Parameters<typeof settle>[2], logged: string = reason): Promise<void> {
    await settle(job, { ...update, state: 'failed', reason }, more);
    log.warn({ inboxId: job.inboxId, uuid: job.uuid, reason: logged }, 'file from the exchange file store failed for good');
    await options.onFailed?.({ inboxId: job.inboxId, uuid: job.uuid, fileName: job.fileName, reason });
  }

  /**
   * The RequestRejected for a message whose file the policy refused: one per message (the first
   * refused file queues it and the state document records it; the files of a message are
   * handled one at a time), and none for a message without a ReplyTo (a response).
   */
  function rejectionFor(current: ExchangeFileStates, job: FileJob, refusal: string): { job: JobInput; record: NonNullable<ExchangeFileStates['rejection']> } | null {
    if (!current.replyTo || current.rejection) return null;
    const rejection: RejectionJob = {
      exchange: job.exchange,
      partner: current.partner ?? null,
      service: current.service ?? null,
      replyTo: current.replyTo,
      messageId: uuidV1(),
      // As the intake answers an InvalidContent (pull/intake.ts rejectionCode).
      code: 'UNKNOWN_REQUEST_DESCRIPTION',
      description: `InvalidContent: ${refusal}`.slice(0, 1000),
    };
    return {
      job: jobInput(REJECTION_QUEUE, `file-refused:${job.exchange}:${current.replyTo}`, { ...rejection }, { maxAttempts: ctx.config.delivery.maxAttempts }),
      record: { messageId: rejection.messageId, at: new Date().toISOString() },
    };
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
        const startedAt = new Date();
        const result = await downloadExchangeFile(exchange.fileStore, { uuid: job.uuid, fileName: job.fileName }, credentials, partial, { timeoutMs: settings.timeoutMs, maxBytes: settings.maxBytes, startAt, ...(ca ? { ca } : {}) });
        const signature = readFileSignature(job);
        const check = await digestFile(partial, job.hashAlgorithm, signature.digestOids);
        if (result.remoteSize !== null && check.size !== result.remoteSize) throw new Error(`size ${check.size} differs from the file store's ${result.remoteSize}`);
        if (!hashMatches(job.hash!, check.digest, job.hashAlgorithm)) throw new HashMismatch(`the file's ${job.hashAlgorithm} does not match the signed RefAttachmentHeader Hash`);
        const acceptedAt = states!.receivedAt ? new Date(states!.receivedAt) : startedAt;
        const verdict = await checkFileSignature(ctx, job, signature, check.cmsDigests, acceptedAt);
        const signatureFields: Partial<ExchangeFileState> = verdict ? { pkcs7Signature: verdict.status, signature: verdict.summary ?? null } : {};
        const journal = (succeeded: boolean, fault: string | null) => (current: ExchangeFileStates) => journalDownload(current, job, { startedAt, size: check.size, sha256: check.sha256, check: verdict, succeeded, fault });
        if (!(await stillMine())) return lost;
        if (verdict && !verdict.accepted) {
          // The service's policy refuses the file: it is not stored; the sender hears it through the exchange.
          const refusal = verdict.refusal ?? `attachment ${job.fileName}: refused`;
          await blobs.discardPartial(partial);
          const signatureReason = verdict.summary?.reason ?? (verdict.status === 'absent' ? 'NoSignatureFound' : 'SignatureIsInvalid');
          let rejected: string | null = null;
          await fail(
            job,
            refusal,
            { ...signatureFields, size: check.size, sha256: check.sha256 },
            (current) => {
              const written = journal(false, refusal)(current);
              const rejection = rejectionFor(current, job, refusal);
              rejected = rejection?.record.messageId ?? null;
              return rejection ? { ...written, patch: { rejection: rejection.record }, jobs: [rejection.job] } : written;
            },
            `the service's attachments.signature policy refuses its SignaturePKCS7 (${verdict.status}, ${signatureReason})`,
          );
          log.warn({ inboxId: job.inboxId, uuid: job.uuid, signature: verdict.status, signatureReason, algorithm: verdict.summary?.algorithm ?? null, rejection: rejected }, 'file from the exchange file store refused: its signature does not satisfy the service');
          return { kind: 'done' };
        }
        const id = await blobs.finish(partial, check.sha256);
        await ctx.store.commit({ docs: [write(ATTACHMENTS, id, { mimeType: mine.mimeType ?? 'application/octet-stream', blob: true, size: check.size }, { ifAbsent: true })] });
        await settle(job, { state: 'stored', attachmentId: id, size: check.size, sha256: check.sha256, reason: null, via: result.via, ...signatureFields }, journal(true, null));
        log.info({ inboxId: job.inboxId, uuid: job.uuid, size: check.size, via: result.via, attempts: raw.attempts, signature: verdict?.status ?? 'not checked', algorithm: verdict?.summary?.algorithm ?? null }, 'file from the exchange file store stored');
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

/**
 * One pass over the file: its size, SHA-256, the hash the sender signed, and the digests its
 * SignaturePKCS7's signers use (`cmsOids`), each by a streaming hasher — a 64 KiB buffer is all
 * of the file ever held, whatever its size. A digest that is already computed for the other
 * purposes (SHA-256, GOST R 34.11-2012 256) is not computed twice; one that cannot be streamed
 * (GOST R 34.11-94) is left out, and the verdict says so.
 */
export async function digestFile(file: string, algorithm: FileHashAlgorithm, cmsOids: readonly string[] = []): Promise<{ size: number; sha256: string; digest: Buffer; cmsDigests: Map<string, Buffer> }> {
  const sha = createHash('sha256');
  const streebog = algorithm === 'sha256' && !cmsOids.includes(CMS_OID.streebog256) ? null : new StreebogStream(256);
  const others: Array<[string, CmsStreamHasher]> = [];
  for (const oid of cmsOids) {
    if (oid === CMS_OID.sha256 || oid === CMS_OID.streebog256) continue;
    let stream: CmsStreamHasher | undefined;
    try {
      stream = cmsDigest(oid).stream?.();
    } catch {
      stream = undefined; // a refused or unknown digest: the verdict names it
    }
    if (stream) others.push([oid, stream]);
  }
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
      streebog?.update(chunk);
      for (const [, h] of others) h.update(chunk);
    }
  } finally {
    await handle.close();
  }
  const shaBytes = sha.digest();
  const gostBytes = streebog ? Buffer.from(streebog.digest()) : null;
  const cmsDigests = new Map<string, Buffer>(others.map(([oid, h]) => [oid, h.digest()]));
  if (cmsOids.includes(CMS_OID.sha256)) cmsDigests.set(CMS_OID.sha256, shaBytes);
  if (gostBytes && cmsOids.includes(CMS_OID.streebog256)) cmsDigests.set(CMS_OID.streebog256, gostBytes);
  return { size, sha256: shaBytes.toString('hex'), digest: algorithm === 'sha256' ? shaBytes : gostBytes!, cmsDigests };
}

/**
 * The journal's record of a downloaded file that reached the signature check: operation
 * FileStoreDownload, the message's id, service and sender, the file's size and its signature
 * verdict (attachmentSignatures, as for inline files). No evidence envelope: the file is the
 * blob its sha256 names; no credentials.
 */
function journalDownload(
  states: ExchangeFileStates,
  job: FileJob,
  d: { startedAt: Date; size: number; sha256: string; check: AttachmentSignatureCheck | null; succeeded: boolean; fault: string | null },
): { docs: DocWrite[]; feeds: FeedAppend[] } {
  const written = journalWrites(
    {
      correlationId: `file-store:${job.inboxId}:${job.uuid}`,
      direction: 'inbound',
      operation: 'FileStoreDownload',
      partner: states.partner ?? null,
      service: states.service ?? null,
      messageId: states.messageId,
      requestInTs: d.startedAt.toISOString(),
      requestOutTs: null,
      responseInTs: new Date().toISOString(),
      responseOutTs: null,
      requestSize: d.size,
      responseSize: 0,
      succeeded: d.succeeded,
      faultCode: d.succeeded ? null : 'InvalidContent',
      faultString: d.fault,
      duplicate: false,
      signature: null,
      applicationId: states.applicationId,
      registrationNumber: null,
      ...(d.check ? { attachmentSignatures: [journalAttachmentSignature(job.fileName, d.sha256, d.check)] } : {}),
    },
    null,
    null,
  );
  return { docs: written.docs, feeds: written.feeds };
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
