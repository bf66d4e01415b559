/** Journal tests: gateways on either store, messages to journal, and tampering behind the gateway's back. */
import { Redis } from 'ioredis';
import { CHECKPOINTS, SEALS, seqId, type Checkpoint, type Seal } from '../../src/journal/chain.js';
import { journalWrites, JOURNAL, type JournalInput, type JournalRecord } from '../../src/journal/records.js';
import { JournalSealer } from '../../src/journal/sealer.js';
import { verifyJournal, type JournalReport } from '../../src/journal/verify.js';
import type { FeedEntry, JsonValue, Store } from '../../src/store/types.js';
import { startGateway, type RunningGateway } from '../helpers/gateway.js';
import { OPS, postSoap, sampleSigner, signedSendRequest } from '../helpers/smev.js';

export type Kind = 'memory' | 'redis';

let prefixes = 0;

export interface JournalGateway extends RunningGateway {
  store: Store;
  prefix: string;
  /** Raw access to the store, as an attacker with write access would have. */
  tamper: Tamper;
  /** A second sealer on the same store (the gateway runs its own), driven by the test. */
  sealer(options?: { now?: () => Date; retentionDays?: number }): JournalSealer;
  verify(now?: Date): Promise<JournalReport>;
}

export interface Tamper {
  removeFeedEntry(seq: number): Promise<void>;
  addFeedEntry(seq: number, id: string): Promise<void>;
  setDoc(collection: string, id: string, value: JsonValue): Promise<void>;
  deleteDoc(collection: string, id: string): Promise<void>;
  /** A blob's bytes (a string: its UTF-8 bytes), through the store's own commit. */
  setBlob(collection: string, id: string, bytes: Buffer | string): Promise<void>;
  deleteBlob(collection: string, id: string): Promise<void>;
  close(): Promise<void>;
}

export async function startJournalGateway(kind: Kind, redisUrl: string | null, env: Record<string, string> = {}): Promise<JournalGateway> {
  const prefix = `okno-journal-${process.pid}-${++prefixes}:`;
  // The gateway's own archiver stays off unless a test turns it on: these tests drive sealers themselves.
  const gw = await startGateway({ ...(kind === 'redis' ? { REDIS_URL: redisUrl!, REDIS_KEY_PREFIX: prefix } : {}), LOG_LEVEL: 'warn', JOURNAL_HOT_HOURS: '0', ...env });
  const store = gw.gateway.store;
  const tamper = kind === 'redis' ? redisTamper(store, redisUrl!, prefix) : memoryTamper(store);
  const sealers: JournalSealer[] = [];
  return {
    ...gw,
    store,
    prefix,
    tamper,
    sealer(options = {}) {
      const sealer = new JournalSealer({
        store,
        signer: gw.gateway.signer,
        trustAnchors: gw.gateway.trustAnchors,
        retentionDays: options.retentionDays ?? 0,
        now: options.now,
      });
      sealers.push(sealer);
      return sealer;
    },
    verify(now?: Date) {
      return verifyJournal(store, { gatewayCertificates: [gw.gateway.signer.certificate], trustAnchors: gw.gateway.trustAnchors, now });
    },
    async close() {
      await tamper.close();
      await gw.close();
    },
  };
}

function memoryTamper(store: Store): Tamper {
  const feeds = (store as unknown as { feeds: Map<string, { seq: number; entries: FeedEntry[] }> }).feeds;
  const journal = () => feeds.get(JOURNAL)!;
  return {
    async removeFeedEntry(seq) {
      journal().entries = journal().entries.filter((e) => e.seq !== seq);
    },
    async addFeedEntry(seq, id) {
      const entries = journal().entries;
      const at = entries.findIndex((e) => e.seq > seq);
      entries.splice(at < 0 ? entries.length : at, 0, { seq, id });
    },
    ...docTamper(store),
    async close() {},
  };
}

function redisTamper(store: Store, url: string, prefix: string): Tamper {
  const client = new Redis(url);
  const key = `${prefix}feed:${JOURNAL}`;
  return {
    async removeFeedEntry(seq) {
      await client.zremrangebyscore(key, seq, seq);
    },
    async addFeedEntry(seq, id) {
      await client.zadd(key, seq, `${seq}:${id}`);
    },
    ...docTamper(store),
    async close() {
      await client.quit();
    },
  };
}

/** Documents change through the store's own commit: overwriting needs no private access. */
function docTamper(store: Store): Pick<Tamper, 'setDoc' | 'deleteDoc' | 'setBlob' | 'deleteBlob'> {
  return {
    async setBlob(collection, id, bytes) {
      await store.commit({ blobs: [{ collection, id, bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes }] });
    },
    async deleteBlob(collection, id) {
      await store.commit({ deletes: [{ collection, id, blob: true }] });
    },
    async setDoc(collection, id, value) {
      await store.commit({ docs: [{ collection, id, value }] });
    },
    async deleteDoc(collection, id) {
      await store.commit({ deletes: [{ collection, id }] });
    },
  };
}

/** Submits a signed SendRequest as the portal (accepted) or with an untrusted key (refused). Returns what was sent and answered. */
export async function submit(gw: JournalGateway, options: { refused?: boolean; service?: string } = {}): Promise<{ messageId: string; sent: string; reply: string; status: number }> {
  const { xml, messageId } = await signedSendRequest({
    catalogue: gw.gateway.catalogue,
    service: options.service ?? 'advertising-permit',
    signer: options.refused ? sampleSigner('untrusted') : undefined,
  });
  const res = await postSoap(gw.url, xml, { soapaction: 'urn:SendRequest' });
  if (!options.refused && (res.status !== 200 || !res.body.includes('requestIsQueued'))) throw new Error(`submit failed: HTTP ${res.status}\n${res.body}`);
  if (options.refused && res.status === 200) throw new Error('expected a refusal');
  return { messageId, sent: xml, reply: res.body, status: res.status };
}

/** A journal record written the way the flows write them (one commit, with evidence), with chosen fields. */
export async function writeRecord(store: Store, fields: Partial<JournalInput> = {}, request: string | null = '<request/>', response: string | null = '<response/>'): Promise<string> {
  const at = new Date().toISOString();
  const input: JournalInput = {
    correlationId: 'test',
    direction: 'inbound',
    operation: 'SendRequest',
    partner: 'portal',
    service: 'advertising-permit',
    messageId: null,
    requestInTs: at,
    requestOutTs: null,
    responseInTs: null,
    responseOutTs: at,
    requestSize: request?.length ?? 0,
    responseSize: response?.length ?? 0,
    succeeded: true,
    faultCode: null,
    faultString: null,
    duplicate: false,
    signature: null,
    applicationId: null,
    registrationNumber: null,
    ...fields,
  };
  const w = journalWrites(input, request, response);
  await store.commit({ docs: w.docs, blobs: w.blobs, feeds: w.feeds });
  return w.id;
}

export async function feed(store: Store): Promise<FeedEntry[]> {
  return store.readFeed(JOURNAL, 0, 100_000);
}

export async function record(store: Store, id: string): Promise<JournalRecord> {
  const r = (await store.getDoc(JOURNAL, id)) as unknown as JournalRecord | null;
  if (!r) throw new Error(`no record ${id}`);
  return r;
}

export async function seal(store: Store, seq: number): Promise<Seal | null> {
  return (await store.getDoc(SEALS, seqId(seq))) as unknown as Seal | null;
}

export async function checkpointSeqs(store: Store, upTo: number): Promise<number[]> {
  const out: number[] = [];
  for (let seq = 1; seq <= upTo; seq++) if ((await store.getDoc(CHECKPOINTS, seqId(seq))) as unknown as Checkpoint | null) out.push(seq);
  return out;
}

export async function journalApi(gw: RunningGateway, path: string, headers: Record<string, string> = OPS): Promise<{ status: number; body: any }> {
  const res = await fetch(`${gw.url}/api/v1/journal${path}`, { headers });
  return { status: res.status, body: await res.json() };
}

/** Real time: waits for the gateway's own background sealer. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
