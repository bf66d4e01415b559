/**
 * Inbound SendRequest: an application from the portal or a query from an
 * agency. By the time this runs, the envelope's signatures are verified and
 * the partner is known; this flow checks what the partner may send, validates
 * the content against the service's schema, translates ONLY the verified
 * element to JSON, and stores everything the message causes in one atomic
 * commit — application, inbox item, journal record with evidence, the
 * idempotency record with the signed reply, the webhook job — before the
 * reply goes out.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { MessagePart, ServiceDefinition } from '../catalogue/types.js';
import { APPLICATIONS, ATTACHMENTS, INBOX, REGISTRATION_NUMBERS, type Application, type AttachmentMeta, type ExchangeFileRef, type InboxItem, type IncomingRequest, type SignatureSummary } from '../city/model.js';
import { storedInboxItem } from '../city/inbox-items.js';
import { nextRegistrationNumber } from '../city/registration.js';
import type { Exchange, Partner } from '../registry/partners.js';
import { findJournalRecord } from '../journal/lookup.js';
import { journalWrites, type JournalInput } from '../journal/records.js';
import type { Stage } from '../events/messages.js';
import { isInside } from '../signature/reference-digest.js';
import type { SmevEnvelopeParts, SmevVerification } from '../signature/smev-profile.js';
import { SmevFault } from '../soap/faults.js';
import type { SmevVersion } from '../soap/namespaces.js';
import { messageAccepted } from '../soap/reply.js';
import { write } from '../store/collection.js';
import { jobInput } from '../store/typed-queue.js';
import type { DocWrite, FeedAppend, IdempotencyRecord, JobInput, JsonValue } from '../store/types.js';
import { childElements, textContent } from '../xml/helpers.js';
import type { XmlElement } from '../xml/types.js';
import { REQUESTS } from './city-answers.js';
import { WEBHOOK_QUEUE, type FlowContext } from './context.js';
import { checkMessageIdFresh } from './freshness.js';
import { checkSignedStructure } from '../soap/signed-structure.js';
import { journalAttachmentSignature, requireAttachmentSignature, requireAttachmentSignersNotRevoked, type JournalAttachmentSignature } from './attachment-signatures.js';
import type { AttachmentSignatureCheck } from '../pki/cms/attachment.js';
import { exchangeFileWrites, hashAlgorithmFor } from './exchange-files.js';

/** SMEV MessageIDs are version-1 (time-based) UUIDs in lower case. */
const UUID_V1 = /^[0-9a-f]{8}-[0-9a-f]{4}-1[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * How a message reached the gateway when a SMEV exchange delivered it (pull
 * mode: GetRequest / GetResponse) instead of the partner pushing it to POST
 * /ws/smev3. The intake is the same; only where the answer goes, what is
 * journaled and where attachments come from differ.
 */
export interface PulledVia {
  exchange: Exchange;
  operation: 'GetRequest' | 'GetResponse';
  /** The exchange's ReplyTo for a request: the city's answer is addressed to it. */
  replyTo: string | null;
  /** For a response: OriginalMessageId, the MessageID of the city's request it answers. */
  originalMessageId: string | null;
  /** The exchange delivered it as MTOM (xop:Include already resolved to base64). */
  mtom: boolean;
  /** The element the exchange signed (Request / Response): FSAttachmentsList lives there. */
  exchangeSigned: XmlElement;
}

export interface InboundInput {
  /** Filled with the time spent per stage (ms), for metrics. */
  stages?: Partial<Record<Stage, number>>;
  raw: Buffer;
  version: SmevVersion;
  parts: SmevEnvelopeParts;
  verification: SmevVerification<Partner>;
  partner: Partner;
  correlationId: string;
  receivedAt: Date;
  /** Set when an exchange delivered the message (pull mode). */
  via?: PulledVia;
}

export interface InboundResult {
  reply: string;
  duplicate: boolean;
  service: string | null;
  messageId: string | null;
  applicationId: string | null;
  registrationNumber: string | null;
}

export function idempotencyKey(messageId: string): string {
  return `smev:${messageId}`;
}

/** Same MessageID + same signed content = a true duplicate: the digest the signature vouches for. */
function contentDigest(input: InboundInput): string {
  const d = input.verification.caller.details;
  return `${d.digestAlgorithm}:${d.digestValue}`;
}

export function readMessageId(signed: XmlElement): string {
  const el = childElements(signed).find((c) => c.localName === 'MessageID');
  const value = el && !el.children.some((c) => c.type === 'element') ? textContent(el).trim() : '';
  if (!UUID_V1.test(value)) {
    throw new SmevFault('InvalidMessageIdFormat', el ? 'MessageID must be a version-1 UUID in lower case (e.g. 3c5b1a2e-8f0b-11ef-9a3d-0242ac120002)' : 'MessageID is missing');
  }
  return value;
}

/** The one business element inside MessagePrimaryContent. */
export function primaryContent(signed: XmlElement): XmlElement {
  const containers = childElements(signed).filter((c) => c.localName === 'MessagePrimaryContent');
  const content = containers.length === 1 ? childElements(containers[0]!) : [];
  if (content.length !== 1) {
    throw new SmevFault('InvalidContent', 'MessagePrimaryContent must hold exactly one business element', { validationErrors: [{ message: 'MessagePrimaryContent: exactly one element required', position: containers[0]?.start ?? signed.start }] });
  }
  return content[0]!;
}

/** Finds the service for the content and checks the partner may send it in this role. */
export function resolveService(ctx: FlowContext, partner: Partner, content: XmlElement, part: MessagePart): ServiceDefinition {
  const found = ctx.catalogue.byRoot(content.namespaceURI, content.localName);
  const notSupported = (why: string) =>
    new SmevFault('BusinessDataTypeIsNotSupported', why, { rootElement: { localName: content.localName, namespace: content.namespaceURI } });
  if (!found) throw notSupported(`the gateway accepts no content {${content.namespaceURI}}${content.localName}`);
  if (found.part !== part) throw notSupported(`{${content.namespaceURI}}${content.localName} is a ${found.part} of service ${found.service.id}, not a ${part}`);
  const { service } = found;
  if (part === 'request' && service.direction !== 'inbound') throw notSupported(`service ${service.id} is one the city requests, not one it answers`);
  if (part === 'response' && service.direction !== 'outbound') throw notSupported(`service ${service.id} is not one the city requests`);
  const allowed = part === 'request' ? partner.sends.has(service.id) : partner.receives.has(service.id);
  if (!allowed) throw new SmevFault('SenderIsNotRegistered', `partner ${partner.id} is not registered to send ${part === 'request' ? 'requests' : 'responses'} of service ${service.id}`);
  return service;
}

/**
 * Schema validation of the business element and its JSON, in one walk over it (issue 26):
 * failures name element and rule; a value the mapping cannot convert throws its MappingError.
 */
export function readContent(service: ServiceDefinition, part: MessagePart, content: XmlElement): JsonValue {
  const definition = part === 'request' ? service.request : service.response!;
  const read = definition.readXml(content);
  if (!read.ok) {
    const { errors } = read;
    throw new SmevFault('InvalidContent', `content of ${service.id} is invalid: ${errors.map((e) => `${e.path}: ${e.rule}`).join('; ')}`, {
      validationErrors: errors.map((e) => ({ message: `${e.path}: ${e.message} (${e.rule})`, position: content.start })),
    });
  }
  return read.json;
}

export function signatureSummary(input: InboundInput): SignatureSummary {
  const { caller, personal } = input.verification;
  const cert = caller.details.certificate!;
  return {
    valid: caller.valid,
    algorithm: caller.details.signatureAlgorithmName ?? caller.details.signatureAlgorithm ?? '',
    certificate: {
      subject: cert.subject,
      issuer: cert.issuer,
      serial: cert.serialHex,
      fingerprintSha256: cert.fingerprintSha256,
      notAfter: cert.notAfter.toISOString(),
    },
    partner: input.partner.id,
    personal: personal
      ? {
          valid: personal.valid,
          algorithm: personal.details.signatureAlgorithmName ?? null,
          subject: personal.details.certificate?.subject ?? null,
          reason: personal.reason ?? null,
          message: personal.message,
        }
      : null,
  };
}

/**
 * Attachments listed in the signed AttachmentHeaderList, with their content
 * from AttachmentContentList (inline base64; in pull mode an MTOM reply's
 * parts are resolved to base64 before this runs). The content is stored by id
 * and described by size and SHA-256; pushed messages must carry it inline.
 */
/** Inline and MTOM files of an inbound message (request or response): stored, their SignaturePKCS7 checked under the service's policy. */
export function attachments(ctx: FlowContext, input: InboundInput, service: ServiceDefinition): { meta: AttachmentMeta[]; docs: DocWrite[]; journal: JournalAttachmentSignature[]; checks: Array<{ name: string; check: AttachmentSignatureCheck }> } {
  const headerList = childElements(input.parts.signed).find((c) => c.localName === 'AttachmentHeaderList');
  if (!headerList) return { meta: [], docs: [], journal: [], checks: [] };
  const contentList = childElements(input.parts.operation).find((c) => c.localName === 'AttachmentContentList');
  const contents = new Map<string, XmlElement>();
  for (const c of contentList ? childElements(contentList) : []) {
    const id = childElements(c).find((e) => e.localName === 'Id');
    const data = childElements(c).find((e) => e.localName === 'Content');
    if (id && data) contents.set(textContent(id).trim(), data);
  }
  const meta: AttachmentMeta[] = [];
  const docs: DocWrite[] = [];
  const journal: JournalAttachmentSignature[] = [];
  const checks: Array<{ name: string; check: AttachmentSignatureCheck }> = [];
  for (const header of childElements(headerList)) {
    const field = (name: string) => {
      const el = childElements(header).find((e) => e.localName === name);
      return el ? textContent(el).trim() : '';
    };
    const contentId = field('contentId');
    const data = contents.get(contentId);
    if (!data) throw new SmevFault('InvalidContent', `attachment ${contentId}: no AttachmentContent with that Id`, { validationErrors: [{ message: `AttachmentContent ${contentId} missing`, position: header.start }] });
    if (childElements(data).length > 0) throw new SmevFault('InvalidContent', `attachment ${contentId}: MTOM (xop:Include) attachments are not accepted; send the content inline`);
    const base64 = textContent(data).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || base64.length % 4 !== 0) throw new SmevFault('InvalidContent', `attachment ${contentId}: Content is not base64`);
    const bytes = Buffer.from(base64, 'base64');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const id = `sha256-${sha256}`;
    docs.push(write(ATTACHMENTS, id, { mimeType: field('MimeType'), base64 }, { ifAbsent: true }));
    const check = requireAttachmentSignature(ctx, service, { name: contentId, bytes, signature: field('SignaturePKCS7'), at: input.receivedAt });
    journal.push(journalAttachmentSignature(contentId, sha256, check));
    checks.push({ name: contentId, check });
    meta.push({ id, contentId, mimeType: field('MimeType'), size: bytes.length, sha256, pkcs7Signature: check.status === 'valid' ? 'valid' : 'absent', ...(check.summary ? { signature: check.summary } : {}), ...(input.via?.mtom ? { transfer: 'mtom' as const } : {}) });
  }
  return { meta, docs, journal, checks };
}

/**
 * Pull mode: files the exchange keeps in its file store — the sender's signed
 * RefAttachmentHeaderList (uuid, hash, MIME type) joined by uuid with the
 * exchange's FSAttachmentsList (file name; its credentials are not kept).
 */
export function exchangeFiles(signed: XmlElement, exchangeSigned: XmlElement | null): ExchangeFileRef[] {
  const field = (el: XmlElement, name: string) => {
    const f = childElements(el).find((e) => e.localName === name);
    return f ? textContent(f).trim() : null;
  };
  const refs = new Map<string, ExchangeFileRef>();
  const headers = childElements(signed).find((c) => c.localName === 'RefAttachmentHeaderList');
  for (const h of headers ? childElements(headers) : []) {
    const uuid = field(h, 'uuid');
    if (!uuid) continue;
    refs.set(uuid, { uuid, fileName: null, mimeType: field(h, 'MimeType'), hash: field(h, 'Hash'), pkcs7Signature: childElements(h).some((e) => e.localName === 'SignaturePKCS7') ? 'present-unverified' : 'absent' });
  }
  const list = exchangeSigned ? childElements(exchangeSigned).find((c) => c.localName === 'FSAttachmentsList') : undefined;
  for (const f of list ? childElements(list) : []) {
    const uuid = field(f, 'uuid');
    if (!uuid) continue;
    const known = refs.get(uuid) ?? { uuid, fileName: null, mimeType: null, hash: null, pkcs7Signature: 'absent' as const };
    refs.set(uuid, { ...known, fileName: field(f, 'FileName') });
  }
  return [...refs.values()];
}

/**
 * A file in the exchange's file store without a SignaturePKCS7, when the service requires signed
 * files, refuses the message at once (InvalidContent: the SOAP fault, or in pull mode a
 * RequestRejected before the Ack), as an unsigned inline file does: its absence is known
 * without downloading it. Signatures that are present are verified by the download worker.
 */
/** A service that requires signed files refuses, at acceptance, a file-store file whose header carries no SignaturePKCS7. */
export function requireFileStoreSignatures(service: ServiceDefinition, refs: ExchangeFileRef[]): void {
  if ((service.attachmentSignature ?? 'optional') !== 'required') return;
  const unsigned = refs.find((r) => r.pkcs7Signature === 'absent');
  if (unsigned) throw new SmevFault('InvalidContent', `attachment ${unsigned.fileName ?? unsigned.uuid} (file store uuid ${unsigned.uuid}) carries no SignaturePKCS7, but the service requires every file to be signed`);
}

function isTestMessage(signed: XmlElement): boolean {
  return childElements(signed).some((c) => c.localName === 'TestMessage');
}

/**
 * What an accepted SendRequest's idempotency record keeps (issue 26 point 1: one copy of each
 * document): the inbox item, and where the signed reply is — the journal record whose response
 * envelope holds its bytes — rather than the reply a second time. Records written before, and
 * pull mode (nothing is answered), keep `reply` itself.
 */
interface AcceptedResult {
  inboxId: string;
  reply?: string;
  replyJournalId?: string;
}

/**
 * Answers a MessageID seen before: the first reply again, or MessageIsAlreadySent for other
 * content. The first reply comes from its journal record (hot or archived); when retention has
 * removed that record, the same acceptance is signed again (`signAgain`).
 */
async function duplicateReply(ctx: FlowContext, existing: IdempotencyRecord, digest: string, messageId: string, signAgain: () => Promise<string>): Promise<string> {
  if (existing.digest !== digest) {
    throw new SmevFault('MessageIsAlreadySent', `a different message with MessageID ${messageId} was already accepted`);
  }
  const result = existing.result as unknown as AcceptedResult;
  if (typeof result.reply === 'string') return result.reply;
  if (typeof result.replyJournalId === 'string') {
    const found = await findJournalRecord(ctx.store, ctx.journalArchive, result.replyJournalId);
    const bytes = found?.evidence.response?.bytes;
    if (bytes) return bytes.toString('utf8');
  }
  return signAgain();
}

export async function acceptSendRequest(ctx: FlowContext, input: InboundInput): Promise<InboundResult> {
  const { parts, partner } = input;
  const signed = input.verification.caller.signedElement!;
  const messageId = readMessageId(signed);
  checkSignedStructure(signed, 'request');
  checkMessageIdFresh(messageId, input.receivedAt, ctx.config.messageMaxAgeHours);
  const content = primaryContent(signed);
  // Translate only what the signature covers.
  if (!isInside(content, signed)) throw new SmevFault('SMEVFailure', 'content outside the signed element');
  const service = resolveService(ctx, partner, content, 'request');
  let t = performance.now();
  const lap = (stage: Stage) => {
    const now = performance.now();
    if (input.stages) input.stages[stage] = (input.stages[stage] ?? 0) + (now - t);
    t = now;
  };
  // Validated and translated in one walk; before the duplicate check (a duplicate's content was valid and translatable too).
  const json = readContent(service, 'request', content);

  const digest = contentDigest(input);
  const key = idempotencyKey(messageId);
  const seen = await ctx.store.getIdempotency(key);
  // The signed acceptance: the reply now, or again for a duplicate whose first reply is gone with the journal's retention.
  const signReply = () =>
    messageAccepted('SendRequestResponse', input.version, {
      messageId,
      messageType: 'REQUEST',
      sender: { mnemonic: partner.id, name: partner.name },
      recipient: ctx.self,
      sendingTimestamp: input.receivedAt,
      destinationName: ctx.self.mnemonic,
      contentTypeName: service.title,
      interactionType: partner.role === 'portal' ? 'PGU2OIV' : 'OIV2OIV',
      status: 'requestIsQueued',
    }, { signer: ctx.signer, profile: partner.signatureProfile });
  if (seen) return { reply: await duplicateReply(ctx, seen, digest, messageId, signReply), duplicate: true, service: service.id, messageId, applicationId: null, registrationNumber: null };

  const files = attachments(ctx, input, service);
  await requireAttachmentSignersNotRevoked(ctx, files.checks, input.receivedAt);
  const fileRefs = exchangeFiles(signed, input.via?.exchangeSigned ?? null);
  requireFileStoreSignatures(service, fileRefs);
  lap('translate');
  const receivedAt = input.receivedAt.toISOString();
  const inboxId = randomUUID();
  const docs: DocWrite[] = [...files.docs];
  let applicationId: string | null = null;
  let registrationNumber: string | null = null;
  let requestId: string | null = null;

  if (service.kind === 'application') {
    const created = await newApplication(ctx, { service, partner, messageId, receivedAt: input.receivedAt, json, inboxId, attachments: files.meta, exchangeFiles: fileRefs, comment: `принято от ${partner.name}` });
    ({ applicationId, registrationNumber } = created);
    docs.push(...created.docs);
  } else {
    requestId = randomUUID();
    const request: IncomingRequest = {
      id: requestId,
      service: service.id,
      partner: partner.id,
      messageId,
      receivedAt,
      state: 'received',
      inboxItemId: inboxId,
      // Pulled: the city's answer goes back through the exchange, To = the ReplyTo it gave the request.
      ...(input.via ? { exchange: input.via.exchange.id, replyTo: input.via.replyTo ?? messageId } : {}),
    };
    docs.push(write(REQUESTS, requestId, request));
  }

  const item: InboxItem = {
    id: inboxId,
    kind: service.kind === 'application' ? 'application' : 'query',
    service: service.id,
    serviceTitle: service.title,
    messageId,
    partner: partner.id,
    receivedAt,
    content: json,
    attachments: files.meta,
    ...(fileRefs.length > 0 ? { exchangeFiles: fileRefs } : {}),
    signature: signatureSummary(input),
    test: isTestMessage(signed),
    applicationId,
    registrationNumber,
    requestId,
    ackedAt: null,
  };
  docs.push(write(INBOX, inboxId, storedInboxItem(item)));

  // Pushed: the signed SendRequestResponse the partner gets. Pulled: nothing is answered (the Ack follows the commit).
  const reply = input.via ? '' : await signReply();
  lap('sign');

  const journal = journalWrites(
    journalInput(input, { operation: input.via?.operation ?? 'SendRequest', service: service.id, messageId, succeeded: true, applicationId, registrationNumber, attachmentSignatures: files.journal }, reply),
    input.raw,
    input.via ? null : reply,
  );
  const feeds: FeedAppend[] = [{ feed: INBOX, id: inboxId, atLeastNow: true }, ...journal.feeds];
  const jobs: JobInput[] = ctx.config.cityWebhookUrl ? [jobInput(WEBHOOK_QUEUE, inboxId, { inboxId })] : [];
  // Files in the exchange's file store: fetched after the Ack by durable jobs (src/flows/exchange-files.ts, src/attachments/exchange-file-worker.ts).
  if (fileRefs.length > 0 && input.via) {
    const fetches = exchangeFileWrites({
      inboxId,
      messageId,
      applicationId,
      refs: fileRefs,
      exchange: input.via.exchange,
      signed,
      exchangeSigned: input.via.exchangeSigned,
      service: service.id,
      partner: partner.id,
      signaturePolicy: service.attachmentSignature ?? 'optional',
      // A request: a file the policy refuses after the Ack is answered with a RequestRejected to its ReplyTo.
      replyTo: input.via.replyTo ?? messageId,
      hashAlgorithm: hashAlgorithmFor(input.verification.caller.details.signatureAlgorithm),
      maxAttempts: ctx.config.fileStore.maxAttempts,
      webhook: ctx.config.cityWebhookUrl !== null,
      now: input.receivedAt,
    });
    docs.push(...fetches.docs);
    jobs.push(...fetches.jobs);
  }
  const result = await ctx.store.commit({
    // The reply's bytes are kept once, as the journal record's response envelope (see AcceptedResult).
    idempotency: { key, record: { digest, result: (reply ? { inboxId, replyJournalId: journal.id } : { inboxId, reply }) satisfies AcceptedResult, createdAt: input.receivedAt.getTime() } },
    docs: [...docs, ...journal.docs],
    blobs: journal.blobs,
    feeds,
    jobs,
  });
  lap('store');
  if (!result.applied) {
    // Another process accepted the same MessageID between our check and our commit.
    return { reply: await duplicateReply(ctx, result.existing, digest, messageId, signReply), duplicate: true, service: service.id, messageId, applicationId: null, registrationNumber: null };
  }
  return { reply, duplicate: false, service: service.id, messageId, applicationId, registrationNumber };
}

/**
 * A new application (kind application), whichever transport brought it: its registration number,
 * the application document and the index by registration number, for the caller's one commit.
 */
export async function newApplication(
  ctx: FlowContext,
  a: { service: ServiceDefinition; partner: Partner; messageId: string; receivedAt: Date; json: JsonValue; inboxId: string; attachments: AttachmentMeta[]; exchangeFiles?: ExchangeFileRef[]; comment: string },
): Promise<{ applicationId: string; registrationNumber: string; docs: DocWrite[] }> {
  const applicationId = randomUUID();
  const registrationNumber = await nextRegistrationNumber(ctx.store, a.service.id, a.service.registrationPrefix ?? 'ЗАЯВ', a.receivedAt);
  const receivedAt = a.receivedAt.toISOString();
  const application: Application = {
    id: applicationId,
    registrationNumber,
    service: a.service.id,
    serviceTitle: a.service.title,
    messageId: a.messageId,
    partner: a.partner.id,
    receivedAt,
    applicant: applicantOf(a.json),
    content: a.json,
    attachments: a.attachments,
    ...(a.exchangeFiles && a.exchangeFiles.length > 0 ? { exchangeFiles: a.exchangeFiles } : {}),
    status: 'received',
    statusHistory: [{ status: 'received', at: receivedAt, comment: a.comment }],
    inboxItemId: a.inboxId,
  };
  return {
    applicationId,
    registrationNumber,
    // Index: ops find an application by its registration number in one lookup.
    docs: [write(APPLICATIONS, applicationId, application), write(REGISTRATION_NUMBERS, registrationNumber, { applicationId, inboxItemId: a.inboxId })],
  };
}

/** The applicant block of an application's content (services name it applicant or parent). */
function applicantOf(json: JsonValue): JsonValue {
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    return json.applicant ?? json.parent ?? null;
  }
  return null;
}

export function journalInput(
  input: { raw: Buffer; correlationId: string; receivedAt: Date; verification: SmevVerification<Partner> | null; partner: Partner | null },
  fields: { operation: string; service: string | null; messageId: string | null; succeeded: boolean; applicationId?: string | null; registrationNumber?: string | null; faultCode?: string | null; faultString?: string | null; duplicate?: boolean; attachmentSignatures?: JournalAttachmentSignature[] },
  response: string,
): JournalInput {
  const caller = input.verification?.caller;
  return {
    correlationId: input.correlationId,
    direction: 'inbound',
    operation: fields.operation,
    partner: input.partner?.id ?? null,
    service: fields.service,
    messageId: fields.messageId,
    requestInTs: input.receivedAt.toISOString(),
    requestOutTs: null,
    responseInTs: null,
    responseOutTs: new Date().toISOString(),
    requestSize: input.raw.length,
    responseSize: Buffer.byteLength(response, 'utf8'),
    succeeded: fields.succeeded,
    faultCode: fields.faultCode ?? null,
    faultString: fields.faultString ?? null,
    duplicate: fields.duplicate ?? false,
    signature: caller
      ? {
          verdict: caller.valid ? 'valid' : caller.math === 'valid' ? 'invalid' : caller.math,
          reason: caller.reason ?? null,
          certificateSubject: caller.details.certificate?.subject ?? null,
          certificateFingerprint: caller.details.certificate?.fingerprintSha256 ?? null,
        }
      : null,
    applicationId: fields.applicationId ?? null,
    registrationNumber: fields.registrationNumber ?? null,
    ...(fields.attachmentSignatures && fields.attachmentSignatures.length > 0 ? { attachmentSignatures: fields.attachmentSignatures } : {}),
  };
}
