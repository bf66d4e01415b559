/**
 * The journal API (contract §4) through real HTTP on both stores: role ops
 * only, filters (each narrows to exactly the matching records), paging both
 * ways, the bounded scan, 400 naming the bad field, 404, and one record with
 * its envelopes byte for byte as received and sent.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalInput, JournalRecord } from '../../src/journal/records.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { CITY, OPS, postSoap } from '../helpers/smev.js';
import { eventually, journalApi, startJournalGateway, submit, writeRecord, type JournalGateway, type Kind } from './helpers.js';

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

type Item = JournalRecord & { seq: number };

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

const HOUR = 3_600_000;
/** Midnight UTC 30 days ago: inside the default retention (365 days), which the gateway's sealer applies. */
const T0 = Math.floor((Date.now() - 30 * 24 * HOUR) / (24 * HOUR)) * 24 * HOUR;
const DAY0 = new Date(T0).toISOString().slice(0, 10);

/** Twelve records with every filter field varied; record i happened at T0 + i hours. */
function variants(): Array<Partial<JournalInput>> {
  return Array.from({ length: 12 }, (_, i) => {
    const at = new Date(T0 + i * HOUR).toISOString();
    const outbound = i % 3 === 0;
    return {
      direction: outbound ? 'outbound' : 'inbound',
      operation: 'SendRequest',
      partner: i % 2 === 0 ? 'portal' : 'agency',
      service: i % 4 === 0 ? 'egrn-extract' : 'advertising-permit',
      messageId: `msg-${i}`,
      applicationId: i < 6 ? 'app-A' : 'app-B',
      succeeded: i % 5 !== 0,
      faultCode: i % 5 !== 0 ? null : 'SMEVFailure',
      requestInTs: outbound ? null : at,
      requestOutTs: outbound ? at : null,
      responseInTs: outbound ? at : null,
      responseOutTs: outbound ? null : at,
    };
  });
}

describe.each<Kind>(['memory', 'redis'])('journal API (%s store)', (kind) => {
  let gw: JournalGateway;
  let synthetic: Array<{ id: string; fields: Partial<JournalInput> }>;

  beforeAll(async () => {
    gw = await startJournalGateway(kind, redis.url);
    synthetic = [];
    for (const fields of variants()) synthetic.push({ id: await writeRecord(gw.store, fields), fields });
  });
  afterAll(() => gw?.close());

  async function list(query: string): Promise<{ items: Item[]; next: string | null; scanned: number; scanLimitReached: boolean }> {
    const res = await journalApi(gw, `?${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  /** Every page of a query, following `next`. */
  async function all(query: string, cursor: 'before' | 'after' = 'before'): Promise<Item[]> {
    const items: Item[] = [];
    let next: string | null = cursor === 'after' ? '0' : null;
    for (let page = 0; page < 100; page++) {
      const body = await list(`${query}${next !== null ? `&${cursor}=${next}` : ''}`);
      items.push(...body.items);
      if (body.next === null) return items;
      next = body.next;
    }
    throw new Error('paging did not end');
  }

  const idsWhere = (test: (f: Partial<JournalInput>, i: number) => boolean) =>
    synthetic
      .map((s, i) => ({ s, i }))
      .filter(({ s, i }) => test(s.fields, i))
      .map(({ s }) => s.id)
      .reverse(); // newest first

  it('role ops only: 401 without a token, 403 for the city', async () => {
    for (const path of ['', '/verify', `/${synthetic[0]!.id}`]) {
      expect((await journalApi(gw, path, {})).status).toBe(401);
      const city = await journalApi(gw, path, CITY);
      expect(city.status).toBe(403);
      expect(city.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'role city may not do this (needs ops)' });
      expect((await journalApi(gw, path, OPS)).status).toBe(200);
    }
  });

  it('each filter narrows to exactly the matching records, newest first', async () => {
    const ids = (items: Item[]) => items.map((i) => i.id);
    expect(ids(await all('limit=500'))).toEqual(idsWhere(() => true));
    expect(ids(await all('messageId=msg-7'))).toEqual(idsWhere((f) => f.messageId === 'msg-7'));
    expect(ids(await all('applicationId=app-A'))).toEqual(idsWhere((f) => f.applicationId === 'app-A'));
    expect(ids(await all('service=egrn-extract'))).toEqual(idsWhere((f) => f.service === 'egrn-extract'));
    expect(ids(await all('partner=agency'))).toEqual(idsWhere((f) => f.partner === 'agency'));
    expect(ids(await all('direction=outbound'))).toEqual(idsWhere((f) => f.direction === 'outbound'));
    expect(ids(await all('outcome=failed'))).toEqual(idsWhere((f) => f.succeeded === false));
    expect(ids(await all('outcome=succeeded&direction=inbound&partner=portal'))).toEqual(
      idsWhere((f) => f.succeeded === true && f.direction === 'inbound' && f.partner === 'portal'),
    );
    // from inclusive, to exclusive, on requestInTs (inbound) / requestOutTs (outbound).
    const from = new Date(T0 + 3 * HOUR).toISOString();
    const to = new Date(T0 + 7 * HOUR).toISOString();
    expect(ids(await all(`from=${from}&to=${to}`))).toEqual(idsWhere((_, i) => i >= 3 && i < 7));
    expect(ids(await all(`from=${DAY0}&to=${DAY0}T02:00:00Z`))).toEqual(idsWhere((_, i) => i < 2));
    expect(ids(await all(`to=${from}&direction=outbound`))).toEqual(idsWhere((f, i) => i < 3 && f.direction === 'outbound'));
    expect(await all('messageId=no-such-message')).toEqual([]);
    // The items are the records with their seq.
    const one = (await list('messageId=msg-4')).items[0]!;
    expect(one).toMatchObject({ id: synthetic[4]!.id, seq: 5, partner: 'portal', service: 'egrn-extract', direction: 'inbound', succeeded: true, applicationId: 'app-A' });
    expect(one.evidence).toEqual({ request: `${one.id}.request`, response: `${one.id}.response` });
  });

  it('pages newest first by `before` and oldest first by `after`, with filters applied while paging', async () => {
    const p1 = await list('limit=5');
    expect(p1.items.map((i) => i.seq)).toEqual([12, 11, 10, 9, 8]);
    const p2 = await list(`limit=5&before=${p1.next}`);
    expect(p2.items[0]!.seq).toBe(p1.items[4]!.seq - 1);
    const forward = await list('limit=3&after=0');
    expect(forward.items.map((i) => i.seq)).toEqual([1, 2, 3]);
    expect(forward.next).toBe('3');
    const forward2 = await list(`limit=3&after=${forward.next}&partner=agency`);
    expect(forward2.items.map((i) => i.seq)).toEqual([4, 6, 8]);
    // Filtered pages are full pages of matches; all pages together are every match once.
    const agency = await all('limit=2&partner=agency');
    expect(agency.map((i) => i.id)).toEqual(idsWhere((f) => f.partner === 'agency'));
    const agencyForward = await all('limit=2&partner=agency', 'after');
    expect(agencyForward.map((i) => i.id)).toEqual(idsWhere((f) => f.partner === 'agency').reverse());
  });

  it('400 naming the bad field; 404 for an unknown record', async () => {
    const bad = async (query: string, pattern: RegExp) => {
      const res = await journalApi(gw, `?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error.message).toMatch(pattern);
    };
    await bad('from=yesterday', /from is not a date/);
    await bad('to=2025-13-45T00:00:00Z', /to is not a date/);
    await bad('from=2025-03-02&to=2025-03-01', /from must be before to/);
    await bad('direction=sideways', /direction/);
    await bad('outcome=maybe', /outcome/);
    await bad('limit=0', /limit/);
    await bad('limit=501', /limit/);
    await bad('before=abc', /before/);
    await bad('before=5&after=1', /before and after/);
    await bad('colour=red', /"colour"/);
    const missing = await journalApi(gw, '/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'NOT_FOUND', message: 'no journal record 00000000-0000-4000-8000-000000000000' });
  });

  it('one record with its envelopes byte for byte, its seal and whether it verifies', async () => {
    const accepted = await submit(gw);
    const refused = await submit(gw, { refused: true });
    // A body that is not UTF-8 at all: kept as base64, exactly.
    const hostile = Buffer.concat([Buffer.from('<?xml version="1.0"?><a>'), Buffer.from([0xff, 0xfe, 0x00, 0xc3]), Buffer.from('</a>')]);
    const hostileReply = await postSoap(gw.url, hostile, { soapaction: 'urn:SendRequest' });
    expect(hostileReply.status).toBe(500);

    // Newest first: the hostile body, the refused message (its MessageID was never trusted, so not recorded), the accepted one.
    const [hostileItem, refusedItem, acceptedItem] = (await list('limit=3')).items;
    expect((await list(`messageId=${accepted.messageId}`)).items.map((i) => i.id)).toEqual([acceptedItem!.id]);
    expect(refusedItem).toMatchObject({ succeeded: false, faultCode: 'SignatureVerificationFault', messageId: null, requestSize: Buffer.byteLength(refused.sent) });
    for (const [sent, item] of [[accepted, acceptedItem!], [refused, refusedItem!]] as const) {
      expect(item.succeeded).toBe(sent === accepted);
      const one = await eventually(async () => {
        const res = await journalApi(gw, `/${item.id}`);
        expect(res.status).toBe(200);
        expect(res.body.seal).not.toBeNull(); // the gateway's sealer reaches it within a second or so
        return res.body;
      });
      expect(one.record).toMatchObject({ id: item.id, seq: item.seq, messageId: sent === accepted ? sent.messageId : null });
      expect(one.evidence.request).toEqual({ encoding: 'utf8', text: sent.sent });
      expect(one.evidence.response).toEqual({ encoding: 'utf8', text: sent.reply });
      expect(one.seal).toMatchObject({ seq: item.seq, hash: expect.stringMatching(/^[0-9a-f]{64}$/), prevHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
      expect(one.verified).toBe(true);
      expect(one.evidenceVerified).toBe(true);
      expect(one.record.evidenceSha256).toEqual({ request: sha256(sent.sent), response: sha256(sent.reply) });
    }

    const newest = hostileItem!;
    expect(newest.succeeded).toBe(false);
    expect(newest.requestSize).toBe(hostile.length);
    const raw = (await journalApi(gw, `/${newest.id}`)).body;
    expect(raw.evidence.request.encoding).toBe('base64');
    expect(Buffer.from(raw.evidence.request.text, 'base64').equals(hostile)).toBe(true);
    expect(raw.evidence.response).toEqual({ encoding: 'utf8', text: hostileReply.body });
    // The digest is of the bytes as received, not of their base64 form.
    expect(raw.record.evidenceSha256).toEqual({ request: sha256(hostile), response: sha256(hostileReply.body) });
    expect(raw.evidenceVerified).toBe(true);

    // An envelope changed behind the gateway's back: the record's digest no longer fits; the chain check names the envelope.
    const hostileEvidence = `${newest.id}.request`;
    await gw.tamper.setBlob('evidence', hostileEvidence, '<a>fine</a>');
    expect((await journalApi(gw, `/${newest.id}`)).body).toMatchObject({ evidenceVerified: false });
    expect((await journalApi(gw, '/verify')).body).toMatchObject({ ok: false, problems: [{ seq: newest.seq, recordId: newest.id, envelope: 'request' }] });
    await gw.tamper.setBlob('evidence', hostileEvidence, hostile);

    // A record changed behind the gateway's back no longer verifies; the chain check says where.
    const accRecord = (await list(`messageId=${accepted.messageId}`)).items[0]!;
    const { seq: _seq, ...stored } = accRecord;
    await gw.tamper.setDoc('journal', accRecord.id, { ...stored, partner: 'nobody' } as never);
    expect((await journalApi(gw, `/${accRecord.id}`)).body.verified).toBe(false);
    const verify = await journalApi(gw, '/verify');
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ ok: false, problems: [{ seq: accRecord.seq, recordId: accRecord.id, problem: 'the record was changed after it was sealed (hash mismatch)' }] });
  });
});

describe('journal API: the bounded scan', () => {
  let gw: JournalGateway;
  beforeAll(async () => {
    gw = await startJournalGateway('memory', null);
  });
  afterAll(() => gw?.close());

  it('stops after 10,000 records, says so, and `next` continues the search', async () => {
    const target = await writeRecord(gw.store, { messageId: 'needle' });
    for (let i = 0; i < 10_050; i++) await writeRecord(gw.store, { messageId: `hay-${i}` }, null, null);
    const first = await list('messageId=needle');
    expect(first).toMatchObject({ items: [], scanned: 10_000, scanLimitReached: true, next: '52' });
    const second = await list(`messageId=needle&before=${first.next}`);
    expect(second.items.map((i: Item) => i.id)).toEqual([target]);
    expect(second.scanLimitReached).toBe(false);
    // A time filter ends the scan early once it is well before `from`.
    const recent = await list(`from=${new Date(Date.now() + 3 * HOUR).toISOString()}`);
    expect(recent).toMatchObject({ items: [], next: null });
    expect(recent.scanned).toBeLessThan(10_000);
  });

  async function list(query: string) {
    const res = await journalApi(gw, `?${query}`);
    expect(res.status).toBe(200);
    return res.body;
  }
});
