/**
 * The dashboard's look-ups: find an application by its registration number or
 * by any MessageID that belongs to it (the portal's request, a status message,
 * a query), and one application's whole trail — received, each status with
 * its delivery, each query with its answer — in time order.
 *
 * Ops see ids, codes, partners and times here; never the applicant or the
 * content (those are the city's, through the city API).
 */
import { APPLICATIONS, INBOX, OUTBOUND, REGISTRATION_NUMBERS, type Application, type OutboundMessage } from '../../city/model.js';
import type { FlowContext } from '../../flows/context.js';
import { idempotencyKey } from '../../flows/inbound-message.js';
import { applicationQueriesFeed, QUERIES, QUERY_DELIVERIES, QUERY_QUEUE } from '../../flows/queries.js';
import { DELIVERIES, STATUS_QUEUE } from '../../flows/status-reporting.js';
import { JOURNAL } from '../../journal/records.js';
import { recordTime } from '../../journal/records.js';
import { searchJournal } from '../../journal/search.js';
import { deliveryActions, type DeliveryAction } from '../delivery-actions.js';
import type { Collection, Store } from '../../store/types.js';

/** How many of the newest inbox items / journal records a search looks through (no index by these keys). */
export const SEARCH_SCAN_LIMIT = 20_000;
const PAGE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface SearchMatch {
  /** What was found: the application itself, its inbox item, a status message, a query, or a journal record. */
  kind: 'application' | 'inbox' | 'status' | 'query' | 'response' | 'journal';
  id: string;
  applicationId: string | null;
  registrationNumber: string | null;
  messageId: string | null;
  partner: string | null;
  at: string | null;
}

export interface SearchResult {
  q: string;
  /** The application the first match belongs to, or null. */
  applicationId: string | null;
  matches: SearchMatch[];
}

/** A message id (any of the application's messages), an application id, or a registration number. */
export async function searchMessages(ctx: FlowContext, raw: string): Promise<SearchResult> {
  const q = raw.trim();
  const matches: SearchMatch[] = [];
  const lower = q.toLowerCase();
  if (UUID.test(lower)) {
    const app = await ctx.store.getDoc(APPLICATIONS, lower);
    if (app) matches.push(appMatch(app));
    const seen = await ctx.store.getIdempotency(idempotencyKey(lower));
    const inboxId = seen && seen.result && typeof seen.result === 'object' && !Array.isArray(seen.result) ? seen.result.inboxId : undefined;
    if (typeof inboxId === 'string') {
      const item = await ctx.store.getDoc(INBOX, inboxId);
      if (item) matches.push({ kind: 'inbox', id: item.id, applicationId: item.applicationId, registrationNumber: item.registrationNumber, messageId: item.messageId, partner: item.partner, at: item.receivedAt });
    }
    const outbound = await ctx.store.getDoc(OUTBOUND, lower);
    if (outbound) matches.push(await outboundMatch(ctx.store, outbound));
    if (matches.length === 0) {
      const record = await scanBackwards(ctx.store, JOURNAL, JOURNAL, (r) => r.messageId === lower);
      if (record) {
        matches.push({ kind: 'journal', id: record.id, applicationId: record.applicationId, registrationNumber: record.registrationNumber, messageId: record.messageId, partner: record.partner, at: record.requestInTs ?? record.requestOutTs });
      }
    }
  } else if (q.length > 0) {
    const wanted = q.toUpperCase();
    const indexed = await ctx.store.getDoc(REGISTRATION_NUMBERS, wanted);
    const app = indexed ? await ctx.store.getDoc(APPLICATIONS, indexed.applicationId) : null;
    if (app) return { q, applicationId: app.id, matches: [appMatch(app)] };
    // Applications registered before the index existed: look back through the inbox.
    const item = await scanBackwards(ctx.store, INBOX, INBOX, (i) => i.registrationNumber !== null && i.registrationNumber.toUpperCase() === wanted);
    if (item) matches.push({ kind: 'inbox', id: item.id, applicationId: item.applicationId, registrationNumber: item.registrationNumber, messageId: item.messageId, partner: item.partner, at: item.receivedAt });
  }
  return { q, applicationId: matches.find((m) => m.applicationId)?.applicationId ?? null, matches };
}

function appMatch(app: Application): SearchMatch {
  return { kind: 'application', id: app.id, applicationId: app.id, registrationNumber: app.registrationNumber, messageId: app.messageId, partner: app.partner, at: app.receivedAt };
}

async function outboundMatch(store: Store, m: OutboundMessage): Promise<SearchMatch> {
  const base = { id: m.ref, messageId: m.messageId, partner: m.partner };
  if (m.kind === 'status') {
    const d = await store.getDoc(DELIVERIES, m.ref);
    return { ...base, kind: 'status', applicationId: d?.applicationId ?? null, registrationNumber: d?.registrationNumber ?? null, at: d?.createdAt ?? null };
  }
  if (m.kind === 'query') {
    const query = await store.getDoc(QUERIES, m.ref);
    return { ...base, kind: 'query', applicationId: query?.applicationId ?? null, registrationNumber: null, at: query?.createdAt ?? null };
  }
  return { ...base, kind: 'response', applicationId: null, registrationNumber: null, at: null };
}

/** The newest document of a feed that matches, looking at no more than SEARCH_SCAN_LIMIT entries. */
async function scanBackwards<T>(store: Store, feed: string, collection: Collection<T>, match: (doc: T) => boolean): Promise<T | null> {
  let before = Number.MAX_SAFE_INTEGER;
  for (let scanned = 0; scanned < SEARCH_SCAN_LIMIT; ) {
    const entries = await store.readFeedBackwards(feed, before, PAGE);
    if (entries.length === 0) return null;
    for (const e of entries) {
      const doc = await store.getDoc(collection, e.id);
      if (doc && match(doc)) return doc;
    }
    scanned += entries.length;
    before = entries[entries.length - 1]!.seq;
  }
  return null;
}

export interface TrailEntry {
  at: string;
  kind: 'received' | 'acknowledged' | 'status' | 'query' | 'answer';
  /** The status code, the query's service, … */
  title: string;
  partner: string | null;
  messageId: string | null;
  /** For statuses and queries: how sending it goes. */
  delivery: null | TrailDelivery;
  /** The journal records of this entry (each attempt of a delivery is one), oldest first. */
  journal: TrailRecord[];
  /** For queries and answers: the query's state (sent, answered, rejected, failed). */
  state: string | null;
}

export interface TrailRecord {
  id: string;
  at: string | null;
  direction: 'inbound' | 'outbound';
  operation: string;
  succeeded: boolean;
  faultCode: string | null;
}

export interface TrailDelivery {
  id: string;
  /** discarded: it was dead and ops gave it up. */
  state: 'pending' | 'delivered' | 'failed' | 'discarded';
  /** Attempts since the last replay (the queue's count). */
  attempts: number;
  /** Attempts over its whole life, dead rounds before replays included. */
  totalAttempts: number;
  lastError: string | null;
  deliveredAt: string | null;
  ackedAt: string | null;
  /** Each time it went dead and what ops did about it, oldest first. */
  history: DeliveryAction[];
}

export interface Trail {
  application: { id: string; registrationNumber: string; service: string; serviceTitle: string; partner: string; status: string; receivedAt: string; messageId: string };
  entries: TrailEntry[];
}

export async function applicationTrail(ctx: FlowContext, id: string): Promise<Trail | null> {
  const app = await ctx.store.getDoc(APPLICATIONS, id);
  if (!app) return null;
  // One scan for every record of the application (inbound request, each delivery attempt), grouped by MessageID.
  const page = await searchJournal(ctx.store, { applicationId: app.id }, { limit: 500 }, ctx.journalArchive);
  const byMessage = new Map<string, TrailRecord[]>();
  for (const { record } of [...page.items].reverse()) {
    if (!record.messageId) continue;
    const list = byMessage.get(record.messageId) ?? [];
    const t = recordTime(record);
    list.push({ id: record.id, at: t === null ? null : new Date(t).toISOString(), direction: record.direction, operation: record.operation, succeeded: record.succeeded, faultCode: record.faultCode });
    byMessage.set(record.messageId, list);
  }
  const recordsOf = (messageId: string | null | undefined, direction: 'inbound' | 'outbound') => (messageId ? (byMessage.get(messageId) ?? []).filter((r) => r.direction === direction) : []);
  const entries: TrailEntry[] = [
    { at: app.receivedAt, kind: 'received', title: app.serviceTitle, partner: app.partner, messageId: app.messageId, delivery: null, state: null, journal: recordsOf(app.messageId, 'inbound') },
  ];
  const item = await ctx.store.getDoc(INBOX, app.inboxItemId);
  if (item?.ackedAt) entries.push({ at: item.ackedAt, kind: 'acknowledged', title: 'city', partner: null, messageId: null, delivery: null, state: null, journal: [] });

  const statusQueue = ctx.store.queue(STATUS_QUEUE);
  for (const h of app.statusHistory) {
    if (!h.delivery) continue;
    const d = await ctx.store.getDoc(DELIVERIES, h.delivery);
    const job = await statusQueue.get(h.delivery);
    const outbound = d ? await ctx.store.getDoc(OUTBOUND, d.messageId) : null;
    const history = await deliveryActions(ctx.store, h.delivery);
    const discarded = !job && history.at(-1)?.action === 'discard';
    const state = discarded ? 'discarded' : job ? (job.state === 'done' ? 'delivered' : job.state === 'dead' ? 'failed' : 'pending') : (d?.state ?? 'pending');
    const attempts = job?.attempts ?? (d?.state === 'pending' ? 0 : 1);
    const journal = recordsOf(d?.messageId, 'outbound');
    entries.push({
      at: h.at,
      kind: 'status',
      title: h.status,
      partner: d?.partner ?? null,
      messageId: d?.messageId ?? null,
      delivery: {
        id: h.delivery,
        state,
        attempts,
        totalAttempts: Math.max(journal.length, attempts + history.filter((a) => a.action === 'replay').reduce((n, a) => n + a.attempts, 0)),
        lastError: job?.lastError ?? d?.lastError ?? null,
        deliveredAt: d?.deliveredAt ?? (state === 'delivered' && job ? new Date(job.updatedAt).toISOString() : null),
        ackedAt: outbound?.ackedAt ?? null,
        history,
      },
      state: null,
      journal,
    });
  }

  const queryQueue = ctx.store.queue(QUERY_QUEUE);
  for (const e of await ctx.store.readFeed(applicationQueriesFeed(app.id), 0, 500)) {
    const q = await ctx.store.getDoc(QUERIES, e.id);
    if (!q) continue;
    const qd = await ctx.store.getDoc(QUERY_DELIVERIES, q.id);
    const job = await queryQueue.get(q.id);
    entries.push({
      at: q.createdAt,
      kind: 'query',
      title: q.service,
      partner: q.partner,
      messageId: q.messageId,
      delivery: {
        id: q.id,
        state: qd?.state ?? (job?.state === 'dead' ? 'failed' : job?.state === 'done' ? 'delivered' : 'pending'),
        attempts: job?.attempts ?? qd?.attempts ?? 0,
        totalAttempts: Math.max(recordsOf(q.messageId, 'outbound').length, job?.attempts ?? qd?.attempts ?? 0),
        lastError: job?.lastError ?? qd?.lastError ?? null,
        deliveredAt: qd?.deliveredAt ?? null,
        ackedAt: null,
        history: [],
      },
      state: q.state,
      journal: recordsOf(q.messageId, 'outbound'),
    });
    if (q.answeredAt) {
      // The answer's own MessageID is its inbox item's; its journal record may not name the application, so look it up by that id.
      const answer = q.responseInboxItemId ? await ctx.store.getDoc(INBOX, q.responseInboxItemId) : null;
      let journal = recordsOf(answer?.messageId, 'inbound');
      if (answer?.messageId && journal.length === 0) {
        const found = await searchJournal(ctx.store, { messageId: answer.messageId, direction: 'inbound' }, { limit: 10 }, ctx.journalArchive);
        journal = found.items.reverse().map(({ record }) => {
          const t = recordTime(record);
          return { id: record.id, at: t === null ? null : new Date(t).toISOString(), direction: record.direction, operation: record.operation, succeeded: record.succeeded, faultCode: record.faultCode };
        });
      }
      entries.push({ at: q.answeredAt, kind: 'answer', title: q.service, partner: q.partner, messageId: answer?.messageId ?? null, delivery: null, state: q.state, journal });
    }
  }
  // Stable: entries of the same instant keep the order above (received before its first status).
  entries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  return {
    application: { id: app.id, registrationNumber: app.registrationNumber, service: app.service, serviceTitle: app.serviceTitle, partner: app.partner, status: app.status, receivedAt: app.receivedAt, messageId: app.messageId },
    entries,
  };
}
