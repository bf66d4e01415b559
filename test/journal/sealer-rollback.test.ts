/**
 * A Redis failover can roll the store back past what a running sealer sealed:
 * writes the old primary took but no replica confirmed are gone, and the
 * journal's next records take the same seqs again. The sealer must notice
 * that its last seal is gone and resume from what the store holds, instead of
 * skipping the new records (and chaining the next seal to a hash that no
 * longer exists). Found by test/ha/failover-chaos.test.ts (journal verify
 * problems after a failover onto a node that had not caught up).
 */
import { afterAll, expect, it } from 'vitest';
import { CHECKPOINTS, CURRENT, HEAD, SEAL_INDEX, SEALS, seqId } from '../../src/journal/chain.js';
import { JOURNAL } from '../../src/journal/records.js';
import type { FeedEntry } from '../../src/store/types.js';
import { feed, startJournalGateway, writeRecord, type JournalGateway } from './helpers.js';

let gw: JournalGateway | null = null;
afterAll(async () => {
  await gw?.close();
});

it('a sealer whose last seals were rolled back (failover) seals the records that take those seqs again; the chain verifies', async () => {
  gw = await startJournalGateway('memory', null);
  const { store, tamper } = gw;
  for (let i = 0; i < 3; i++) await writeRecord(store);
  const sealer = gw.sealer();
  expect((await sealer.sealNow()).sealedUpTo).toBe(3);

  // The failover: seqs 2 and 3 (records, feed entries, seals, head, checkpoints) never reached the promoted replica.
  const journalFeed = (store as unknown as { feeds: Map<string, { seq: number; entries: FeedEntry[] }> }).feeds.get(JOURNAL)!;
  for (const entry of (await feed(store)).filter((e) => e.seq >= 2)) {
    await tamper.removeFeedEntry(entry.seq);
    for (const [collection, id] of [[JOURNAL, entry.id], [SEALS, seqId(entry.seq)], [SEAL_INDEX, entry.id], [CHECKPOINTS, seqId(entry.seq)]] as const) await tamper.deleteDoc(collection, id);
  }
  await tamper.deleteDoc(HEAD, CURRENT);
  journalFeed.seq = 1;

  // New records take seqs 2, 3 and 4.
  for (let i = 0; i < 3; i++) await writeRecord(store);
  expect((await feed(store)).map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  expect((await sealer.sealNow({ checkpoint: true })).sealedUpTo).toBe(4);
  const report = await gw.verify();
  expect(report.problems).toEqual([]);
  expect(report).toMatchObject({ ok: true, checked: 4, sealedUpTo: 4, unsealed: 0 });
});
