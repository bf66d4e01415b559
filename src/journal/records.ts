/**
 * Journal records: one per exchange, with the fields of X-Road's operational
 * monitoring, the signature verdict, and the raw envelopes kept as evidence.
 * They are written in the same atomic commit as everything the message causes
 * (an accepted message cannot exist without its record, nor the reverse).
 */
import { randomUUID } from 'node:crypto';
import { defineCollection, write } from '../store/collection.js';
import type { BlobWrite, DocWrite, FeedAppend } from '../store/types.js';
import { EVIDENCE, evidenceBlob, evidenceDigest, evidenceId, type EvidenceDigests } from './evidence.js';

export { EVIDENCE };

export interface JournalSignature {
  verdict: 'valid' | 'invalid' | 'not checked';
  reason: string | null;
  certificateSubject: string | null;
  certificateFingerprint: string | null;
}

/**
 * An X-Road / Trembita exchange's identifiers (X-Road operational monitoring keeps the same):
 * the client and service as INSTANCE/CLASS/CODE/SUBSYSTEM[/SERVICECODE[/VERSION]], the message
 * id (xrd:id, X-Road-Id, Uxp-QueryID), the user id, and every protocol header as it travelled
 * (Trembita asks that each is kept).
 */
export interface XRoadJournal {
  dialect: 'xroad' | 'trembita';
  protocol: 'soap' | 'rest';
  client: string | null;
  service: string | null;
  id: string | null;
  userId: string | null;
  protocolVersion: string | null;
  issue: string | null;
  requestHash: string | null;
  /** Header name → value: SOAP header elements by local name (xrd:client as its identifier string), REST headers as sent. */
  headers: Record<string, string>;
}

export interface JournalRecord {
  id: string;
  correlationId: string;
  direction: 'inbound' | 'outbound';
  operation: string;
  partner: string | null;
  service: string | null;
  messageId: string | null;
  requestInTs: string | null;
  requestOutTs: string | null;
  responseInTs: string | null;
  responseOutTs: string | null;
  requestSize: number;
  responseSize: number;
  succeeded: boolean;
  faultCode: string | null;
  faultString: string | null;
  duplicate: boolean;
  signature: JournalSignature | null;
  applicationId: string | null;
  registrationNumber: string | null;
  /** Inbound files' detached signatures (SignaturePKCS7), one entry per file, when the message had attachments. */
  attachmentSignatures?: Array<{ file: string; sha256: string; status: 'absent' | 'valid' | 'invalid'; valid: boolean | null; signer: string | null; algorithm: string | null; signingTime: string | null; reason: string | null }>;
  /**
   * Files an outbound message carried (MTOM parts, file-store uploads): id, name, size and SHA-256
   * of the bytes sent. Part of the sealed record: the digests are the evidence of what was sent.
   */
  files?: Array<{ id: string; fileName: string; size: number; sha256: string; via?: 'mtom' | 's3' | 'ftp' | 'ftps' }>;
  /** Set for messages that went through Security Servers (transport xroad). */
  xroad?: XRoadJournal;
  /** Evidence document ids (collection `evidence`): the raw envelopes as sent and received. */
  evidence: { request: string | null; response: string | null };
  /**
   * SHA-256 (hex) of each envelope's bytes as received or sent (see
   * evidence.ts), computed when the record is written, in the same commit as
   * the envelopes. Part of the record, so the seal's hash covers them.
   * Absent in records written by a build before this field: those records'
   * envelopes are not covered by the chain.
   */
  evidenceSha256?: EvidenceDigests;
}

export type JournalInput = Omit<JournalRecord, 'id' | 'evidence' | 'evidenceSha256'>;

/** When the exchange began: the request's arrival (inbound) or departure (outbound). */
export function recordTime(record: JournalRecord): number | null {
  const at = record.requestInTs ?? record.requestOutTs ?? record.responseInTs ?? record.responseOutTs;
  if (!at) return null;
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

/** By record id; `journal` is also the feed of records in the order they were written. */
export const JOURNAL = defineCollection<JournalRecord>('journal');

/** The writes that put one record and its evidence into a commit. */
/** The writes of one journal record: its document and feed entry, and its envelopes as blobs (raw bytes). */
export interface JournalWrites {
  id: string;
  docs: DocWrite[];
  blobs: BlobWrite[];
  feeds: FeedAppend[];
}

export function journalWrites(input: JournalInput, received: Buffer | string | null, sent: string | null): JournalWrites {
  const id = randomUUID();
  // What is kept is what the digests cover: the envelopes with the file store's passwords blanked.
  const request = received === null ? null : redactFileStoreCredentials(received);
  const response = sent === null ? null : redactFileStoreCredentials(sent);
  const blobs: BlobWrite[] = [];
  const evidence = { request: null as string | null, response: null as string | null };
  const evidenceSha256: EvidenceDigests = { request: null, response: null };
  if (request !== null) {
    evidence.request = evidenceId(id, 'request');
    evidenceSha256.request = evidenceDigest(request);
    blobs.push(evidenceBlob(evidence.request, request));
  }
  if (response !== null) {
    evidence.response = evidenceId(id, 'response');
    evidenceSha256.response = evidenceDigest(response);
    blobs.push(evidenceBlob(evidence.response, response));
  }
  const record: JournalRecord = { ...input, id, evidence, evidenceSha256 };
  return { id, docs: [write(JOURNAL, id, record)], blobs, feeds: [{ feed: JOURNAL, id }] };
}

/**
 * The exchange's per-file credentials (FSAttachmentsList/FSAttachment/Password) never reach the
 * journal: their text is replaced by as many asterisks. The sender's signature still verifies
 * from the evidence (it does not cover FSAttachmentsList); the exchange's SMEVSignature over it
 * no longer does — the price of keeping the credentials out of a record kept for years.
 */
const FS_PASSWORD = /(<(?:[A-Za-z_][\w.-]*:)?Password(?:\s[^>]*)?>)([^<]*)(<\/(?:[A-Za-z_][\w.-]*:)?Password>)/g;

export function redactFileStoreCredentials<T extends Buffer | string>(raw: T): T {
  const text = typeof raw === 'string' ? raw : raw.toString('latin1');
  if (!text.includes('FSAttachmentsList')) return raw;
  const redacted = text.replace(FS_PASSWORD, (_m, open: string, secret: string, close: string) => `${open}${'*'.repeat(secret.length)}${close}`);
  return (typeof raw === 'string' ? redacted : Buffer.from(redacted, 'latin1')) as T;
}
