/**
 * The journal's hash chain: what a seal, a checkpoint and the retention
 * anchor are, how a record is hashed, and how a checkpoint is signed and
 * checked. Shared by the sealer (writes), the verifier and the API (read).
 *
 * - Seal (collection `journal-seals`, id = the seq, zero-padded to 15
 *   digits): `{ seq, recordId, prevHash, hash }`, where
 *   `hash = sha256(prevHash ‖ canonicalJson({ seq, record }))` as lowercase
 *   hex over the UTF-8 bytes, and `prevHash` is the previous seal's hash (64
 *   zeros for seq 1, or the retention anchor's hash). The seq is hashed with
 *   the record, so a record cannot be moved to another place in the chain.
 * - Checkpoint (collection `journal-checkpoints`, same ids): the chain's hash
 *   at a seq, signed with the gateway's key over the bytes
 *   `okno-journal:${seq}:${hash}`. Anyone who can write to the store can
 *   recompute seals, but not sign a checkpoint.
 * - Anchor (collection `journal-anchor`, id `current`): where the journal
 *   starts after retention removed older records — the seq and hash of the
 *   last removed record, with the signature of the checkpoint at that seq.
 * - Head (collection `journal-head`, id `current`): where sealing goes on; a
 *   hint only, never trusted by verification.
 */
import { createHash } from 'node:crypto';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { getSignatureAlgorithm } from '../crypto/index.js';
import type { Signer } from '../pki/signer.js';
import { snapshotOf } from '../pki/swappable-signer.js';
import type { TrustAnchorSet } from '../pki/trust.js';
import { defineCollection } from '../store/collection.js';
import type { JsonValue } from '../store/types.js';
import type { JournalRecord } from './records.js';

/** The id of the one document of ANCHOR and of HEAD. */
export const CURRENT = 'current';

export const ZERO_HASH = '0'.repeat(64);

export interface Seal {
  seq: number;
  recordId: string;
  prevHash: string;
  hash: string;
}

/** A signature over `okno-journal:${seq}:${hash}` (checkpoints and the anchor carry one). */
export interface ChainSignature {
  signedAt: string;
  /** base64 */
  signature: string;
  /** signature algorithm URI */
  algorithm: string;
  /** base64 DER of the signing certificate */
  certificate: string;
}

export interface Checkpoint extends ChainSignature {
  seq: number;
  /** The record sealed at `seq` (context only; not signed). */
  recordId: string;
  hash: string;
}

export interface Anchor extends ChainSignature {
  /** The last removed record's seq and chain hash: verification starts after it. */
  seq: number;
  hash: string;
  recordId: string;
  prunedAt: string;
}

export interface Head {
  seq: number;
  hash: string;
  checkpointSeq: number;
}

/** By seqId(seq). */
export const SEALS = defineCollection<Seal>('journal-seals');
/** By seqId(seq). */
export const CHECKPOINTS = defineCollection<Checkpoint>('journal-checkpoints');
/** Record id → seq of its seal (so one record's seal is found without a scan). */
export const SEAL_INDEX = defineCollection<{ seq: number }>('journal-seal-index');
/** One document, CURRENT: where verification starts after retention removed older records. */
export const ANCHOR = defineCollection<Anchor>('journal-anchor');
/** One document, CURRENT: how far the sealer got (a hint; the seal it names is checked). */
export const HEAD = defineCollection<Head>('journal-head');

export function seqId(seq: number): string {
  return String(seq).padStart(15, '0');
}

/**
 * Canonical JSON: object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as JSON.stringify writes them. The same value always
 * gives the same text, whichever store or process read it. Takes any
 * JSON-shaped value: a JsonValue, or a record declared as an interface (which
 * the compiler does not take for a JsonValue).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    const text = JSON.stringify(value);
    // undefined, functions, NaN never come out of a store read; refuse them rather than hash "null".
    if (text === undefined || (typeof value === 'number' && !Number.isFinite(value))) throw new TypeError('not canonical JSON');
    return text;
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(object[k])}`).join(',')}}`;
}

/** The chain hash of the record at `seq` after `prevHash`. */
export function chainHash(prevHash: string, seq: number, record: JournalRecord | JsonValue): string {
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson({ seq, record }), 'utf8').digest('hex');
}

export function signedBytes(seq: number, hash: string): Buffer {
  return Buffer.from(`okno-journal:${seq}:${hash}`, 'utf8');
}

export async function signChain(anySigner: Signer, seq: number, hash: string, at: Date): Promise<ChainSignature> {
  const signer = snapshotOf(anySigner);
  const signature = await signer.sign(signedBytes(seq, hash));
  return {
    signedAt: at.toISOString(),
    signature: signature.toString('base64'),
    algorithm: signer.signatureAlgorithm.uri,
    certificate: signer.certificate.der.toString('base64'),
  };
}

/**
 * Whose signatures count: the gateway's certificate(s) by exact DER, and —
 * for a renewed gateway certificate — one with the same subject as a known
 * gateway certificate that chains to the trust anchors at signing time. A
 * partner's certificate chains to the same anchors but has another subject,
 * so a partner cannot sign checkpoints.
 */
export interface ChainTrust {
  gatewayCertificates: readonly Certificate[];
  trustAnchors?: TrustAnchorSet | null;
}

/** Null when the signature is the gateway's and valid, else why not. */
export function checkChainSignature(s: ChainSignature, seq: number, hash: string, trust: ChainTrust, cache?: Map<string, string | null>): string | null {
  if (typeof s.certificate !== 'string' || typeof s.signature !== 'string' || typeof s.algorithm !== 'string') return 'signature fields are missing';
  const signedAt = new Date(s.signedAt);
  const key = `${s.certificate}|${Number.isNaN(signedAt.getTime()) ? 'bad' : signedAt.toISOString().slice(0, 10)}`;
  let certProblem = cache?.get(key);
  let cert: Certificate | null = null;
  try {
    cert = parseCertificate(Buffer.from(s.certificate, 'base64'));
  } catch (error) {
    return `its certificate cannot be read (${(error as Error).message})`;
  }
  if (certProblem === undefined) {
    certProblem = certificateProblem(cert, signedAt, trust);
    cache?.set(key, certProblem);
  }
  if (certProblem) return certProblem;
  try {
    const algorithm = getSignatureAlgorithm(s.algorithm);
    if (!cert.publicKey || cert.keyAlgorithm !== algorithm.keyAlgorithm) return `algorithm ${s.algorithm} does not fit the certificate's key`;
    if (!algorithm.verify(signedBytes(seq, hash), Buffer.from(s.signature, 'base64'), cert.publicKey)) return 'the signature does not verify (forged, or seq/hash changed)';
  } catch (error) {
    return `the signature cannot be checked (${(error as Error).message})`;
  }
  return null;
}

function certificateProblem(cert: Certificate, signedAt: Date, trust: ChainTrust): string | null {
  if (trust.gatewayCertificates.some((g) => g.der.equals(cert.der))) return null;
  if (Number.isNaN(signedAt.getTime())) return `signedAt "${String(signedAt)}" is not a date`;
  const sameSubject = trust.gatewayCertificates.some((g) => g.subject === cert.subject);
  if (sameSubject && trust.trustAnchors) {
    const result = trust.trustAnchors.evaluate(cert, [], signedAt);
    if (result.trusted) return null;
    return `signed by "${cert.subject}", which is not the gateway's certificate and ${result.message}`;
  }
  return `signed by "${cert.subject}" (sha256 ${cert.fingerprintSha256.slice(0, 16)}…), which is not the gateway's certificate`;
}
