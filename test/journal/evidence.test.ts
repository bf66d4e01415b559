/**
 * The chain covers the evidence, on both stores: each record carries the
 * SHA-256 of each envelope's bytes as received or sent (written in the same
 * commit, so the seal covers them), and verification recomputes them from the
 * stored bytes. A changed, swapped, removed or added envelope is one problem
 * naming the seq, the record and the envelope; a changed digest breaks the
 * chain; records written by an older build (no digests) still verify, with a
 * warning that their bytes are not covered. The sealer flags an envelope
 * that no longer fits before it seals the record.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { evidenceDigest, legacyEvidenceBytes, readEvidence } from '../../src/journal/evidence.js';
import { EVIDENCE, JOURNAL, journalWrites, type JournalRecord } from '../../src/journal/records.js';
import { JournalSealer } from '../../src/journal/sealer.js';
import { verifyJournal } from '../../src/journal/verify.js';
import { createStore } from '../../src/store/index.js';
import type { JsonValue, Store } from '../../src/store/types.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { sampleSigner } from '../helpers/smev.js';
import { feed, record, startJournalGateway, submit, writeRecord, type JournalGateway, type Kind } from './helpers.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

describe('evidence digests', () => {
  it("are SHA-256 of the envelope's bytes as received or sent, not of the store's encoding", () => {
    const hostile = Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x00, 0x3c, 0x2f, 0x61, 0x3e]);
    const w = journalWrites(
      { correlationId: 'c', direction: 'inbound', operation: 'SendRequest', partner: null, service: null, messageId: null, requestInTs: null, requestOutTs: null, responseInTs: null, responseOutTs: null, requestSize: 10, responseSize: 5, succeeded: false, faultCode: null, faultString: null, duplicate: false, signature: null, applicationId: null, registrationNumber: null },
      hostile,
      'ответ',
    );
    const rec = w.docs.find((d) => d.collection === JOURNAL)!.value as unknown as JournalRecord;
    expect(rec.evidenceSha256).toEqual({ request: sha256(hostile), response: sha256(Buffer.from('ответ', 'utf8')) });
    // Kept as bytes (a blob), not as a document: what is stored is what is hashed.
    expect(w.docs.map((d) => d.collection)).toEqual([JOURNAL]);
    const stored = w.blobs.find((b) => b.id === rec.evidence.request)!;
    expect(stored.collection).toBe(EVIDENCE);
    expect(Buffer.from(stored.bytes).equals(hostile)).toBe(true);
    expect(evidenceDigest(Buffer.from(stored.bytes))).toBe(rec.evidenceSha256!.request);
    expect(Buffer.from(w.blobs.find((b) => b.id === rec.evidence.response)!.bytes).toString('utf8')).toBe('ответ');
  });

  it('a legacy evidence document (builds before issue 26) gives the same bytes back', () => {
    const hostile = Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0xfe, 0x00]);
    expect(legacyEvidenceBytes({ encoding: 'base64', text: hostile.toString('base64') })!.equals(hostile)).toBe(true);
    expect(legacyEvidenceBytes({ encoding: 'utf8', text: 'ответ' })!.toString('utf8')).toBe('ответ');
    expect(legacyEvidenceBytes({ text: 42 } as unknown as JsonValue)).toBeNull();
    expect(legacyEvidenceBytes(null)).toBeNull();
  });
});

describe.each<Kind>(['memory', 'redis'])('the chain covers the evidence (%s store)', (kind) => {
  const open: JournalGateway[] = [];
  afterEach(async () => {
    for (const gw of open.splice(0)) await gw.close();
  });

  /** A gateway with 2 accepted and 1 refused message, sealed; verify says intact with 6 envelopes checked. */
  async function journal(): Promise<{ gw: JournalGateway; ids: string[] }> {
    const gw = await startJournalGateway(kind, redis.url);
    open.push(gw);
    await submit(gw);
    await submit(gw, { refused: true });
    await submit(gw);
    await gw.sealer().sealNow({ checkpoint: true });
    expect(await gw.verify()).toMatchObject({ ok: true, checked: 3, evidence: { envelopes: 6, uncoveredRecords: 0 }, problems: [] });
    return { gw, ids: (await feed(gw.store)).map((e) => e.id) };
  }

  async function envelope(gw: JournalGateway, id: string): Promise<string> {
    return (await gw.store.getBlob(EVIDENCE, id))!.toString('utf8');
  }

  it('a byte changed in a stored envelope is found: seq, record, envelope', async () => {
    const { gw, ids } = await journal();
    const id = ids[1]!; // the refused message
    const rec = await record(gw.store, id);
    const stored = await envelope(gw, `${id}.request`);
    expect(sha256(Buffer.from(stored, 'utf8'))).toBe(rec.evidenceSha256!.request);
    // One byte: the first digit in the text becomes another.
    const at = stored.search(/[0-8]/);
    const changed = stored.slice(0, at) + String(Number(stored[at]) + 1) + stored.slice(at + 1);
    await gw.tamper.setBlob(EVIDENCE, `${id}.request`, changed);
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      {
        seq: 2,
        recordId: id,
        envelope: 'request',
        problem: `the request envelope (evidence ${id}.request) was changed after it was journaled (sha256 ${sha256(Buffer.from(changed, 'utf8')).slice(0, 16)}…, the sealed record says ${rec.evidenceSha256!.request!.slice(0, 16)}…)`,
      },
    ]);
    // The record itself and its seal are untouched: only the envelope is named.
    await gw.tamper.setBlob(EVIDENCE, `${id}.request`, stored);
    expect((await gw.verify()).ok).toBe(true);
  });

  it('two records’ envelopes swapped are found on both records, each naming the other', async () => {
    const { gw, ids } = await journal();
    const [a, b] = [ids[0]!, ids[2]!];
    const [ea, eb] = [await envelope(gw, `${a}.request`), await envelope(gw, `${b}.request`)];
    await gw.tamper.setBlob(EVIDENCE, `${a}.request`, eb);
    await gw.tamper.setBlob(EVIDENCE, `${b}.request`, ea);
    const report = await gw.verify();
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { seq: 1, recordId: a, envelope: 'request', problem: `the request envelope (evidence ${a}.request) was swapped with the request envelope of record ${b} (seq 3)` },
      { seq: 3, recordId: b, envelope: 'request', problem: `the request envelope (evidence ${b}.request) was swapped with the request envelope of record ${a} (seq 1)` },
    ]);
  });

  it("one record's request and reply exchanged are found as swapped", async () => {
    const { gw, ids } = await journal();
    const id = ids[0]!;
    const [req, res] = [await envelope(gw, `${id}.request`), await envelope(gw, `${id}.response`)];
    await gw.tamper.setBlob(EVIDENCE, `${id}.request`, res);
    await gw.tamper.setBlob(EVIDENCE, `${id}.response`, req);
    expect((await gw.verify()).problems).toEqual([
      { seq: 1, recordId: id, envelope: 'request', problem: `the request envelope (evidence ${id}.request) was swapped with this record's response envelope` },
      { seq: 1, recordId: id, envelope: 'response', problem: `the response envelope (evidence ${id}.response) was swapped with this record's request envelope` },
    ]);
  });

  it('a removed envelope is found', async () => {
    const { gw, ids } = await journal();
    const id = ids[2]!;
    await gw.tamper.deleteBlob(EVIDENCE, `${id}.response`);
    expect((await gw.verify()).problems).toEqual([{ seq: 3, recordId: id, envelope: 'response', problem: `the response envelope (evidence ${id}.response) is missing (removed)` }]);
  });

  it('an added envelope (one the record does not name) is found', async () => {
    const { gw, ids } = await journal();
    // A record journaled with its request only (e.g. an answer that was not a reply).
    const lone = await writeRecord(gw.store, {}, '<request/>', null);
    await gw.sealer().sealNow({ checkpoint: true });
    expect((await record(gw.store, lone)).evidence.response).toBeNull();
    expect((await gw.verify()).ok).toBe(true);
    await gw.tamper.setBlob(EVIDENCE, `${lone}.response`, '<forged-reply/>');
    const added = [{ seq: 4, recordId: lone, envelope: 'response', problem: `an envelope ${lone}.response (response envelope) is stored that the record does not name (added)` }];
    expect((await gw.verify()).problems).toEqual(added);
    // The same as a legacy document (an older build's form of it) is found the same way.
    await gw.tamper.deleteBlob(EVIDENCE, `${lone}.response`);
    await gw.tamper.setDoc(EVIDENCE, `${lone}.response`, { encoding: 'utf8', text: '<forged-reply/>' });
    expect((await gw.verify()).problems).toEqual(added);
    expect(ids).toHaveLength(3);
  });

  it("a digest changed to fit a changed envelope breaks the record's seal", async () => {
    const { gw, ids } = await journal();
    const id = ids[0]!;
    const rec = await record(gw.store, id);
    const forged = '<forged/>';
    await gw.tamper.setBlob(EVIDENCE, `${id}.request`, forged);
    await gw.tamper.setDoc(JOURNAL, id, { ...rec, evidenceSha256: { ...rec.evidenceSha256!, request: sha256(forged) } } as unknown as JsonValue);
    expect((await gw.verify()).problems).toEqual([{ seq: 1, recordId: id, problem: 'the record was changed after it was sealed (hash mismatch)' }]);
    // Dropping the digests (to pass as an older build's record) breaks it the same way.
    const { evidenceSha256: _dropped, ...older } = rec;
    await gw.tamper.setDoc(JOURNAL, id, older as unknown as JsonValue);
    expect((await gw.verify()).problems).toEqual([{ seq: 1, recordId: id, problem: 'the record was changed after it was sealed (hash mismatch)' }]);
  });

  it("records from an older build (no digests) still verify, with a warning that their bytes are not covered", async () => {
    const gw = await startJournalGateway(kind, redis.url, { JOURNAL_RETENTION_DAYS: '0' });
    open.push(gw);
    await submit(gw);
    // As the build before evidence digests wrote them: the same record without `evidenceSha256`.
    const w = journalWrites(
      { correlationId: 'old', direction: 'inbound', operation: 'SendRequest', partner: 'portal', service: null, messageId: null, requestInTs: new Date().toISOString(), requestOutTs: null, responseInTs: null, responseOutTs: null, requestSize: 9, responseSize: 10, succeeded: true, faultCode: null, faultString: null, duplicate: false, signature: null, applicationId: null, registrationNumber: null },
      '<request/>',
      '<response/>',
    );
    // …and their envelopes as JSON documents (`{ encoding, text }`), as builds before issue 26 kept them.
    const docs = w.docs.map((d) => {
      const { evidenceSha256: _none, ...older } = d.value as unknown as JournalRecord;
      return { ...d, value: older as unknown as JsonValue };
    });
    const legacy = w.blobs.map((b) => ({ collection: EVIDENCE, id: b.id, value: { encoding: 'utf8', text: Buffer.from(b.bytes).toString('utf8') } }));
    await gw.store.commit({ docs: [...docs, ...legacy], feeds: w.feeds });
    expect((await readEvidence(gw.store, [`${w.id}.request`])).get(`${w.id}.request`)!.toString()).toBe('<request/>');
    await submit(gw);
    await gw.sealer().sealNow({ checkpoint: true });
    const report = await gw.verify();
    expect(report).toMatchObject({ ok: true, checked: 3, evidence: { envelopes: 4, uncoveredRecords: 1 }, problems: [] });
    expect(report.warnings).toContain('1 record(s) were written by an older build without evidence digests: their envelopes are checked for presence, but the chain does not cover their bytes');
    // Not covered: a changed byte there is not found (the limit the warning states)…
    await gw.tamper.setDoc(EVIDENCE, `${w.id}.request`, { encoding: 'utf8', text: '<requesT/>' });
    expect((await gw.verify()).ok).toBe(true);
    // …but a removed envelope is.
    await gw.tamper.deleteDoc(EVIDENCE, `${w.id}.request`);
    expect((await gw.verify()).problems).toEqual([{ seq: 2, recordId: w.id, envelope: 'request', problem: `the request envelope (evidence ${w.id}.request) is missing (removed)` }]);
  });

  it('retention does not remove records whose evidence was changed', async () => {
    const gw = await startJournalGateway(kind, redis.url, { JOURNAL_RETENTION_DAYS: '0' });
    open.push(gw);
    const longAgo = new Date(Date.now() - 100 * 86_400_000).toISOString();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await writeRecord(gw.store, { requestInTs: longAgo, responseOutTs: longAgo }, `<old n="${i}"/>`, '<reply/>'));
    await gw.sealer().sealNow({ checkpoint: true });
    await gw.tamper.setBlob(EVIDENCE, `${ids[1]}.request`, '<old n="9"/>');
    expect(await gw.sealer({ retentionDays: 30 }).pruneNow()).toBe(0);
    expect((await gw.verify()).problems).toMatchObject([{ seq: 2, recordId: ids[1], envelope: 'request' }]);
  });
});

describe.each<Kind>(['memory', 'redis'])('the sealer flags evidence that no longer fits (%s store)', (kind) => {
  let store: Store;
  afterEach(async () => {
    await store?.close();
  });

  it('logs an error naming the seq, record and envelope, seals the record, and verify reports it', async () => {
    store = await createStore(kind === 'redis' ? { redisUrl: redis.url, keyPrefix: `okno-evidence-sealer-${process.pid}:` } : {});
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const signer = sampleSigner('gateway');
    const sealer = new JournalSealer({ store, signer, retentionDays: 0, logger });
    const good = await writeRecord(store);
    const changed = await writeRecord(store);
    const removed = await writeRecord(store);
    await store.commit({ blobs: [{ collection: EVIDENCE, id: `${changed}.response`, bytes: Buffer.from('<response changed="yes"/>') }], deletes: [{ collection: EVIDENCE, id: `${removed}.request`, blob: true }] });
    expect(await sealer.sealNow({ checkpoint: true })).toMatchObject({ sealed: 3, sealedUpTo: 3 });
    const flagged = lines.filter((l) => l.level === 'error').map((l) => ({ seq: l.seq, recordId: l.recordId, envelope: l.envelope, mismatch: l.mismatch }));
    expect(flagged).toEqual([
      { seq: 2, recordId: changed, envelope: 'response', mismatch: 'changed' },
      { seq: 3, recordId: removed, envelope: 'request', mismatch: 'removed' },
    ]);
    const report = await verifyJournal(store, { gatewayCertificates: [signer.certificate] });
    expect(report.problems.map((p) => [p.seq, p.recordId, p.envelope])).toEqual([
      [2, changed, 'response'],
      [3, removed, 'request'],
    ]);
    expect(report.sealedUpTo).toBe(3);
    expect(good).toBeTruthy();
  });
});
