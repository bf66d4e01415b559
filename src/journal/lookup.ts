/**
 * One journal record by id, wherever it is now: in the store (hot) or, after archiving, in its
 * archive segment (through the ArchiveReader) — with its seal and its envelopes. What the
 * record pages, the proofs and the evidence downloads read.
 */
import { isUtf8 } from 'node:buffer';
import type { Store } from '../store/types.js';
import type { ArchiveReader } from './archive-reader.js';
import { SEAL_INDEX, SEALS, seqId, type Seal } from './chain.js';
import { evidenceIdsOf, readEvidence, storedBytes, type Envelope } from './evidence.js';
import { JOURNAL, type JournalRecord } from './records.js';

export interface FoundEvidence {
  bytes: Buffer;
  encoding: 'utf8' | 'base64';
}

export interface FoundRecord {
  record: JournalRecord;
  seal: Seal | null;
  /** The archive segment that holds it, or null when it is in the store. */
  archived: string | null;
  /** Each envelope the record names (null: it names none, or it is missing). */
  evidence: Record<Envelope, FoundEvidence | null>;
  /** The raw evidence documents as stored (hot records only; what checkEvidence compares). */
  stored: Awaited<ReturnType<typeof readEvidence>> | null;
}

/** An envelope's bytes, and how to show them: as text when they are UTF-8, else base64. */
function found(bytes: Buffer | null): FoundEvidence | null {
  return bytes ? { bytes, encoding: isUtf8(bytes) ? 'utf8' : 'base64' } : null;
}

export async function findJournalRecord(store: Store, archive: ArchiveReader | null | undefined, id: string): Promise<FoundRecord | null> {
  const record = await store.getDoc(JOURNAL, id);
  if (record) {
    const index = await store.getDoc(SEAL_INDEX, id);
    const seal = index ? await store.getDoc(SEALS, seqId(index.seq)) : null;
    const stored = await readEvidence(store, evidenceIdsOf(record));
    const part = (envelope: Envelope) => {
      const evidenceId = record.evidence?.[envelope] ?? null;
      return evidenceId ? found(storedBytes(stored.get(evidenceId))) : null;
    };
    return { record, seal, archived: null, evidence: { request: part('request'), response: part('response') }, stored };
  }
  const entry = archive ? await archive.entry(id) : null;
  if (!entry) return null;
  return { record: entry.record, seal: entry.seal, archived: entry.segment, evidence: { request: found(entry.evidence.request), response: found(entry.evidence.response) }, stored: null };
}

