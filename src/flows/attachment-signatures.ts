/**
 * An inbound message's attachments and their detached signatures (SignaturePKCS7): each file
 * that carries one is verified against its bytes (pki/cms/attachment.ts) under the service's
 * `attachments.signature` policy; a refused file refuses the message with InvalidContent
 * (pushed: the SOAP fault; pulled: a RequestRejected through the exchange, see pull/intake.ts).
 */
import type { ServiceDefinition } from '../catalogue/types.js';
import { checkAttachmentSignature, type AttachmentSignatureCheck } from '../pki/cms/attachment.js';
import { SmevFault } from '../soap/faults.js';
import type { FlowContext } from './context.js';

/** One file's verdict as the journal record keeps it. */
export interface JournalAttachmentSignature {
  file: string;
  sha256: string;
  status: AttachmentSignatureCheck['status'];
  valid: boolean | null;
  signer: string | null;
  algorithm: string | null;
  signingTime: string | null;
  reason: string | null;
}

/** Verifies one file's SignaturePKCS7 (base64 text, '' when absent); throws InvalidContent when the policy refuses it. */
export function requireAttachmentSignature(
  ctx: Pick<FlowContext, 'trustAnchors'>,
  service: Pick<ServiceDefinition, 'attachmentSignature'>,
  file: { name: string; bytes: Uint8Array; signature: string; at: Date },
): AttachmentSignatureCheck {
  const check = checkAttachmentSignature(file.bytes, file.signature, service.attachmentSignature ?? 'optional', ctx.trustAnchors, { now: file.at, name: file.name });
  if (!check.accepted) throw new SmevFault('InvalidContent', check.refusal ?? `attachment ${file.name}: refused`);
  return check;
}

export function journalAttachmentSignature(name: string, sha256: string, check: AttachmentSignatureCheck): JournalAttachmentSignature {
  const s = check.summary;
  return { file: name, sha256, status: check.status, valid: s ? s.valid : null, signer: s?.signer ?? null, algorithm: s?.algorithm ?? null, signingTime: s?.signingTime ?? null, reason: s?.reason ?? null };
}
