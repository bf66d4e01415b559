/**
 * The journal's hash chain through a real gateway, on both stores: messages
 * (accepted and refused) are sealed by the gateway's own sealer and verify
 * intact; then the store is tampered with behind the gateway's back — a
 * changed record, a removed one, an inserted one with a forged seal, history
 * re-sealed after a change, a checkpoint signed with someone else's key —
 * and each is reported at the right seq. Retention removes old records up to
 * a checkpoint, writes the anchor, and the rest still verifies.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { ANCHOR, canonicalJson, chainHash, CHECKPOINTS, CURRENT, SEAL_INDEX, SEALS, seqId, signChain, ZERO_HASH, type Anchor, type Checkpoint } from '../../src/journal/chain.js';
import { EVIDENCE, JOURNAL } from '../../src/journal/records.js';
import type { JsonValue } from '../../src/store/types.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { sampleSigner } from '../helpers/smev.js';
import { checkpointSeqs, eventually, feed, record, seal, startJournalGateway, submit, writeRecord, type JournalGateway, type Kind } from './helpers.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

describe('JOURNAL_RETENTION_DAYS', () => {
  it('defaults to 365, 0 keeps forever, anything else is refused naming the variable', () => {
    expect(loadConfig({}).journalRetentionDays).toBe(365);
    expect(loadConfig({ JOURNAL_RETENTION_DAYS: '0' }).journalRetentionDays).toBe(0);
    expect(loadConfig({ JOURNAL_RETENTION_DAYS: '30' }).journalRetentionDays).toBe(30);
    for (const bad of ['-1', 'forever', '1.5', '36501']) {
      expect(() => loadConfig({ JOURNAL_RETENTION_DAYS: bad })).toThrow(/JOURNAL_RETENTION_DAYS: must be a whole number from 0 to 36500/);
    }
  });
});

describe('canonical JSON and the chain hash', () => {
  it('sorts keys at every level, no whitespace, same text for the same value', () => {
    expect(canonicalJson({ b: 1, a: [true, null, { d: 'x', c: 1.5 }], 'ä': '"' })).toBe('{"a":[true,null,{"c":1.5,"d":"x"}],"b":1,"ä":"\\""}');
    expect(canonicalJson({ a: 1, b: 2 })).toBe(canonicalJson({ b: 2, a: 1 }));
  });

  it('binds the previous hash, the seq and the record', () => {
    const h = chainHash(ZERO_HASH, 1, { x: 1 });
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(chainHash(ZERO_HASH, 2, { x: 1 })).not.toBe(h);
    expect(chainHash('1'.repeat(64), 1, { x: 1 })).not.toBe(h);
    expect(chainHash(ZERO_HASH, 1, { x: 2 })).not.toBe(h);
  });
});

describe.each<Kind>(['memory', 'redis'])('journal chain (%s store)', (kind) => {
  const open: JournalGateway[] = [];
  async function gateway(env: Record<string, string> = {}): Promise<JournalGateway> {
    const gw = await startJournalGateway(kind, redis.url, env);
    open.push(gw);
    return gw;
  }
  afterEach(async () => {
    for (const gw of open.splice(0)) await gw.close();
  });

  /** A gateway with `accepted` accepted and `refused` refused messages, all sealed and checkpointed. */
  async function journalOf(accepted: number, refused: number): Promise<JournalGateway> {
    const gw = await gateway();
    for (let i = 0; i < accepted; i++) await submit(gw);
    for (let i = 0; i < refused; i++) await submit(gw, { refused: true });
    await gw.sealer().sealNow({ checkpoint: true });
    const report = await gw.verify();
    expect(report).toMatchObject({ ok: true, checked: accepted + refused, sealedUpTo: accepted + refused, checkpointedUpTo: accepted + refused, unsealed: 0, problems: [] });
    return gw;
  }

  it("the gateway's own sealer seals accepted and refused messages; verify says intact", async () => {
    const gw = await gateway();
    await submit(gw);
    await submit(gw, { refused: true });
    await submit(gw);
    const entries = await feed(gw.store);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect((await record(gw.store, entries[1]!.id)).succeeded).toBe(false);
    const report = await eventually(async () => {
      const r = await gw.verify();
      expect(r).toMatchObject({ ok: true, checked: 3, sealedUpTo: 3, unsealed: 0 });
      return r;
    });
    expect(report.problems).toEqual([]);
    // Each seal links to the previous one, from 64 zeros.
    const s1 = await seal(gw.store, 1);
    const s2 = await seal(gw.store, 2);
    expect(s1).toMatchObject({ seq: 1, recordId: entries[0]!.id, prevHash: ZERO_HASH });
    expect(s2!.prevHash).toBe(s1!.hash);
    expect(s1!.hash).toBe(chainHash(ZERO_HASH, 1, (await record(gw.store, entries[0]!.id)) as unknown as JsonValue));
    // The sealer checkpoints within seconds, signed with the gateway's key.
    await eventually(async () => expect((await gw.verify()).checkpointedUpTo).toBe(3));
    const checkpoint = (await gw.store.getDoc(CHECKPOINTS, seqId(3))) as unknown as Checkpoint;
    expect(checkpoint).toMatchObject({ seq: 3, hash: (await seal(gw.store, 3))!.hash, certificate: gw.gateway.signer.certificate.der.toString('base64') });
  });

  it('two sealers at once write the same seals', async () => {
    const gw = await gateway();
    for (let i = 0; i < 4; i++) await submit(gw);
    const [a, b] = [gw.sealer(), gw.sealer()];
    await Promise.all([a.sealNow(), b.sealNow(), a.sealNow({ checkpoint: true })]);
    expect(await gw.verify()).toMatchObject({ ok: true, sealedUpTo: 4, unsealed: 0 });
  });

  it('a record not sealed yet is counted as unsealed, not a problem', async () => {
    const gw = await journalOf(2, 0);
    await writeRecord(gw.store);
    const report = await gw.verify();
    // The gateway's sealer may already have it; either way it is intact.
    expect(report.ok).toBe(true);
    expect(report.sealedUpTo + report.unsealed).toBe(3);
  });

  it('a changed record is detected at its seq', async () => {
    const gw = await journalOf(3, 2);
    const entries = await feed(gw.store);
    const target = entries[3]!; // a refused message
    const r = await record(gw.store, target.id);
    await gw.tamper.setDoc(JOURNAL, target.id, { ...r, faultString: 'nothing to see here' } as unknown as JsonValue);
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ seq: 4, recordId: target.id, problem: 'the record was changed after it was sealed (hash mismatch)' }]);
  });

  it('a removed record (document, seal and feed entry) is detected at its seq', async () => {
    const gw = await journalOf(5, 0);
    const entries = await feed(gw.store);
    const target = entries[2]!;
    await gw.tamper.deleteDoc(JOURNAL, target.id);
    await gw.tamper.deleteDoc(SEALS, seqId(3));
    await gw.tamper.removeFeedEntry(3);
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ seq: 3, recordId: null, problem: 'record 3 is missing from the journal (removed)' }]);
  });

  it('a removed record document (feed entry left) is detected at its seq', async () => {
    const gw = await journalOf(3, 0);
    const target = (await feed(gw.store))[1]!;
    await gw.tamper.deleteDoc(JOURNAL, target.id);
    const report = await gw.verify();
    expect(report.problems).toEqual([{ seq: 2, recordId: target.id, problem: 'the record is missing (its feed entry points to nothing: removed)' }]);
  });

  it('the last records removed from the end are detected (the head and the checkpoint remember them)', async () => {
    const gw = await journalOf(4, 0);
    for (const e of (await feed(gw.store)).slice(2)) {
      await gw.tamper.deleteDoc(JOURNAL, e.id);
      await gw.tamper.removeFeedEntry(e.seq);
    }
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ seq: 3 });
    expect(report.problems.map((p) => p.problem).join('\n')).toMatch(/removed from the end|feed entry does not/);
  });

  it('an inserted record with a forged seal is detected at its seq', async () => {
    const gw = await journalOf(4, 0);
    const before = await seal(gw.store, 2);
    // The attacker writes a record, puts it at seq 3 and seals it correctly after seal 2.
    const forgedId = '00000000-0000-4000-8000-00000000f0f0';
    const original = await record(gw.store, (await feed(gw.store))[2]!.id);
    const forged = { ...original, id: forgedId, messageId: 'forged', applicationId: 'forged' };
    await gw.tamper.setDoc(JOURNAL, forgedId, forged as unknown as JsonValue);
    await gw.tamper.addFeedEntry(3, forgedId);
    await gw.tamper.setDoc(SEALS, seqId(3), { seq: 3, recordId: forgedId, prevHash: before!.hash, hash: chainHash(before!.hash, 3, forged as unknown as JsonValue) });
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    const at3 = report.problems.filter((p) => p.seq === 3);
    expect(at3.length).toBeGreaterThan(0);
    // Whichever of the two seq-3 entries comes first, the other is a second entry with the same seq, and the real record no longer fits seal 3.
    expect(at3.map((p) => p.problem).join('\n')).toMatch(/a second feed entry with seq 3 \(an inserted record\)/);
    // …and the chain no longer fits: the real record at 3 is not the sealed one, or seal 4 does not link to the forged seal 3.
    expect(report.problems.map((p) => p.problem).join('\n')).toMatch(/record replaced or inserted|the chain is broken/);
    expect(report.problems.every((p) => p.seq === 3 || p.seq === 4)).toBe(true);
  });

  it('history changed and re-sealed is caught by the next signed checkpoint', async () => {
    const gw = await journalOf(6, 1);
    const entries = await feed(gw.store);
    // Change record 3, then recompute every seal from 3 on: seals alone now look perfect.
    const changed = { ...(await record(gw.store, entries[2]!.id)), registrationNumber: 'REWRITTEN' };
    await gw.tamper.setDoc(JOURNAL, entries[2]!.id, changed as unknown as JsonValue);
    let prev = (await seal(gw.store, 2))!.hash;
    for (const e of entries.slice(2)) {
      const hash = chainHash(prev, e.seq, (await gw.store.getDoc(JOURNAL, e.id))!);
      await gw.tamper.setDoc(SEALS, seqId(e.seq), { seq: e.seq, recordId: e.id, prevHash: prev, hash });
      prev = hash;
    }
    const checkpointsAfter = (await checkpointSeqs(gw.store, 7)).filter((s) => s >= 3);
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    // Every checkpoint from the change on disagrees (and nothing else is visible).
    expect(report.problems.map((p) => p.seq)).toEqual(checkpointsAfter);
    for (const p of report.problems) expect(p.problem).toMatch(/^the signed checkpoint does not match the chain: records \d+–\d+ were changed or removed and the chain re-sealed$/);
    expect(report.problems[0]!.problem).toContain(`–${checkpointsAfter[0]} `);
  });

  it("a re-sealed chain with checkpoints re-signed by a partner's key is still caught", async () => {
    const gw = await journalOf(3, 0);
    const entries = await feed(gw.store);
    const changed = { ...(await record(gw.store, entries[0]!.id)), partner: 'someone-else' };
    await gw.tamper.setDoc(JOURNAL, entries[0]!.id, changed as unknown as JsonValue);
    let prev = ZERO_HASH;
    const portal = sampleSigner('portal'); // chains to the same CA as the gateway's certificate
    for (const e of entries) {
      const hash = chainHash(prev, e.seq, (await gw.store.getDoc(JOURNAL, e.id))!);
      await gw.tamper.setDoc(SEALS, seqId(e.seq), { seq: e.seq, recordId: e.id, prevHash: prev, hash });
      if (await gw.store.getDoc(CHECKPOINTS, seqId(e.seq))) {
        const forged = { seq: e.seq, recordId: e.id, hash, ...(await signChain(portal, e.seq, hash, new Date())) };
        await gw.tamper.setDoc(CHECKPOINTS, seqId(e.seq), forged as unknown as JsonValue);
      }
      prev = hash;
    }
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems.length).toBeGreaterThan(0);
    for (const p of report.problems) expect(p.problem).toMatch(/^checkpoint: signed by "[^"]*CN=portal" \(sha256 [0-9a-f]{16}…\), which is not the gateway's certificate$/);
  });

  it('a checkpoint whose signature was tampered with is reported', async () => {
    const gw = await journalOf(2, 0);
    const checkpoint = (await gw.store.getDoc(CHECKPOINTS, seqId(2))) as unknown as Checkpoint;
    await gw.tamper.setDoc(CHECKPOINTS, seqId(2), { ...checkpoint, hash: '1'.repeat(64) } as unknown as JsonValue);
    const report = await gw.verify();
    expect(report.problems).toEqual([{ seq: 2, recordId: checkpoint.recordId, problem: 'checkpoint: the signature does not verify (forged, or seq/hash changed)' }]);
  });

  it('a removed seal in the middle is reported', async () => {
    const gw = await journalOf(3, 0);
    const target = (await feed(gw.store))[1]!;
    await gw.tamper.deleteDoc(SEALS, seqId(2));
    const report = await gw.verify();
    expect(report.problems).toEqual([{ seq: 2, recordId: target.id, problem: 'not sealed although later records are (its seal was removed)' }]);
  });

  describe('retention', () => {
    const DAY = 86_400_000;

    async function withOldRecords(old: number, recent: number): Promise<{ gw: JournalGateway; ids: string[] }> {
      // JOURNAL_RETENTION_DAYS=0: the gateway's own sealer keeps everything; the test's sealer prunes.
      const gw = await gateway({ JOURNAL_RETENTION_DAYS: '0' });
      const ids: string[] = [];
      const longAgo = new Date(Date.now() - 100 * DAY).toISOString();
      for (let i = 0; i < old; i++) ids.push(await writeRecord(gw.store, { requestInTs: longAgo, responseOutTs: longAgo }, `<old n="${i}"/>`, '<reply/>'));
      for (let i = 0; i < recent; i++) await submit(gw);
      await gw.sealer().sealNow({ checkpoint: true });
      expect((await gw.verify()).ok).toBe(true);
      return { gw, ids };
    }

    it('removes sealed records older than the retention up to a checkpoint, writes the anchor, and the rest verifies', async () => {
      const { gw, ids } = await withOldRecords(150, 3);
      const checkpoints = await checkpointSeqs(gw.store, 150);
      expect(checkpoints).toContain(100); // one every 100 seqs (and time-based ones by the gateway's sealer)
      // Removal stops at the last checkpoint among the old records.
      const cut = Math.max(...checkpoints);
      const sealer = gw.sealer({ retentionDays: 30 });
      expect(await sealer.pruneNow()).toBe(cut);

      const anchor = (await gw.store.getDoc(ANCHOR, CURRENT)) as unknown as Anchor;
      expect(anchor).toMatchObject({ seq: cut, recordId: ids[cut - 1] });
      expect((await feed(gw.store))[0]!.seq).toBe(cut + 1);
      expect((await seal(gw.store, cut + 1))!.prevHash).toBe(anchor.hash);
      // Records, their evidence, seals, index entries and checkpoints are gone; the rest stays.
      for (const [i, id] of ids.entries()) {
        const gone = i < cut;
        expect(await gw.store.getDoc(JOURNAL, id) === null).toBe(gone);
        expect(await gw.store.getBlob(EVIDENCE, `${id}.request`) === null).toBe(gone);
        expect(await gw.store.getDoc(SEAL_INDEX, id) === null).toBe(gone);
        expect(await gw.store.getDoc(SEALS, seqId(i + 1)) === null).toBe(gone);
      }
      expect(await gw.store.getDoc(CHECKPOINTS, seqId(100))).toBeNull();

      const report = await gw.verify();
      expect(report).toMatchObject({ ok: true, checked: 153 - cut, anchor: { seq: cut, hash: anchor.hash } });
      // Again: nothing more to remove up to a checkpoint; new records seal on from the anchor.
      expect(await sealer.pruneNow()).toBe(0);
      await submit(gw);
      await gw.sealer().sealNow({ checkpoint: true });
      expect(await gw.verify()).toMatchObject({ ok: true, checked: 154 - cut, sealedUpTo: 154 });
      // The retention anchor can't be forged: a changed hash breaks its signature.
      await gw.tamper.setDoc(ANCHOR, CURRENT, { ...anchor, hash: '2'.repeat(64) } as unknown as JsonValue);
      const forged = await gw.verify();
      expect(forged.ok).toBe(false);
      expect(forged.problems[0]).toMatchObject({ seq: cut, problem: 'retention anchor: the signature does not verify (forged, or seq/hash changed)' });
    });

    it('a fake clock moves records past the retention; two pruners at once remove them once', async () => {
      const { gw } = await withOldRecords(0, 4);
      const later = new Date(Date.now() + 40 * DAY);
      const [a, b] = [gw.sealer({ retentionDays: 30, now: () => later }), gw.sealer({ retentionDays: 30, now: () => later })];
      const removed = await Promise.all([a.pruneNow(), b.pruneNow()]);
      expect(removed.reduce((x, y) => x + y, 0)).toBe(4);
      expect(await feed(gw.store)).toEqual([]);
      expect(await gw.verify()).toMatchObject({ ok: true, checked: 0, anchor: { seq: 4 } });
      await submit(gw);
      await gw.sealer().sealNow({ checkpoint: true });
      expect(await gw.verify()).toMatchObject({ ok: true, checked: 1, sealedUpTo: 5 });
      // Within the retention: nothing goes.
      expect(await gw.sealer({ retentionDays: 30 }).pruneNow()).toBe(0);
    });

    it('refuses to remove records whose chain does not verify (that would erase the evidence)', async () => {
      const { gw, ids } = await withOldRecords(120, 0);
      const r = await record(gw.store, ids[49]!);
      await gw.tamper.setDoc(JOURNAL, ids[49]!, { ...r, succeeded: !r.succeeded } as unknown as JsonValue);
      expect(await gw.sealer({ retentionDays: 30 }).pruneNow()).toBe(0);
      expect(await gw.store.getDoc(ANCHOR, CURRENT)).toBeNull();
      expect((await gw.verify()).problems).toEqual([{ seq: 50, recordId: ids[49], problem: 'the record was changed after it was sealed (hash mismatch)' }]);
    });
  });
});
