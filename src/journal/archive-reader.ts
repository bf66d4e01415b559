/**
 * Reading archived records back (issue 23 point 4): a record that left the store is found by
 * its index document (archiver.ts ARCHIVED_RECORDS) in its segment, with its seal, checkpoint
 * and envelopes. Parsed segments are cached (a few, least recently used first out), so a page
 * of search results from one segment reads it once.
 */
import { readSegment } from './archive-segment.js';
import type { ArchiveStore } from './archive-store.js';
import { ARCHIVED_RECORDS } from './archiver.js';
import { seqId, type Checkpoint, type Seal } from './chain.js';
import type { Envelope } from './evidence.js';
import type { JournalRecord } from './records.js';
import type { Store } from '../store/types.js';

export interface ArchivedEntry {
  segment: string;
  seq: number;
  record: JournalRecord;
  seal: Seal;
  checkpoint: Checkpoint | null;
  evidence: Record<Envelope, Buffer | null>;
}

interface ParsedSegment {
  bySeq: Map<number, { record: JournalRecord; seal: Seal; checkpoint: Checkpoint | null }>;
  files: Map<string, Buffer>;
}

export class ArchiveReader {
  private readonly cache = new Map<string, Promise<ParsedSegment | null>>();

  constructor(
    private readonly store: Store,
    readonly archive: Pick<ArchiveStore, 'get' | 'where'>,
    private readonly cacheSize = 4,
  ) {}

  /** The archived record with this id, or null (not archived, or its segment is gone). */
  async entry(recordId: string): Promise<ArchivedEntry | null> {
    const index = await this.store.getDoc(ARCHIVED_RECORDS, recordId);
    if (!index) return null;
    const segment = await this.segment(index.segment);
    const line = segment?.bySeq.get(index.seq);
    if (!segment || !line || line.record.id !== recordId) return null;
    const file = (envelope: Envelope) => segment.files.get(`evidence/${seqId(index.seq)}.${envelope}.xml`) ?? null;
    return { segment: index.segment, seq: index.seq, ...line, evidence: { request: file('request'), response: file('response') } };
  }

  private segment(name: string): Promise<ParsedSegment | null> {
    let parsed = this.cache.get(name);
    if (parsed) {
      // Most recently used last.
      this.cache.delete(name);
      this.cache.set(name, parsed);
      return parsed;
    }
    parsed = this.load(name);
    this.cache.set(name, parsed);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    // A failed read is not cached: the archive may be back on the next request.
    parsed.catch(() => this.cache.delete(name));
    return parsed;
  }

  private async load(name: string): Promise<ParsedSegment | null> {
    const bytes = await this.archive.get(name);
    if (!bytes) return null;
    const { files } = await readSegment(bytes);
    const bySeq = new Map<number, { record: JournalRecord; seal: Seal; checkpoint: Checkpoint | null }>();
    for (const line of (files.get('records.jsonl')?.toString('utf8') ?? '').split('\n')) {
      if (!line) continue;
      const item = JSON.parse(line) as { seq: number; record: JournalRecord; seal: Seal; checkpoint: Checkpoint | null };
      bySeq.set(item.seq, { record: item.record, seal: item.seal, checkpoint: item.checkpoint });
    }
    return { bySeq, files };
  }
}
