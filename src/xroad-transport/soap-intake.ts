/**
 * One X-Road SOAP call, from raw bytes to the answer: parse (no DTDs,
 * bounded) → the X-Road headers (all required ones, once each, protocol 4.0)
 * → the service is ours → the client is a registered partner allowed it → the
 * operation element and its content (validated by the catalogue) → stored
 * (src/flows/xroad-inbound.ts) → the answer: a receipt at once for an
 * application; for a query the city's answer, waited for up to
 * XROAD_ANSWER_WAIT_S. Every answer (response or fault) is journaled and
 * announced as an ops event.
 */
import type { FlowContext } from '../flows/context.js';
import { acceptXRoadRequest, awaitRequestAnswer, journalXRoadResponse, resolveXRoadCall, type XRoadAccepted, type XRoadCall } from '../flows/xroad-inbound.js';
import type { MessageEvent } from '../events/messages.js';
import type { XRoadJournal } from '../journal/records.js';
import type { Logger } from '../log.js';
import type { AnsweredRequest } from '../flows/city-answers.js';
import { formatMember, formatService } from '../registry/xroad-members.js';
import { parseXml, XmlError } from '../xml/parser.js';
import { faultEnvelope, faultOf } from '../xroad/faults.js';
import { XRoadRefusal } from '../xroad/refusal.js';
import { normalizedSource, responseEnvelope, type HeaderEcho } from '../xroad/response.js';
import { operationContent, operationResponse, receiptResponse } from '../xroad/soap-body.js';
import { readXRoadHeaders, soapParts, type InboundXRoadHeaders } from '../xroad/soap-headers.js';
import { StoreReplicationError } from '../store/types.js';

export const XROAD_SOAP_OPERATION = 'xroad:SOAP';

/** The XML limits for envelopes, as for SMEV (src/push/smev-intake.ts). */
const ENVELOPE_LIMITS = { maxDepth: 128, maxAttributes: 64 };

export interface XRoadSoapPost {
  raw: Buffer;
  correlationId: string;
  receivedAt: Date;
  /** Aborted when the client goes away or the gateway shuts down: a waiting call stops waiting. */
  signal?: AbortSignal;
  /** Aborted when the gateway shuts down (the fault then says so). */
  shutdown?: AbortSignal;
}

export interface XRoadSoapAnswer {
  status: number;
  body: string;
  event: MessageEvent;
}

/** The journal's X-Road identifiers from read headers (or what is known before they were read). */
function journalOf(ctx: FlowContext, headers: InboundXRoadHeaders | null, call: XRoadCall | null): XRoadJournal {
  return {
    // The client's dialect once it is known, else the gateway's own.
    dialect: call?.partner.transport.dialect ?? ctx.partners.xroad?.dialect ?? 'xroad',
    protocol: 'soap',
    client: headers ? formatMember(headers.client) : null,
    service: headers ? formatService(headers.service) : null,
    id: headers?.id ?? null,
    userId: headers?.userId ?? null,
    protocolVersion: headers?.protocolVersion ?? null,
    issue: headers?.issue ?? null,
    requestHash: headers?.requestHash?.value ?? null,
    headers: headers?.headers ?? {},
  };
}

export async function processXRoadSoap(ctx: FlowContext, post: XRoadSoapPost, log: Pick<Logger, 'error' | 'warn'>): Promise<XRoadSoapAnswer> {
  const started = performance.now();
  let headers: InboundXRoadHeaders | null = null;
  let echo: HeaderEcho | null = null;
  let call: XRoadCall | null = null;
  let accepted: XRoadAccepted | null = null;
  const event = (outcome: MessageEvent['outcome'], faultCode: string | null): MessageEvent => ({
    at: post.receivedAt.toISOString(),
    direction: 'inbound',
    operation: XROAD_SOAP_OPERATION,
    partner: call?.partner.id ?? null,
    service: call?.service.id ?? null,
    messageId: headers?.id ?? null,
    outcome,
    faultCode,
    signatureReason: null,
    applicationId: accepted?.applicationId ?? null,
    registrationNumber: accepted?.registrationNumber ?? null,
    durationMs: performance.now() - started,
    stages: {},
  });
  const journal = async (body: string, fault: { code: string; string: string } | null, answerDelivered = false) => {
    try {
      await journalXRoadResponse(ctx, {
        correlationId: post.correlationId,
        receivedAt: post.receivedAt,
        operation: XROAD_SOAP_OPERATION,
        xroad: journalOf(ctx, headers, call),
        partner: call?.partner.id ?? null,
        service: call?.service.id ?? null,
        response: body,
        // Stored requests keep their envelope in the intake record; a refusal before intake keeps it here.
        request: accepted ? null : post.raw,
        fault,
        duplicate: accepted?.duplicate ?? false,
        accepted,
        answerDelivered,
      });
    } catch (error) {
      log.error({ err: error, correlationId: post.correlationId }, 'X-Road answer could not be journaled');
    }
  };
  try {
    let doc;
    try {
      doc = parseXml(post.raw, { ...ENVELOPE_LIMITS, maxBytes: ctx.config.maxBodyBytes });
    } catch (error) {
      if (error instanceof XmlError) throw new XRoadRefusal('bad-content', `Malformed SOAP message: ${error.code === 'DTD_FORBIDDEN' ? 'a DTD is not accepted' : error.message}`, 'InvalidXml');
      throw error;
    }
    const parts = soapParts(doc.root);
    headers = readXRoadHeaders(parts.header);
    echo = { source: normalizedSource(post.raw), header: parts.header!, elements: headers.elements };
    call = resolveXRoadCall(ctx, headers.client, headers.service);
    const { content, wrapperNamespace } = operationContent(call.service, headers.service.serviceCode, parts.operation);
    try {
      accepted = await acceptXRoadRequest(ctx, {
        raw: post.raw,
        correlationId: post.correlationId,
        receivedAt: post.receivedAt,
        operation: XROAD_SOAP_OPERATION,
        call,
        xroad: journalOf(ctx, headers, call),
        content: { xml: content },
      });
    } catch (error) {
      if (error instanceof XRoadRefusal) throw error;
      log.error({ err: error, correlationId: post.correlationId }, 'X-Road request could not be stored');
      throw new XRoadRefusal('unavailable', error instanceof StoreReplicationError ? `${error.message}; nothing was accepted yet, call again with the same id` : 'the gateway could not store the request; nothing was accepted, call again with the same id');
    }
    const code = headers.service.serviceCode;
    if (accepted.kind === 'application') {
      const body = responseEnvelope(echo, receiptResponse(code, { applicationId: accepted.applicationId!, registrationNumber: accepted.registrationNumber!, receivedAt: accepted.receivedAt }, wrapperNamespace ?? undefined));
      await journal(body, null);
      return { status: 200, body, event: event(accepted.duplicate ? 'duplicate' : 'accepted', null) };
    }
    const answered = await awaitRequestAnswer(ctx, accepted.requestId!, ctx.config.xroadAnswerWaitMs, post.signal);
    if (!answered?.answer) {
      if (post.shutdown?.aborted) throw new XRoadRefusal('answer-timeout', `the gateway is shutting down; the request is stored (${accepted.requestId}): call again with the same id (${headers.id}) for the answer`);
      if (post.signal?.aborted) throw new XRoadRefusal('answer-timeout', `the client went away before the city answered; the request is stored (${accepted.requestId}): call again with the same id (${headers.id}) for the answer`);
      throw new XRoadRefusal('answer-timeout', `the city has not answered within ${ctx.config.xroadAnswerWaitMs / 1000} s; the request is stored (${accepted.requestId}): call again with the same id (${headers.id}) for the answer`);
    }
    const body = answerBody(call, code, answered, echo, post.correlationId, wrapperNamespace);
    await journal(body.text, body.fault, true);
    return { status: body.fault ? 500 : 200, body: body.text, event: event(body.fault ? 'fault' : accepted.duplicate ? 'duplicate' : 'accepted', body.fault?.code ?? null) };
  } catch (error) {
    const refusal = error instanceof XRoadRefusal ? error : null;
    if (!refusal) log.error({ err: error, correlationId: post.correlationId }, 'X-Road SOAP call failed');
    const fault = faultOf(refusal ?? new XRoadRefusal('unavailable', 'the gateway could not process the request; call again later'));
    const body = faultEnvelope(fault, post.correlationId, echo);
    await journal(body, { code: fault.faultcode, string: fault.faultstring });
    return { status: fault.status, body, event: event('fault', fault.faultcode) };
  }
}

/** The city's answer as the response envelope, or its rejection as a fault. */
function answerBody(call: XRoadCall, code: string, answered: AnsweredRequest, echo: HeaderEcho, correlationId: string, wrapperNamespace: string | null): { text: string; fault: { code: string; string: string } | null } {
  const answer = answered.answer!;
  if (answer.kind === 'rejected') {
    const fault = faultOf(new XRoadRefusal('rejected', answer.description, answer.code));
    return { text: faultEnvelope(fault, correlationId, echo), fault: { code: fault.faultcode, string: fault.faultstring } };
  }
  const xml = call.service.response!.toXml(answer.data);
  return { text: responseEnvelope(echo, operationResponse(call.service, code, xml, wrapperNamespace ?? undefined)), fault: null };
}
