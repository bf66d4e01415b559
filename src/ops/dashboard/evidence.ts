/**
 * A journal record's evidence as the ops dashboard hands it out: the stored
 * envelope's bytes, exactly (UTF-8 text re-encoded gives the bytes that were
 * received or sent, base64 is decoded), and a verdict on every ds:Signature in
 * it, re-checked now with the gateway's own verifier, trust anchors and
 * partner registry, at the time of the exchange (a certificate that has
 * expired since does not make yesterday's message invalid).
 */
import { createHash } from 'node:crypto';
import type { FlowContext } from '../../flows/context.js';
import { findJournalRecord, type FoundRecord } from '../../journal/lookup.js';
import { recordTime, type JournalRecord } from '../../journal/records.js';

import { DSIG_NS, SignatureFailure } from '../../signature/dsig.js';
import { locateSmevParts } from '../../signature/smev-profile.js';
import { certificatesOf } from '../../pki/swappable-signer.js';
import { verifySignature } from '../../signature/verify.js';
import { parseXml, XmlError } from '../../xml/parser.js';
import type { XmlDocument, XmlElement } from '../../xml/types.js';

export type EvidencePart = 'request' | 'response';

export interface StoredEvidence {
  bytes: Buffer;
  /** How the journal keeps it: utf8 text, or base64 of bytes that were not UTF-8. */
  encoding: 'utf8' | 'base64';
}

export interface SignatureVerdict {
  /** Where the signature sits (its parent element), e.g. CallerInformationSystemSignature. */
  element: string;
  /** Who signed: a partner id, `gateway` (Okno itself), `exchange:<id>`, or null (nobody registered). */
  signer: string | null;
  certificateSubject: string | null;
  math: 'valid' | 'invalid' | 'not checked';
  trusted: boolean | null;
  trust: string | null;
  valid: boolean;
  reason: string | null;
  message: string;
}

export interface EnvelopeVerdict {
  part: EvidencePart;
  bytes: number;
  sha256: string;
  /** The digest the record carries (and its seal covers); null for a record written by an older build. */
  sealedSha256: string | null;
  /** The bytes are the ones journaled (sha256 = sealedSha256); null when the record carries no digest. */
  intact: boolean | null;
  encoding: 'utf8' | 'base64';
  /**
   * valid: every signature verifies and its signer is known; invalid: one does not; unsigned: no
   * ds:Signature; unreadable: not XML; security-server: an X-Road / Trembita message, which the
   * Security Servers signed and verified between them (their message logs keep the signed copies;
   * the gateway keeps the bytes its own Security Server exchanged with it, sealed by digest).
   */
  verdict: 'valid' | 'invalid' | 'unsigned' | 'unreadable' | 'security-server';
  message: string;
  /** The time the signatures were judged at (the exchange's). */
  checkedAt: string;
  signatures: SignatureVerdict[];
}

/** A journal record with its seal and envelopes, in the store or in the archive. */
export function loadRecord(ctx: FlowContext, id: string): Promise<FoundRecord | null> {
  return findJournalRecord(ctx.store, ctx.journalArchive, id);
}

export function sha256Hex(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function verifyEvidence(ctx: FlowContext, record: JournalRecord, part: EvidencePart, evidence: StoredEvidence): EnvelopeVerdict {
  const t = recordTime(record);
  const at = t === null ? ctx.now() : new Date(t);
  const sha256 = sha256Hex(evidence.bytes);
  const sealedSha256 = record.evidenceSha256?.[part] ?? null;
  const intact = sealedSha256 === null ? null : sealedSha256 === sha256;
  const base = { part, bytes: evidence.bytes.length, sha256, sealedSha256, intact, encoding: evidence.encoding, checkedAt: at.toISOString() };
  if (record.xroad) {
    const via = record.xroad.dialect === 'trembita' ? 'Trembita' : 'X-Road';
    return { ...base, verdict: 'security-server', message: `${via} ${record.xroad.protocol.toUpperCase()} message ${record.xroad.id ?? '?'}: signed and verified by the Security Servers (their message logs keep the signed copy); these are the bytes exchanged with the gateway's own Security Server`, signatures: [] };
  }
  let doc: XmlDocument;
  try {
    doc = parseXml(evidence.bytes);
  } catch (error) {
    if (!(error instanceof XmlError)) throw error;
    return { ...base, verdict: 'unreadable', message: `not XML the gateway accepts (${error.code}): ${error.message}`, signatures: [] };
  }
  const signatures = findSignatures(doc.root);
  if (signatures.length === 0) return { ...base, verdict: 'unsigned', message: 'no ds:Signature in the envelope', signatures: [] };
  const gateway = new Set(certificatesOf(ctx.signer).map((c) => c.fingerprintSha256));
  const signerOf = (fingerprint: string): string | undefined => {
    if (gateway.has(fingerprint)) return 'gateway';
    const partner = ctx.partners.byCertificate(fingerprint);
    if (partner) return partner.id;
    const exchange = ctx.partners.exchanges.find((e) => e.certificates.some((c) => c.fingerprint256 === fingerprint));
    return exchange ? `exchange:${exchange.id}` : undefined;
  };
  const expected = expectedTargets(doc);
  const verdicts = signatures.map((signature): SignatureVerdict => {
    const v = verifySignature(doc, signature, expected.get(signature) ?? null, {
      trust: ctx.trustAnchors,
      partnerOf: (cert) => signerOf(cert.fingerprintSha256),
      now: at,
    });
    return {
      element: signature.parent?.localName ?? 'document',
      signer: v.partner ?? null,
      certificateSubject: v.details.certificate?.subject ?? null,
      math: v.math,
      trusted: v.trust ? v.trust.trusted : null,
      trust: v.trust?.message ?? null,
      valid: v.valid,
      reason: v.reason ?? null,
      message: v.message,
    };
  });
  const bad = verdicts.find((v) => !v.valid);
  return {
    ...base,
    verdict: bad ? 'invalid' : 'valid',
    message: bad ? `${bad.element}: ${bad.reason ?? 'SignatureIsInvalid'}: ${bad.message}` : `${verdicts.length} signature(s) valid: ${verdicts.map((v) => `${v.element} by ${v.signer}`).join(', ')}`,
    signatures: verdicts,
  };
}

function findSignatures(root: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if (el.namespaceURI === DSIG_NS && el.localName === 'Signature') out.push(el);
    for (let i = el.children.length - 1; i >= 0; i--) {
      const c = el.children[i]!;
      if (c.type === 'element') stack.push(c);
    }
  }
  return out;
}

/** For SMEV envelopes, the profile says what the caller's (and the personal) signature must cover. */
function expectedTargets(doc: XmlDocument): Map<XmlElement, XmlElement> {
  const map = new Map<XmlElement, XmlElement>();
  try {
    const parts = locateSmevParts(doc);
    map.set(parts.callerSignature, parts.signed);
    if (parts.personal) map.set(parts.personal.signature, parts.personal.target);
  } catch (error) {
    if (!(error instanceof SignatureFailure)) throw error;
  }
  return map;
}
