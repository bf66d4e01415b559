/**
 * Journal records: one per exchange, with the fields of X-Road's operational
 * monitoring, the signature verdict, and the raw envelopes kept as evidence.
 * They are written in the same atomic commit as everything the message causes
 * (an accepted message cannot exist without its record, nor the reverse).
 */
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import type { DocWrite, FeedAppend, JsonValue } from '../store/types.js';

export const JOURNAL = 'journal';
export const EVIDENCE = 'evidence';

export interface JournalSignature {
  verdict: 'valid' | 'invalid' | 'not checked';
  reason: string | null;
  certificateSubject: string | null;
  certificateFingerprint: string | null;
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
  /** Evidence document ids (collection `evidence`): the raw envelopes as sent and received. */
  evidence: { request: string | null; response: string | null };
}

export type JournalInput = Omit<JournalRecord, 'id' | 'evidence'>;

/** The writes that put one record and its evidence into a commit. */
export function journalWrites(input: JournalInput, request: Buffer | string | null, response: string | null): { id: string; docs: DocWrite[]; feeds: FeedAppend[] } {
  const id = randomUUID();
  const docs: DocWrite[] = [];
  const evidence = { request: null as string | null, response: null as string | null };
  if (request !== null) {
    evidence.request = `${id}.request`;
    docs.push({ collection: EVIDENCE, id: evidence.request, value: evidenceValue(request) });
  }
  if (response !== null) {
    evidence.response = `${id}.response`;
    docs.push({ collection: EVIDENCE, id: evidence.response, value: evidenceValue(response) });
  }
  const record: JournalRecord = { ...input, id, evidence };
  docs.push({ collection: JOURNAL, id, value: record as unknown as JsonValue });
  return { id, docs, feeds: [{ feed: JOURNAL, id }] };
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

/** UTF-8 text as is; anything else (a hostile body) as base64, so evidence is byte-exact (but for FSAttachment passwords). */
function evidenceValue(input: Buffer | string): JsonValue {
  const raw = redactFileStoreCredentials(input);
  if (typeof raw === 'string') return { encoding: 'utf8', text: raw };
  // isUtf8 checks the bytes in native code: no decode-and-re-encode round trip to compare.
  return isUtf8(raw) ? { encoding: 'utf8', text: raw.toString('utf8') } : { encoding: 'base64', text: raw.toString('base64') };
}
