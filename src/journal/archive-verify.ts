/**
 * The archive as one chain: every segment verified offline (archive-segment.ts verifySegment),
 * in seq order, each starting where the one before ends (seq and chain hash). Where the oldest
 * kept segment starts is where retention left the archive: its prevHash is taken as given
 * (it is covered by that segment's signed manifest).
 */
import { verifySegment, type SegmentManifest } from './archive-segment.js';
import type { ArchiveStore } from './archive-store.js';
import type { ChainTrust } from './chain.js';
import type { Envelope } from './evidence.js';

export interface ArchiveProblem {
  segment: string;
  seq: number | null;
  recordId: string | null;
  problem: string;
  envelope?: Envelope;
}

export interface ArchiveReport {
  ok: boolean;
  segments: number;
  records: number;
  envelopes: number;
  /** The first and last seq in the archive (null when empty). */
  firstSeq: number | null;
  lastSeq: number | null;
  /** The chain hash after the last archived record (where the store's journal must go on from). */
  endHash: string | null;
  problems: ArchiveProblem[];
}

/** Verifies the named segments (or all) of an archive. */
export async function verifyArchive(archive: Pick<ArchiveStore, 'list' | 'get'>, trust: ChainTrust, names?: readonly string[]): Promise<ArchiveReport> {
  const list = [...(names ?? (await archive.list()))].sort();
  const problems: ArchiveProblem[] = [];
  let records = 0;
  let envelopes = 0;
  let previous: { name: string; manifest: SegmentManifest } | null = null;
  let firstSeq: number | null = null;
  for (const name of list) {
    const bytes = await archive.get(name);
    if (!bytes) {
      problems.push({ segment: name, seq: null, recordId: null, problem: 'the segment cannot be read (removed?)' });
      continue;
    }
    const report = await verifySegment(bytes, trust, { name });
    for (const p of report.problems) problems.push({ segment: name, ...p });
    records += report.records;
    envelopes += report.envelopes;
    const manifest = report.manifest;
    if (!manifest) continue;
    firstSeq ??= manifest.firstSeq;
    if (previous) {
      const before = previous.manifest;
      if (manifest.firstSeq !== before.lastSeq + 1) {
        problems.push({ segment: name, seq: manifest.firstSeq, recordId: null, problem: manifest.firstSeq > before.lastSeq + 1 ? `records ${before.lastSeq + 1}–${manifest.firstSeq - 1} are in no segment (a segment was removed) after ${previous.name}` : `it overlaps ${previous.name} (seqs from ${manifest.firstSeq})` });
      } else if (manifest.prevHash !== before.endHash) {
        problems.push({ segment: name, seq: manifest.firstSeq, recordId: null, problem: `the chain is broken between ${previous.name} and this segment (its prevHash is not the previous segment's endHash)` });
      }
    }
    previous = { name, manifest };
  }
  return {
    ok: problems.length === 0,
    segments: list.length,
    records,
    envelopes,
    firstSeq,
    lastSeq: previous?.manifest.lastSeq ?? null,
    endHash: previous?.manifest.endHash ?? null,
    problems,
  };
}
