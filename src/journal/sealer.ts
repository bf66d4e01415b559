/**
 * The journal sealer: runs in every gateway process. It walks the `journal`
 * feed in seq order after the last sealed record and writes one seal per
 * record (see chain.ts), with `ifAbsent`, so two processes sealing at once
 * write the same thing and the first one's stays. Every CHECKPOINT_EVERY
 * seqs, and at least every `checkpointIntervalMs` when there is something
 * new, it writes a checkpoint signed with the gateway's key.
 *
 * Retention (at most every `pruneIntervalMs`): records older than
 * `retentionDays` are removed — only sealed ones, only a prefix of the chain
 * that ends at a checkpoint, and only after that prefix verifies (removal
 * must never erase evidence of tampering). The anchor (the checkpoint at the
 * new start, with its signature) and the deletions go in one commit, guarded
 * by an idempotency key per step, so two processes never prune twice from the
 * same place nor move the anchor backwards; the feed is trimmed after.
 *
 * Evidence: a record carries the digests of its envelopes (written with
 * them, in one commit), so its seal covers their bytes. Before sealing a
 * page, the sealer reads the envelopes of the records it is about to seal
 * (one batch) and compares them: an envelope missing, changed or added since
 * the record was written is logged as an error naming the seq, the record
 * and the envelope. The record is sealed all the same — its digests are the
 * ones computed from the bytes as received or sent, so verification reports
 * the mismatch for as long as it lasts.
 *
 * Records are never changed: the sealer only adds seals, checkpoints and the
 * head hint, and retention only removes.
 */
import type { Logger } from '../log.js';
import type { Signer } from '../pki/signer.js';
import { certificatesOf } from '../pki/swappable-signer.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { write } from '../store/collection.js';
import type { DocDelete, DocWrite, Store } from '../store/types.js';
import {
  ANCHOR,
  CHECKPOINTS,
  CURRENT,
  HEAD,
  SEAL_INDEX,
  SEALS,
  ZERO_HASH,
  chainHash,
  seqId,
  signChain,
  type Anchor,
  type Checkpoint,
  type Head,
  type Seal,
} from './chain.js';
import type { ArchiveStore } from './archive-store.js';
import { archiveRetention, archiveStep, type ArchiveStepResult } from './archiver.js';
import { checkEvidence, evidenceDeletes, evidenceIdsOf, readEvidence } from './evidence.js';
import { JOURNAL, type JournalRecord, recordTime } from './records.js';
import { verifyJournal } from './verify.js';

/** A checkpoint at every seq divisible by this (the same seqs in every process). */
export const CHECKPOINT_EVERY = 100;
const PAGE = 200;
/** Records removed per commit. */
const PRUNE_BATCH = 500;
const DAY_MS = 86_400_000;

export interface SealerOptions {
  store: Store;
  signer: Signer;
  trustAnchors?: TrustAnchorSet | null;
  logger?: Logger;
  /** 0 = keep forever. */
  retentionDays: number;
  now?: () => Date;
  /** How often the feed is polled for new records (default 1000 ms). */
  pollMs?: number;
  /** Longest time new seals wait for a checkpoint (default 5000 ms). */
  checkpointIntervalMs?: number;
  /** How often retention runs (default 1 hour). */
  pruneIntervalMs?: number;
  /**
   * The archive (archiver.ts): sealed records older than `hotHours` leave the store in segments,
   * looked for every `intervalMs`; retention then applies to the archive's segments instead of
   * removing records from the store. Without it, retention removes old records from the store.
   */
  archive?: { store: ArchiveStore; hotHours: number; intervalMs: number };
}

export interface SealResult {
  sealed: number;
  checkpoints: number;
  sealedUpTo: number;
}

export class JournalSealer {
  private readonly store: Store;
  private readonly signer: Signer;
  private readonly now: () => Date;
  private readonly log: Logger | undefined;
  /** In memory: the last seal this process wrote or adopted. */
  private cursor: { seq: number; hash: string } | null = null;
  private checkpointSeq = 0;
  private lastCheckpointAt = 0;
  private lastPruneAt = Number.NEGATIVE_INFINITY;
  private lastArchiveAt = Number.NEGATIVE_INFINITY;
  private archiveFailingSince: number | null = null;
  private readonly archiveStats = { segments: 0, records: 0, failures: 0 };
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private failingSince: number | null = null;
  private lastFailureLog = 0;

  constructor(private readonly options: SealerOptions) {
    this.store = options.store;
    this.signer = options.signer;
    this.now = options.now ?? (() => new Date());
    this.log = options.logger;
  }

  /** Starts the background loop (seal, checkpoint, prune). */
  start(): this {
    const poll = this.options.pollMs ?? 1000;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.serialized(() => this.round()).finally(() => {
        if (!this.stopped) this.schedule(tick, poll);
      });
    };
    this.schedule(tick, 0);
    return this;
  }

  private schedule(fn: () => void, ms: number): void {
    this.timer = setTimeout(fn, ms);
    // Never the reason a process stays alive: close() stops the sealer properly.
    this.timer.unref();
  }

  /** Stops the loop, then seals what is there and writes a final checkpoint (best effort). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    try {
      await this.sealNow({ checkpoint: true });
    } catch (error) {
      this.log?.warn({ err: error }, 'journal: could not seal on shutdown (the next start does)');
    }
  }

  /** One pass: seal everything there is; checkpoint when due (or when `checkpoint` is true and something is unsigned). */
  sealNow(options: { checkpoint?: boolean } = {}): Promise<SealResult> {
    return this.serialized(() => this.seal(options.checkpoint === true));
  }

  /** Retention now (regardless of the interval). Returns how many records were removed. */
  pruneNow(): Promise<number> {
    return this.serialized(() => this.prune());
  }

  /** For metrics: segments and records this process archived, failed rounds, and since when it fails (null: it does not). */
  archiveStatus(): { enabled: boolean; segments: number; records: number; failures: number; failingSince: number | null } {
    return { enabled: this.options.archive !== undefined, ...this.archiveStats, failingSince: this.archiveFailingSince };
  }

  /** Archives now (regardless of the interval): every segment that is due, then retention on the archive. */
  archiveNow(): Promise<ArchiveStepResult[]> {
    return this.serialized(() => this.archiveRound());
  }

  private async archiveRound(): Promise<ArchiveStepResult[]> {
    const archive = this.options.archive;
    if (!archive) return [];
    const deps = { store: this.store, archive: archive.store, signer: this.signer, trust: { gatewayCertificates: certificatesOf(this.signer), trustAnchors: this.options.trustAnchors ?? null }, now: this.now, ...(this.log ? { logger: this.log } : {}) };
    const cutoff = this.now().getTime() - archive.hotHours * 3_600_000;
    const results: ArchiveStepResult[] = [];
    try {
      // Bounded per round: a large backlog goes out over several rounds, not in one long stall of the sealer.
      for (let i = 0; i < 20; i++) {
        const r = await archiveStep(deps, cutoff);
        if (r.archived === 0) break;
        results.push(r);
        if (this.cursor && this.cursor.seq < (await this.anchor())!.seq) {
          const anchor = (await this.anchor())!;
          this.cursor = { seq: anchor.seq, hash: anchor.hash };
        }
      }
      if (this.options.retentionDays > 0) await archiveRetention(deps, this.now().getTime() - this.options.retentionDays * DAY_MS);
      if (this.archiveFailingSince !== null) this.log?.info({ failingSince: new Date(this.archiveFailingSince).toISOString() }, 'journal archive: writing segments again');
      this.archiveFailingSince = null;
      for (const r of results) {
        this.archiveStats.segments += 1;
        this.archiveStats.records += r.archived;
      }
    } catch (error) {
      // The archive store is unavailable: the records stay in the store, nothing is lost; the next round tries again.
      this.archiveStats.failures += 1;
      const now = Date.now();
      if (this.archiveFailingSince === null || now - this.lastFailureLog >= 60_000) {
        this.lastFailureLog = now;
        this.log?.warn({ error: (error as Error).message, archive: archive.store.where, failingSince: new Date(this.archiveFailingSince ?? now).toISOString() }, 'journal archive: cannot write to the archive; the records stay in the store');
      }
      this.archiveFailingSince ??= now;
    }
    return results;
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.running.catch(() => undefined).then(fn);
    this.running = result;
    return result;
  }

  private async round(): Promise<void> {
    try {
      await this.seal(false);
      const interval = this.options.pruneIntervalMs ?? 3_600_000;
      const archive = this.options.archive;
      if (archive) {
        if (this.now().getTime() - this.lastArchiveAt >= archive.intervalMs) {
          this.lastArchiveAt = this.now().getTime();
          await this.archiveRound();
        }
      } else if (this.options.retentionDays > 0 && this.now().getTime() - this.lastPruneAt >= interval) {
        this.lastPruneAt = this.now().getTime();
        await this.prune();
      }
      this.failingSince = null;
    } catch (error) {
      // The store is down, most likely: the next round tries again. One log line a minute, not one a second.
      const now = Date.now();
      if (this.failingSince === null || now - this.lastFailureLog >= 60_000) {
        this.lastFailureLog = now;
        this.log?.error({ err: error, failingSince: new Date(this.failingSince ?? now).toISOString() }, 'journal sealer round failed');
      }
      this.failingSince ??= now;
    }
  }

  private async anchor(): Promise<Anchor | null> {
    return this.store.getDoc(ANCHOR, CURRENT);
  }

  /** Where to go on from: this process's cursor, the stored head, or the anchor (whichever is furthest and checks out). */
  private async resume(): Promise<{ seq: number; hash: string }> {
    const anchor = await this.anchor();
    const base = anchor ? { seq: anchor.seq, hash: anchor.hash } : { seq: 0, hash: ZERO_HASH };
    // A Redis failover can roll the store back past what this process sealed (writes no replica had confirmed):
    // the cursor counts only while its seal is still there, else the records that now take those seqs would be skipped.
    if (this.cursor && this.cursor.seq > base.seq) {
      const seal = await this.store.getDoc(SEALS, seqId(this.cursor.seq));
      if (!seal || seal.hash !== this.cursor.hash) {
        this.log?.warn({ seq: this.cursor.seq }, 'journal: the last seal of this sealer is gone from the store (rolled back by a failover?); resuming from the stored head');
        this.cursor = null;
        this.checkpointSeq = 0;
      }
    }
    let from = this.cursor && this.cursor.seq >= base.seq ? this.cursor : base;
    if (!this.cursor) {
      const head = await this.store.getDoc(HEAD, CURRENT);
      if (head && head.seq > from.seq) {
        const seal = await this.store.getDoc(SEALS, seqId(head.seq));
        // The head is a hint: follow it only when the seal it names says the same.
        if (seal && seal.hash === head.hash) from = { seq: head.seq, hash: head.hash };
        this.checkpointSeq = Math.max(this.checkpointSeq, head.checkpointSeq ?? 0);
      }
    }
    return from;
  }

  private async seal(forceCheckpoint: boolean): Promise<SealResult> {
    let cursor = await this.resume();
    let sealed = 0;
    let checkpoints = 0;
    for (;;) {
      const entries = await this.store.readFeed(JOURNAL, cursor.seq, PAGE);
      if (entries.length === 0) break;
      const loaded = await Promise.all(
        entries.map(async (e) => ({
          entry: e,
          seal: await this.store.getDoc(SEALS, seqId(e.seq)),
          record: await this.store.getDoc(JOURNAL, e.id),
        })),
      );
      const envelopes = await readEvidence(this.store, loaded.flatMap((l) => (l.record && !l.seal && l.entry.seq > cursor.seq ? evidenceIdsOf(l.record) : [])));
      const docs: DocWrite[] = [];
      let stop = false;
      for (const { entry, seal, record } of loaded) {
        if (entry.seq <= cursor.seq) continue; // a repeated seq: verification reports it
        if (seal) {
          // Sealed already (by another process, or by us before a restart).
          if (seal.recordId !== entry.id) this.log?.error({ seq: entry.seq }, 'journal: the existing seal names another record (verification will report it)');
          cursor = { seq: entry.seq, hash: seal.hash };
          continue;
        }
        if (record === null) {
          const anchor = await this.anchor();
          if (anchor && entry.seq <= anchor.seq) {
            cursor = { seq: anchor.seq, hash: anchor.hash }; // pruned meanwhile by another process
            stop = true;
            break;
          }
          // Written in one commit with its feed entry, so it was removed: leave the gap for verification to report.
          this.log?.error({ seq: entry.seq, recordId: entry.id }, 'journal: record missing before it was sealed (removed?); not sealing it');
          continue;
        }
        for (const m of checkEvidence(record, envelopes)) {
          // Flagged, then sealed: the record's digests are the bytes as received or sent; verify reports the mismatch.
          this.log?.error(
            { seq: entry.seq, recordId: entry.id, envelope: m.envelope, evidenceId: m.evidenceId, mismatch: m.kind },
            `journal: the ${m.envelope} envelope of the record being sealed is ${m.kind === 'added' ? 'there although the record names none' : m.kind === 'undigested' ? 'without a digest' : m.kind} (verification will report it)`,
          );
        }
        const hash = chainHash(cursor.hash, entry.seq, record);
        const value: Seal = { seq: entry.seq, recordId: entry.id, prevHash: cursor.hash, hash };
        docs.push(
          write(SEALS, seqId(entry.seq), value, { ifAbsent: true }),
          write(SEAL_INDEX, entry.id, { seq: entry.seq }, { ifAbsent: true }),
        );
        cursor = { seq: entry.seq, hash };
        sealed += 1;
        if (entry.seq % CHECKPOINT_EVERY === 0) {
          docs.push(await this.checkpointDoc(cursor.seq, entry.id, hash));
          checkpoints += 1;
        }
      }
      if (docs.length > 0) await this.store.commit({ docs });
      this.cursor = cursor;
      if (stop || entries.length < PAGE) break;
    }
    const due = forceCheckpoint || this.now().getTime() - this.lastCheckpointAt >= (this.options.checkpointIntervalMs ?? 5000);
    if (cursor.seq > this.checkpointSeq && due) {
      const seal = await this.store.getDoc(SEALS, seqId(cursor.seq));
      if (seal && seal.hash === cursor.hash) {
        await this.store.commit({ docs: [await this.checkpointDoc(cursor.seq, seal.recordId, cursor.hash)] });
        checkpoints += 1;
      }
    }
    if (sealed > 0 || checkpoints > 0) {
      const head: Head = { seq: cursor.seq, hash: cursor.hash, checkpointSeq: this.checkpointSeq };
      await this.store.commit({ docs: [write(HEAD, CURRENT, head)] });
    }
    this.cursor = cursor;
    return { sealed, checkpoints, sealedUpTo: cursor.seq };
  }

  private async checkpointDoc(seq: number, recordId: string, hash: string): Promise<DocWrite> {
    const at = this.now();
    const checkpoint: Checkpoint = { seq, recordId, hash, ...(await signChain(this.signer, seq, hash, at)) };
    this.checkpointSeq = Math.max(this.checkpointSeq, seq);
    this.lastCheckpointAt = at.getTime();
    // Logged too: log shipping keeps a copy of the chain's hashes outside the store.
    this.log?.info({ journalCheckpoint: { seq, hash } }, 'journal checkpoint');
    return write(CHECKPOINTS, seqId(seq), checkpoint, { ifAbsent: true });
  }

  private async prune(): Promise<number> {
    const days = this.options.retentionDays;
    if (days <= 0) return 0;
    const cutoff = this.now().getTime() - days * DAY_MS;
    let removed = 0;
    for (let round = 0; round < 100; round++) {
      const n = await this.pruneStep(cutoff);
      if (n === 0) break;
      removed += n;
    }
    return removed;
  }

  /** Removes one batch of old records up to a checkpoint; 0 when there is nothing (more) to remove. */
  private async pruneStep(cutoff: number): Promise<number> {
    const anchor = await this.anchor();
    const from = anchor?.seq ?? 0;
    const entries = await this.store.readFeed(JOURNAL, from, PRUNE_BATCH);
    // The prefix of old, sealed records; cut back to the last checkpoint in it.
    const chosen: Array<{ seq: number; id: string; record: JournalRecord | null }> = [];
    let end: Checkpoint | null = null;
    for (const entry of entries) {
      const record = await this.store.getDoc(JOURNAL, entry.id);
      const t = record ? recordTime(record) : null;
      if (t === null || t >= cutoff) break;
      const checkpoint = await this.store.getDoc(CHECKPOINTS, seqId(entry.seq));
      chosen.push({ seq: entry.seq, id: entry.id, record });
      if (checkpoint) end = checkpoint;
    }
    if (!end) return 0;
    const upTo = end.seq;
    const batch = chosen.filter((c) => c.seq <= upTo);
    const report = await verifyJournal(this.store, {
      gatewayCertificates: certificatesOf(this.signer),
      trustAnchors: this.options.trustAnchors ?? null,
      upTo,
      now: this.now(),
      maxProblems: 10,
    });
    if (!report.ok || report.checkpointedUpTo < upTo) {
      this.log?.error({ upTo, problems: report.problems }, 'journal retention: not removing old records, the chain up to them does not verify (run `okno journal verify`)');
      return 0;
    }
    const deletes: DocDelete[] = [];
    for (const c of batch) {
      deletes.push({ collection: JOURNAL, id: c.id }, { collection: SEALS, id: seqId(c.seq) }, { collection: CHECKPOINTS, id: seqId(c.seq) }, { collection: SEAL_INDEX, id: c.id });
      if (c.record?.evidence?.request) deletes.push(...evidenceDeletes(c.record.evidence.request));
      if (c.record?.evidence?.response) deletes.push(...evidenceDeletes(c.record.evidence.response));
    }
    const at = this.now();
    const next: Anchor = {
      seq: end.seq,
      hash: end.hash,
      recordId: end.recordId,
      prunedAt: at.toISOString(),
      signedAt: end.signedAt,
      signature: end.signature,
      algorithm: end.algorithm,
      certificate: end.certificate,
    };
    const result = await this.store.commit({
      // One step from one anchor, once: a second process (or a stale one) gets applied: false.
      idempotency: { key: `okno-journal-prune:${seqId(from)}`, record: { digest: seqId(end.seq), result: null, createdAt: at.getTime() } },
      docs: [write(ANCHOR, CURRENT, next)],
      deletes,
    });
    if (!result.applied) return 0;
    await this.store.trimFeed(JOURNAL, end.seq);
    if (this.cursor && this.cursor.seq < end.seq) this.cursor = { seq: end.seq, hash: end.hash };
    this.log?.info({ journalAnchor: { seq: end.seq, hash: end.hash }, removed: batch.length }, 'journal retention: old records removed');
    return batch.length;
  }
}

export function startJournalSealer(options: SealerOptions): JournalSealer {
  return new JournalSealer(options).start();
}
