/**
 * The large-message lane (src/push/large-message-lane.ts): bodies of
 * LARGE_MESSAGE_BYTES or more are processed by a worker thread with its own
 * Redis connection, through real HTTP on a real Redis. The same promises as
 * on the event loop: a signed reply that verifies, stored once with one
 * journal record, duplicates answered byte for byte, forged messages refused
 * and journaled, the partner quota (kept on the event loop) applies, log lines
 * carry the correlation id; and small messages are answered while a large
 * one is being processed. With two threads, huge bodies (LARGE_MESSAGE_HUGE_BYTES)
 * go to their own thread, which runs at LARGE_MESSAGE_HUGE_NICE.
 */
import { readInboxItem } from '../../src/city/inbox-items.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentOfSize, tamper } from '../../bench/lib/requests.js';
import type { JournalRecord } from '../../src/journal/records.js';
import { DSIG_NS } from '../../src/signature/dsig.js';
import { TrustAnchorSet } from '../../src/pki/trust.js';
import { verifySignature } from '../../src/signature/verify.js';
import { parseXml } from '../../src/xml/parser.js';
import type { XmlElement } from '../../src/xml/types.js';
import { projectRoot, startGateway, type RunningGateway } from '../helpers/gateway.js';
import { startRedisServer, type RedisTestServer } from '../helpers/redis-server.js';
import { faultOf, postSoap, signedSendRequest } from '../helpers/smev.js';

const caPem = readFileSync(path.join(projectRoot, 'certs-sample/ca.crt.pem'), 'utf8');
const THRESHOLD = 32 * 1024;

function findSignature(el: XmlElement): XmlElement | null {
  if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') return el;
  for (const c of el.children) if (c.type === 'element') {
    const found = findSignature(c);
    if (found) return found;
  }
  return null;
}

function expectSignedReply(body: string): void {
  const doc = parseXml(body);
  const v = verifySignature(doc, findSignature(doc.root)!, null, { trust: new TrustAnchorSet([caPem]) });
  expect(v.valid).toBe(true);
}

let redis: RedisTestServer;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.dispose();
});

async function laneReady(gw: RunningGateway): Promise<void> {
  for (let i = 0; i < 300; i++) {
    const res = await fetch(`${gw.url}/ready`);
    const body = (await res.json()) as { checks: Array<{ name: string; detail?: string }> };
    // "<ready> of <threads> large-message thread(s) ready": all of them.
    if (/^(\d+) of \1 /.test(body.checks.find((c) => c.name === 'largeMessages')?.detail ?? '')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the large-message threads did not become ready');
}

const large = async (gw: RunningGateway, kb = 64) => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', contentXml: contentOfSize(kb * 1024).xml });
const small = async (gw: RunningGateway) => signedSendRequest({ catalogue: gw.gateway.catalogue, service: 'dwelling-replanning', contentXml: contentOfSize(1024).xml });

describe('large-message lane (Redis, one thread)', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: `lane-${Date.now()}:`, LARGE_MESSAGE_BYTES: String(THRESHOLD), LARGE_MESSAGE_THREADS: '1', LARGE_MESSAGE_NICE: '7', RATE_LIMIT_PER_PARTNER: '0' });
    await laneReady(gw);
  }, 60_000);
  afterAll(() => gw?.close());

  const linesOf = (messageId: string) => gw.logs.filter((l) => l.messageId === messageId);

  it('a large SendRequest is processed by the thread: signed reply, stored once, one journal record, log lines with the correlation id', async () => {
    const req = await large(gw);
    expect(Buffer.byteLength(req.xml)).toBeGreaterThan(THRESHOLD);
    const res = await postSoap(gw.url, req.xml);
    expect(res.status, res.body).toBe(200);
    expectSignedReply(res.body);
    expect(res.body).toContain(req.messageId);

    const accepted = linesOf(req.messageId).filter((l) => l.outcome === 'accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.lane).toBe(0);
    expect(typeof accepted[0]!.correlationId).toBe('string');

    const store = gw.gateway.store;
    const idem = await store.getIdempotency(`smev:${req.messageId}`);
    expect(idem).not.toBeNull();
    const inboxId = (idem!.result as { inboxId: string }).inboxId;
    const item = await readInboxItem(store, inboxId);
    expect(item?.messageId).toBe(req.messageId);
    expect((item!.content as { coOwnersConsent: unknown[] }).coOwnersConsent.length).toBeGreaterThan(10);
    const journal = await store.readFeedBackwards('journal', Infinity, 50);
    const records = (await Promise.all(journal.map((e) => store.getDoc('journal', e.id) as Promise<JournalRecord | null>))).filter((r) => r?.messageId === req.messageId);
    expect(records).toHaveLength(1);
    expect(records[0]!.succeeded).toBe(true);
    expect(records[0]!.correlationId).toBe(accepted[0]!.correlationId);
  });

  it('the thread runs at LARGE_MESSAGE_NICE, the event loop at its own priority (Linux: nice is per thread)', () => {
    const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const own = niceOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    const threads = readdirSync('/proc/self/task').map((tid) => niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    expect(own).not.toBe(7);
    // the gateway runs in this process: exactly its one lane thread was lowered to 7
    expect(threads.filter((n) => n === 7)).toHaveLength(1);
  });

  it('a small message stays on the event loop (no lane in its log line)', async () => {
    const req = await small(gw);
    expect(Buffer.byteLength(req.xml)).toBeLessThan(THRESHOLD);
    const res = await postSoap(gw.url, req.xml);
    expect(res.status).toBe(200);
    const accepted = linesOf(req.messageId).filter((l) => l.outcome === 'accepted');
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.lane).toBeUndefined();
  });

  it('the same large envelope again gets the first reply byte for byte and is stored once', async () => {
    const req = await large(gw);
    const first = await postSoap(gw.url, req.xml);
    const again = await postSoap(gw.url, req.xml);
    expect(first.status).toBe(200);
    expect(again.body).toBe(first.body);
    const lines = linesOf(req.messageId).filter((l) => l.outcome === 'accepted');
    expect(lines.map((l) => l.duplicate)).toEqual([false, true]);
  });

  it('a tampered large envelope: SignatureVerificationFault, journaled, nothing stored', async () => {
    const req = await large(gw);
    const res = await postSoap(gw.url, tamper(req.xml));
    expect(res.status).toBe(500);
    expect(faultOf(res.body)).toMatchObject({ fault: 'SignatureVerificationFault', reason: 'SignatureIsInvalid' });
    expect(await gw.gateway.store.getIdempotency(`smev:${req.messageId}`)).toBeNull();
    const store = gw.gateway.store;
    const journal = await store.readFeedBackwards('journal', Infinity, 20);
    const records = (await Promise.all(journal.map((e) => store.getDoc('journal', e.id) as Promise<JournalRecord | null>))).filter((r) => r?.faultCode === 'SignatureVerificationFault');
    expect(records.length).toBeGreaterThanOrEqual(1);
    expect(gw.logs.some((l) => l.lane === 0 && l.outcome === 'fault' && l.fault === 'SignatureVerificationFault')).toBe(true);
  });

  it('small messages are answered while a large one is being processed', async () => {
    const big = await large(gw, 3 * 1024);
    const smalls = await Promise.all([small(gw), small(gw), small(gw)]);
    const order: string[] = [];
    const bigDone = postSoap(gw.url, big.xml).then((r) => {
      order.push('large');
      return r;
    });
    // The large body is on its way first; the small ones follow one after another.
    await new Promise((r) => setTimeout(r, 20));
    for (const s of smalls) {
      const r = await postSoap(gw.url, s.xml);
      expect(r.status).toBe(200);
      order.push('small');
    }
    expect((await bigDone).status).toBe(200);
    expect(order).toEqual(['small', 'small', 'small', 'large']);
  }, 60_000);
});

describe('large-message lane and the partner quota', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: `lane-q-${Date.now()}:`, LARGE_MESSAGE_BYTES: String(THRESHOLD), RATE_LIMIT_PER_PARTNER: '1/min:1' });
    await laneReady(gw);
  }, 60_000);
  afterAll(() => gw?.close());

  it('the quota kept on the event loop applies to messages the thread processes', async () => {
    const first = await large(gw);
    const second = await large(gw);
    const a = await postSoap(gw.url, first.xml);
    expect(a.status).toBe(200);
    const res = await fetch(`${gw.url}/ws/smev3`, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8' }, body: second.xml });
    const body = await res.text();
    expect(res.status).toBe(500);
    expect(faultOf(body).fault).toBe('QuoteLimitExceeded');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await gw.gateway.store.getIdempotency(`smev:${second.messageId}`)).toBeNull();
  });
});

describe('large-message lane split by size (two threads, LARGE_MESSAGE_HUGE_BYTES)', () => {
  const HUGE = 128 * 1024;
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway({
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: `lane-h-${Date.now()}:`,
      LARGE_MESSAGE_BYTES: String(THRESHOLD),
      LARGE_MESSAGE_THREADS: '2',
      LARGE_MESSAGE_HUGE_BYTES: String(HUGE),
      LARGE_MESSAGE_HUGE_NICE: '9',
      RATE_LIMIT_PER_PARTNER: '0',
    });
    await laneReady(gw);
  }, 60_000);
  afterAll(() => gw?.close());

  const laneOf = (messageId: string) => gw.logs.filter((l) => l.messageId === messageId && l.outcome === 'accepted').map((l) => l.lane);

  it('/ready says how the threads are split', async () => {
    const body = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string; detail?: string }> };
    expect(body.checks.find((c) => c.name === 'largeMessages')?.detail).toBe(`2 of 2 large-message thread(s) ready (bodies of ${THRESHOLD} bytes or more; 1 of them for bodies of ${HUGE} bytes or more)`);
  });

  it('a large body goes to the first thread, a huge one to the second; both answered with a signed reply and stored', async () => {
    const [big, huge] = await Promise.all([large(gw, 64), large(gw, 200)]);
    expect(Buffer.byteLength(big.xml)).toBeLessThan(HUGE);
    expect(Buffer.byteLength(huge.xml)).toBeGreaterThan(HUGE);
    // One after the other, the huge one first: both threads idle each time, so only its size sends it to the second.
    const b = await postSoap(gw.url, huge.xml);
    const a = await postSoap(gw.url, big.xml);
    expect(a.status, a.body).toBe(200);
    expect(b.status, b.body).toBe(200);
    expectSignedReply(a.body);
    expectSignedReply(b.body);
    expect(laneOf(big.messageId)).toEqual([0]);
    expect(laneOf(huge.messageId)).toEqual([1]);
    expect(await gw.gateway.store.getIdempotency(`smev:${huge.messageId}`)).not.toBeNull();
  }, 60_000);

  it('the huge thread runs at LARGE_MESSAGE_HUGE_NICE, the other at the process\'s priority', () => {
    const niceOf = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    const own = niceOf(readFileSync('/proc/thread-self/stat', 'utf8'));
    const threads = readdirSync('/proc/self/task').map((tid) => niceOf(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    expect(own).not.toBe(9);
    expect(threads.filter((n) => n === 9)).toHaveLength(1);
  });
});

describe('without Redis there is no lane', () => {
  it('the in-memory store keeps every message on the event loop (a thread cannot share it)', async () => {
    const gw = await startGateway({ LARGE_MESSAGE_BYTES: String(THRESHOLD) });
    try {
      const body = (await (await fetch(`${gw.url}/ready`)).json()) as { checks: Array<{ name: string }> };
      expect(body.checks.map((c) => c.name)).toContain('store');
      expect(body.checks.map((c) => c.name)).not.toContain('largeMessages');
      const req = await large(gw);
      const res = await postSoap(gw.url, req.xml);
      expect(res.status).toBe(200);
      const accepted = gw.logs.filter((l) => l.messageId === req.messageId && l.outcome === 'accepted');
      expect(accepted).toHaveLength(1);
      expect(accepted[0]!.lane).toBeUndefined();
    } finally {
      await gw.close();
    }
  });
});
