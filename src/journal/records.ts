/**
 * Journal records: one per exchange, with the fields of X-Road's operational
 * monitoring, the signature verdict, and the raw envelopes kept as evidence.
 * They are written in the same atomic commit as everything the message causes
 * (an accepted message cannot exist without its record, nor the reverse).
 */
import { randomUUID } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { defineCollection, write } from '../store/collection.js';
import type { DocWrite, FeedAppend } from '../store/types.js';

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

/** A raw envelope as kept: UTF-8 text as is, other bytes as base64. */
export interface EvidenceDoc {
  encoding: 'utf8' | 'base64';
  text: string;
}

/** By record id; `journal` is also the feed of records in the order they were written. */
export const JOURNAL = defineCollection<JournalRecord>('journal');
/** By `<record id>.request` / `<record id>.response`. */
export const EVIDENCE = defineCollection<EvidenceDoc>('evidence');

/** The writes that put one record and its evidence into a commit. */
export function journalWrites(input: JournalInput, request: Buffer | string | null, response: string | null): { id: string; docs: DocWrite[]; feeds: FeedAppend[] } {
  const id = randomUUID();
  const docs: DocWrite[] = [];
  const evidence = { request: null as string | null, response: null as string | null };
  if (request !== null) {
    evidence.request = `${id}.request`;
    docs.push(write(EVIDENCE, evidence.request, evidenceValue(request)));
  }
  if (response !== null) {
    evidence.response = `${id}.response`;
    docs.push(write(EVIDENCE, evidence.response, evidenceValue(response)));
  }
  const record: JournalRecord = { ...input, id, evidence };
  docs.push(write(JOURNAL, id, record));
  return { id, docs, feeds: [{ feed: JOURNAL, id }] };
}

/** UTF-8 text as is; anything else (a hostile body) as base64, so evidence is byte-exact. */
function evidenceValue(raw: Buffer | string): EvidenceDoc {
  if (typeof raw === 'string') return { encoding: 'utf8', text: raw };
  // isUtf8 checks the bytes in native code: no decode-and-re-encode round trip to compare.
  return isUtf8(raw) ? { encoding: 'utf8', text: raw.toString('utf8') } : { encoding: 'base64', text: raw.toString('base64') };
}
