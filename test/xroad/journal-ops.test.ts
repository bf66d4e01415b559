/** What ops see of X-Road messages: journal records found by client (subsystem or member), the proof's verdict, the dashboard's partner list. */
import { afterAll, describe, expect, it } from 'vitest';
import { journalWrites, type JournalInput, type JournalRecord, type XRoadJournal } from '../../src/journal/records.js';
import { searchJournal } from '../../src/journal/search.js';
import { verifyEvidence } from '../../src/ops/dashboard/evidence.js';
import { testFlow } from '../helpers/flow-context.js';

const flow = testFlow();
afterAll(() => flow.close());

function record(client: string | null, id: string, xroad = true): JournalInput {
  const x: XRoadJournal = {
    dialect: 'trembita',
    protocol: 'rest',
    client,
    service: 'SEVDEIR-TEST/GOV/00000001/okno/BirthRecord_v1',
    id,
    userId: 'UA1234567890',
    protocolVersion: null,
    issue: null,
    requestHash: null,
    headers: { 'uxp-client': client ?? '', 'uxp-queryid': id, 'uxp-purpose-ids': 'purpose-1' },
  };
  return {
    correlationId: `c-${id}`,
    direction: 'inbound',
    operation: 'xroad:REST',
    partner: 'dms',
    service: 'zags-birth-record',
    messageId: id,
    requestInTs: new Date().toISOString(),
    requestOutTs: null,
    responseInTs: null,
    responseOutTs: new Date().toISOString(),
    requestSize: 2,
    responseSize: 2,
    succeeded: true,
    faultCode: null,
    faultString: null,
    duplicate: false,
    signature: null,
    applicationId: null,
    registrationNumber: null,
    ...(xroad ? { xroad: x } : {}),
  };
}

describe('X-Road messages in the journal', () => {
  it('xroadClient finds a subsystem\'s records, or a whole member\'s, and nothing of other members', async () => {
    const writes = [
      journalWrites(record('SEVDEIR-TEST/GOV/12345678/dms', 'q-1'), '{}', '{}'),
      journalWrites(record('SEVDEIR-TEST/GOV/12345678/archive', 'q-2'), '{}', '{}'),
      journalWrites(record('SEVDEIR-TEST/GOV/123456789/dms', 'q-3'), '{}', '{}'),
      journalWrites(record(null, 'smev-1', false), '<x/>', null),
    ];
    for (const w of writes) await flow.store.commit({ docs: w.docs, blobs: w.blobs, feeds: w.feeds });
    const ids = async (xroadClient: string) => (await searchJournal(flow.store, { xroadClient }, { limit: 50 })).items.map((i) => i.record.messageId).sort();
    expect(await ids('SEVDEIR-TEST/GOV/12345678/dms')).toEqual(['q-1']);
    expect(await ids('SEVDEIR-TEST/GOV/12345678')).toEqual(['q-1', 'q-2']);
    expect(await ids('SEVDEIR-TEST/GOV/1234567')).toEqual([]);
  });

  it('the proof of an X-Road record says the Security Servers signed it, and still checks the bytes against the sealed digest', () => {
    const input = record('SEVDEIR-TEST/GOV/12345678/dms', 'q-9');
    const w = journalWrites(input, '{"a":1}', null);
    const rec = w.docs.find((d) => d.id === w.id)!.value as unknown as JournalRecord;
    expect(rec.xroad?.id).toBe('q-9');
    const verdict = verifyEvidence(flow.ctx, rec, 'request', { bytes: Buffer.from('{"a":1}'), encoding: 'utf8' });
    expect(verdict.verdict).toBe('security-server');
    expect(verdict.intact).toBe(true);
    expect(verifyEvidence(flow.ctx, rec, 'request', { bytes: Buffer.from('{"a":2}'), encoding: 'utf8' }).intact).toBe(false);
    expect(verdict.message).toMatch(/Trembita REST message q-9: signed and verified by the Security Servers/);
    const smev = verifyEvidence(flow.ctx, { ...rec, xroad: undefined }, 'request', { bytes: Buffer.from('{"a":1}'), encoding: 'utf8' });
    expect(smev.verdict).toBe('unreadable');
  });
});
