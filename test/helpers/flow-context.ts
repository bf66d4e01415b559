/**
 * A real FlowContext for tests of one flow or delivery module, without the
 * HTTP server: the configuration's own files (partners, catalogue, lifecycle,
 * sample PKI) loaded as the gateway loads them (flows/flow-parts.ts), the real
 * in-memory store (or any store given), a clock the test moves, and the log
 * lines captured. `receiveApplication` puts an application in through the
 * real inbound flow (a portal-signed envelope, verified, then
 * acceptSendRequest), so tests need no raw store writes. The reads of
 * store collections the tests need (inbox, journal, deliveries) are here, in
 * one place, for when the store is typed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config/env.js';
import { parsePartners, type Partner, type PartnerRegistry } from '../../src/registry/partners.js';
import type { InboxItem } from '../../src/city/model.js';
import type { FlowContext } from '../../src/flows/context.js';
import { acceptSendRequest, type InboundInput, type InboundResult } from '../../src/flows/inbound-message.js';
import type { Delivery } from '../../src/flows/status-reporting.js';
import { GATEWAY_SELF, loadFlowParts } from '../../src/flows/flow-parts.js';
import { EVIDENCE, JOURNAL, type JournalRecord } from '../../src/journal/records.js';
import { readInboxItem } from '../../src/city/inbox-items.js';
import { createLogger } from '../../src/log.js';
import { verifySmevEnvelope } from '../../src/signature/smev-profile.js';
import type { Signer } from '../../src/pki/signer.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Clock, JsonValue, Store } from '../../src/store/types.js';
import { parseXml } from '../../src/xml/parser.js';
import { projectRoot } from './gateway.js';
import { sampleSigner, signedSendRequest } from './smev.js';

export interface TestClock {
  /** Milliseconds since the epoch; tests set or advance it. */
  ms: number;
  advance(ms: number): void;
}

export interface TestFlow {
  ctx: FlowContext;
  store: Store;
  clock: TestClock;
  config: Config;
  /** Every log line, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

type Parts = ReturnType<typeof loadFlowParts>;
const partsCache = new Map<string, Parts>();

/** The configuration's parts, loaded once per environment per test file (the catalogue takes a moment). */
function partsFor(config: Config, key: string): Parts {
  let parts = partsCache.get(key);
  if (!parts) {
    parts = loadFlowParts(config, undefined, true);
    partsCache.set(key, parts);
  }
  return parts;
}

export interface TestFlowOptions {
  env?: Record<string, string>;
  /** Default: a fresh MemoryStore on the test clock; a function gets the test clock (e.g. a RedisStore on it). */
  store?: Store | ((clock: Clock) => Store);
  /** Default: now. */
  startAt?: Date;
  /** A registry other than the configured one (e.g. partners on loopback ports, see partnersAt). */
  partners?: PartnerRegistry;
  /** Default: the configured gateway key (sample PKI). */
  signer?: Signer;
}

export function testFlow(options: TestFlowOptions = {}): TestFlow {
  const env = options.env ?? {};
  const config = loadConfig(env, projectRoot);
  const parts = partsFor(config, JSON.stringify(env));
  const clock: TestClock = {
    ms: (options.startAt ?? new Date()).getTime(),
    advance(ms) {
      this.ms += ms;
    },
  };
  const storeClock: Clock = { now: () => clock.ms };
  const store = typeof options.store === 'function' ? options.store(storeClock) : (options.store ?? new MemoryStore({ clock: storeClock }));
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const ctx: FlowContext = {
    config,
    store,
    catalogue: parts.catalogue,
    lifecycle: parts.lifecycle,
    partners: options.partners ?? parts.partners,
    signer: options.signer ?? parts.signer,
    trustAnchors: parts.trustAnchors,
    revocation: null,
    logger: createLogger({ level: 'debug', destination }),
    self: GATEWAY_SELF,
    outboundAgent: null,
    now: () => new Date(clock.ms),
  };
  return { ctx, store, clock, config, logs, close: () => store.close() };
}

/** A partner entry of a registry file, as written. */
export interface PartnerEntry {
  id: string;
  endpoint: string | null;
  sends: string[];
  receives: string[];
  [key: string]: unknown;
}

/** A registry file (default config/partners.json), edited in memory before it is parsed (certificates resolve as from the file). */
export function partnersWith(edit: (partners: PartnerEntry[], doc: { partners: PartnerEntry[]; exchanges?: Array<Record<string, unknown>> }) => void, file = path.join(projectRoot, 'config/partners.json')): PartnerRegistry {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as { partners: PartnerEntry[]; exchanges?: Array<Record<string, unknown>> };
  edit(doc.partners, doc);
  return parsePartners(doc, file).registry;
}

/** The configured registry with endpoints moved, e.g. to simulators on free loopback ports: { portal: sim.endpoint }. */
export function partnersAt(endpoints: Record<string, string | null>, file?: string): PartnerRegistry {
  return partnersWith((partners) => {
    for (const p of partners) if (p.id in endpoints) p.endpoint = endpoints[p.id]!;
  }, file);
}

/** A version-1 UUID (a SMEV MessageID) made at `at`: 100 ns ticks since 1582-10-15, random clock sequence and node. */
export function uuidV1At(at: Date): string {
  const hex = (BigInt(at.getTime()) * 10_000n + 0x01b21dd213814000n).toString(16).padStart(15, '0');
  const rnd = randomBytes(8);
  const clockSeq = ((rnd.readUInt16BE(0) & 0x3fff) | 0x8000).toString(16);
  return `${hex.slice(7)}-${hex.slice(3, 7)}-1${hex.slice(0, 3)}-${clockSeq}-${rnd.subarray(2).toString('hex')}`;
}

/** A signed SendRequest from `signerName` (sample PKI), verified as the intake verifies it, through acceptSendRequest. */
export async function receiveSendRequest(
  ctx: FlowContext,
  o: { service: string; content?: JsonValue; signer?: string; messageId?: string; receivedAt?: Date },
): Promise<InboundResult> {
  const { xml } = await signedSendRequest({ catalogue: ctx.catalogue, service: o.service, content: o.content, signer: sampleSigner(o.signer ?? 'portal'), messageId: o.messageId ?? uuidV1At(o.receivedAt ?? ctx.now()) });
  return acceptRaw(ctx, xml, o.receivedAt);
}

/** Verifies a signed envelope as the push intake does (smev-intake.ts): the input every inbound flow takes. */
export function verifiedInput(ctx: FlowContext, xml: string, receivedAt = ctx.now()): InboundInput {
  const raw = Buffer.from(xml, 'utf8');
  const verification = verifySmevEnvelope<Partner>(parseXml(raw), { trust: ctx.trustAnchors, partnerOf: (cert) => ctx.partners.byCertificate(cert.fingerprintSha256), now: receivedAt });
  if (!verification.valid || !verification.caller.partner) throw new Error(`test envelope not verified: ${verification.caller.message}`);
  return { raw, version: '1.1', parts: verification.parts!, verification, partner: verification.caller.partner, correlationId: 'test', receivedAt };
}

/** A signed SendRequest envelope through acceptSendRequest. */
export async function acceptRaw(ctx: FlowContext, xml: string, receivedAt = ctx.now()): Promise<InboundResult> {
  return acceptSendRequest(ctx, verifiedInput(ctx, xml, receivedAt));
}

/** An application from the portal, received through the real inbound flow; its id and registration number. */
export async function receiveApplication(ctx: FlowContext, service = 'advertising-permit', content?: JsonValue): Promise<{ applicationId: string; registrationNumber: string; messageId: string }> {
  const r = await receiveSendRequest(ctx, { service, content });
  if (!r.applicationId || !r.registrationNumber || !r.messageId) throw new Error(`no application from ${service}`);
  return { applicationId: r.applicationId, registrationNumber: r.registrationNumber, messageId: r.messageId };
}

/** The inbox items, oldest first (the feed `inbox` and its documents, as GET /api/v1/inbox reads them). */
export async function inboxItems(store: Store): Promise<InboxItem[]> {
  const entries = await store.readFeed('inbox', 0, 1000);
  const items: InboxItem[] = [];
  for (const e of entries) {
    const item = await readInboxItem(store, e.id);
    if (item) items.push(item);
  }
  return items;
}

/** A query from the agency (sample PKI), received through the real inbound flow; the id the city answers it by. */
export async function receiveAgencyQuery(ctx: FlowContext, service = 'advertising-permit-register-extract', content?: JsonValue): Promise<{ requestId: string; messageId: string }> {
  const r = await receiveSendRequest(ctx, { service, content, signer: 'agency' });
  const item = (await inboxItems(ctx.store)).find((i) => i.messageId === r.messageId);
  if (!item?.requestId) throw new Error(`no request from ${service}`);
  return { requestId: item.requestId, messageId: r.messageId! };
}

/** The journal records, oldest first (the feed `journal` and its documents), each with its evidence texts. */
export async function journalRecords(store: Store): Promise<Array<JournalRecord & { requestText: string | null; responseText: string | null }>> {
  const out = [];
  for (const e of await store.readFeed(JOURNAL, 0, 1000)) {
    const record = (await store.getDoc(JOURNAL, e.id)) as unknown as JournalRecord | null;
    if (!record) continue;
    const text = async (id: string | null) => (id ? ((await store.getBlob(EVIDENCE, id))?.toString('utf8') ?? null) : null);
    out.push({ ...record, requestText: await text(record.evidence.request), responseText: await text(record.evidence.response) });
  }
  return out;
}

/**
 * Resolves with the value once `probe` gives one that is not null/undefined/false (checked every
 * `everyMs`), or rejects after `timeoutMs` saying what was awaited. For state with no event
 * to await (a job's state in the store after a worker's attempt).
 */
export async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs = 5_000, everyMs = 10): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== null && value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`eventually: ${what} did not happen within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A status delivery's record (as GET /api/v1/deliveries/{id} reads it). */
export async function deliveryRecord(store: Store, id: string): Promise<Delivery | null> {
  return (await store.getDoc('deliveries', id)) as unknown as Delivery | null;
}
