/**
 * One pushed SMEV message, from raw bytes to the answer: parse (no DTDs,
 * bounded) → verify signatures by position → check the partner's rights →
 * validate the content → translate the signed element → store atomically →
 * reply signed. Every answer, success or fault, is journaled with the raw
 * envelopes.
 *
 * Transport-free on purpose: POST /ws/smev3 runs it on the event loop for
 * ordinary messages, and the large-message lane (large-message-lane.ts) runs
 * the very same function in a worker thread, so a 1 MB envelope never holds
 * up the small ones queued behind it.
 */
import type { Partner } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { acceptSendRequest, journalInput, type InboundResult } from '../flows/inbound-message.js';
import { acceptAck, acceptGetStatus, acceptSendResponse } from '../flows/inbound-other.js';
import type { TlsClient } from '../pki/tls-material.js';
import { journalWrites } from '../journal/records.js';
import { requireNotRevoked } from '../flows/revocation.js';
import type { Logger } from '../log.js';
import type { MessageEvent, Stage } from '../events/messages.js';
import { verifySmevEnvelope, type SmevVerification } from '../signature/smev-profile.js';
import { parseXml, XmlError } from '../xml/parser.js';
import { faultEnvelope, SmevFault } from '../soap/faults.js';
import { isSmevVersion, type SmevVersion } from '../soap/namespaces.js';
import { StoreReplicationError } from '../store/types.js';

export const OPERATIONS: Record<string, string> = {
  SendRequestRequest: 'SendRequest',
  SendResponseRequest: 'SendResponse',
  GetStatusRequest: 'GetStatus',
  AckRequest: 'Ack',
  GetRequestRequest: 'GetRequest',
  GetResponseRequest: 'GetResponse',
};

/**
 * Bodies at least this large give the event loop a turn between the stages
 * (parse, verify, the flow) when they are processed on the event loop (no
 * large-message lane): a 1 MB envelope costs ~100 ms of CPU or more, and
 * without a pause every small request queued behind it waits for all of it.
 */
const YIELD_ABOVE_BYTES = 128 * 1024;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The XML limits for envelopes: deep enough for any real content, shallow enough to stay cheap. */
const ENVELOPE_LIMITS = { maxDepth: 128, maxAttributes: 64 };

/** What arrived, as plain data (it crosses to a worker thread as is). */
export interface SmevPost {
  raw: Buffer;
  correlationId: string;
  receivedAt: Date;
  /** The SOAPAction header, if any. */
  soapAction: string | undefined;
  /** The TLS client certificate of the connection, as judged at the socket. */
  tlsClient: TlsClient;
}

/** The access checks that need the signer (src/push/access.ts); the quota may be asked across threads. */
export interface SmevGate {
  requireTlsClient(client: TlsClient): void;
  checkTlsPartner(client: TlsClient, partner: Partner): void;
  takePartnerQuota(partner: Partner): void | Promise<void>;
}

/** The answer, as plain data: status, SOAP body, Retry-After, and the ops event to publish. */
export interface SmevAnswer {
  status: 200 | 500;
  body: string;
  retryAfterSeconds: number | null;
  event: MessageEvent;
}

interface Outcome {
  operation: string;
  partner: Partner | null;
  verification: SmevVerification<Partner> | null;
  service: string | null;
  messageId: string | null;
}

/** Where the intake writes its lines: the request's logger (correlation id bound). */
export type IntakeLog = Pick<Logger, 'info' | 'warn' | 'error'>;

export async function processSmevPost(ctx: FlowContext, gate: SmevGate | null, post: SmevPost, log: IntakeLog): Promise<SmevAnswer> {
  const { raw, receivedAt } = post;
  const started = performance.now();
  const outcome: Outcome = { operation: 'unknown', partner: null, verification: null, service: null, messageId: null };
  const stages: Partial<Record<Stage, number>> = {};
  let version: SmevVersion = guessVersion(raw);
  try {
    gate?.requireTlsClient(post.tlsClient);
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
    checkSoapAction(post.soapAction, parts?.operation.localName);
    const partner = requireValidSignatures(verification);
    outcome.partner = partner;
    // Only now, with the signer known: its TLS connection, then its quota.
    gate?.checkTlsPartner(post.tlsClient, partner);
    await gate?.takePartnerQuota(partner);
    // OCSP after the quota (a responder call is the dearest check) and before anything is stored.
    const revocationStarted = performance.now();
    await requireNotRevoked(ctx, verification, log);
    stages.verify = (stages.verify ?? 0) + (performance.now() - revocationStarted);
    const input = { raw, version, parts: parts!, verification, partner, correlationId: post.correlationId, receivedAt, stages };
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
    log.info({ operation: outcome.operation, partner: partner.id, service: result.service, messageId: result.messageId, duplicate: result.duplicate, outcome: 'accepted' }, `${outcome.operation} accepted`);
    return {
      status: 200,
      body: result.reply,
      retryAfterSeconds: null,
      event: {
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
      },
    };
  } catch (error) {
    const fault = asFault(error, log);
    const body = faultEnvelope(fault, version, post.correlationId);
    await journalFault(ctx, post, outcome, fault, body);
    log.warn({ operation: outcome.operation, partner: outcome.partner?.id ?? null, fault: fault.fault, reason: fault.extra.signatureReason, outcome: 'fault' }, `${outcome.operation} refused: ${fault.fault}`);
    return {
      status: 500,
      body,
      retryAfterSeconds: fault.extra.retryAfterSeconds ?? null,
      event: {
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
      },
    };
  }
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
function checkSoapAction(header: string | undefined, operationElement: string | undefined): void {
  const action = header?.replace(/^"|"$/g, '').trim();
  if (!action || !operationElement) return;
  const expected = OPERATIONS[operationElement];
  const named = action.replace(/^urn:/, '');
  if (expected && named !== expected) {
    throw new SmevFault('SignatureVerificationFault', `SOAPAction "${action}" does not match the body's ${operationElement}`, { signatureReason: 'PoorSOAPEnvelopeFormat' });
  }
}

function asFault(error: unknown, log: IntakeLog): SmevFault {
  if (error instanceof SmevFault) return error;
  if (error instanceof StoreReplicationError) {
    // Stored on the primary but not confirmed by its replicas: no success a failover could take back.
    log.warn({ err: error }, 'SMEV message stored but its replication not confirmed: answered SMEVFailure');
    return new SmevFault('SMEVFailure', `${error.message}; the message is not accepted yet: retry later with the same MessageID`);
  }
  // Anything else is ours or the store's: never a success we cannot keep, never internals.
  log.error({ err: error }, 'SMEV message processing failed');
  return new SmevFault('SMEVFailure', 'the gateway could not store or process the message now; retry later');
}

async function journalFault(ctx: FlowContext, post: SmevPost, outcome: Outcome, fault: SmevFault, body: string): Promise<void> {
  try {
    const journal = journalWrites(
      journalInput(
        { raw: post.raw, correlationId: post.correlationId, receivedAt: post.receivedAt, verification: outcome.verification, partner: outcome.partner },
        { operation: outcome.operation, service: outcome.service, messageId: outcome.messageId, succeeded: false, faultCode: fault.fault, faultString: fault.message },
        body,
      ),
      post.raw,
      body,
    );
    await ctx.store.commit({ docs: journal.docs, blobs: journal.blobs, feeds: journal.feeds });
  } catch (error) {
    // The store is down (that is often why we fault): the log line is the record.
    ctx.logger.error({ err: error, correlationId: post.correlationId, fault: fault.fault }, 'could not journal a refused message');
  }
}

function guessVersion(raw: Buffer): SmevVersion {
  const head = raw.subarray(0, 4096).toString('latin1');
  const m = /message-exchange\/types\/1\.([123])/.exec(head);
  return m ? (`1.${m[1]}` as SmevVersion) : '1.1';
}
