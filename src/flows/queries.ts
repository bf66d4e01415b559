/**
 * Interagency queries the city sends (выписка из ЕГРН, запись акта о
 * рождении, выписка из ЕГРЮЛ): one JSON call becomes a signed SendRequest to
 * the agency the partner registry names for that service, sent from the
 * durable queue; the agency's SendResponse (content, rejection or interim
 * status) comes back through POST /ws/smev3 and is correlated by `To` = our
 * MessageID (the push-mode convention of Okno's agency simulators).
 *
 * A query ends exactly once — answered, rejected, or failed (not deliverable,
 * or no answer by its deadline). Every final transition is a commit guarded
 * by the key `query-final:<id>`, so an answer and the deadline racing each
 * other cannot both win, and a second answer is refused.
 */
import { randomUUID } from 'node:crypto';
import { APPLICATIONS, OUTBOUND, type OutboundMessage, type OutboundQuery } from '../city/model.js';
import type { Lifecycle } from '../city/lifecycle.js';
import { conflict, invalid, notFound } from './errors.js';
import { uuidV1 } from '../soap/message-id.js';
import { defineCollection, write } from '../store/collection.js';
import { defineQueue, jobInput } from '../store/typed-queue.js';
import type { DocWrite, FeedAppend, JsonValue, WriteBatch } from '../store/types.js';
import type { FlowContext } from './context.js';
import { prepareFiles } from './outbound-file-signing.js';
import type { FileReference, SentFile } from './outbound-files.js';
import { changeStatus } from './status-reporting.js';

/** Queries to send to their agency, by query id. */
export const QUERY_QUEUE = defineQueue<{ queryId: string }>('agency-queries');
/** A query's deadline: the job becomes available when it passes. */
export const QUERY_DEADLINES = defineQueue<{ queryId: string }>('query-deadlines');

export const finalKey = (queryId: string) => `query-final:${queryId}`;
export const applicationQueriesFeed = (applicationId: string) => `app-queries.${applicationId}`;
export const queryStatusFeed = (queryId: string) => `query-status.${queryId}`;

export interface QueryInput {
  service: string;
  data: JsonValue;
  applicationId?: string;
  /** Which agency, when the registry names several for the service. */
  partner?: string;
  /** ISO date-time; default now + QUERY_DEADLINE_HOURS. */
  deadline?: string;
  /** Files (POST /api/v1/files) the query carries: signed by the gateway, sent as MTOM parts. */
  files?: FileReference[];
  /** X-Road / Trembita partners: the user on whose behalf the city asks (xrd:userId, X-Road-UserId, Uxp-Subject-Id). */
  userId?: string;
  /** Trembita REST partners: the purposes of the query (Uxp-Purpose-Ids). */
  purposeIds?: string[];
}

/** What the worker knows about sending the query (written only by the worker). */
export interface QueryDelivery {
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  deliveredAt: string | null;
}

export interface StoredQuery extends OutboundQuery {
  deadline: string;
  createdAt: string;
  failure: string | null;
  /** The files the query carries, signed, as every attempt sends them. Absent: none. */
  files?: SentFile[];
  /** As the city gave them (QueryInput): sent to X-Road / Trembita partners on every attempt. Absent: none given. */
  userId?: string;
  purposeIds?: string[];
}

/** An interim status the agency reported (SMEV StatusCode / StatusDescription). */
export interface QueryStatus {
  code: number;
  description: string;
  at: string;
}

/** By query id. */
export const QUERIES = defineCollection<StoredQuery>('queries');
/** By query id: the query's content, as the city sent it. */
export const QUERY_DATA = defineCollection<JsonValue>('query-data');
/** By the ReplyTo token the agency's answer carries in `To`. */
export const QUERY_BY_REPLY_TO = defineCollection<{ queryId: string }>('query-by-reply-to');
/** By query id: how sending the query goes. */
export const QUERY_DELIVERIES = defineCollection<QueryDelivery>('query-deliveries');
/** By status id (listed by the feed queryStatusFeed(queryId)). */
export const QUERY_STATUSES = defineCollection<QueryStatus>('query-statuses');

export async function createQuery(ctx: FlowContext, lifecycle: Lifecycle, input: QueryInput): Promise<StoredQuery> {
  const service = ctx.catalogue.get(input.service);
  if (!service) throw invalid('UNKNOWN_SERVICE', `body/service: no service "${input.service}"; the city queries ${ctx.catalogue.services.filter((s) => s.kind === 'query' && s.direction === 'outbound').map((s) => s.id).join(', ')}`);
  if (service.kind !== 'query' || service.direction !== 'outbound') throw invalid('NOT_A_QUERY', `body/service: ${service.id} is not a query the city sends`);
  const problems = service.request.validateJson(input.data);
  if (problems.length > 0) {
    throw invalid('INVALID_DATA', `body/data does not fit ${service.id}: ${problems.map((p) => `${p.path || '/'} ${p.rule}`).join('; ')}`);
  }
  const candidates = ctx.partners.receiversOf(service.id).filter((p) => !input.partner || p.id === input.partner);
  if (candidates.length === 0) throw conflict('NO_AGENCY', `no partner${input.partner ? ` "${input.partner}"` : ''} is registered to receive ${service.id}`);
  if (candidates.length > 1) throw conflict('SEVERAL_AGENCIES', `several partners receive ${service.id} (${candidates.map((p) => p.id).join(', ')}); name one in body/partner`);
  const partner = candidates[0]!;

  const app = input.applicationId ? await ctx.store.getDoc(APPLICATIONS, input.applicationId) : null;
  if (input.applicationId) {
    if (!app) throw notFound(`body/applicationId: no application ${input.applicationId}`);
  }
  const now = ctx.now();
  const deadline = input.deadline ? new Date(input.deadline) : new Date(now.getTime() + ctx.config.queryDeadlineHours * 3_600_000);
  if (Number.isNaN(deadline.getTime()) || deadline <= now) throw invalid('INVALID_DEADLINE', 'body/deadline must be a date-time in the future');
  if (partner.transport.mode === 'xroad' && (input.files ?? []).length > 0) throw invalid('FILES_NOT_SUPPORTED', `body/files: partner ${partner.id} is reached through X-Road, and X-Road queries carry no files`);
  const prepared = await prepareFiles(ctx, input.files ?? [], { field: 'body/files', mode: partner.transport.mode === 'pull' ? 'pull' : 'push', mimeTypes: service.attachmentMimeTypes ?? null, docTypes: false });

  const query: StoredQuery = {
    id: randomUUID(),
    service: service.id,
    partner: partner.id,
    messageId: uuidV1(),
    replyTo: '',
    state: 'sent',
    applicationId: app?.id ?? null,
    answer: null,
    rejections: [],
    statuses: [],
    answeredAt: null,
    responseInboxItemId: null,
    deadline: deadline.toISOString(),
    createdAt: now.toISOString(),
    failure: null,
    ...(prepared.files.length > 0 ? { files: prepared.files } : {}),
    ...(input.userId !== undefined ? { userId: input.userId } : {}),
    ...(input.purposeIds !== undefined && input.purposeIds.length > 0 ? { purposeIds: input.purposeIds } : {}),
  };
  query.replyTo = query.messageId;
  const outbound: OutboundMessage = { messageId: query.messageId, partner: partner.id, kind: 'query', ref: query.id, ackedAt: null, accepted: null };
  const feeds: FeedAppend[] = app ? [{ feed: applicationQueriesFeed(app.id), id: query.id }] : [];
  await ctx.store.commit({
    docs: [
      write(QUERIES, query.id, query),
      write(QUERY_DATA, query.id, input.data),
      write(QUERY_BY_REPLY_TO, query.replyTo, { queryId: query.id }),
      write(OUTBOUND, query.messageId, outbound),
      ...prepared.docs,
    ],
    feeds,
    jobs: [
      jobInput(QUERY_QUEUE, query.id, { queryId: query.id }, { maxAttempts: ctx.config.delivery.maxAttempts }),
      jobInput(QUERY_DEADLINES, query.id, { queryId: query.id }, { availableAt: deadline.getTime() }),
    ],
  });
  // The application waits for interagency answers while any query is open.
  if (app && app.status === 'in_progress' && lifecycle.check(app.status, 'waiting_for_answers') === null) {
    await moveApplication(ctx, lifecycle, app.id, 'waiting_for_answers', `Направлен межведомственный запрос: ${service.title}`);
  }
  return query;
}

/**
 * Ends a query (answered / rejected / failed) with the writes that go with it,
 * unless it has already ended. Returns false when another final transition won.
 */
export async function finishQuery(
  ctx: FlowContext,
  query: StoredQuery,
  final: Pick<StoredQuery, 'state' | 'answer' | 'rejections' | 'answeredAt' | 'responseInboxItemId' | 'failure'>,
  extra: Omit<WriteBatch, 'idempotency'> & { digest: string; result: JsonValue },
): Promise<{ won: boolean; existing?: { digest: string; result: JsonValue } }> {
  const updated: StoredQuery = { ...query, ...final };
  const docs: DocWrite[] = [write(QUERIES, query.id, updated), ...(extra.docs ?? [])];
  const result = await ctx.store.commit({
    idempotency: { key: finalKey(query.id), record: { digest: extra.digest, result: extra.result, createdAt: ctx.now().getTime() } },
    docs,
    blobs: extra.blobs,
    feeds: extra.feeds,
    jobs: extra.jobs,
  });
  return result.applied ? { won: true } : { won: false, existing: { digest: result.existing.digest, result: result.existing.result } };
}

/** After a query ended: when none of the application's queries is open any more, it goes back to work. */
export async function afterQueryEnded(ctx: FlowContext, lifecycle: Lifecycle, applicationId: string | null): Promise<void> {
  if (!applicationId) return;
  const app = await ctx.store.getDoc(APPLICATIONS, applicationId);
  if (!app || app.status !== 'waiting_for_answers') return;
  const ids = (await ctx.store.readFeed(applicationQueriesFeed(applicationId), 0, 1000)).map((e) => e.id);
  for (const id of ids) {
    const q = await ctx.store.getDoc(QUERIES, id);
    if (q && q.state === 'sent') return;
  }
  await moveApplication(ctx, lifecycle, applicationId, 'in_progress', 'Получены ответы на межведомственные запросы');
}

async function moveApplication(ctx: FlowContext, lifecycle: Lifecycle, applicationId: string, code: string, comment: string): Promise<void> {
  try {
    await changeStatus(ctx, lifecycle, applicationId, { code, comment });
  } catch (error) {
    // A concurrent change by the city wins; the application's status is the city's decision.
    ctx.logger.warn({ applicationId, code, err: error }, 'could not move the application automatically');
  }
}

/** The query as the API shows it: its record, interim statuses, and how sending it goes. */
export async function queryView(ctx: FlowContext, id: string) {
  const q = await ctx.store.getDoc(QUERIES, id);
  if (!q) return null;
  const delivery = await ctx.store.getDoc(QUERY_DELIVERIES, id);
  const job = await ctx.store.queue(QUERY_QUEUE).get(id);
  const statuses = await ctx.store.readFeed(queryStatusFeed(id), 0, 100);
  const interim = [];
  for (const s of statuses) {
    const doc = await ctx.store.getDoc(QUERY_STATUSES, s.id);
    if (doc) interim.push(doc);
  }
  return {
    id: q.id,
    service: q.service,
    partner: q.partner,
    messageId: q.messageId,
    applicationId: q.applicationId,
    state: q.state,
    answer: q.answer,
    rejections: q.rejections,
    statuses: interim,
    failure: q.failure,
    createdAt: q.createdAt,
    deadline: q.deadline,
    answeredAt: q.answeredAt,
    responseInboxItemId: q.responseInboxItemId,
    files: (q.files ?? []).map((f) => ({ id: f.id, fileName: f.fileName, mimeType: f.mimeType, size: f.size, sha256: f.sha256, transport: f.transport })),
    delivery: {
      // The worker records every attempt (pending or delivered); a dead job means sending failed for good.
      state: delivery?.state === 'delivered' ? 'delivered' : job?.state === 'dead' ? 'failed' : 'pending',
      attempts: job?.attempts ?? delivery?.attempts ?? 0,
      lastError: job?.lastError ?? delivery?.lastError ?? null,
      deliveredAt: delivery?.deliveredAt ?? null,
    },
  };
}
