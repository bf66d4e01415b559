/**
 * The gateway as an X-Road / Trembita REST service provider: the provider's
 * Security Server maps each service id to {gateway}/xroad/rest and forwards
 * the client's call as POST /xroad/rest/{serviceCode} with the protocol's
 * headers (X-Road 7: X-Road-Client, X-Road-Id, X-Road-Service, …; Trembita:
 * Uxp-Client, Uxp-QueryID, Uxp-Service, …, in the dialect of the gateway's own
 * subsystem, registry `xroad.dialect`).
 *
 * Order: headers read and checked (src/xroad/rest-request.ts) → the service
 * named by the path (and X-Road-Service / Uxp-Service when present, which must
 * name the gateway's subsystem and the same code) → the client's partner and
 * its access right → the JSON body → stored in one commit
 * (src/flows/xroad-inbound.ts) → the answer: a receipt (application, 201) or
 * the city's answer (query, 200) awaited up to the answer wait. Every answer,
 * success or error, is journaled (its own `xroad:REST:Response` record) and
 * published as an ops event. Errors are the PR-REST §4.6 body
 * (src/xroad/rest-errors.ts).
 *
 * GET /xroad/rest/{serviceCode}/openapi.json describes each provided service
 * (src/xroad/openapi.ts), built once at registration.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServiceDefinition } from '../catalogue/types.js';
import { opsEvents, type MessageEvent } from '../events/messages.js';
import type { FlowContext } from '../flows/context.js';
import { acceptXRoadRequest, awaitRequestAnswer, journalXRoadResponse, resolveXRoadCall, type XRoadAccepted, type XRoadCall } from '../flows/xroad-inbound.js';
import type { XRoadJournal } from '../journal/records.js';
import { xroadServiceCode, type XRoadSelf } from '../registry/partners.js';
import { formatMember, formatService, sameMember, serviceOf, type XRoadService } from '../registry/xroad-members.js';
import type { JsonValue } from '../store/types.js';
import { restServiceOpenApi, XROAD_REST_PREFIX } from '../xroad/openapi.js';
import { XRoadRefusal } from '../xroad/refusal.js';
import { restDialect, type RestDialect } from '../xroad/rest-dialects.js';
import { REST_ERROR_CONTENT_TYPE, restErrorFor, restTransportError, X_ROAD_ERROR_HEADER, type RestError } from '../xroad/rest-errors.js';
import { readRestRequest, restRequestHash, type XRoadRestRequest } from '../xroad/rest-request.js';
import { StoreReplicationError } from '../store/types.js';

export const XROAD_REST_OPERATION = 'xroad:REST';

export interface XRoadRestOptions {
  /** How long a query's call waits for the city's answer; default config.xroadAnswerWaitMs (XROAD_ANSWER_WAIT_S). */
  answerWaitMs?: number;
  /** The largest body taken; default config.maxBodyBytes. */
  bodyLimit?: number;
}

/** The catalogue services the gateway provides over X-Road: inbound applications and queries some partner may send, by code. */
function providedServices(ctx: FlowContext, self: XRoadSelf): Map<string, ServiceDefinition> {
  const out = new Map<string, ServiceDefinition>();
  for (const s of ctx.catalogue.services) {
    if (s.direction !== 'inbound' || s.kind === 'status') continue;
    const { code } = xroadServiceCode(self, s.id);
    if (ctx.partners.serviceByXRoadCode(code) === s.id) out.set(code, s);
  }
  return out;
}

export function registerXRoadRestRoutes(app: FastifyInstance, ctx: FlowContext, options: XRoadRestOptions = {}): void {
  const self = ctx.partners.xroad;
  if (!self) return;
  const dialect = restDialect(self.dialect);
  const answerWaitMs = options.answerWaitMs ?? ctx.config.xroadAnswerWaitMs;
  // servers: PUBLIC_URL's …/xroad/rest, else the relative /xroad/rest (resolved against the description's own URL).
  const serverUrl = ctx.config.publicUrl ? `${ctx.config.publicUrl}${XROAD_REST_PREFIX}` : XROAD_REST_PREFIX;
  const descriptions = new Map<string, string>();
  for (const [code, service] of providedServices(ctx, self)) {
    descriptions.set(code, JSON.stringify(restServiceOpenApi({ service, code, dialect, provider: self.subsystem, serverUrl })));
  }

  app.register(async (scope) => {
    // Raw bytes: kept as the journal's evidence; JSON only (anything else: 415).
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(/^application\/([a-z0-9.+-]+\+)?json\s*(;|$)/i, { parseAs: 'buffer', bodyLimit: options.bodyLimit ?? ctx.config.maxBodyBytes }, (_req, body, done) => done(null, body));
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'X-Road REST endpoint failed');
      const e =
        status === 415
          ? restTransportError(415, 'Client.InvalidContentType', 'send the service’s JSON with Content-Type application/json', request.id)
          : status === 413
            ? restTransportError(413, 'Client.BadRequest', 'the body is larger than the gateway accepts (MAX_BODY_BYTES)', request.id)
            : status === 500
              ? restTransportError(500, 'Server.InternalError', 'the gateway could not process the request; nothing was answered, call again with the same id', request.id)
              : restTransportError(status, 'Client.BadRequest', 'the request could not be read', request.id);
      return sendError(reply, e, null);
    });

    scope.get<{ Params: { code: string } }>(`${XROAD_REST_PREFIX}/:code/openapi.json`, async (request, reply) => {
      const doc = descriptions.get(request.params.code);
      if (doc === undefined) return sendError(reply, restTransportError(404, 'Client.UnknownService', `the gateway provides no REST service with code ${request.params.code}`, request.id), null);
      return reply.type('application/json; charset=utf-8').send(doc);
    });

    scope.post<{ Params: { code: string } }>(`${XROAD_REST_PREFIX}/:code`, async (request, reply) => {
      const started = Date.now();
      const receivedAt = ctx.now();
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const exchange = new RestExchange(ctx, dialect, self, request, raw, receivedAt);
      // A client that hangs up stops a waiting call (its answer stays for a repeat with the same id).
      const gone = new AbortController();
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) gone.abort();
      });
      try {
        const answer = await exchange.handle(request.params.code, answerWaitMs, gone.signal);
        return await exchange.answer(reply, answer, started);
      } catch (err) {
        if (err instanceof XRoadRefusal) return await exchange.refuse(reply, err, started);
        // The store (or anything else) failed: what was committed stays, a repeat with the same id finds it.
        request.log.error({ err }, 'X-Road REST request failed');
        const message = err instanceof StoreReplicationError ? `${err.message}; nothing was accepted yet, call again with the same id` : 'the gateway could not store or answer the request; call again with the same id';
        return await exchange.refuse(reply, new XRoadRefusal('unavailable', message), started);
      }
    });
  });
}

/** A successful answer: the status and the JSON. */
interface RestAnswer {
  status: number;
  body: JsonValue;
  accepted: XRoadAccepted;
}

/** One POST: what is known of it as it is checked, for the answer, the journal and the ops event. */
class RestExchange {
  headers: XRoadRestRequest | null = null;
  service: XRoadService | null = null;
  call: XRoadCall | null = null;
  accepted: XRoadAccepted | null = null;
  requestHash: string | null = null;

  constructor(
    private readonly ctx: FlowContext,
    private readonly dialect: RestDialect,
    private readonly self: XRoadSelf,
    private readonly request: FastifyRequest,
    private readonly raw: Buffer,
    private readonly receivedAt: Date,
  ) {}

  async handle(code: string, answerWaitMs: number, gone: AbortSignal): Promise<RestAnswer> {
    const headers = readRestRequest(this.dialect, this.request.raw.rawHeaders);
    this.headers = headers;
    if (this.dialect.requestHash !== null) this.requestHash = restRequestHash(headers.headers, this.raw);
    const named = headers.service;
    if (named !== null && (!sameMember(named, this.self.subsystem) || named.serviceCode !== code)) {
      throw new XRoadRefusal('unknown-service', `${this.dialect.service} names ${formatService(named)}, but the request came to ${formatService(serviceOf(this.self.subsystem, code, null))}`);
    }
    this.service = named ?? serviceOf(this.self.subsystem, code, null);
    this.call = resolveXRoadCall(this.ctx, headers.client, this.service);
    const json = this.json();
    this.accepted = await acceptXRoadRequest(this.ctx, {
      raw: this.raw,
      correlationId: this.request.id,
      receivedAt: this.receivedAt,
      operation: XROAD_REST_OPERATION,
      call: this.call,
      xroad: this.journal(),
      content: { json },
    });
    const accepted = this.accepted;
    if (accepted.kind === 'application') {
      return { status: 201, accepted, body: { applicationId: accepted.applicationId, registrationNumber: accepted.registrationNumber, receivedAt: accepted.receivedAt } };
    }
    // A query: the call waits for the city (a repeat of the same client + id waits again, or finds the answer).
    const answered = await awaitRequestAnswer(this.ctx, accepted.requestId!, answerWaitMs, gone);
    if (answered?.answer?.kind === 'content') return { status: 200, accepted, body: answered.answer.data };
    if (answered?.answer?.kind === 'rejected') throw new XRoadRefusal('rejected', answered.answer.description, answered.answer.code);
    if (gone.aborted) throw new XRoadRefusal('answer-timeout', `the connection closed before the city answered; call again with the same ${this.dialect.id} (${headers.id}) for its answer`);
    throw new XRoadRefusal('answer-timeout', `the city did not answer within ${answerWaitMs / 1000} s; call again with the same ${this.dialect.id} (${headers.id}) for its answer`);
  }

  /** The body as JSON: unreadable JSON is the client's error (the schema is checked by the flow). */
  private json(): JsonValue {
    if (this.raw.length === 0) throw new XRoadRefusal('bad-content', 'the request has no body; send the service’s JSON', 'MissingBody');
    try {
      return JSON.parse(this.raw.toString('utf8')) as JsonValue;
    } catch (err) {
      throw new XRoadRefusal('bad-content', `the body is not JSON: ${(err as Error).message}`);
    }
  }

  /** The X-Road identifiers and every dialect header, for the journal. */
  journal(): XRoadJournal {
    const h = this.headers;
    return {
      dialect: this.dialect.dialect,
      protocol: 'rest',
      client: h ? formatMember(h.client) : firstHeader(this.request, this.dialect.client),
      service: this.service ? formatService(this.service, false) : firstHeader(this.request, this.dialect.service),
      id: h?.id ?? firstHeader(this.request, this.dialect.id),
      userId: h?.userId ?? null,
      protocolVersion: null,
      issue: h?.issue ?? null,
      requestHash: this.requestHash,
      headers: { ...(h?.headers ?? {}) },
    };
  }

  /** The identifying headers echoed on every answer, as PR-REST §4.3 lists them. */
  private echo(reply: FastifyReply): void {
    const j = this.journal();
    if (j.client) reply.header(this.dialect.client, j.client);
    if (j.service) reply.header(this.dialect.service, j.service);
    if (j.id) reply.header(this.dialect.id, j.id);
    if (this.dialect.requestHash !== null && this.requestHash !== null) reply.header(this.dialect.requestHash, this.requestHash);
  }

  async answer(reply: FastifyReply, answer: RestAnswer, started: number): Promise<FastifyReply> {
    const body = JSON.stringify(answer.body);
    await this.record(body, null, answer.accepted);
    this.publish(answer.accepted.duplicate ? 'duplicate' : 'accepted', null, started);
    this.echo(reply);
    return reply.status(answer.status).type('application/json; charset=utf-8').send(body);
  }

  async refuse(reply: FastifyReply, refusal: XRoadRefusal, started: number): Promise<FastifyReply> {
    const detail = this.journal().id ?? this.request.id;
    const error = restErrorFor(refusal, detail);
    const body = JSON.stringify(error.body);
    try {
      await this.record(body, { code: error.body.type, string: error.body.message }, this.accepted);
    } catch (err) {
      // The refusal is answered even when the journal cannot take it (the store is down).
      if (refusal.kind !== 'unavailable') throw err;
      this.request.log.error({ err }, 'X-Road REST refusal not journaled');
    }
    this.publish(refusal.kind === 'rejected' ? 'accepted' : 'fault', error.body.type, started);
    return sendError(reply, error, this);
  }

  /** The answer's journal record: the request is kept there too when no intake record holds it. */
  private async record(response: string, fault: { code: string; string: string } | null, accepted: XRoadAccepted | null): Promise<void> {
    const answered = accepted?.kind === 'query' && (fault === null || fault.code.startsWith('Server.ServiceFailed.'));
    await journalXRoadResponse(this.ctx, {
      correlationId: this.request.id,
      receivedAt: this.receivedAt,
      operation: XROAD_REST_OPERATION,
      xroad: this.journal(),
      partner: this.call?.partner.id ?? null,
      service: this.call?.service.id ?? null,
      response,
      request: accepted ? null : this.raw,
      fault,
      duplicate: accepted?.duplicate ?? false,
      accepted,
      answerDelivered: answered,
    });
  }

  private publish(outcome: MessageEvent['outcome'], faultCode: string | null, started: number): void {
    opsEvents.publish({
      at: this.receivedAt.toISOString(),
      direction: 'inbound',
      operation: XROAD_REST_OPERATION,
      partner: this.call?.partner.id ?? null,
      service: this.call?.service.id ?? null,
      messageId: this.journal().id,
      outcome,
      faultCode,
      signatureReason: null,
      applicationId: this.accepted?.applicationId ?? null,
      registrationNumber: this.accepted?.registrationNumber ?? null,
      durationMs: Date.now() - started,
      stages: {},
    });
  }

  echoOn(reply: FastifyReply): void {
    this.echo(reply);
  }
}

function sendError(reply: FastifyReply, error: RestError, exchange: RestExchange | null): FastifyReply {
  exchange?.echoOn(reply);
  if (error.xroadError) reply.header(X_ROAD_ERROR_HEADER, error.body.type);
  return reply.status(error.status).type(REST_ERROR_CONTENT_TYPE).send(JSON.stringify(error.body));
}

function firstHeader(request: FastifyRequest, name: string): string | null {
  const v = request.headers[name.toLowerCase()];
  const s = Array.isArray(v) ? v[v.length - 1] : v;
  return s === undefined || s === '' ? null : s;
}
