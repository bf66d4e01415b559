/**
 * `okno journal export --from --to`: the segment(s) covering a period, for a court or an
 * auditor. Archived segments whose records' time range meets the period are written out as zips
 * (decrypted when the archive is encrypted and a key opens it); records of the period still hot
 * in the store become one more segment, cut from the store's chain from the first record of the
 * period to the first signed checkpoint at or after its last one, and signed like any segment
 * with the gateway's key. Every file written is verified before the command says it is done.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Signer } from '../pki/signer.js';
import type { Store } from '../store/types.js';
import { segmentName, verifySegment, writeSegment, type SegmentEntry, type SegmentReport } from './archive-segment.js';
import type { ArchiveStore } from './archive-store.js';
import { ARCHIVE_SEGMENTS } from './archiver.js';
import { ANCHOR, CHECKPOINTS, CURRENT, SEALS, seqId, type ChainTrust } from './chain.js';
import { ENVELOPES, evidenceIdsOf, readEvidence, storedBytes } from './evidence.js';
import { JOURNAL, recordTime, type JournalRecord } from './records.js';
import { TIME_ORDER_SLACK_MS } from './search.js';

export interface ExportResult {
  files: Array<{ file: string; from: 'archive' | 'store'; records: number; report: SegmentReport }>;
  /** Records of the period in the store that no checkpoint covers yet (export again in a few seconds). */
  uncheckpointed: number;
}

export async function exportPeriod(options: {
  store: Store;
  archive: Pick<ArchiveStore, 'list' | 'get'> | null;
  from: number;
  to: number;
  outDir: string;
  trust: ChainTrust;
  /** Signs the segment cut from the store (the gateway's key); null: the hot part is not exported. */
  signer: Signer | null;
  now?: Date;
}): Promise<ExportResult> {
  const { store, from, to } = options;
  await mkdir(options.outDir, { recursive: true });
  const files: ExportResult['files'] = [];
  const write = async (name: string, bytes: Buffer, origin: 'archive' | 'store') => {
    const report = await verifySegment(bytes, options.trust, { name });
    const file = path.join(options.outDir, name);
    await writeFile(file, bytes);
    files.push({ file, from: origin, records: report.records, report });
  };

  // The archive, by the index the store keeps of it (time range per segment).
  if (options.archive) {
    for (const name of await options.archive.list()) {
      const first = Number(/^journal-(\d{15})-/.exec(name)?.[1]);
      const index = Number.isFinite(first) ? await store.getDoc(ARCHIVE_SEGMENTS, seqId(first)) : null;
      // Without an index (a segment the store does not count), read it to know.
      if (index && (index.from === null || index.to === null || Date.parse(index.to) < from || Date.parse(index.from) >= to)) continue;
      const bytes = await options.archive.get(name);
      if (!bytes) continue;
      if (!index) {
        const report = await verifySegment(bytes, options.trust, { name });
        const m = report.manifest;
        if (!m || m.from === null || m.to === null || Date.parse(m.to) < from || Date.parse(m.from) >= to) continue;
      }
      await write(name, bytes, 'archive');
    }
  }

  // The store: records of the period, from the anchor on.
  const anchor = await store.getDoc(ANCHOR, CURRENT);
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  for (let after = anchor?.seq ?? 0; ; ) {
    const page = await store.readFeed(JOURNAL, after, 500);
    if (page.length === 0) break;
    const records = await Promise.all(page.map((e) => store.getDoc(JOURNAL, e.id)));
    let past = false;
    page.forEach((e, i) => {
      const t = records[i] ? recordTime(records[i]!) : null;
      if (t === null) return;
      if (t >= from && t < to) {
        firstSeq ??= e.seq;
        lastSeq = e.seq;
      }
      if (t >= to + TIME_ORDER_SLACK_MS) past = true;
    });
    if (past) break;
    after = page[page.length - 1]!.seq;
  }
  if (firstSeq === null || lastSeq === null || !options.signer) return { files, uncheckpointed: 0 };

  // From the first record of the period to the first checkpoint at or after the last one.
  const entries: SegmentEntry[] = [];
  let end: number | null = null;
  for (let seq = firstSeq; ; seq++) {
    const seal = await store.getDoc(SEALS, seqId(seq));
    const feed = await store.readFeed(JOURNAL, seq - 1, 1);
    const entry = feed[0];
    if (!seal || !entry || entry.seq !== seq) break;
    const record = (await store.getDoc(JOURNAL, entry.id)) as JournalRecord | null;
    if (!record) break;
    const checkpoint = await store.getDoc(CHECKPOINTS, seqId(seq));
    const stored = await readEvidence(store, evidenceIdsOf(record));
    const evidence: SegmentEntry['evidence'] = {};
    for (const part of ENVELOPES) {
      const id = record.evidence?.[part];
      evidence[part] = id ? storedBytes(stored.get(id)) : null;
    }
    entries.push({ seq, record, seal, checkpoint, evidence });
    if (seq >= lastSeq && checkpoint) {
      end = seq;
      break;
    }
  }
  if (end === null) return { files, uncheckpointed: lastSeq - firstSeq + 1 };
  const name = segmentName(firstSeq, end);
  const scratch = path.join(options.outDir, `.${name}.partial`);
  await writeSegment(scratch, { entries, prevHash: entries[0]!.seal.prevHash, signer: options.signer, now: options.now ?? new Date() });
  const { readFile, rm } = await import('node:fs/promises');
  const bytes = await readFile(scratch);
  await rm(scratch, { force: true });
  await write(name, bytes, 'store');
  return { files, uncheckpointed: 0 };
}
