/**
 * The journal's evidence: the raw envelopes of an exchange (collection
 * `evidence`, ids `<record id>.request` / `<record id>.response`), how they
 * are kept in the store, and their digests — which the record carries, so
 * that the hash chain covers every byte of every envelope.
 *
 * The digest is SHA-256 (lowercase hex) of the envelope's bytes as received
 * or sent — never of the store's encoding of them. Today the store keeps a
 * JSON document (`{ encoding: 'utf8', text }`, or base64 for bytes that are
 * not UTF-8); decoding it gives those bytes back exactly, and they are what
 * is hashed. When evidence is kept as raw bytes (a later change of the
 * store), the digests of the records already written stay valid.
 *
 * Every store read of evidence goes through `readEvidence` (one place, one
 * batch per page of records).
 */
import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { defineCollection } from '../store/collection.js';
import type { JsonValue, Store } from '../store/types.js';

/** The envelopes a record can keep, in the order they are checked. */
export const ENVELOPES = ['request', 'response'] as const;
export type Envelope = (typeof ENVELOPES)[number];

/** SHA-256 hex of each envelope's bytes (null: the record keeps no such envelope). */
export type EvidenceDigests = Record<Envelope, string | null>;

/** The evidence document as the store keeps it today. */
export interface EvidenceDoc {
  encoding: 'utf8' | 'base64';
  text: string;
}

/** By `<record id>.request` / `<record id>.response`. */
export const EVIDENCE = defineCollection<EvidenceDoc>('evidence');

export function evidenceId(recordId: string, envelope: Envelope): string {
  return `${recordId}.${envelope}`;
}

/** SHA-256 hex of the envelope's bytes; a string is the text as sent, i.e. its UTF-8 bytes. */
export function evidenceDigest(raw: Buffer | string): string {
  return typeof raw === 'string' ? createHash('sha256').update(raw, 'utf8').digest('hex') : createHash('sha256').update(raw).digest('hex');
}

/** UTF-8 text as is; anything else (a hostile body) as base64, so evidence is byte-exact. */
export function evidenceDoc(raw: Buffer | string): EvidenceDoc {
  if (typeof raw === 'string') return { encoding: 'utf8', text: raw };
  // isUtf8 checks the bytes in native code: no decode-and-re-encode round trip to compare.
  return isUtf8(raw) ? { encoding: 'utf8', text: raw.toString('utf8') } : { encoding: 'base64', text: raw.toString('base64') };
}

/** The envelope's bytes back from its stored document (null: not an evidence document). */
export function evidenceBytes(doc: EvidenceDoc | JsonValue | null): { bytes: Buffer; encoding: 'utf8' | 'base64' } | null {
  // A stored document is read back as whatever JSON it holds: checked here, not trusted by its type.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof doc.text !== 'string') return null;
  return doc.encoding === 'base64' ? { bytes: Buffer.from(doc.text, 'base64'), encoding: 'base64' } : { bytes: Buffer.from(doc.text, 'utf8'), encoding: 'utf8' };
}

/** Reads evidence documents by id, all at once (Redis gets them in one round of pipelined GETs). */
export async function readEvidence(store: Store, ids: readonly string[]): Promise<Map<string, EvidenceDoc | null>> {
  const unique = [...new Set(ids)];
  const docs = await Promise.all(unique.map((id) => store.getDoc(EVIDENCE, id)));
  return new Map(unique.map((id, i) => [id, docs[i] ?? null]));
}

/** The fields of a journal record this module needs. */
export interface EvidenceOwner {
  id: string;
  evidence?: Partial<Record<Envelope, string | null>> | null;
  /** Absent in records written before the chain covered evidence (an older build): their envelopes are not covered. */
  evidenceSha256?: Partial<EvidenceDigests> | null;
}

/**
 * One envelope whose stored bytes are not what the record says:
 * - changed: present, but its digest differs from the record's (`actual`);
 * - removed: the record names it, the store does not have it;
 * - added: the store has `<record id>.<envelope>`, the record names none;
 * - undigested: the record carries digests but none for an envelope it names.
 */
export interface EvidenceMismatch {
  envelope: Envelope;
  evidenceId: string;
  kind: 'changed' | 'removed' | 'added' | 'undigested';
  expected: string | null;
  actual: string | null;
}

/** The evidence ids to read for a record: the envelopes it names, and where an unnamed one would be. */
export function evidenceIdsOf(record: EvidenceOwner): string[] {
  return ENVELOPES.map((e) => record.evidence?.[e] ?? evidenceId(record.id, e));
}

/** Compares a record's envelopes (read with `readEvidence(store, evidenceIdsOf(record))`) with its digests. */
export function checkEvidence(record: EvidenceOwner, docs: ReadonlyMap<string, EvidenceDoc | null>): EvidenceMismatch[] {
  const out: EvidenceMismatch[] = [];
  const digests = record.evidenceSha256 ?? null;
  for (const envelope of ENVELOPES) {
    const named = record.evidence?.[envelope] ?? null;
    if (named === null) {
      const id = evidenceId(record.id, envelope);
      const doc = docs.get(id) ?? null;
      if (doc !== null) out.push({ envelope, evidenceId: id, kind: 'added', expected: null, actual: digestOf(doc) });
      continue;
    }
    const doc = docs.get(named) ?? null;
    const stored = evidenceBytes(doc);
    if (!stored) {
      // Absent: removed. Present but not an evidence document: changed (there are no bytes to digest).
      out.push({ envelope, evidenceId: named, kind: doc === null ? 'removed' : 'changed', expected: digests?.[envelope] ?? null, actual: null });
      continue;
    }
    if (digests === null) continue; // an older build's record: its bytes are not covered
    const expected = digests[envelope] ?? null;
    const actual = evidenceDigest(stored.bytes);
    if (expected === null) out.push({ envelope, evidenceId: named, kind: 'undigested', expected, actual });
    else if (actual !== expected) out.push({ envelope, evidenceId: named, kind: 'changed', expected, actual });
  }
  return out;
}

function digestOf(doc: EvidenceDoc | JsonValue): string | null {
  const stored = evidenceBytes(doc);
  return stored ? evidenceDigest(stored.bytes) : null;
}
