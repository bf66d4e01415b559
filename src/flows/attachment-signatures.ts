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
import { RevocationUnavailable } from './revocation.js';

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

/**
 * OCSP for the signers of the files whose signatures verified (CRLs were applied by the chain
 * check), as for the sender's own certificate (revocation.ts): revoked or unknown refuses the
 * message with InvalidContent naming the file; a responder that cannot answer is SMEVFailure
 * (retry later; pull mode does not Ack) unless OCSP_ON_OUTAGE=accept.
 */
export async function requireAttachmentSignersNotRevoked(
  ctx: Pick<FlowContext, 'revocation'>,
  files: ReadonlyArray<{ name: string; check: AttachmentSignatureCheck }>,
  at: Date,
): Promise<void> {
  if (!ctx.revocation) return;
  for (const { name, check } of files) {
    for (const chain of check.chains ?? []) {
      const [leaf, issuer] = chain;
      if (!leaf || !issuer) continue;
      const verdict = await ctx.revocation.check(leaf, issuer, at);
      const who = `the signer's certificate "${leaf.subject}" (serial ${leaf.serialHex})`;
      if (verdict.status === 'revoked') throw new SmevFault('InvalidContent', `attachment ${name}: its SignaturePKCS7 does not verify: ${who} was revoked on ${verdict.revokedAt}${verdict.reason ? ` (${verdict.reason})` : ''} (OCSP responder ${verdict.responder})`);
      if (verdict.status === 'unknown') throw new SmevFault('InvalidContent', `attachment ${name}: its SignaturePKCS7 does not verify: the OCSP responder ${verdict.responder} does not know ${who}`);
      if (verdict.status === 'unavailable' && !verdict.acceptedOnOutage) {
        throw new RevocationUnavailable(`attachment ${name}: the revocation status of ${who} could not be established: OCSP responder ${verdict.responder}: ${verdict.problem}; retry later`);
      }
    }
  }
}
