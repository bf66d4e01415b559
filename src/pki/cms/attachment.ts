/**
 * The gateway's decision about one attachment's detached signature (SMEV SignaturePKCS7 over a
 * file: inline, MTOM, or downloaded from the exchange's file store), under the service's policy
 * `attachments.signature` (service.json):
 *  - "optional" (default): a file without a signature is accepted; a file WITH one must verify;
 *  - "required": every file must carry a signature that verifies.
 * "Verifies" means the mathematics, the signed attributes and trust (the gateway's anchors,
 * TRUST_CA_FILE with its CRLs). A refused file refuses the whole message: the flows turn
 * `accepted: false` into an InvalidContent fault (push) or a RequestRejected (pull).
 */
import type { TrustAnchorSet } from '../trust.js';
import type { Certificate } from '../certificate.js';
import type { CmsSignedData } from './parse.js';
import { verifyDetachedCms, verifyDetachedCmsDigests, type CmsVerdict } from './verify.js';

export type AttachmentSignaturePolicy = 'required' | 'optional';

/** What the inbox item and the journal record say about one file's signature (JSON-safe). */
export interface AttachmentSignatureSummary {
  /** Mathematically valid, signed attributes right, signer trusted. */
  valid: boolean;
  math: 'valid' | 'invalid' | 'not checked';
  trusted: boolean | null;
  /** SMEV signature fault reason of the first problem (null when valid). */
  reason: string | null;
  message: string;
  signer: string | null;
  issuer: string | null;
  serial: string | null;
  algorithm: string | null;
  /** The signingTime signed attribute, ISO 8601, when present. */
  signingTime: string | null;
}

export interface AttachmentSignatureCheck {
  /** 'absent': no SignaturePKCS7; 'valid' / 'invalid': it was verified. */
  status: 'absent' | 'valid' | 'invalid';
  /** Whether the policy lets the message through with this file. */
  accepted: boolean;
  /** Why not, when not accepted (one line, names the file when `name` was given). */
  refusal: string | null;
  /** Undefined when absent. */
  summary?: AttachmentSignatureSummary;
  /** Each signer's chain (leaf first, anchor last) when valid: what a revocation check (OCSP) asks about. Not JSON. */
  chains?: ReadonlyArray<readonly Certificate[]>;
}

/**
 * Checks one file's detached CMS signature (`signature`: base64 as SMEV carries it, or DER/PEM
 * bytes; null/undefined/empty when the header has none) against the policy. Never throws for a
 * bad signature; `name` (the contentId or file-store uuid) only shapes the refusal message.
 */
export function checkAttachmentSignature(
  bytes: Uint8Array,
  signature: string | Uint8Array | null | undefined,
  policy: AttachmentSignaturePolicy,
  trust: TrustAnchorSet | null,
  options: { now?: Date; name?: string } = {},
): AttachmentSignatureCheck {
  return decide(signature, policy, options.name, (sig) => verifyDetachedCms(bytes, sig, { trust, ...(options.now ? { now: options.now } : {}) }));
}

/**
 * The same decision for a file that was streamed, not held: `digests` are its digests by digest
 * algorithm OID (pki/cms/verify.ts verifyDetachedCmsDigests; which ones: cmsDigestOids of the
 * parsed signature). `signature` may be the parsed CMS, so it is read once.
 */
export function checkAttachmentSignatureDigests(
  digests: ReadonlyMap<string, Uint8Array>,
  signature: string | Uint8Array | CmsSignedData | null | undefined,
  policy: AttachmentSignaturePolicy,
  trust: TrustAnchorSet | null,
  options: { now?: Date; name?: string } = {},
): AttachmentSignatureCheck {
  return decide(signature, policy, options.name, (sig) => verifyDetachedCmsDigests(digests, sig, { trust, ...(options.now ? { now: options.now } : {}) }));
}

function decide<S extends string | Uint8Array | CmsSignedData>(signature: S | null | undefined, policy: AttachmentSignaturePolicy, name: string | undefined, verify: (signature: S) => CmsVerdict): AttachmentSignatureCheck {
  const file = name ? `attachment ${name}` : 'the attachment';
  const empty = signature === null || signature === undefined || (typeof signature === 'string' ? signature.trim() === '' : signature instanceof Uint8Array && signature.length === 0);
  if (empty) {
    return policy === 'required'
      ? { status: 'absent', accepted: false, refusal: `${file} carries no SignaturePKCS7, but the service requires every file to be signed` }
      : { status: 'absent', accepted: true, refusal: null };
  }
  const verdict = verify(signature as S);
  const s = verdict.signers.find((x) => !x.valid) ?? verdict.signers[0];
  const summary: AttachmentSignatureSummary = {
    valid: verdict.valid,
    math: verdict.math,
    trusted: verdict.signers.length > 0 && verdict.signers.every((x) => x.trusted === true) ? true : verdict.signers.some((x) => x.trusted === false) ? false : null,
    reason: verdict.valid ? null : (verdict.reason ?? 'SignatureIsInvalid'),
    message: verdict.message,
    signer: s?.signer ?? null,
    issuer: s?.issuer ?? null,
    serial: s?.serial ?? null,
    algorithm: s?.algorithm ?? null,
    signingTime: s?.signingTime?.toISOString() ?? null,
  };
  if (verdict.valid) return { status: 'valid', accepted: true, refusal: null, summary, chains: verdict.signers.map((x) => x.trust?.chain ?? []) };
  return { status: 'invalid', accepted: false, refusal: `${file}: its SignaturePKCS7 does not verify: ${verdict.message}`, summary };
}
