/**
 * One attempt to send a message to a partner: sign the envelope with the
 * partner's profile, POST it, verify the answer, and journal the exchange with
 * both envelopes — whatever happens. Shared by every outbound flow (statuses
 * to the portal, queries to agencies, the city's answers to agencies).
 */
import type { Exchange, Partner, PartnerCertificate, SignatureProfile } from '../registry/partners.js';
import type { FlowContext } from '../flows/context.js';
import { journalWrites } from '../journal/records.js';
import { opsEvents } from '../events/messages.js';
import { signDocument } from '../signature/sign.js';
import type { DocWrite } from '../store/types.js';
import { FILE_STORE_UPLOADS, journalFile, type FileStoreUpload, type SentFile } from '../flows/outbound-files.js';
import { write } from '../store/collection.js';
import { streamMtom, type StreamedMtomBody } from '../soap/mtom.js';
import type { MtomAttachmentInput, RefAttachmentInput } from '../soap/envelope-builder.js';
import type { JobOutcome } from './queue-worker.js';
import { sendSoap, type SendOutcome } from './soap-client.js';

export interface OutboundAttempt {
  partner: Partner;
  /** Unsigned envelope with an empty CallerInformationSystemSignature. */
  envelope: string;
  operation: 'SendRequest' | 'SendResponse';
  service: string;
  messageId: string;
  correlationId: string;
  applicationId?: string | null;
  registrationNumber?: string | null;
  /** Extra documents to write in the same commit as the journal record, given the outcome. */
  docs?: (outcome: SendOutcome) => DocWrite[];
  /**
   * Files the message carries as MTOM parts (transport 'mtom'): the envelope names each in an
   * AttachmentHeader and an xop:Include of the part `id`; the bytes are streamed from the blob
   * store after the envelope is signed. Journaled by id, name, size and SHA-256.
   */
  files?: readonly SentFile[];
  /** Where the files with transport 'file-store' went (uploadFileStoreFiles): journaled with `via`. */
  uploads?: readonly FileStoreUpload[];
}

/**
 * What the queue does with the job after an attempt: done when the partner
 * accepted, dead when it refused the message as wrong, retried otherwise.
 * Logs the attempt either way (`what` names the message, e.g. "status").
 */
export function settle(ctx: FlowContext, outcome: SendOutcome, what: string, log: Record<string, unknown>): JobOutcome {
  if (outcome.kind === 'accepted') {
    ctx.logger.info({ ...log, outcome: outcome.kind }, `${what} delivered`);
    return { kind: 'done' };
  }
  const error = describeOutcome(outcome) ?? 'not delivered';
  ctx.logger.warn({ ...log, outcome: outcome.kind, error }, `${what} not delivered`);
  return outcome.kind === 'refused' ? { kind: 'dead', error } : { kind: 'retry', error };
}

export function describeOutcome(outcome: SendOutcome): string | null {
  if (outcome.kind === 'accepted') return null;
  if (outcome.kind === 'refused') return `refused by the partner: ${outcome.fault}: ${outcome.message}`;
  return outcome.error;
}

/**
 * Where a message to the partner goes and who must sign the reply: the
 * partner's own endpoint (push), or the SMEV exchange it is reached through
 * (pull: the exchange routes the message to the partner's queue, and its
 * SMEVSignature on the reply is checked against the exchange's certificates).
 */
export function routeTo(partner: Partner): { url: string | null; profile: SignatureProfile; signedBy: { id: string; certificates: readonly PartnerCertificate[] }; via: string | null } {
  if (partner.transport.mode === 'pull') return routeToExchange(partner.transport.exchange);
  return { url: partner.endpoint, profile: partner.signatureProfile, signedBy: partner, via: null };
}

export function routeToExchange(exchange: Exchange): ReturnType<typeof routeTo> {
  return { url: exchange.url, profile: exchange.signatureProfile, signedBy: { id: `exchange:${exchange.id}`, certificates: exchange.certificates }, via: exchange.id };
}

export type Route = ReturnType<typeof routeTo>;

export async function sendToPartner(ctx: FlowContext, a: OutboundAttempt): Promise<SendOutcome> {
  return sendVia(ctx, routeTo(a.partner), { ...a, partnerId: a.partner.id });
}

/** Signs, sends, verifies and journals one message on a route (also used for messages to an exchange with no known partner). */
export async function sendVia(ctx: FlowContext, route: Route, a: Omit<OutboundAttempt, 'partner'> & { partnerId: string | null }): Promise<SendOutcome> {
  if (!route.url) {
    return { kind: 'transient', status: null, body: null, error: `partner ${a.partnerId} has no endpoint (config/partners.json)` };
  }
  const signed = await signDocument(a.envelope, { signer: ctx.signer, profile: route.profile });
  const files = a.files ?? [];
  const parts = files.filter((f) => f.transport === 'mtom');
  const mtom = parts.length > 0 ? mtomBody(ctx, signed, parts, a.operation) : null;
  const uploadVia = new Map((a.uploads ?? []).map((u) => [u.id, u.via]));
  const requestOutTs = ctx.now();
  const outcome = await sendSoap({ url: route.url, envelope: signed, mtom, soapAction: `urn:${a.operation}`, timeoutMs: ctx.config.delivery.timeoutMs, signedBy: route.signedBy, trust: ctx.trustAnchors, agent: ctx.outboundAgent });
  const responseInTs = ctx.now();
  const journal = journalWrites(
    {
      correlationId: a.correlationId,
      direction: 'outbound',
      operation: a.operation,
      partner: a.partnerId,
      service: a.service,
      messageId: a.messageId,
      requestInTs: null,
      requestOutTs: requestOutTs.toISOString(),
      responseInTs: responseInTs.toISOString(),
      responseOutTs: null,
      requestSize: mtom ? mtom.length : Buffer.byteLength(signed),
      responseSize: outcome.body ? Buffer.byteLength(outcome.body) : 0,
      succeeded: outcome.kind === 'accepted',
      faultCode: outcome.kind === 'refused' ? outcome.fault : outcome.kind === 'transient' ? 'transient' : null,
      faultString: describeOutcome(outcome),
      duplicate: false,
      signature: null,
      applicationId: a.applicationId ?? null,
      registrationNumber: a.registrationNumber ?? null,
      ...(files.length > 0 ? { files: files.map((f) => journalFile(f, f.transport === 'mtom' ? 'mtom' : uploadVia.get(f.id))) } : {}),
    },
    signed,
    outcome.body,
  );
  await ctx.store.commit({ docs: [...journal.docs, ...(a.docs?.(outcome) ?? [])], blobs: journal.blobs, feeds: journal.feeds });
  opsEvents.publish({
    at: requestOutTs.toISOString(),
    direction: 'outbound',
    operation: a.operation,
    partner: a.partnerId,
    service: a.service,
    messageId: a.messageId,
    outcome: outcome.kind === 'accepted' ? 'delivered' : outcome.kind === 'refused' ? 'refused' : 'retry',
    faultCode: outcome.kind === 'refused' ? outcome.fault : null,
    signatureReason: null,
    applicationId: a.applicationId ?? null,
    registrationNumber: a.registrationNumber ?? null,
    durationMs: responseInTs.getTime() - requestOutTs.getTime(),
    stages: { deliver: responseInTs.getTime() - requestOutTs.getTime() },
  });
  return outcome;
}

/** The signed envelope and the files' bytes (streamed from the blob store) as one MTOM body. */
function mtomBody(ctx: FlowContext, signed: string, files: readonly SentFile[], operation: string): StreamedMtomBody {
  const blobs = ctx.blobs;
  if (!blobs) throw new Error('no blob store (ATTACHMENT_DIR) in the flow context: files cannot be sent');
  const parts = files.map((f) => {
    if (f.transport !== 'mtom') throw new Error(`file ${f.id} travels through the file store, not as an MTOM part`);
    return { contentId: f.id, contentType: f.mimeType, size: f.size, open: () => blobs.read(f.blobId) as AsyncIterable<Uint8Array> };
  });
  return streamMtom(signed, parts, `urn:${operation}`);
}

/** The AttachmentHeader / xop:Include entries of a message's MTOM files (each file's MIME part is named by its id); file-store files are left out. */
export function mtomAttachments(files: readonly SentFile[]): MtomAttachmentInput[] {
  return files.filter((f) => f.transport === 'mtom').map((f) => ({ contentId: f.id, mimeType: f.mimeType, part: f.id, signaturePkcs7: Buffer.from(f.signaturePkcs7, 'base64') }));
}

export type FileStoreOutcome =
  | { kind: 'ready'; refs: RefAttachmentInput[]; uploads: FileStoreUpload[] }
  /** An upload failed (retry the message with backoff) or the files cannot go at all (dead). */
  | { kind: 'retry' | 'dead'; error: string };

/**
 * The message's files above ATTACHMENT_INLINE_MAX_BYTES (transport 'file-store'), uploaded to
 * the exchange the partner is reached through, each once per message: an upload that succeeded
 * is recorded under the MessageID (FILE_STORE_UPLOADS) at once, and a retry of the message
 * uploads only what is still missing. Returns their RefAttachmentHeaders (uuid = the file id,
 * Hash, MimeType, the gateway's SignaturePKCS7) for the envelope's signed data.
 */
export async function uploadFileStoreFiles(ctx: FlowContext, partner: Partner, messageId: string, files: readonly SentFile[]): Promise<FileStoreOutcome> {
  const stored = files.filter((f) => f.transport === 'file-store');
  if (stored.length === 0) return { kind: 'ready', refs: [], uploads: [] };
  const ids = stored.map((f) => f.id).join(', ');
  if (partner.transport.mode !== 'pull') return { kind: 'dead', error: `files ${ids} are larger than ATTACHMENT_INLINE_MAX_BYTES and partner ${partner.id} is reached in push mode, without an exchange's file store` };
  const exchange = partner.transport.exchange;
  const upload = ctx.uploadToFileStore;
  if (!upload) return { kind: 'dead', error: `files ${ids} need the exchange's file store, and this gateway has no uploader for it` };
  const record = (await ctx.store.getDoc(FILE_STORE_UPLOADS, messageId)) ?? { messageId, files: {} };
  for (const file of stored) {
    if (record.files[file.id]) continue;
    let done: FileStoreUpload[];
    try {
      done = await upload(exchange, [file]);
    } catch (e) {
      const error = `file ${file.id} not uploaded to the file store of exchange ${exchange.id}: ${e instanceof Error ? e.message : String(e)}`;
      ctx.logger.warn({ messageId, exchange: exchange.id, file: file.id, error }, 'file-store upload failed; the message is retried');
      return { kind: 'retry', error };
    }
    for (const u of done) record.files[u.id] = u;
    if (!record.files[file.id]) return { kind: 'retry', error: `file ${file.id}: the file-store uploader returned no upload for it` };
    await ctx.store.commit({ docs: [write(FILE_STORE_UPLOADS, messageId, { messageId, files: { ...record.files } })] });
  }
  const uploads = stored.map((f) => record.files[f.id]!);
  const refs = stored.map((f) => ({ uuid: f.id, hash: record.files[f.id]!.hash, mimeType: f.mimeType, signaturePkcs7: Buffer.from(f.signaturePkcs7, 'base64') }));
  return { kind: 'ready', refs, uploads };
}
