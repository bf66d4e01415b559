/**
 * The archive as one chain: every segment verified offline (archive-segment.ts verifySegment),
 * in seq order, each starting where the one before ends (seq and chain hash). Where the oldest
 * kept segment starts is where retention left the archive: its prevHash is taken as given
 * (it is covered by that segment's signed manifest).
 *
 * Encrypted archives (archive-encryption.ts): a segment that cannot be opened (no key) is listed
 * as unreadable, not as intact; a plain segment after an encrypted one (in seq order) is a
 * problem: it was written unencrypted while encryption was on.
 */
import { parseSegmentName, verifySegment } from './archive-segment.js';
import type { SegmentRead } from './archive-encryption.js';
import type { ArchiveStore } from './archive-store.js';
import type { ChainTrust } from './chain.js';
import type { Envelope } from './evidence.js';

/** What verifyArchive reads: an ArchiveStore, or an EncryptingArchiveStore (which says how each segment is stored). */
export type ArchiveSource = Pick<ArchiveStore, 'list' | 'get'> & {
  read?(name: string): Promise<SegmentRead | null>;
  /** Segments stored both encrypted and in clear. */
  plainTwins?(): Promise<string[]>;
  /** ARCHIVE_ENCRYPT_TO is set: plain segments are noted even before the first encrypted one. */
  readonly encrypting?: boolean;
};

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
  /** The chain hash after the last archived record (where the store's journal must go on from); null when the last segment could not be read. */
  endHash: string | null;
  problems: ArchiveProblem[];
  /** Segments stored encrypted, and plain. */
  encrypted: number;
  plain: number;
  /** Segments that could not be opened (encrypted, no key or the wrong one): not checked, so not intact either. */
  unreadable: Array<{ segment: string; reason: string }>;
  /** Remarks that are not problems (plain segments older than the first encrypted one). */
  notes: string[];
}

/** Verifies the named segments (or all) of an archive. `ok`: no problem, and every segment could be read. */
export async function verifyArchive(archive: ArchiveSource, trust: ChainTrust, names?: readonly string[]): Promise<ArchiveReport> {
  const list = [...(names ?? (await archive.list()))].sort();
  const problems: ArchiveProblem[] = [];
  const unreadable: ArchiveReport['unreadable'] = [];
  let records = 0;
  let envelopes = 0;
  let encrypted = 0;
  const plainBefore: string[] = [];
  let plain = 0;
  let previous: { name: string; lastSeq: number; endHash: string | null } | null = null;
  let firstSeq: number | null = null;
  for (const name of list) {
    const read: SegmentRead | null = archive.read ? await archive.read(name) : await archive.get(name).then((bytes) => (bytes ? { stored: name, encrypted: false, bytes, unreadable: null } : null));
    if (!read) {
      problems.push({ segment: name, seq: null, recordId: null, problem: 'the segment cannot be read (removed?)' });
      continue;
    }
    if (read.encrypted) encrypted += 1;
    else {
      plain += 1;
      if (encrypted > 0) problems.push({ segment: read.stored, seq: null, recordId: null, problem: 'the segment is stored unencrypted after encrypted ones: written while archive encryption was on (ARCHIVE_ENCRYPT_TO) by a gateway without it, or put there by hand' });
      else plainBefore.push(read.stored);
    }
    if (!read.bytes) {
      unreadable.push({ segment: read.stored, reason: read.unreadable ?? 'cannot be opened' });
      // Not checked: the chain goes on from its name's range, without a hash to compare.
      const range = parseSegmentName(name);
      if (range) {
        firstSeq ??= range.firstSeq;
        previous = { name, lastSeq: range.lastSeq, endHash: null };
      }
      continue;
    }
    const report = await verifySegment(read.bytes, trust, { name });
    for (const p of report.problems) problems.push({ segment: name, ...p });
    records += report.records;
    envelopes += report.envelopes;
    const manifest = report.manifest;
    if (!manifest) continue;
    firstSeq ??= manifest.firstSeq;
    if (previous) {
      if (manifest.firstSeq !== previous.lastSeq + 1) {
        problems.push({ segment: name, seq: manifest.firstSeq, recordId: null, problem: manifest.firstSeq > previous.lastSeq + 1 ? `records ${previous.lastSeq + 1}–${manifest.firstSeq - 1} are in no segment (a segment was removed) after ${previous.name}` : `it overlaps ${previous.name} (seqs from ${manifest.firstSeq})` });
      } else if (previous.endHash !== null && manifest.prevHash !== previous.endHash) {
        problems.push({ segment: name, seq: manifest.firstSeq, recordId: null, problem: `the chain is broken between ${previous.name} and this segment (its prevHash is not the previous segment's endHash)` });
      }
    }
    previous = { name, lastSeq: manifest.lastSeq, endHash: manifest.endHash };
  }
  for (const twin of (await archive.plainTwins?.()) ?? []) {
    if (names && !names.includes(twin)) continue;
    problems.push({ segment: twin, seq: null, recordId: null, problem: `an unencrypted copy lies beside the encrypted ${twin}.p7m (personal data in clear; remove it once the envelope verifies)` });
  }
  const notes: string[] = [];
  if (plainBefore.length > 0 && (encrypted > 0 || archive.encrypting)) {
    notes.push(`${plainBefore.length} segment(s) before the first encrypted one are stored unencrypted (written before archive encryption was turned on?): ${plainBefore.length > 3 ? `${plainBefore.slice(0, 3).join(', ')}, …` : plainBefore.join(', ')}`);
  }
  return {
    ok: problems.length === 0 && unreadable.length === 0,
    segments: list.length,
    records,
    envelopes,
    firstSeq,
    lastSeq: previous?.lastSeq ?? null,
    endHash: previous?.endHash ?? null,
    problems,
    encrypted,
    plain,
    unreadable,
    notes,
  };
}
