/**
 * Files in a SMEV exchange's file store, as a pulled message brings them: what the acceptance
 * commit writes (a state document listing every file as pending, one durable download job per
 * file carrying the exchange's credentials) and how the city sees their states. The downloads
 * themselves are src/attachments/exchange-file-worker.ts (design there).
 */
import type { ExchangeFileRef } from '../city/model.js';
import type { AttachmentSignaturePolicy, AttachmentSignatureSummary } from '../pki/cms/attachment.js';
import type { Exchange } from '../registry/partners.js';
import { defineCollection, write } from '../store/collection.js';
import { defineQueue, jobInput } from '../store/typed-queue.js';
import type { DocWrite, JobInput, Store } from '../store/types.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { WEBHOOK_QUEUE } from './context.js';

/** The exchange's per-file credentials (FSAttachmentsList): kept only in the download job's payload. */
export interface FileStoreCredentials {
  userName: string;
  password: string;
}



export type FileHashAlgorithm = 'gost3411-2012-256' | 'sha256';

export interface ExchangeFileState {
  uuid: string;
  fileName: string | null;
  mimeType: string | null;
  state: 'pending' | 'stored' | 'failed';
  /** Stored: GET /api/v1/attachments/{attachmentId}. */
  attachmentId: string | null;
  size: number | null;
  sha256: string | null;
  /** Failed: why; pending: the last attempt's error, if any. */
  reason: string | null;
  via: 's3' | 'ftp' | 'ftps' | null;
  /**
   * The file's SignaturePKCS7: 'present-unverified' until the worker verified it against the
   * downloaded file, then 'valid' or 'invalid' (the file failed); 'absent' when the header has
   * none. Absent in state documents written before the worker verified signatures.
   */
  pkcs7Signature?: ExchangeFileRef['pkcs7Signature'];
  /** The verdict, the same JSON as an inline attachment's `signature` (AttachmentMeta); null until verified or when absent. */
  signature?: AttachmentSignatureSummary | null;
  updatedAt: string;
}

export interface ExchangeFileStates {
  inboxId: string;
  messageId: string;
  /** The inbox item's application, when it is one (its document lists the same files). */
  applicationId: string | null;
  /** The message's service and sender, and when it was accepted (trust and OCSP are judged at that time). */
  service?: string;
  partner?: string;
  receivedAt?: string;
  /**
   * Where a RequestRejected goes when the service's policy refuses a file (the request's ReplyTo);
   * null for a message that cannot be rejected (a response: SMEV has no rejection of a response).
   */
  replyTo?: string | null;
  /** Set once a RequestRejected was queued for this message (one per message, whichever file was refused first). */
  rejection?: { messageId: string; at: string } | null;
  files: ExchangeFileState[];
}

/** The job: what it takes to fetch one file. The credentials are here and nowhere else. */
export interface FileJob {
  inboxId: string;
  uuid: string;
  fileName: string;
  hash: string | null;
  hashAlgorithm: FileHashAlgorithm;
  exchange: string;
  userName: string;
  password: string;
  /** The file's detached CMS signature (RefAttachmentHeader/SignaturePKCS7, base64) as the sender signed it; null when it has none. */
  signaturePkcs7?: string | null;
  /** The service's `attachments.signature` when the message was accepted. Absent in jobs queued before signatures were verified (then not checked). */
  signaturePolicy?: AttachmentSignaturePolicy;
}

/** Durable download jobs, one per file, grouped by inbox item. */
export const EXCHANGE_FILE_QUEUE = defineQueue<FileJob>('exchange-files');
/** By inbox item id: the state of each of its files. */
export const FILE_STATE_COLLECTION = defineCollection<ExchangeFileStates>('exchange-file-states');

/** The per-file credentials of FSAttachmentsList (never stored with the message). */
export function fileStoreCredentials(exchangeSigned: XmlElement | null): Map<string, FileStoreCredentials & { fileName: string }> {
  const out = new Map<string, FileStoreCredentials & { fileName: string }>();
  const list = exchangeSigned ? childElements(exchangeSigned).find((c) => c.localName === 'FSAttachmentsList') : undefined;
  for (const f of list ? childElements(list) : []) {
    const field = (name: string) => {
      const el = childElements(f).find((e) => e.localName === name);
      return el ? textContent(el).trim() : '';
    };
    const uuid = field('uuid');
    if (uuid) out.set(uuid, { userName: field('UserName'), password: field('Password'), fileName: field('FileName') });
  }
  return out;
}

/** The SignaturePKCS7 of each RefAttachmentHeader in the sender's signed element, by uuid (base64, whitespace removed). */
export function refSignatures(signed: XmlElement): Map<string, string> {
  const out = new Map<string, string>();
  const headers = childElements(signed).find((c) => c.localName === 'RefAttachmentHeaderList');
  for (const h of headers ? childElements(headers) : []) {
    const uuid = childElements(h).find((e) => e.localName === 'uuid');
    const sig = childElements(h).find((e) => e.localName === 'SignaturePKCS7');
    const text = sig ? textContent(sig).replace(/\s+/g, '') : '';
    if (uuid && text) out.set(textContent(uuid).trim(), text);
  }
  return out;
}

/** GOST for a sender signing with GOST (its signature algorithm URI), SHA-256 otherwise. */
export function hashAlgorithmFor(signatureAlgorithmUri: string | null | undefined): FileHashAlgorithm {
  return /gost/i.test(signatureAlgorithmUri ?? '') ? 'gost3411-2012-256' : 'sha256';
}

/**
 * What the acceptance commit adds for a pulled message with file-store files: the state
 * document (every file pending) and one job per file. Files without a signed
 * RefAttachmentHeader (nothing the sender vouches for) are recorded as failed at once.
 */
export function exchangeFileWrites(input: {
  inboxId: string;
  messageId: string;
  applicationId: string | null;
  refs: ExchangeFileRef[];
  exchange: Exchange;
  /** The sender's signed element (its RefAttachmentHeaderList carries each file's SignaturePKCS7). */
  signed: XmlElement;
  exchangeSigned: XmlElement;
  service: string;
  partner: string;
  /** The service's `attachments.signature`. */
  signaturePolicy: AttachmentSignaturePolicy;
  /** Where a RequestRejected goes if a file is refused; null when the message cannot be rejected. */
  replyTo: string | null;
  hashAlgorithm: FileHashAlgorithm;
  maxAttempts: number;
  /** CITY_WEBHOOK_URL is set: the end of the files is an event for the city. */
  webhook: boolean;
  now: Date;
}): { docs: DocWrite[]; jobs: JobInput[] } {
  const credentials = fileStoreCredentials(input.exchangeSigned);
  const signatures = refSignatures(input.signed);
  const at = input.now.toISOString();
  const files: ExchangeFileState[] = [];
  const jobs: JobInput[] = [];
  for (const ref of input.refs) {
    const base = { uuid: ref.uuid, fileName: ref.fileName, mimeType: ref.mimeType, attachmentId: null, size: null, sha256: null, via: null, pkcs7Signature: ref.pkcs7Signature, signature: null, updatedAt: at };
    const cred = credentials.get(ref.uuid);
    if (!cred || !ref.fileName) {
      files.push({ ...base, state: 'failed', reason: 'the exchange gave no FSAttachment (file name, credentials) for this uuid' });
      continue;
    }
    if (!ref.hash) {
      files.push({ ...base, state: 'failed', reason: 'no RefAttachmentHeader with a Hash signed by the sender for this uuid' });
      continue;
    }
    files.push({ ...base, state: 'pending', reason: null });
    const payload: FileJob = { inboxId: input.inboxId, uuid: ref.uuid, fileName: ref.fileName, hash: ref.hash, hashAlgorithm: input.hashAlgorithm, exchange: input.exchange.id, userName: cred.userName, password: cred.password, signaturePkcs7: signatures.get(ref.uuid) ?? null, signaturePolicy: input.signaturePolicy };
    // One reservation more than FILE_STORE_MAX_ATTEMPTS: if the process dies during the last attempt, the job is
    // reserved once more and marks the file failed, instead of going dead with the file left pending.
    jobs.push(jobInput(EXCHANGE_FILE_QUEUE, `${input.inboxId}:${ref.uuid}`, payload, { group: input.inboxId, maxAttempts: input.maxAttempts + 1 }));
  }
  const states: ExchangeFileStates = { inboxId: input.inboxId, messageId: input.messageId, applicationId: input.applicationId, service: input.service, partner: input.partner, receivedAt: at, replyTo: input.replyTo, rejection: null, files };
  const docs: DocWrite[] = [write(FILE_STATE_COLLECTION, input.inboxId, states)];
  // Every file failed at once: the city hears it like any other end.
  if (input.webhook && jobs.length === 0 && files.length > 0) jobs.push(eventJobFor(input.inboxId, 'attachments.failed'));
  return { docs, jobs };
}

export type AttachmentEvent = 'attachments.ready' | 'attachments.failed';

/** The city webhook's event about an item's files (ready / failed). */
export function eventJobFor(inboxId: string, event: AttachmentEvent): JobInput {
  return jobInput(WEBHOOK_QUEUE, `${inboxId}:${event}`, { inboxId, event });
}

/** The inbox item's (or application's) exchangeFiles with the current state of each file. */
export async function withFileStates<T extends { id?: string; inboxItemId?: string; exchangeFiles?: ExchangeFileRef[] }>(store: Store, doc: T): Promise<T> {
  if (!doc.exchangeFiles || doc.exchangeFiles.length === 0) return doc;
  const inboxId = doc.inboxItemId ?? doc.id;
  if (!inboxId) return doc;
  const states = await store.getDoc(FILE_STATE_COLLECTION, inboxId);
  if (!states) return doc;
  const byUuid = new Map(states.files.map((f) => [f.uuid, f]));
  return {
    ...doc,
    exchangeFiles: doc.exchangeFiles.map((ref) => {
      const s = byUuid.get(ref.uuid);
      return s
        ? { ...ref, state: s.state, attachmentId: s.attachmentId, size: s.size, sha256: s.sha256, reason: s.reason, via: s.via, ...(s.pkcs7Signature ? { pkcs7Signature: s.pkcs7Signature } : {}), ...(s.signature ? { signature: s.signature } : {}) }
        : ref;
    }),
  };
}

