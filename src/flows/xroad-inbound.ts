/**
 * Inbound X-Road / Trembita requests (SOAP or REST — the flow knows neither):
 * a client's call to a service the gateway provides, after the edge read the
 * protocol headers. The Security Servers signed and checked the message; this
 * flow checks the service is ours and the client may call it, validates the
 * content, and stores everything the call causes in one atomic commit —
 * application (+ registration number) or request, inbox item, journal record
 * with the raw request as evidence, the idempotency record, the webhook job —
 * before anything is answered.
 *
 * Answers: an application is answered at once (the edge writes a receipt from
 * XRoadAccepted); a query waits for the city (awaitRequestAnswer) up to
 * XROAD_ANSWER_WAIT_S. What was answered is journaled afterwards as a record of
 * its own (operation `<operation>:Response`, journalXRoadResponse) with the
 * response body as its response evidence and the same correlation id and
 * message id as the intake record: the intake is committed before the answer
 * exists, and journal records are never rewritten (they are sealed).
 *
 * Refusals are XRoadRefusal values (src/xroad/refusal.ts); the edges translate
 * them to Annex D faults or the REST error body.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { ServiceDefinition } from '../catalogue/types.js';
import { storedInboxItem } from '../city/inbox-items.js';
import { INBOX, type InboxItem, type IncomingRequest, type SignatureSummary } from '../city/model.js';
import { requestAnswers } from '../events/request-answers.js';
import { journalWrites, type JournalInput, type XRoadJournal } from '../journal/records.js';
import { xroadServiceCode, type Partner, type XRoadTransport } from '../registry/partners.js';
import { formatMember, formatService, sameMember, type XRoadMember, type XRoadService } from '../registry/xroad-members.js';
import { write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { DocWrite, FeedAppend, JobInput, JsonValue } from '../store/types.js';
import type { XmlElement } from '../xml/types.js';
import { XRoadRefusal } from '../xroad/refusal.js';
import { REQUEST_DELIVERIES, REQUESTS, type AnsweredRequest } from './city-answers.js';
import { WEBHOOK_QUEUE, type FlowContext } from './context.js';
import { newApplication } from './inbound-message.js';

/** A partner reached through Security Servers. */
export type XRoadPartner = Partner & { transport: XRoadTransport };

/** Who called which service: resolved from the protocol headers (resolveXRoadCall). */
export interface XRoadCall {
  partner: XRoadPartner;
  service: ServiceDefinition;
}

export interface XRoadRequestInput {
  /** The request as it arrived (envelope or JSON body): the journal's evidence. */
  raw: Buffer | string;
  correlationId: string;
  receivedAt: Date;
  /** 'xroad:SOAP' or 'xroad:REST': the journal's operation and the ops events'. */
  operation: string;
  call: XRoadCall;
  /** The identifiers and every header as it travelled (client, service, id, userId, …). */
  xroad: XRoadJournal;
  /** The business content: the SOAP body's element, or the REST body's JSON. Validated here. */
  content: { xml: XmlElement } | { json: JsonValue };
}

/** What was stored (or had been, for a repeat of the same client + id). */
export interface XRoadAccepted extends StoredResult {
  duplicate: boolean;
}

/** `xroad:{client}:{id}`: the same client may not reuse an id for other content. */
export function xroadIdempotencyKey(client: string, id: string): string {
  return `xroad:${client}:${id}`;
}

/**
 * The service and the partner behind an X-Road call: the service must be one
 * the gateway provides under that code (and version, when one is given), the
 * client a registered X-Road partner's identifier, and the partner allowed the
 * service (X-Road's access rights, per client identifier).
 */
export function resolveXRoadCall(ctx: FlowContext, client: XRoadMember, service: XRoadService): XRoadCall {
  const self = ctx.partners.xroad;
  if (!self) throw new XRoadRefusal('unknown-service', 'the gateway provides no X-Road services');
  const named = formatService(service);
  if (!sameMember(service, self.subsystem)) {
    throw new XRoadRefusal('unknown-service', `service ${named}: the gateway is ${formatMember(self.subsystem)}, not that provider`);
  }
  const serviceId = ctx.partners.serviceByXRoadCode(service.serviceCode);
  const definition = serviceId ? ctx.catalogue.get(serviceId) : undefined;
  if (!serviceId || !definition || definition.direction !== 'inbound' || definition.kind === 'status') {
    throw new XRoadRefusal('unknown-service', `service ${named}: the gateway provides no service with code ${service.serviceCode}`);
  }
  const code = xroadServiceCode(self, serviceId).version;
  if (service.serviceVersion !== null && service.serviceVersion !== code) {
    throw new XRoadRefusal('unknown-service', `service ${named}: ${service.serviceCode} is provided in version ${code ?? '(none)'}, not ${service.serviceVersion}`);
  }
  const partner = ctx.partners.byXRoadClient(client);
  if (!partner || partner.transport.mode !== 'xroad') throw new XRoadRefusal('unknown-client', `client ${formatMember(client)} is not a registered partner`);
  if (!partner.sends.has(serviceId)) throw new XRoadRefusal('unauthorised-client', `client ${formatMember(client)} (partner ${partner.id}) may not call ${service.serviceCode}`);
  return { partner: partner as XRoadPartner, service: definition };
}

/** JSON with its object keys sorted: the same content digests the same, whichever order the keys came in. */
function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k] as JsonValue)}`)
    .join(',')}}`;
}

/** The content checked against the service's request schema and given as the city's JSON. */
function contentJson(service: ServiceDefinition, content: XRoadRequestInput['content']): JsonValue {
  if ('xml' in content) {
    const el = content.xml;
    const def = service.request;
    if (el.namespaceURI !== def.namespace || el.localName !== def.rootElement) {
      throw new XRoadRefusal('bad-content', `${service.id} takes {${def.namespace}}${def.rootElement}, not {${el.namespaceURI}}${el.localName}`);
    }
    const read = def.readXml(el);
    if (!read.ok) throw new XRoadRefusal('bad-content', `content of ${service.id} is invalid: ${read.errors.map((e) => `${e.path}: ${e.rule}`).join('; ')}`);
    return read.json;
  }
  const problems = service.request.validateJson(content.json);
  if (problems.length > 0) throw new XRoadRefusal('bad-content', `content of ${service.id} is invalid: ${problems.map((p) => `${p.path || '/'}: ${p.rule}`).join('; ')}`);
  return content.json;
}

/** The signature summary of an X-Road message: the Security Servers signed and checked it. */
export function xroadSignature(partner: Partner): SignatureSummary {
  return { valid: true, algorithm: 'x-road-security-server', certificate: null, partner: partner.id, personal: null };
}

interface StoredResult {
  kind: 'application' | 'query';
  service: string;
  inboxId: string;
  receivedAt: string;
  applicationId: string | null;
  registrationNumber: string | null;
  requestId: string | null;
}

/**
 * Stores an X-Road request as an application or a query (one commit), or finds
 * the one stored under the same client + id. Throws XRoadRefusal for content
 * the service does not take and for an id reused with other content.
 */
export async function acceptXRoadRequest(ctx: FlowContext, input: XRoadRequestInput): Promise<XRoadAccepted> {
  const { partner, service } = input.call;
  const { xroad } = input;
  if (!xroad.client || !xroad.id) throw new XRoadRefusal('bad-header', 'the client and the message id are required', xroad.client ? 'id' : 'client');
  const json = contentJson(service, input.content);
  const digest = `sha256:${createHash('sha256').update(`${service.id}\n${canonicalJson(json)}`).digest('hex')}`;
  const key = xroadIdempotencyKey(xroad.client, xroad.id);
  const repeat = (record: { digest: string; result: unknown }): XRoadAccepted => {
    if (record.digest !== digest) throw new XRoadRefusal('id-reused', `client ${xroad.client} already sent a different request with id ${xroad.id}`);
    return { ...(record.result as StoredResult), duplicate: true };
  };
  const seen = await ctx.store.getIdempotency(key);
  if (seen) return repeat(seen);

  const receivedAt = input.receivedAt.toISOString();
  const inboxId = randomUUID();
  const docs: DocWrite[] = [];
  let applicationId: string | null = null;
  let registrationNumber: string | null = null;
  let requestId: string | null = null;
  const kind = service.kind === 'application' ? 'application' : 'query';
  if (kind === 'application') {
    const created = await newApplication(ctx, { service, partner, messageId: xroad.id, receivedAt: input.receivedAt, json, inboxId, attachments: [], comment: `принято от ${partner.name} (X-Road)` });
    ({ applicationId, registrationNumber } = created);
    docs.push(...created.docs);
  } else {
    requestId = randomUUID();
    const request: IncomingRequest = { id: requestId, service: service.id, partner: partner.id, messageId: xroad.id, receivedAt, state: 'received', inboxItemId: inboxId };
    docs.push(write(REQUESTS, requestId, request));
  }
  const item: InboxItem = {
    id: inboxId,
    kind,
    service: service.id,
    serviceTitle: service.title,
    messageId: xroad.id,
    partner: partner.id,
    receivedAt,
    content: json,
    attachments: [],
    signature: xroadSignature(partner),
    test: false,
    applicationId,
    registrationNumber,
    requestId,
    ackedAt: null,
    xroad: { dialect: xroad.dialect, protocol: xroad.protocol, client: xroad.client, service: xroad.service ?? '', id: xroad.id, userId: xroad.userId },
  };
  docs.push(write(INBOX, inboxId, storedInboxItem(item)));
  const journal = journalWrites(
    xroadJournalInput(input, { partner: partner.id, service: service.id, succeeded: true, applicationId, registrationNumber, responseSize: 0 }),
    input.raw,
    null,
  );
  const feeds: FeedAppend[] = [{ feed: INBOX, id: inboxId, atLeastNow: true }, ...journal.feeds];
  const jobs: JobInput[] = ctx.config.cityWebhookUrl ? [jobInput(WEBHOOK_QUEUE, inboxId, { inboxId })] : [];
  const stored: StoredResult = { kind, service: service.id, inboxId, receivedAt, applicationId, registrationNumber, requestId };
  const result = await ctx.store.commit({
    idempotency: { key, record: { digest, result: stored as unknown as JsonValue, createdAt: input.receivedAt.getTime() } },
    docs: [...docs, ...journal.docs],
    blobs: journal.blobs,
    feeds,
    jobs,
  });
  // Another process stored the same client + id between our check and our commit.
  if (!result.applied) return repeat(result.existing);
  return { ...stored, duplicate: false };
}

/**
 * The request once the city answered it, or null when `timeoutMs` passed (or
 * `signal` aborted) first. Hears the answer flow's event in this process and
 * polls the store meanwhile (the answer may come through another process).
 */
export async function awaitRequestAnswer(ctx: FlowContext, requestId: string, timeoutMs: number, signal?: AbortSignal, pollMs = 500): Promise<AnsweredRequest | null> {
  const answered = async () => {
    const doc = await ctx.store.getDoc(REQUESTS, requestId);
    return doc?.answer ? doc : null;
  };
  const first = await answered();
  if (first || timeoutMs <= 0 || signal?.aborted) return first;
  return new Promise<AnsweredRequest | null>((resolve, reject) => {
    let done = false;
    let checking = false;
    const finish = (value: AnsweredRequest | null, error?: unknown) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(poll);
      unsubscribe();
      signal?.removeEventListener('abort', onAbort);
      if (error !== undefined) reject(error);
      else resolve(value);
    };
    const check = () => {
      if (done || checking) return;
      checking = true;
      answered().then(
        (doc) => {
          checking = false;
          if (doc) finish(doc);
        },
        (error) => {
          checking = false;
          finish(null, error);
        },
      );
    };
    const onAbort = () => finish(null);
    const unsubscribe = requestAnswers.subscribe(requestId, () => {
      checking = false;
      check();
    });
    const poll = setInterval(check, pollMs);
    const timer = setTimeout(() => {
      // A last look: the answer may have landed just now.
      answered().then((doc) => finish(doc), (error) => finish(null, error));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The intake record's fields (and a response's or a fault's): operational-monitoring fields plus the X-Road identifiers. */
export function xroadJournalInput(
  input: { raw: Buffer | string | null; correlationId: string; receivedAt: Date; operation: string; xroad: XRoadJournal },
  fields: { partner: string | null; service: string | null; succeeded: boolean; applicationId?: string | null; registrationNumber?: string | null; faultCode?: string | null; faultString?: string | null; duplicate?: boolean; responseSize: number },
): JournalInput {
  return {
    correlationId: input.correlationId,
    direction: 'inbound',
    operation: input.operation,
    partner: fields.partner,
    service: fields.service,
    messageId: input.xroad.id,
    requestInTs: input.receivedAt.toISOString(),
    requestOutTs: null,
    responseInTs: null,
    responseOutTs: null,
    requestSize: input.raw === null ? 0 : typeof input.raw === 'string' ? Buffer.byteLength(input.raw, 'utf8') : input.raw.length,
    responseSize: fields.responseSize,
    succeeded: fields.succeeded,
    faultCode: fields.faultCode ?? null,
    faultString: fields.faultString ?? null,
    duplicate: fields.duplicate ?? false,
    signature: null,
    applicationId: fields.applicationId ?? null,
    registrationNumber: fields.registrationNumber ?? null,
    xroad: input.xroad,
  };
}

export interface XRoadResponseRecord {
  correlationId: string;
  receivedAt: Date;
  /** The intake's operation ('xroad:SOAP'); the record's is `${operation}:Response`. */
  operation: string;
  xroad: XRoadJournal;
  partner: string | null;
  service: string | null;
  /** The body answered (receipt, response content, or fault). */
  response: string;
  /** The request as received: kept when no intake record holds it (a refusal before intake); null when the intake record has it. */
  request: Buffer | string | null;
  fault: { code: string; string: string } | null;
  duplicate?: boolean;
  accepted?: XRoadAccepted | null;
  /** The city's answer (content or rejection) went back in this call: the request's delivery is done. */
  answerDelivered?: boolean;
}

/**
 * Journals what the gateway answered an X-Road call: a record of its own
 * (operation `<operation>:Response`, the body as its response evidence; a
 * refusal before intake keeps the request too). For an answered query, its
 * delivery is recorded as done (REQUEST_DELIVERIES): the answer went back in
 * the call. One commit.
 */
export async function journalXRoadResponse(ctx: FlowContext, r: XRoadResponseRecord): Promise<void> {
  const journal = journalWrites(
    {
      ...xroadJournalInput(
        { raw: r.request, correlationId: r.correlationId, receivedAt: r.receivedAt, operation: `${r.operation}:Response`, xroad: r.xroad },
        {
          partner: r.partner,
          service: r.service,
          succeeded: r.fault === null,
          applicationId: r.accepted?.applicationId ?? null,
          registrationNumber: r.accepted?.registrationNumber ?? null,
          faultCode: r.fault?.code ?? null,
          faultString: r.fault?.string ?? null,
          duplicate: r.duplicate ?? false,
          responseSize: Buffer.byteLength(r.response, 'utf8'),
        },
      ),
      responseOutTs: ctx.now().toISOString(),
    },
    r.request,
    r.response,
  );
  const now = ctx.now().toISOString();
  const requestId = r.accepted?.requestId ?? null;
  const docs = [...journal.docs];
  if (requestId && r.answerDelivered) docs.push(write(REQUEST_DELIVERIES, requestId, { state: 'delivered', attempts: 1, lastError: null, deliveredAt: now }));
  await ctx.store.commit({ docs, blobs: journal.blobs, feeds: journal.feeds });
}
