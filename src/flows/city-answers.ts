/**
 * The city answers an agency's query (one that arrived as inbox kind `query`):
 * with content of the service's response model, or a rejection with a SMEV
 * reject code. The answer is one guarded commit (a request is answered once;
 * a second answer is a 409), then a signed SendResponse goes to the agency
 * from the durable queue, `To` = the agency's request MessageID.
 */
import { OUTBOUND, type IncomingRequest, type OutboundMessage } from '../city/model.js';
import { conflict, invalid, notFound } from './errors.js';
import { uuidV1 } from '../soap/message-id.js';
import { defineCollection, write } from '../store/collection.js';
import { defineQueue, jobInput } from '../store/typed-queue.js';
import type { JsonValue } from '../store/types.js';
import type { FlowContext } from './context.js';
import { requestAnswers } from '../events/request-answers.js';
import { prepareFiles } from './outbound-file-signing.js';
import { unprocessable } from './errors.js';
import type { FileReference, SentFile } from './outbound-files.js';

/** The city's answers to send to agencies, by request id. */
export const RESPONSE_QUEUE = defineQueue<{ requestId: string }>('city-responses');
export const REJECT_CODES = ['ACCESS_DENIED', 'NO_DATA', 'UNKNOWN_REQUEST_DESCRIPTION', 'FAILURE'] as const;

/** Content may carry files (POST /api/v1/files) by id, like a status or a query; a rejection carries none. */
export type CityAnswer = { data: JsonValue; files?: FileReference[] } | { reject: { code: (typeof REJECT_CODES)[number]; description: string } };

/** A request as stored: the answer fields are absent until the city answers. */
export interface AnsweredRequest extends IncomingRequest {
  answer?: { kind: 'content'; data: JsonValue } | { kind: 'rejected'; code: string; description: string } | null;
  responseMessageId?: string | null;
  answeredAt?: string | null;
  /** The files the answer carries, signed, as every attempt sends them (MTOM parts, or the exchange's file store in pull mode above ATTACHMENT_INLINE_MAX_BYTES). Absent: none. */
  files?: SentFile[];
}

export interface ResponseDelivery {
  state: 'pending' | 'delivered' | 'failed';
  attempts: number;
  lastError: string | null;
  deliveredAt: string | null;
}

/** By request id (written at intake, updated by the answer). */
export const REQUESTS = defineCollection<AnsweredRequest>('requests');
/** By request id: how the answer's delivery to the agency went. */
export const REQUEST_DELIVERIES = defineCollection<ResponseDelivery>('request-deliveries');

export async function answerRequest(ctx: FlowContext, requestId: string, answer: CityAnswer): Promise<AnsweredRequest> {
  const request = await ctx.store.getDoc(REQUESTS, requestId);
  if (!request) throw notFound(`no request ${requestId}`);
  if (request.answer) throw conflict('ALREADY_ANSWERED', `request ${requestId} was already answered (${request.state}) at ${request.answeredAt}`);
  const service = ctx.catalogue.get(request.service);
  if (!service?.response) throw conflict('NO_RESPONSE_MODEL', `service ${request.service} has no response content`);
  if ('data' in answer) {
    const problems = service.response.validateJson(answer.data);
    if (problems.length > 0) throw invalid('INVALID_DATA', `body/data does not fit the ${service.id} response: ${problems.map((p) => `${p.path || '/'} ${p.rule}`).join('; ')}`);
  }
  const partner = ctx.partners.get(request.partner);
  if ('data' in answer && answer.files?.length && !partner) throw unprocessable('UNKNOWN_PARTNER', `body/files: partner ${request.partner} is no longer registered`);
  if ('data' in answer && answer.files?.length && partner?.transport.mode === 'xroad') throw unprocessable('FILES_NOT_SUPPORTED', `body/files: partner ${request.partner} is reached through X-Road, whose answers here carry no files`);
  const prepared =
    'data' in answer && answer.files?.length
      ? await prepareFiles(ctx, answer.files, { field: 'body/files', mode: partner!.transport.mode === 'pull' ? 'pull' : 'push', mimeTypes: service.attachmentMimeTypes ?? null, docTypes: false })
      : { files: [], docs: [] };
  const now = ctx.now().toISOString();
  const updated: AnsweredRequest = {
    ...request,
    state: 'data' in answer ? 'answered' : 'rejected',
    answer: 'data' in answer ? { kind: 'content', data: answer.data } : { kind: 'rejected', code: answer.reject.code, description: answer.reject.description },
    responseMessageId: uuidV1(),
    answeredAt: now,
    ...(prepared.files.length > 0 ? { files: prepared.files } : {}),
  };
  const outbound: OutboundMessage = { messageId: updated.responseMessageId!, partner: request.partner, kind: 'response', ref: request.id, ackedAt: null, accepted: null };
  // X-Road / Trembita: the answer goes back in the client's own call (src/flows/xroad-inbound.ts awaitRequestAnswer), nothing is pushed.
  const viaXRoad = partner?.transport.mode === 'xroad';
  const result = await ctx.store.commit({
    idempotency: { key: `request-answer:${request.id}`, record: { digest: updated.responseMessageId!, result: null, createdAt: Date.parse(now) } },
    docs: [
      write(REQUESTS, request.id, updated),
      ...(viaXRoad ? [] : [write(OUTBOUND, outbound.messageId, outbound)]),
      ...prepared.docs,
    ],
    jobs: viaXRoad ? [] : [jobInput(RESPONSE_QUEUE, request.id, { requestId: request.id }, { maxAttempts: ctx.config.delivery.maxAttempts })],
  });
  if (!result.applied) throw conflict('ALREADY_ANSWERED', `request ${requestId} was answered at the same moment`);
  requestAnswers.publish(request.id);
  return updated;
}

export async function requestView(ctx: FlowContext, id: string) {
  const r = await ctx.store.getDoc(REQUESTS, id);
  if (!r) return null;
  const delivery = await ctx.store.getDoc(REQUEST_DELIVERIES, id);
  const job = r.answer ? await ctx.store.queue(RESPONSE_QUEUE).get(id) : null;
  return {
    id: r.id,
    service: r.service,
    partner: r.partner,
    messageId: r.messageId,
    receivedAt: r.receivedAt,
    inboxItemId: r.inboxItemId,
    state: r.state,
    answer: r.answer ?? null,
    answeredAt: r.answeredAt ?? null,
    responseMessageId: r.responseMessageId ?? null,
    files: (r.files ?? []).map((f) => ({ id: f.id, fileName: f.fileName, mimeType: f.mimeType, size: f.size, sha256: f.sha256, transport: f.transport })),
    delivery: r.answer
      ? {
          state: delivery?.state === 'delivered' ? 'delivered' : job?.state === 'dead' ? 'failed' : 'pending',
          attempts: job?.attempts ?? delivery?.attempts ?? 0,
          lastError: job?.lastError ?? delivery?.lastError ?? null,
          deliveredAt: delivery?.deliveredAt ?? null,
        }
      : null,
  };
}
