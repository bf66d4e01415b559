/**
 * POST /ws/smev3 — the SMEV 3 message-exchange endpoint (SOAP 1.1).
 *
 * Why not node-soap's server: it verifies no signatures, parses the whole
 * envelope into objects before anyone could check them, and has no notion of
 * "translate only what the signature covers". Here the order is fixed:
 * parse (no DTDs, bounded) → verify signatures by position → check the
 * partner's rights → validate the content → translate the signed element →
 * store atomically → reply signed. Every answer, success or fault, is
 * journaled with the raw envelopes.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Partner } from '../config/partners.js';
import type { FlowContext } from '../flows/context.js';
import { acceptSendRequest, journalInput, type InboundResult } from '../flows/inbound-message.js';
import { acceptAck, acceptGetStatus, acceptSendResponse } from '../flows/inbound-other.js';
import { journalWrites } from '../journal/records.js';
import { verifySmevEnvelope, type SmevVerification } from '../signature/smev-profile.js';
import { parseXml, XmlError } from '../xml/parser.js';
import { faultEnvelope, SmevFault } from './faults.js';
import { opsEvents, type Stage } from '../ops/events.js';
import { isSmevVersion, type SmevVersion } from './namespaces.js';
import type { SoapAccess } from './access.js';

const OPERATIONS: Record<string, string> = {
  SendRequestRequest: 'SendRequest',
  SendResponseRequest: 'SendResponse',
  GetStatusRequest: 'GetStatus',
  AckRequest: 'Ack',
  GetRequestRequest: 'GetRequest',
  GetResponseRequest: 'GetResponse',
};

/**
 * Bodies at least this large give the event loop a turn between the stages
 * (parse, verify, the flow): a 1 MB envelope costs ~100 ms of CPU or more, and
 * without a pause every small request queued behind it waits for all of it.
 */
const YIELD_ABOVE_BYTES = 128 * 1024;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The XML limits for envelopes: deep enough for any real content, shallow enough to stay cheap. */
const ENVELOPE_LIMITS = { maxDepth: 128, maxAttributes: 64 };

interface Outcome {
  operation: string;
  partner: Partner | null;
  verification: SmevVerification<Partner> | null;
  service: string | null;
  messageId: string | null;
}

export function registerSmevEndpoint(app: FastifyInstance, ctx: FlowContext, access?: SoapAccess): void {
  app.register(async (scope) => {
    // Floods are refused before their bodies are parsed (src/soap/access.ts).
    if (access) {
      scope.addHook('onRequest', access.admitClient);
      scope.addHook('preHandler', access.admitInFlight);
    }
    // Raw bytes: the signature is checked over exactly what arrived. No other
    // body parser (JSON, text) reaches this scope: anything else is a 415 fault.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.addContentTypeParser('application/soap+xml', { parseAs: 'buffer' }, (_req, _body, done) => {
      done(Object.assign(new Error('SOAP 1.2 (application/soap+xml) is not supported; send SOAP 1.1 as text/xml'), { statusCode: 415 }), undefined);
    });
    // Transport-level problems (wrong content type, body too large) still get a SOAP fault.
    scope.setErrorHandler(async (error: Error & { statusCode?: number }, request, reply) => {
      const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
      if (status === 500) request.log.error({ err: error }, 'SOAP endpoint failed');
      const fault = status === 500 ? new SmevFault('SMEVFailure', 'the gateway could not process the message; retry later') : new SmevFault('InvalidContent', transportMessage(error, status));
      return reply.status(status).type('text/xml; charset=utf-8').send(faultEnvelope(fault, '1.1', request.id));
    });

    scope.post('/ws/smev3', async (request, reply) => {
      const receivedAt = ctx.now();
      const started = performance.now();
      const raw = request.body as Buffer;
      const outcome: Outcome = { operation: 'unknown', partner: null, verification: null, service: null, messageId: null };
      const stages: Partial<Record<Stage, number>> = {};
      let version: SmevVersion = guessVersion(raw);
      try {
        const tlsClient = access?.tlsClientOf(request) ?? { kind: 'none' as const };
        access?.requireTlsClient(tlsClient);
        const large = raw.length >= YIELD_ABOVE_BYTES;
        const doc = parse(raw);
        stages.parse = performance.now() - started;
        if (large) await yieldToLoop();
        const verifyStarted = performance.now();
        const verification = verifySmevEnvelope<Partner>(doc, {
          trust: ctx.trustAnchors,
          partnerOf: (cert) => ctx.partners.byCertificate(cert.fingerprintSha256),
          now: receivedAt,
        });
        outcome.verification = verification;
        stages.verify = performance.now() - verifyStarted;
        if (large) await yieldToLoop();
        const parts = verification.parts;
        if (parts) {
          if (isSmevVersion(parts.version)) version = parts.version;
          outcome.operation = OPERATIONS[parts.operation.localName] ?? parts.operation.localName;
        }
        checkSoapAction(request, parts?.operation.localName);
        const partner = requireValidSignatures(verification);
        outcome.partner = partner;
        // Only now, with the signer known: its TLS connection, then its quota.
        access?.checkTlsPartner(tlsClient, partner);
        access?.takePartnerQuota(partner);
        const input = { raw, version, parts: parts!, verification, partner, correlationId: request.id, receivedAt, stages };
        let result: InboundResult;
        switch (parts!.operation.localName) {
          case 'SendRequestRequest':
            result = await acceptSendRequest(ctx, input);
            break;
          case 'SendResponseRequest':
            result = await acceptSendResponse(ctx, input);
            break;
          case 'GetStatusRequest':
            result = await acceptGetStatus(ctx, input);
            break;
          case 'AckRequest':
            result = await acceptAck(ctx, input);
            break;
          default:
            throw new SmevFault('UnknownMessageType', `${parts!.operation.localName} is not served on this endpoint (the gateway receives pushed messages; it is not a SMEV queue)`);
        }
        outcome.service = result.service;
        outcome.messageId = result.messageId;
        request.log.info({ operation: outcome.operation, partner: partner.id, service: result.service, messageId: result.messageId, duplicate: result.duplicate, outcome: 'accepted' }, `${outcome.operation} accepted`);
        opsEvents.publish({
          at: receivedAt.toISOString(),
          direction: 'inbound',
          operation: outcome.operation,
          partner: partner.id,
          service: result.service,
          messageId: result.messageId,
          outcome: result.duplicate ? 'duplicate' : 'accepted',
          faultCode: null,
          signatureReason: null,
          applicationId: result.applicationId,
          registrationNumber: result.registrationNumber,
          durationMs: performance.now() - started,
          stages,
        });
        return reply.status(200).type('text/xml; charset=utf-8').send(result.reply);
      } catch (error) {
        const fault = asFault(error, request);
        const body = faultEnvelope(fault, version, request.id);
        await journalFault(ctx, raw, receivedAt, request.id, outcome, fault, body);
        request.log.warn({ operation: outcome.operation, partner: outcome.partner?.id ?? null, fault: fault.fault, reason: fault.extra.signatureReason, outcome: 'fault' }, `${outcome.operation} refused: ${fault.fault}`);
        opsEvents.publish({
          at: receivedAt.toISOString(),
          direction: 'inbound',
          operation: outcome.operation,
          partner: outcome.partner?.id ?? null,
          service: outcome.service,
          messageId: outcome.messageId,
          outcome: 'fault',
          faultCode: fault.fault,
          signatureReason: fault.extra.signatureReason ?? null,
          applicationId: null,
          registrationNumber: null,
          durationMs: performance.now() - started,
          stages,
        });
        if (fault.extra.retryAfterSeconds) reply.header('retry-after', String(fault.extra.retryAfterSeconds));
        return reply.status(500).type('text/xml; charset=utf-8').send(body);
      }
    });
  });
}

function parse(raw: Buffer) {
  try {
    return parseXml(raw, ENVELOPE_LIMITS);
  } catch (error) {
    if (error instanceof XmlError) {
      const position = error.line ? ` at line ${error.line}, column ${error.column}` : '';
      throw new SmevFault('InvalidContent', `the envelope is not acceptable XML (${error.code})${position}: ${error.message}`, {
        validationErrors: [{ message: `${error.code}: ${error.message}`, position: error.offset ?? 0 }],
      });
    }
    throw error;
  }
}

/** The verdicts, turned into the partner or the right fault. */
function requireValidSignatures(verification: SmevVerification<Partner>): Partner {
  const { caller, personal } = verification;
  if (!caller.valid) {
    if (caller.trust?.trusted && !caller.partner) {
      throw new SmevFault('SenderIsNotRegistered', `the certificate "${caller.details.certificate?.subject ?? '?'}" is trusted but belongs to no registered partner`);
    }
    throw new SmevFault('SignatureVerificationFault', caller.message, { signatureReason: caller.reason ?? 'SignatureIsInvalid' });
  }
  if (personal && !personal.valid) {
    throw new SmevFault('SignatureVerificationFault', `PersonalSignature: ${personal.message}`, { signatureReason: personal.reason ?? 'SignatureIsInvalid' });
  }
  const partner = caller.partner!;
  // A partner reached through a SMEV exchange talks to the gateway only there: answers to it go to the exchange.
  if (partner.transport.mode === 'pull') {
    throw new SmevFault('SenderIsNotRegistered', `partner ${partner.id} is registered in pull mode (through exchange ${partner.transport.exchange.id}); send through the exchange`);
  }
  return partner;
}

/** SOAPAction may be missing (the body decides); when present it must name the body's operation. */
function checkSoapAction(request: FastifyRequest, operationElement: string | undefined): void {
  const header = request.headers.soapaction;
  const action = (Array.isArray(header) ? header[0] : header)?.replace(/^"|"$/g, '').trim();
  if (!action || !operationElement) return;
  const expected = OPERATIONS[operationElement];
  const named = action.replace(/^urn:/, '');
  if (expected && named !== expected) {
    throw new SmevFault('SignatureVerificationFault', `SOAPAction "${action}" does not match the body's ${operationElement}`, { signatureReason: 'PoorSOAPEnvelopeFormat' });
  }
}

function asFault(error: unknown, request: FastifyRequest): SmevFault {
  if (error instanceof SmevFault) return error;
  // Anything else is ours or the store's: never a success we cannot keep, never internals.
  request.log.error({ err: error }, 'SMEV message processing failed');
  return new SmevFault('SMEVFailure', 'the gateway could not store or process the message now; retry later');
}

async function journalFault(ctx: FlowContext, raw: Buffer, receivedAt: Date, correlationId: string, outcome: Outcome, fault: SmevFault, body: string): Promise<void> {
  try {
    const journal = journalWrites(
      journalInput(
        { raw, correlationId, receivedAt, verification: outcome.verification, partner: outcome.partner },
        { operation: outcome.operation, service: outcome.service, messageId: outcome.messageId, succeeded: false, faultCode: fault.fault, faultString: fault.message },
        body,
      ),
      raw,
      body,
    );
    await ctx.store.commit({ docs: journal.docs, feeds: journal.feeds });
  } catch (error) {
    // The store is down (that is often why we fault): the log line is the record.
    ctx.logger.error({ err: error, correlationId, fault: fault.fault }, 'could not journal a refused message');
  }
}

function guessVersion(raw: Buffer): SmevVersion {
  const head = raw.subarray(0, 4096).toString('latin1');
  const m = /message-exchange\/types\/1\.([123])/.exec(head);
  return m ? (`1.${m[1]}` as SmevVersion) : '1.1';
}

function transportMessage(error: Error & { code?: string }, status: number): string {
  if (status === 413) return 'the message is larger than the gateway accepts (MAX_BODY_BYTES)';
  if (status === 415) return error.message.includes('SOAP 1.2') ? error.message : 'send SOAP 1.1 with Content-Type text/xml';
  return 'the request could not be read';
}
