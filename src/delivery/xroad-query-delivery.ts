/**
 * The city's queries to partners reached through Security Servers (transport
 * xroad): one attempt calls the gateway's own Security Server
 * (registry xroad.securityServer) synchronously — X-Road 4.0 SOAP, or REST in
 * the partner's dialect (X-Road r1 / Trembita UXP) — and the answer ends the
 * query as an agency's SendResponse would (flows/query-response.ts): answered,
 * with an inbox item of kind `response`.
 *
 * The X-Road message id is the query's MessageID: unique per query, the same
 * on every attempt. A Client.* fault / REST error or a 4xx refuses the query
 * for good; a Server.* fault, a 5xx, a timeout or a network error is retried
 * with the queue's backoff; an answer whose headers do not echo ours, or whose
 * content does not fit the service, is refused. Every attempt is journaled
 * (direction outbound, `xroad` with every header, both bodies as evidence).
 */
import { randomUUID } from 'node:crypto';
import type { ServiceDefinition } from '../catalogue/types.js';
import type { InboxItem, SignatureSummary } from '../city/model.js';
import { opsEvents } from '../events/messages.js';
import type { FlowContext } from '../flows/context.js';
import { QUERY_DELIVERIES, type QueryDelivery, type StoredQuery } from '../flows/queries.js';
import { endQueryWithResponse } from '../flows/query-response.js';
import { journalWrites, type XRoadJournal } from '../journal/records.js';
import { xroadServiceCode, type Partner, type XRoadSelf, type XRoadTransport } from '../registry/partners.js';
import { formatMember, formatService, serviceOf, type XRoadService } from '../registry/xroad-members.js';
import { write } from '../store/collection.js';
import type { JsonValue } from '../store/types.js';
import { restDialect } from '../xroad/rest-dialects.js';
import { isPermanentRestError, readRestResponse, restHeaderRecord, restRequest } from '../xroad/rest-call.js';
import { isPermanentXRoadFault, readXRoadResponse, soapHeaderRecord, xroadRequestEnvelope, type XRoadSoapHeaders } from '../xroad/soap-request.js';
import type { JobOutcome } from './queue-worker.js';

/** What one call to the Security Server came to. */
type Attempt =
  | { kind: 'answered'; json: JsonValue }
  /** Refused for good (Client.* / 4xx / an answer the gateway cannot take): the query fails. */
  | { kind: 'refused'; code: string; error: string }
  /** Worth trying again (Server.* / 5xx / timeout / network). */
  | { kind: 'transient'; code: string; error: string };

interface Exchange {
  attempt: Attempt;
  requestBody: string;
  responseBody: string | null;
  requestHeaders: Record<string, string>;
  responseHeaders: Record<string, string>;
  status: number | null;
}

/** The user id sent when the city's query names none: the city's own member code (xroad.self). */
export function defaultXRoadUserId(self: XRoadSelf): string {
  return self.subsystem.memberCode;
}

/** The X-Road service a catalogue service is asked as, at `transport`'s subsystem. */
export function partnerService(transport: XRoadTransport, serviceId: string): XRoadService {
  const code = xroadServiceCode(transport, serviceId);
  return serviceOf(transport.subsystem, code.code, code.version);
}

/** The inbox item's signature summary for X-Road answers: the Security Servers signed and checked them. */
const viaSecurityServer = (partner: string): SignatureSummary => ({ valid: true, algorithm: 'x-road-security-server', certificate: null, partner, personal: null });

/** One attempt to send `query` to an xroad partner; what the queue does next. */
export async function sendXRoadQuery(ctx: FlowContext, query: StoredQuery, partner: Partner, service: ServiceDefinition, data: JsonValue, attempt: number): Promise<JobOutcome> {
  const transport = partner.transport;
  const self = ctx.partners.xroad;
  if (transport.mode !== 'xroad') return { kind: 'dead', error: `partner ${partner.id} is not reached through X-Road` };
  if (!self?.securityServer) return { kind: 'dead', error: 'the gateway has no Security Server (partners.json xroad.securityServer)' };
  if ((query.files ?? []).length > 0) return { kind: 'dead', error: `X-Road queries carry no files; partner ${partner.id} is reached through X-Road` };
  if (!service.response) return { kind: 'dead', error: `service ${service.id} has no response content` };

  const xService = partnerService(transport, service.id);
  const userId = query.userId ?? defaultXRoadUserId(self);
  const started = ctx.now();
  const exchange =
    transport.protocol === 'soap'
      ? await callSoap(ctx, self, { client: self.subsystem, service: xService, id: query.messageId, userId, issue: query.applicationId }, service, data)
      : await callRest(ctx, self, transport, xService, query, userId, service, data);
  const finished = ctx.now();
  const result = exchange.attempt;

  const xroad: XRoadJournal = {
    dialect: transport.dialect,
    protocol: transport.protocol,
    client: formatMember(self.subsystem),
    service: formatService(xService),
    id: query.messageId,
    userId,
    protocolVersion: transport.protocol === 'soap' ? '4.0' : null,
    issue: transport.protocol === 'soap' ? query.applicationId : null,
    requestHash: exchange.responseHeaders.requestHash ?? exchange.responseHeaders['X-Road-Request-Hash'] ?? null,
    headers: { ...exchange.requestHeaders, ...Object.fromEntries(Object.entries(exchange.responseHeaders).map(([k, v]) => [`response.${k}`, v])) },
  };
  const operation = transport.protocol === 'soap' ? 'xroad:SOAP' : 'xroad:REST';
  const error = result.kind === 'answered' ? null : result.error;
  const journal = journalWrites(
    {
      correlationId: `query:${query.id}:${attempt}`,
      direction: 'outbound',
      operation,
      partner: partner.id,
      service: service.id,
      messageId: query.messageId,
      requestInTs: null,
      requestOutTs: started.toISOString(),
      responseInTs: finished.toISOString(),
      responseOutTs: null,
      requestSize: Buffer.byteLength(exchange.requestBody),
      responseSize: exchange.responseBody === null ? 0 : Buffer.byteLength(exchange.responseBody),
      succeeded: result.kind === 'answered',
      faultCode: result.kind === 'answered' ? null : result.code,
      faultString: error,
      duplicate: false,
      signature: null,
      applicationId: query.applicationId,
      registrationNumber: null,
      xroad,
    },
    exchange.requestBody,
    exchange.responseBody,
  );
  const delivery: QueryDelivery = {
    state: result.kind === 'answered' ? 'delivered' : 'pending',
    attempts: attempt,
    lastError: error,
    deliveredAt: result.kind === 'answered' ? finished.toISOString() : null,
  };
  const docs = [write(QUERY_DELIVERIES, query.id, delivery), ...journal.docs];
  opsEvents.publish({
    at: started.toISOString(),
    direction: 'outbound',
    operation,
    partner: partner.id,
    service: service.id,
    messageId: query.messageId,
    outcome: result.kind === 'answered' ? 'delivered' : result.kind === 'refused' ? 'refused' : 'retry',
    faultCode: result.kind === 'answered' ? null : result.code,
    signatureReason: null,
    applicationId: query.applicationId,
    registrationNumber: null,
    durationMs: finished.getTime() - started.getTime(),
    stages: { deliver: finished.getTime() - started.getTime() },
  });
  const log = { queryId: query.id, partner: partner.id, service: service.id, xroadId: query.messageId, attempt, operation };

  if (result.kind !== 'answered') {
    await ctx.store.commit({ docs, blobs: journal.blobs, feeds: journal.feeds });
    ctx.logger.warn({ ...log, outcome: result.kind, error: result.error }, 'query not answered through X-Road');
    return result.kind === 'refused' ? { kind: 'dead', error: result.error } : { kind: 'retry', error: result.error };
  }
  const xroadItem: NonNullable<InboxItem['xroad']> = { dialect: transport.dialect, protocol: transport.protocol, client: xroad.client!, service: xroad.service!, id: query.messageId, userId };
  const ended = await endQueryWithResponse(
    ctx,
    query,
    randomUUID(),
    { state: 'answered', answer: result.json, rejections: [], answeredAt: finished.toISOString(), responseInboxItemId: null, failure: null },
    { messageId: query.messageId, partner: partner.id, receivedAt: finished.toISOString(), attachments: [], signature: viaSecurityServer(partner.id), xroad: xroadItem },
    { digest: `xroad:${query.messageId}`, result: null, docs, blobs: journal.blobs, feeds: journal.feeds },
  );
  // The deadline (or another attempt) ended it first: the exchange is still journaled.
  if (!ended.won) await ctx.store.commit({ docs, blobs: journal.blobs, feeds: journal.feeds });
  ctx.logger.info({ ...log, outcome: ended.won ? 'answered' : 'answer after the query ended' }, 'query answered through X-Road');
  return { kind: 'done' };
}

type Fetched = { kind: 'response'; status: number; headers: Headers; body: string } | { kind: 'network'; error: string } | { kind: 'too-large'; status: number; headers: Headers; error: string };

/** POSTs and reads the answer, at most `maxBytes` of it (MAX_BODY_BYTES, as for what partners send the gateway). */
async function post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, maxBytes: number): Promise<Fetched> {
  try {
    const res = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body?.getReader();
    for (let r = await reader?.read(); reader && r && !r.done; r = await reader.read()) {
      size += r.value.byteLength;
      if (size > maxBytes) {
        await reader.cancel().catch(() => undefined);
        return { kind: 'too-large', status: res.status, headers: res.headers, error: `answer refused: larger than MAX_BODY_BYTES (${maxBytes} bytes)` };
      }
      chunks.push(r.value);
    }
    return { kind: 'response', status: res.status, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string }; code?: string };
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : `${e.cause?.code ?? e.code ?? e.name}: ${e.message}`;
    return { kind: 'network', error: `network: ${why}` };
  }
}

async function callSoap(ctx: FlowContext, self: XRoadSelf, headers: XRoadSoapHeaders, service: ServiceDefinition, data: JsonValue): Promise<Exchange> {
  const envelope = xroadRequestEnvelope(headers, { namespace: service.request.namespace }, service.request.toXml(data));
  const requestHeaders = soapHeaderRecord(headers);
  const base = { requestBody: envelope, requestHeaders };
  const res = await post(self.securityServer!, { 'content-type': 'text/xml; charset=utf-8', soapaction: '""' }, envelope, ctx.config.delivery.timeoutMs, ctx.config.maxBodyBytes);
  if (res.kind === 'network') return { ...base, attempt: { kind: 'transient', code: 'transient', error: res.error }, responseBody: null, responseHeaders: {}, status: null };
  if (res.kind === 'too-large') return { ...base, attempt: { kind: 'refused', code: 'InvalidResponse', error: res.error }, responseBody: null, responseHeaders: {}, status: res.status };
  const reply = readXRoadResponse(res.body, headers, service.response!);
  const out = { ...base, responseBody: res.body, responseHeaders: reply.headers, status: res.status };
  if (reply.kind === 'fault') {
    const error = `${reply.faultCode}: ${reply.faultString}`;
    return { ...out, attempt: isPermanentXRoadFault(reply.faultCode) ? { kind: 'refused', code: reply.faultCode, error: `refused: ${error}` } : { kind: 'transient', code: reply.faultCode, error } };
  }
  if (res.status >= 500) return { ...out, attempt: { kind: 'transient', code: 'transient', error: `HTTP ${res.status}${reply.kind === 'invalid' ? ` (${reply.reason})` : ''}` } };
  if (res.status < 200 || res.status > 299) return { ...out, attempt: { kind: 'refused', code: `HTTP ${res.status}`, error: `refused: HTTP ${res.status}` } };
  if (reply.kind === 'invalid') return { ...out, attempt: { kind: 'refused', code: 'InvalidResponse', error: `answer refused: ${reply.reason}` } };
  return { ...out, attempt: { kind: 'answered', json: reply.json } };
}

async function callRest(ctx: FlowContext, self: XRoadSelf, transport: XRoadTransport, xService: XRoadService, query: StoredQuery, userId: string, service: ServiceDefinition, data: JsonValue): Promise<Exchange> {
  const dialect = restDialect(transport.dialect);
  const request = restRequest({ dialect, securityServer: self.securityServer!, client: self.subsystem, service: xService, id: query.messageId, userId, purposeIds: query.purposeIds ?? [], body: data });
  const base = { requestBody: request.body, requestHeaders: restHeaderRecord(dialect, request.headers) };
  const res = await post(request.url, request.headers, request.body, ctx.config.delivery.timeoutMs, ctx.config.maxBodyBytes);
  if (res.kind === 'network') return { ...base, attempt: { kind: 'transient', code: 'transient', error: res.error }, responseBody: null, responseHeaders: {}, status: null };
  if (res.kind === 'too-large') return { ...base, attempt: { kind: 'refused', code: 'InvalidResponse', error: res.error }, responseBody: null, responseHeaders: restHeaderRecord(dialect, res.headers), status: res.status };
  const out = { ...base, responseBody: res.body, responseHeaders: restHeaderRecord(dialect, res.headers), status: res.status };
  const reply = readRestResponse(res.status, res.headers, res.body, request, dialect, service.response!);
  if (reply.kind === 'error') {
    const code = reply.type ?? `HTTP ${reply.status}`;
    const error = `${code}: ${reply.message}`;
    return { ...out, attempt: isPermanentRestError(reply.status, reply.type) ? { kind: 'refused', code, error: `refused: ${error}` } : { kind: 'transient', code, error } };
  }
  if (reply.kind === 'invalid') return { ...out, attempt: { kind: 'refused', code: 'InvalidResponse', error: `answer refused: ${reply.reason}` } };
  return { ...out, attempt: { kind: 'answered', json: reply.json } };
}
