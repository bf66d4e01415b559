/**
 * The journal's evidence: the raw envelopes of an exchange (blob collection
 * `evidence`, ids `<record id>.request` / `<record id>.response`), how they
 * are kept in the store, and their digests — which the record carries, so
 * that the hash chain covers every byte of every envelope.
 *
 * The digest is SHA-256 (lowercase hex) of the envelope's bytes as received
 * or sent — never of the store's encoding of them. The store keeps those
 * bytes as a blob (src/store: raw bytes, compressed in Redis). Builds before
 * issue 26 kept a JSON document of the same collection and id
 * (`{ encoding: 'utf8', text }`, or base64 for bytes that are not UTF-8);
 * those are still read (and deleted with the record), and decoding one gives
 * the same bytes, so the digests of records already written stay valid.
 *
 * Every store read of evidence goes through `readEvidence` (one place, one
 * batch per page of records).
 */
import { createHash } from 'node:crypto';
import { defineCollection } from '../store/collection.js';
import type { BlobWrite, DocDelete, JsonValue, Store } from '../store/types.js';

/** The envelopes a record can keep, in the order they are checked. */
export const ENVELOPES = ['request', 'response'] as const;
export type Envelope = (typeof ENVELOPES)[number];

/** SHA-256 hex of each envelope's bytes (null: the record keeps no such envelope). */
export type EvidenceDigests = Record<Envelope, string | null>;

/** The evidence document as builds before issue 26 kept it (read, never written). */
export interface LegacyEvidenceDoc {
  encoding: 'utf8' | 'base64';
  text: string;
}

/** The blob collection of envelopes, by `<record id>.request` / `<record id>.response` (and the legacy documents' collection). */
export const EVIDENCE = 'evidence';
const LEGACY_EVIDENCE = defineCollection<LegacyEvidenceDoc>(EVIDENCE);

export function evidenceId(recordId: string, envelope: Envelope): string {
  return `${recordId}.${envelope}`;
}

/** SHA-256 hex of the envelope's bytes; a string is the text as sent, i.e. its UTF-8 bytes. */
export function evidenceDigest(raw: Buffer | string): string {
  return typeof raw === 'string' ? createHash('sha256').update(raw, 'utf8').digest('hex') : createHash('sha256').update(raw).digest('hex');
}

/** The blob write that keeps one envelope: its bytes exactly (a string is its UTF-8 bytes, as hashed). */
export function evidenceBlob(id: string, raw: Buffer | string): BlobWrite {
  return { collection: EVIDENCE, id, bytes: typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw };
}

/** The deletes that remove one envelope, whichever form it is kept in. */
export function evidenceDeletes(id: string): DocDelete[] {
  return [
    { collection: EVIDENCE, id, blob: true },
    { collection: EVIDENCE, id },
  ];
}

/** The bytes back from a legacy evidence document (null: not an evidence document). */
export function legacyEvidenceBytes(doc: LegacyEvidenceDoc | JsonValue | null): Buffer | null {
  // A stored document is read back as whatever JSON it holds: checked here, not trusted by its type.
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc) || typeof doc.text !== 'string') return null;
  return doc.encoding === 'base64' ? Buffer.from(doc.text, 'base64') : Buffer.from(doc.text, 'utf8');
}

/** Something is stored under the id, but it gives no envelope back (changed by hand: not a blob the store wrote, or not an evidence document). */
export interface UnreadableEvidence {
  unreadable: string;
}

/** One stored envelope as read: its bytes, absent (null), or unreadable. */
export type StoredEvidence = Buffer | UnreadableEvidence | null;

export function isUnreadable(stored: StoredEvidence | undefined): stored is UnreadableEvidence {
  return stored !== null && stored !== undefined && !Buffer.isBuffer(stored);
}

/** The bytes of a stored envelope, or null when it is absent or unreadable. */
export function storedBytes(stored: StoredEvidence | undefined): Buffer | null {
  return Buffer.isBuffer(stored) ? stored : null;
}

/**
 * Reads envelopes by id, all at once (Redis gets them in one round of pipelined GETs; the legacy
 * documents are asked for only for ids with no blob).
 */
export async function readEvidence(store: Store, ids: readonly string[]): Promise<Map<string, StoredEvidence>> {
  const unique = [...new Set(ids)];
  const read = async (id: string): Promise<StoredEvidence> => {
    try {
      return await store.getBlob(EVIDENCE, id);
    } catch (error) {
      return { unreadable: (error as Error).message };
    }
  };
  const blobs = await Promise.all(unique.map(read));
  const legacy = await Promise.all(
    unique.map(async (id, i): Promise<StoredEvidence> => {
      if (blobs[i] !== null) return blobs[i]!;
      let doc: LegacyEvidenceDoc | null;
      try {
        doc = await store.getDoc(LEGACY_EVIDENCE, id);
      } catch (error) {
        return { unreadable: (error as Error).message };
      }
      if (doc === null) return null;
      return legacyEvidenceBytes(doc) ?? { unreadable: 'not an evidence document' };
    }),
  );
  return new Map(unique.map((id, i) => [id, legacy[i]!]));
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
export function checkEvidence(record: EvidenceOwner, stored: ReadonlyMap<string, StoredEvidence>): EvidenceMismatch[] {
  const out: EvidenceMismatch[] = [];
  const digests = record.evidenceSha256 ?? null;
  for (const envelope of ENVELOPES) {
    const named = record.evidence?.[envelope] ?? null;
    if (named === null) {
      const id = evidenceId(record.id, envelope);
      const found = stored.get(id) ?? null;
      if (found !== null) out.push({ envelope, evidenceId: id, kind: 'added', expected: null, actual: Buffer.isBuffer(found) ? evidenceDigest(found) : null });
      continue;
    }
    const found = stored.get(named) ?? null;
    if (!Buffer.isBuffer(found)) {
      // Absent: removed. Present but unreadable: changed (there are no bytes to digest).
      out.push({ envelope, evidenceId: named, kind: found === null ? 'removed' : 'changed', expected: digests?.[envelope] ?? null, actual: null });
      continue;
    }
    if (digests === null) continue; // an older build's record: its bytes are not covered
    const expected = digests[envelope] ?? null;
    const actual = evidenceDigest(found);
    if (expected === null) out.push({ envelope, evidenceId: named, kind: 'undigested', expected, actual });
    else if (actual !== expected) out.push({ envelope, evidenceId: named, kind: 'changed', expected, actual });
  }
  return out;
}
