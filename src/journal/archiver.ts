/**
 * The journal archiver: sealed records older than JOURNAL_HOT_HOURS leave the store (Redis) in
 * segments (archive-segment.ts) written to the archive store (archive-store.ts). One step:
 *
 *  1. From the anchor on (where the store's journal starts), take the prefix of records older
 *     than the hot window, at most SEGMENT_MAX_RECORDS and about SEGMENT_MAX_BYTES of
 *     envelopes, cut back to the last signed checkpoint in it;
 *  2. verify the chain up to there in the store (as retention always did: archiving must never
 *     carry tampering away unnoticed);
 *  3. write the segment in the scratch directory, move it into the archive whole, read it back
 *     from the archive and verify it offline (verifySegment) against what the store holds;
 *  4. one commit: the anchor moves to the segment's end (with the end checkpoint's signature),
 *     the segment's index document and one small index document per record (so proofs and
 *     searches find archived records) are written, and the records, seals, checkpoints and
 *     envelopes are deleted — guarded by the same idempotency key per anchor as retention, so
 *     two processes never both move it.
 *
 * A crash between 3 and 4 leaves a whole segment in the archive that the store does not count:
 * the next step finds it (its first seq is the anchor's next), adopts it if it verifies and
 * covers exactly the store's records, waits when it covers more than is old enough yet, and
 * otherwise — unless the anchor moved meanwhile: another instance committed it — sets it aside
 * (ARCHIVE_DIR/.superseded/, never deleted) and writes the range again. An instance whose
 * commit comes second sets its own segment aside when it covers another range than the one counted. One archive belongs to one journal (one Redis). Nothing is
 * lost (the store keeps the records until the commit) and nothing is doubled (one segment per
 * range; superseded ones are removed). An archive that cannot be written leaves the records hot;
 * the failure is logged and counted, and the next round tries again.
 *
 * Retention (JOURNAL_RETENTION_DAYS) then applies to the archive: the oldest segments whose
 * records are all older are removed, oldest first, so the archive stays one unbroken chain.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Signer } from '../pki/signer.js';
import { defineCollection, write } from '../store/collection.js';
import type { DocDelete, DocWrite, FeedAppend, Store } from '../store/types.js';
import { parseSegmentName, segmentName, verifySegment, writeSegment, type SegmentEntry } from './archive-segment.js';
import { SegmentExistsError, type ArchiveStore } from './archive-store.js';
import { ANCHOR, CHECKPOINTS, CURRENT, SEAL_INDEX, SEALS, ZERO_HASH, seqId, type Anchor, type ChainTrust, type Checkpoint } from './chain.js';
import { ENVELOPES, evidenceDeletes, evidenceIdsOf, readEvidence, storedBytes } from './evidence.js';
import { JOURNAL, type JournalRecord, recordTime } from './records.js';
import { verifyJournal } from './verify.js';

export const SEGMENT_MAX_RECORDS = 500;
export const SEGMENT_MAX_BYTES = 32 * 1024 * 1024;

/** One per segment in the archive, by seqId(firstSeq). */
export interface ArchivedSegment {
  name: string;
  firstSeq: number;
  lastSeq: number;
  records: number;
  from: string | null;
  to: string | null;
  bytes: number;
  sha256: string;
  archivedAt: string;
}
export const ARCHIVE_SEGMENTS = defineCollection<ArchivedSegment>('journal-archive-segments');

/**
 * By record id: where an archived record went (the record itself is in the segment) and the
 * fields search filters on, so a search reads a segment only for the records it returns.
 * About 300 bytes per record stay in the store: the index, not the 10–30 KB of the record.
 */
export interface ArchivedRecord {
  segment: string;
  seq: number;
  messageId: string | null;
  applicationId: string | null;
  service: string | null;
  partner: string | null;
  direction: JournalRecord['direction'];
  succeeded: boolean;
  /** recordTime, ms (null: the record has no time). */
  time: number | null;
}
export const ARCHIVED_RECORDS = defineCollection<ArchivedRecord>('journal-archived');
/** The archived records in seq order (entry ids `<seq>:<record id>`): search walks it past the store's journal. */
export const ARCHIVED_FEED = 'journal-archived';

export function archivedIndex(segment: string, seq: number, r: JournalRecord): ArchivedRecord {
  return { segment, seq, messageId: r.messageId, applicationId: r.applicationId, service: r.service, partner: r.partner, direction: r.direction, succeeded: r.succeeded, time: recordTime(r) };
}

export interface ArchiverDeps {
  store: Store;
  archive: ArchiveStore;
  signer: Signer;
  trust: ChainTrust;
  logger?: Logger;
  now: () => Date;
}

export type ArchiveStepResult = { archived: number; segment: string | null; adopted: boolean };

const NOTHING: ArchiveStepResult = { archived: 0, segment: null, adopted: false };

/** One segment's worth (or nothing). `hotCutoffMs`: records at or after this instant stay. */
export async function archiveStep(deps: ArchiverDeps, hotCutoffMs: number): Promise<ArchiveStepResult> {
  const { store, archive, logger: log } = deps;
  const anchor = await store.getDoc(ANCHOR, CURRENT);
  const from = anchor?.seq ?? 0;
  const prevHash = anchor?.hash ?? ZERO_HASH;

  // 1. The old prefix, up to its last checkpoint.
  const feed = await store.readFeed(JOURNAL, from, SEGMENT_MAX_RECORDS);
  const chosen: Array<{ seq: number; id: string; record: JournalRecord }> = [];
  let end: Checkpoint | null = null;
  let endIndex = -1;
  let bytes = 0;
  for (const entry of feed) {
    if (entry.seq !== from + chosen.length + 1) break; // a gap: verification's to report, not ours to archive across
    const record = await store.getDoc(JOURNAL, entry.id);
    const t = record ? recordTime(record) : null;
    if (!record || t === null || t >= hotCutoffMs) break;
    chosen.push({ seq: entry.seq, id: entry.id, record });
    bytes += record.requestSize + record.responseSize;
    const checkpoint = await store.getDoc(CHECKPOINTS, seqId(entry.seq));
    if (checkpoint) {
      end = checkpoint;
      endIndex = chosen.length - 1;
      if (bytes >= SEGMENT_MAX_BYTES) break;
    }
  }
  if (!end) return NOTHING;
  const batch = chosen.slice(0, endIndex + 1);
  const name = segmentName(batch[0]!.seq, end.seq);

  // 2. The chain in the store, up to the end.
  const report = await verifyJournal(store, { ...deps.trust, upTo: end.seq, now: deps.now(), maxProblems: 10 });
  if (!report.ok || report.checkpointedUpTo < end.seq) {
    log?.error({ upTo: end.seq, problems: report.problems }, 'journal archive: not archiving, the chain up to it does not verify (run `okno journal verify`)');
    return NOTHING;
  }

  // A segment a crash left behind, starting where ours starts?
  let adopted = false;
  const existing = (await archive.list()).filter((n) => parseSegmentName(n)?.firstSeq === from + 1);
  for (const other of existing) {
    const range = parseSegmentName(other)!;
    // Longer than what is old enough here, over records the store holds: another instance (whose round
    // began later) may be about to commit it, or a crash left it; a later round settles it, not this one.
    if (range.lastSeq > chosen[chosen.length - 1]!.seq && range.lastSeq <= feed[feed.length - 1]!.seq) return NOTHING;
    const data = await archive.get(other);
    if (data === null) continue; // gone meanwhile (set aside by another instance)
    const ids = new Map(chosen.map((c) => [c.seq, c.id]));
    const fits = (await store.getDoc(CHECKPOINTS, seqId(range.lastSeq))) !== null;
    const check = fits ? await verifySegment(data, deps.trust, { name: other }) : null;
    if (check?.ok && check.manifest!.prevHash === prevHash && check.entries.every((e) => ids.get(e.seq) === e.record.id)) {
      adopted = true;
      log?.info({ segment: other }, 'journal archive: adopting a segment written before a crash (or by another instance)');
      return commitSegment(deps, { anchor, prevHash, name: other, data: data!, manifestEnd: check.manifest!.endCheckpoint, entries: check.entries.map((e) => ({ seq: e.seq, id: e.record.id, record: e.record })), adopted });
    }
    // Read after the checks: another instance that committed this segment since our round began has
    // moved the anchor (its records and checkpoint are gone, so it no longer "fits"); it counts, it stays.
    if ((await store.getDoc(ANCHOR, CURRENT))?.seq !== anchor?.seq) return NOTHING;
    log?.warn({ segment: other }, 'journal archive: a segment the store does not count (superseded, or left by a crash) is set aside in .superseded/');
    await archive.setAside(other);
  }

  // 3. Write, move into place, read back, verify.
  const seals = await Promise.all(batch.map((c) => store.getDoc(SEALS, seqId(c.seq))));
  const checkpoints = await Promise.all(batch.map((c) => store.getDoc(CHECKPOINTS, seqId(c.seq))));
  const envelopes = await readEvidence(store, batch.flatMap((c) => evidenceIdsOf(c.record)));
  const entries: SegmentEntry[] = batch.map((c, i) => {
    const evidence: SegmentEntry['evidence'] = {};
    for (const envelope of ENVELOPES) {
      const id = c.record.evidence?.[envelope];
      evidence[envelope] = id ? storedBytes(envelopes.get(id)) : null;
    }
    return { seq: c.seq, record: c.record, seal: seals[i]!, checkpoint: checkpoints[i] ?? null, evidence };
  });
  if (entries.some((e) => !e.seal)) return NOTHING; // verified a moment ago; a seal vanished since: next round
  const scratch = path.join(await archive.scratchDir(), `${name}.${process.pid}.${Date.now()}`);
  await writeSegment(scratch, { entries, prevHash, signer: deps.signer, now: deps.now() });
  try {
    await archive.put(name, scratch);
  } catch (error) {
    // Another instance wrote this range meanwhile: its segment stays; a later round adopts it or sets it aside.
    if (error instanceof SegmentExistsError) {
      log?.info({ segment: name }, 'journal archive: another instance wrote this segment first; left to a later round');
      return NOTHING;
    }
    throw error;
  }
  const data = await archive.get(name);
  const check = data ? await verifySegment(data, deps.trust, { name }) : null;
  if (!data || !check?.ok || check.manifest!.prevHash !== prevHash || check.manifest!.endHash !== end.hash) {
    log?.error({ segment: name, problems: check?.problems ?? ['not readable back'] }, 'journal archive: the segment read back from the archive does not verify; the records stay in the store');
    await archive.setAside(name).catch(() => undefined);
    return NOTHING;
  }
  return commitSegment(deps, { anchor, prevHash, name, data, manifestEnd: end, entries: batch, adopted });
}

async function commitSegment(
  deps: ArchiverDeps,
  s: { anchor: Anchor | null; prevHash: string; name: string; data: Buffer; manifestEnd: Checkpoint; entries: ReadonlyArray<{ seq: number; id: string; record: JournalRecord }>; adopted: boolean },
): Promise<ArchiveStepResult> {
  const { store, logger: log } = deps;
  const from = s.anchor?.seq ?? 0;
  const end = s.manifestEnd;
  const at = deps.now();
  const times = s.entries.map((e) => recordTime(e.record)).filter((t): t is number => t !== null);
  const index: ArchivedSegment = {
    name: s.name,
    firstSeq: s.entries[0]!.seq,
    lastSeq: end.seq,
    records: s.entries.length,
    from: times.length ? new Date(Math.min(...times)).toISOString() : null,
    to: times.length ? new Date(Math.max(...times)).toISOString() : null,
    bytes: s.data.length,
    sha256: createHash('sha256').update(s.data).digest('hex'),
    archivedAt: at.toISOString(),
  };
  const docs: DocWrite[] = [write(ARCHIVE_SEGMENTS, seqId(index.firstSeq), index)];
  const deletes: DocDelete[] = [];
  const feeds: FeedAppend[] = [];
  for (const e of s.entries) {
    docs.push(write(ARCHIVED_RECORDS, e.id, archivedIndex(s.name, e.seq, e.record)));
    feeds.push({ feed: ARCHIVED_FEED, id: `${e.seq}:${e.id}` });
    deletes.push({ collection: JOURNAL, id: e.id }, { collection: SEALS, id: seqId(e.seq) }, { collection: CHECKPOINTS, id: seqId(e.seq) }, { collection: SEAL_INDEX, id: e.id });
    for (const envelope of ENVELOPES) {
      const id = e.record.evidence?.[envelope];
      if (id) deletes.push(...evidenceDeletes(id));
    }
  }
  const next: Anchor = { seq: end.seq, hash: end.hash, recordId: end.recordId, prunedAt: at.toISOString(), signedAt: end.signedAt, signature: end.signature, algorithm: end.algorithm, certificate: end.certificate };
  docs.push(write(ANCHOR, CURRENT, next));
  const result = await store.commit({
    idempotency: { key: `okno-journal-prune:${seqId(from)}`, record: { digest: seqId(end.seq), result: null, createdAt: at.getTime() } },
    docs,
    deletes,
    feeds,
  });
  if (!result.applied) {
    // Another instance moved the anchor from here first; its segment counts. Ours, when it is another
    // range (a later hot window), is counted by nobody and would overlap it: set aside, never deleted.
    const counted = await store.getDoc(ARCHIVE_SEGMENTS, seqId(index.firstSeq));
    if (counted?.name !== s.name) {
      log?.info({ segment: s.name, counted: counted?.name ?? null }, 'journal archive: another instance archived from here first; this segment is set aside in .superseded/');
      await deps.archive.setAside(s.name).catch(() => undefined);
    }
    return NOTHING;
  }
  await store.trimFeed(JOURNAL, end.seq);
  log?.info({ segment: s.name, firstSeq: index.firstSeq, lastSeq: index.lastSeq, records: index.records, bytes: index.bytes, adopted: s.adopted }, 'journal archive: segment written, verified, and its records left the store');
  return { archived: s.entries.length, segment: s.name, adopted: s.adopted };
}

/**
 * Retention on the archive: removes the oldest segments whose records are all older than the
 * cutoff, oldest first (so what remains is one unbroken chain), with their index documents —
 * whose ids come from the archived feed, so an encrypted archive needs no key for it. Order:
 * the store forgets the segment first, then the file goes; a crash between leaves a file no
 * index counts, which the next round sets aside (.superseded/, never deleted). Returns how many
 * segments were removed.
 */
export async function archiveRetention(deps: Pick<ArchiverDeps, 'store' | 'archive' | 'logger'>, cutoffMs: number): Promise<number> {
  let removed = 0;
  const anchorSeq = (await deps.store.getDoc(ANCHOR, CURRENT))?.seq ?? 0;
  for (const name of await deps.archive.list()) {
    const range = parseSegmentName(name)!;
    const index = await deps.store.getDoc(ARCHIVE_SEGMENTS, seqId(range.firstSeq));
    if (!index || parseSegmentName(index.name)?.lastSeq !== range.lastSeq) {
      // Counted by nobody and behind the journal's anchor: left by a crash during retention (or superseded).
      if (range.lastSeq <= anchorSeq) {
        await deps.archive.setAside(name);
        deps.logger?.warn({ segment: name }, 'journal retention: a segment no index counts is set aside in .superseded/');
        continue;
      }
      break; // not counted yet: the archiver's to settle
    }
    if (index.to === null || Date.parse(index.to) >= cutoffMs) break;
    const ids = await archivedIds(deps.store, range.lastSeq);
    const deletes: DocDelete[] = [{ collection: ARCHIVE_SEGMENTS, id: seqId(range.firstSeq) }, ...ids.ids.map((id) => ({ collection: ARCHIVED_RECORDS, id }))];
    await deps.store.commit({ docs: [], deletes });
    if (ids.upTo > 0) await deps.store.trimFeed(ARCHIVED_FEED, ids.upTo);
    await deps.archive.remove(name);
    removed += 1;
    deps.logger?.info({ segment: name, to: index.to, records: ids.ids.length }, 'journal retention: archive segment removed');
  }
  return removed;
}

/** The archived feed's record ids up to journal seq `lastSeq`, and the feed seq they end at. */
async function archivedIds(store: Store, lastSeq: number): Promise<{ ids: string[]; upTo: number }> {
  const ids: string[] = [];
  let upTo = 0;
  for (let after = 0; ; ) {
    const page = await store.readFeed(ARCHIVED_FEED, after, 500);
    if (page.length === 0) break;
    for (const e of page) {
      const colon = e.id.indexOf(':');
      if (Number(e.id.slice(0, colon)) > lastSeq) return { ids, upTo };
      ids.push(e.id.slice(colon + 1));
      upTo = e.seq;
    }
    after = page[page.length - 1]!.seq;
  }
  return { ids, upTo };
}

