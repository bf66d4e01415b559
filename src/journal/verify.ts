/**
 * Verification of the journal's hash chain (`npx okno journal verify`,
 * `GET /api/v1/journal/verify`). Reads the `journal` feed from the retention
 * anchor on and checks, per record:
 *
 * - seqs are consecutive (a gap is a removed record; a repeated seq an
 *   inserted one);
 * - the record exists and has its seal, the seal names this record and seq,
 *   links to the previous seal (prevHash), and its hash is the record's
 *   (a changed record);
 * - every checkpoint's signature is the gateway's and its hash is the seal's
 *   hash at that seq (history changed and then re-sealed is caught at the
 *   next checkpoint: only the gateway's key can sign one).
 *
 * - every envelope the record names (evidence.ts) is there and its bytes'
 *   SHA-256 is the one in the record (which the seal covers); no envelope is
 *   there that the record does not name. Each changed, swapped, removed or
 *   added envelope is one problem naming the record and the envelope.
 *   Records written by a build before evidence digests (no `evidenceSha256`)
 *   are counted in `evidence.uncoveredRecords`: their envelopes are checked
 *   for presence only.
 *
 * Records after the last seal are `unsealed` (the sealer has not reached
 * them yet): counted, not a problem. A record without a seal followed by
 * sealed ones is a problem.
 */
import type { FeedEntry, Store } from '../store/types.js';
import { ANCHOR, CHECKPOINTS, CURRENT, HEAD, SEALS, ZERO_HASH, chainHash, checkChainSignature, seqId, type Anchor, type ChainTrust, type Checkpoint, type Head, type Seal } from './chain.js';
import { checkEvidence, evidenceIdsOf, readEvidence, type Envelope, type EvidenceMismatch } from './evidence.js';
import { JOURNAL, type JournalRecord, recordTime } from './records.js';

export interface JournalProblem {
  seq: number;
  recordId: string | null;
  problem: string;
  /** For a problem with one of the record's envelopes: which one. */
  envelope?: Envelope;
}

export interface JournalReport {
  /** True when no problem was found. */
  ok: boolean;
  /** Feed entries examined. */
  checked: number;
  /** Last seq with a seal (the anchor's seq when none since). */
  sealedUpTo: number;
  /** Last seq covered by a valid checkpoint. */
  checkpointedUpTo: number;
  /** Records after the last seal (not sealed yet). */
  unsealed: number;
  /** Where verification started: the retention anchor, or null (from seq 1). */
  anchor: { seq: number; hash: string; prunedAt: string } | null;
  /** Envelopes compared with their records' digests; records whose envelopes the chain does not cover (written by an older build). */
  evidence: { envelopes: number; uncoveredRecords: number };
  problems: JournalProblem[];
  /** Not proof of tampering, but worth a look (e.g. records left unsealed for long). */
  warnings: string[];
}

export interface VerifyOptions extends ChainTrust {
  /** Stop after this seq (the pruner checks only what it is about to remove). */
  upTo?: number;
  /** Records unsealed for longer than this are a warning (default 10 minutes). */
  staleUnsealedMs?: number;
  now?: Date;
  /** Feed entries read per page (default 500). */
  pageSize?: number;
  /** Stop collecting problems after this many (default 1000); `ok` stays false. */
  maxProblems?: number;
}

type Loaded = { entry: FeedEntry; record: JournalRecord | null; seal: Seal | null; checkpoint: Checkpoint | null };
export type Mismatch = EvidenceMismatch & { seq: number; recordId: string };

export async function verifyJournal(store: Store, options: VerifyOptions): Promise<JournalReport> {
  const pageSize = options.pageSize ?? 500;
  const maxProblems = options.maxProblems ?? 1000;
  const upTo = options.upTo ?? Number.POSITIVE_INFINITY;
  const now = options.now ?? new Date();
  const staleMs = options.staleUnsealedMs ?? 10 * 60_000;
  const certCache = new Map<string, string | null>();
  const problems: JournalProblem[] = [];
  const warnings: string[] = [];
  let truncated = false;
  const report = (seq: number, recordId: string | null, problem: string, envelope?: Envelope) => {
    if (problems.length < maxProblems) problems.push(envelope ? { seq, recordId, problem, envelope } : { seq, recordId, problem });
    else truncated = true;
  };
  /** Envelopes that do not fit their records; reported at the end, when a swap can be told from a change. */
  const mismatches: Mismatch[] = [];
  const evidence = { envelopes: 0, uncoveredRecords: 0 };

  const anchor = await store.getDoc(ANCHOR, CURRENT);
  let prevSealHash = ZERO_HASH;
  let lastSeq = 0;
  if (anchor) {
    const why = checkChainSignature(anchor, anchor.seq, anchor.hash, options, certCache);
    if (why) report(anchor.seq, anchor.recordId ?? null, `retention anchor: ${why}`);
    prevSealHash = anchor.hash;
    lastSeq = anchor.seq;
  }
  const start = lastSeq;
  let checked = 0;
  let sealedUpTo = start;
  let checkpointedUpTo = start;
  let lastGoodCheckpoint = start;
  let afterGap = false;
  /** Records with no seal since the last sealed one: a problem once a later seal appears. */
  let unsealed: Loaded[] = [];

  // Checkpoint before seal: the sealer writes both in one commit, so a checkpoint read means the seal is there.
  const load = async (entry: FeedEntry, record?: JournalRecord | null): Promise<Loaded> => {
    const checkpoint = await store.getDoc(CHECKPOINTS, seqId(entry.seq));
    const seal = await store.getDoc(SEALS, seqId(entry.seq));
    return { entry, checkpoint, seal, record: record !== undefined ? record : await store.getDoc(JOURNAL, entry.id) };
  };

  const sealed = ({ entry, record, seal, checkpoint }: Loaded & { seal: Seal }) => {
    const { seq, id } = entry;
    if (seal.seq !== seq || seal.recordId !== id) {
      report(seq, id, `the seal at seq ${seq} is for record ${String(seal.recordId)} at seq ${String(seal.seq)} (record replaced or inserted)`);
    }
    if (seal.prevHash !== prevSealHash && !afterGap) {
      report(seq, id, 'the chain is broken: the seal does not link to the previous one (a record before it was removed or inserted, or seals were rewritten)');
    }
    afterGap = false;
    if (record && chainHash(seal.prevHash, seq, record) !== seal.hash) {
      report(seq, id, 'the record was changed after it was sealed (hash mismatch)');
    }
    prevSealHash = seal.hash;
    sealedUpTo = seq;
    if (checkpoint) {
      const why = checkChainSignature(checkpoint, checkpoint.seq, checkpoint.hash, options, certCache);
      if (why) report(seq, id, `checkpoint: ${why}`);
      else if (checkpoint.seq !== seq) report(seq, id, `the checkpoint stored at seq ${seq} is for seq ${checkpoint.seq}`);
      else if (checkpoint.hash !== seal.hash) {
        report(seq, id, `the signed checkpoint does not match the chain: records ${lastGoodCheckpoint + 1}–${seq} were changed or removed and the chain re-sealed`);
      } else {
        checkpointedUpTo = seq;
      }
      lastGoodCheckpoint = seq;
    }
  };

  for (let cursor = start; ; ) {
    const entries = await store.readFeed(JOURNAL, cursor, pageSize);
    if (entries.length === 0) break;
    cursor = entries[entries.length - 1]!.seq;
    const inRange = entries.filter((e) => e.seq <= upTo);
    const page = await Promise.all(inRange.map((e) => load(e)));
    const envelopes = await readEvidence(store, page.flatMap((p) => (p.record ? evidenceIdsOf(p.record) : [])));
    for (const item of page) {
      const { seq, id } = item.entry;
      if (seq <= lastSeq) {
        report(seq, id, seq === lastSeq ? `a second feed entry with seq ${seq} (an inserted record)` : 'feed entry out of order');
        continue;
      }
      checked += 1;
      if (seq > lastSeq + 1) {
        report(lastSeq + 1, null, seq === lastSeq + 2 ? `record ${lastSeq + 1} is missing from the journal (removed)` : `records ${lastSeq + 1}–${seq - 1} are missing from the journal (removed)`);
        afterGap = true;
      }
      lastSeq = seq;
      if (!item.record) report(seq, id, 'the record is missing (its feed entry points to nothing: removed)');
      else {
        for (const m of checkEvidence(item.record, envelopes)) mismatches.push({ ...m, seq, recordId: id });
        if (!item.record.evidenceSha256) evidence.uncoveredRecords += 1;
        else evidence.envelopes += Object.values(item.record.evidenceSha256).filter((d) => d !== null).length;
      }
      if (!item.seal) {
        if (item.checkpoint) report(seq, id, 'a checkpoint exists but the seal is missing (removed)');
        unsealed.push(item);
        continue;
      }
      // Earlier records read as unsealed: sealed since (the sealer runs while we read), or seal removed?
      for (const u of unsealed) {
        const again = await load(u.entry, u.record);
        if (again.seal) {
          sealed({ ...again, seal: again.seal });
          continue;
        }
        report(u.entry.seq, u.entry.id, 'not sealed although later records are (its seal was removed)');
        // Go on with the hash the seal should have had: the next seal must link to it (which also checks this record).
        if (u.record) prevSealHash = chainHash(prevSealHash, u.entry.seq, u.record);
        else afterGap = true;
      }
      unsealed = [];
      sealed({ ...item, seal: item.seal });
    }
    if (inRange.length < entries.length) break;
  }

  for (const p of evidenceProblems(mismatches)) report(p.seq, p.recordId, p.problem, p.envelope);

  // The feed ends: are there signs that records were removed from its end?
  // (Unless it grew while we read: then the seals and head beyond are the new records'.)
  if (upTo === Number.POSITIVE_INFINITY && (await store.readFeed(JOURNAL, lastSeq, 1)).length === 0) {
    const head = await store.getDoc(HEAD, CURRENT);
    if (head && head.seq > lastSeq) report(lastSeq + 1, null, `the journal ends at seq ${lastSeq}, but it was sealed up to seq ${head.seq} (records removed from the end)`);
    const next = await store.getDoc(SEALS, seqId(lastSeq + 1));
    if (next) report(lastSeq + 1, next.recordId ?? null, `a seal exists for seq ${lastSeq + 1} but the record's feed entry does not (removed)`);
  }
  const staleBefore = now.getTime() - staleMs;
  const stale = unsealed.filter((u) => { const t = u.record ? recordTime(u.record) : null; return t !== null && t < staleBefore; });
  if (stale.length > 0) {
    warnings.push(`${stale.length} record(s) from seq ${stale[0]!.entry.seq} have been unsealed for more than ${Math.round(staleMs / 60_000)} min: is a gateway (its sealer) running?`);
  }
  if (sealedUpTo > checkpointedUpTo) warnings.push(`records ${checkpointedUpTo + 1}–${sealedUpTo} are sealed but not yet covered by a signed checkpoint`);
  if (evidence.uncoveredRecords > 0) {
    warnings.push(`${evidence.uncoveredRecords} record(s) were written by an older build without evidence digests: their envelopes are checked for presence, but the chain does not cover their bytes`);
  }
  if (truncated) warnings.push(`more than ${maxProblems} problems; only the first ${maxProblems} are listed`);
  return {
    ok: problems.length === 0,
    checked,
    sealedUpTo,
    checkpointedUpTo,
    unsealed: unsealed.length,
    anchor: anchor ? { seq: anchor.seq, hash: anchor.hash, prunedAt: anchor.prunedAt } : null,
    evidence,
    problems,
    warnings,
  };
}

const short = (digest: string | null) => (digest ? `${digest.slice(0, 16)}…` : 'none');

/**
 * One problem per envelope that does not fit its record, in seq order. Two
 * changed envelopes each holding the other's sealed bytes were swapped; one
 * holding the bytes of another (also changed) envelope says whose.
 */
export function evidenceProblems(mismatches: readonly Mismatch[]): JournalProblem[] {
  const byExpected = new Map<string, Mismatch>();
  for (const m of mismatches) if (m.kind === 'changed' && m.expected) byExpected.set(m.expected, m);
  const whose = (m: Mismatch, other: Mismatch) => (other.recordId === m.recordId ? `this record's ${other.envelope} envelope` : `the ${other.envelope} envelope of record ${other.recordId} (seq ${other.seq})`);
  const out = mismatches.map((m): JournalProblem => {
    const what = `the ${m.envelope} envelope (evidence ${m.evidenceId})`;
    let problem: string;
    switch (m.kind) {
      case 'removed':
        problem = `${what} is missing (removed)`;
        break;
      case 'added':
        problem = `an envelope ${m.evidenceId} (${m.envelope} envelope) is stored that the record does not name (added)`;
        break;
      case 'undigested':
        problem = `the record names ${what} but carries no digest of it`;
        break;
      case 'changed': {
        const other = m.actual ? byExpected.get(m.actual) : undefined;
        if (m.actual === null) problem = `${what} was replaced by stored bytes that give no envelope back (changed)`;
        else if (other && other !== m && other.actual === m.expected) problem = `${what} was swapped with ${whose(m, other)}`;
        else if (other && other !== m) problem = `${what} was changed: it holds the bytes of ${whose(m, other)}`;
        else problem = `${what} was changed after it was journaled (sha256 ${short(m.actual)}, the sealed record says ${short(m.expected)})`;
        break;
      }
    }
    return { seq: m.seq, recordId: m.recordId, problem, envelope: m.envelope };
  });
  return out.sort((a, b) => a.seq - b.seq);
}
