/**
 * How a query ends with the agency's answer (content or rejection), whichever
 * way it came: a SendResponse through SMEV (inbound-other.ts), or the
 * synchronous answer of an X-Road / Trembita provider (delivery/xroad-query-delivery.ts).
 * One guarded commit (finishQuery): the query's final state, the inbox item
 * of kind `response` the city reads, its webhook job, and whatever else the
 * caller writes with it (journal, files); then the application goes back to
 * work when none of its queries is open.
 */
import { INBOX, type InboxItem } from '../city/model.js';
import { write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { BlobWrite, DocWrite, FeedAppend, JobInput, JsonValue } from '../store/types.js';
import { WEBHOOK_QUEUE, type FlowContext } from './context.js';
import { afterQueryEnded, finishQuery, type StoredQuery } from './queries.js';

export type QueryFinal = Parameters<typeof finishQuery>[2];

/** The answer as the inbox item carries it: everything of InboxItem but what the query decides. */
export type ResponseItemParts = Pick<InboxItem, 'messageId' | 'partner' | 'receivedAt' | 'attachments' | 'signature'> & Partial<Pick<InboxItem, 'exchangeFiles' | 'xroad'>>;

/** The inbox item of kind `response` for an answer to `query`. */
export function responseInboxItem(ctx: FlowContext, query: StoredQuery, inboxId: string, final: QueryFinal, parts: ResponseItemParts): InboxItem {
  return {
    id: inboxId,
    kind: 'response',
    service: query.service,
    serviceTitle: ctx.catalogue.get(query.service)?.title ?? query.service,
    messageId: parts.messageId,
    partner: parts.partner,
    receivedAt: parts.receivedAt,
    content: { queryId: query.id, state: final.state, answer: final.answer, rejections: final.rejections },
    attachments: parts.attachments,
    ...(parts.exchangeFiles && parts.exchangeFiles.length > 0 ? { exchangeFiles: parts.exchangeFiles } : {}),
    signature: parts.signature,
    test: false,
    applicationId: query.applicationId,
    registrationNumber: null,
    requestId: null,
    ackedAt: null,
    ...(parts.xroad ? { xroad: parts.xroad } : {}),
  };
}

/**
 * Ends the query with its answer: `final.responseInboxItemId` is set to
 * `inboxId`, the inbox item, its feed entry and webhook job are written with
 * `extra` in the guarded commit; when it won, afterQueryEnded runs.
 */
export async function endQueryWithResponse(
  ctx: FlowContext,
  query: StoredQuery,
  inboxId: string,
  final: QueryFinal,
  parts: ResponseItemParts,
  extra: { digest: string; result: JsonValue; docs?: DocWrite[]; blobs?: BlobWrite[]; feeds?: FeedAppend[]; jobs?: JobInput[] },
): Promise<Awaited<ReturnType<typeof finishQuery>>> {
  final.responseInboxItemId = inboxId;
  const item = responseInboxItem(ctx, query, inboxId, final, parts);
  const ended = await finishQuery(ctx, query, final, {
    digest: extra.digest,
    result: extra.result,
    docs: [write(INBOX, inboxId, item), ...(extra.docs ?? [])],
    blobs: extra.blobs,
    feeds: [{ feed: INBOX, id: inboxId, atLeastNow: true }, ...(extra.feeds ?? [])],
    jobs: [...(ctx.config.cityWebhookUrl ? [jobInput(WEBHOOK_QUEUE, inboxId, { inboxId })] : []), ...(extra.jobs ?? [])],
  });
  if (ended.won) await afterQueryEnded(ctx, ctx.lifecycle, query.applicationId);
  return ended;
}
