/**
 * An archive segment: a run of sealed journal records (seqs first..last, ending at a signed
 * checkpoint) that left Redis, as one self-contained zip a person can open with ordinary tools:
 *
 *   README.txt                 what the files are and how to check them with openssl
 *   manifest.json              format, seq range, the chain hash before the first record
 *                              (prevHash) and after the last (endHash), the end checkpoint
 *                              (signed by the gateway), the time range, and the SHA-256 of
 *                              every other file
 *   manifest.json.p7s          the gateway's detached CMS signature over manifest.json
 *                              (`openssl cms -verify -binary -inform DER -in manifest.json.p7s
 *                              -content manifest.json -CAfile ca.pem`)
 *   records.jsonl              one line per record: { seq, record, seal, checkpoint }
 *   evidence/<seq>.request.xml, evidence/<seq>.response.xml
 *                              each envelope byte for byte, as received or sent
 *
 * Verification (verifySegment) needs nothing but the segment and the gateway's certificate or
 * the trust CA: every file's digest against the manifest, the manifest's signature, the chain
 * from prevHash through each record's seal to endHash, each envelope against the digests its
 * sealed record carries, and the checkpoints' signatures (the end one included).
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { parseCertificate } from '../pki/certificate.js';
import { verifyDetachedCms } from '../pki/cms/verify.js';
import { signDetachedCms } from '../pki/cms/sign.js';
import type { Signer } from '../pki/signer.js';
import { snapshotOf } from '../pki/swappable-signer.js';
import { chainHash, checkChainSignature, seqId, type ChainTrust, type Checkpoint, type Seal } from './chain.js';
import { ENVELOPES, evidenceDigest, type Envelope } from './evidence.js';
import { recordTime, type JournalRecord } from './records.js';

export const SEGMENT_FORMAT = 'okno-journal-segment/1';

export interface SegmentEntry {
  seq: number;
  record: JournalRecord;
  seal: Seal;
  checkpoint: Checkpoint | null;
  evidence: Partial<Record<Envelope, Buffer | null>>;
}

export interface SegmentManifest {
  format: typeof SEGMENT_FORMAT;
  firstSeq: number;
  lastSeq: number;
  records: number;
  /** The chain hash before the first record (the previous segment's endHash, or 64 zeros). */
  prevHash: string;
  /** The chain hash after the last record: the end checkpoint's hash. */
  endHash: string;
  endCheckpoint: Checkpoint;
  /** Time range of the records (ISO), by their request times. */
  from: string | null;
  to: string | null;
  createdAt: string;
  /** SHA-256 (hex) of every file but the manifest and its signature. */
  files: Record<string, string>;
}

/** The segment's file name in the archive: sortable by seq. */
export function segmentName(firstSeq: number, lastSeq: number): string {
  return `journal-${seqId(firstSeq)}-${seqId(lastSeq)}.zip`;
}

/** `journal-<first>-<last>.zip`, or `.zip.p7m` when stored encrypted (archive-encryption.ts). */
const SEGMENT_NAME = /^journal-(\d{15})-(\d{15})\.zip(?:\.p7m)?$/;

export function parseSegmentName(name: string): { firstSeq: number; lastSeq: number } | null {
  const m = SEGMENT_NAME.exec(name);
  return m ? { firstSeq: Number(m[1]), lastSeq: Number(m[2]) } : null;
}

const evidenceFile = (seq: number, envelope: Envelope) => `evidence/${seqId(seq)}.${envelope}.xml`;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

const README = `Okno journal archive segment (${SEGMENT_FORMAT})

records.jsonl      one JSON line per journal record: {seq, record, seal, checkpoint}
evidence/          the signed SOAP envelopes, byte for byte, as received or sent
manifest.json      the seq range, the chain hashes at both ends, the SHA-256 of every file
manifest.json.p7s  the gateway's detached CMS signature over manifest.json

Check it offline:
  okno journal verify-archive THIS.zip --trust ca.pem
or by hand:
  openssl cms -verify -binary -inform DER -in manifest.json.p7s -content manifest.json -CAfile ca.pem -purpose any
  sha256sum records.jsonl evidence/*   (compare with manifest.json "files")
`;

/** Writes the segment zip to `file` (the caller renames it into place). Returns the manifest. */
export async function writeSegment(
  file: string,
  input: { entries: readonly SegmentEntry[]; prevHash: string; signer: Signer; now: Date },
): Promise<SegmentManifest> {
  const { entries } = input;
  const first = entries[0];
  const last = entries[entries.length - 1];
  if (!first || !last) throw new Error('an archive segment needs at least one record');
  if (!last.checkpoint) throw new Error(`an archive segment ends at a checkpoint (seq ${last.seq} has none)`);
  const files: Record<string, string> = {};
  const contents: Array<[string, Buffer]> = [['README.txt', Buffer.from(README, 'utf8')]];
  const lines = entries.map((e) => JSON.stringify({ seq: e.seq, record: e.record, seal: e.seal, checkpoint: e.checkpoint })).join('\n') + '\n';
  contents.push(['records.jsonl', Buffer.from(lines, 'utf8')]);
  for (const e of entries) {
    for (const envelope of ENVELOPES) {
      const bytes = e.evidence[envelope];
      if (bytes) contents.push([evidenceFile(e.seq, envelope), bytes]);
    }
  }
  for (const [name, bytes] of contents) files[name] = sha256(bytes);
  const times = entries.map((e) => recordTime(e.record)).filter((t): t is number => t !== null);
  const manifest: SegmentManifest = {
    format: SEGMENT_FORMAT,
    firstSeq: first.seq,
    lastSeq: last.seq,
    records: entries.length,
    prevHash: input.prevHash,
    endHash: last.seal.hash,
    endCheckpoint: last.checkpoint,
    from: times.length ? new Date(Math.min(...times)).toISOString() : null,
    to: times.length ? new Date(Math.max(...times)).toISOString() : null,
    createdAt: input.now.toISOString(),
    files,
  };
  const manifestBytes = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8');
  const signature = await signDetachedCms(manifestBytes, snapshotOf(input.signer), { signingTime: input.now });

  const zip = new yazl.ZipFile();
  const mtime = input.now;
  zip.addBuffer(manifestBytes, 'manifest.json', { mtime });
  zip.addBuffer(signature, 'manifest.json.p7s', { mtime, compress: false });
  for (const [name, bytes] of contents) zip.addBuffer(bytes, name, { mtime });
  zip.end();
  await new Promise<void>((resolve, reject) => {
    const out = createWriteStream(file, { flags: 'w' });
    out.on('error', reject);
    zip.outputStream.on('error', reject);
    // 'close' after the descriptor is closed: the bytes are in the file (fsync is the store's job).
    out.on('close', () => resolve());
    zip.outputStream.pipe(out);
  });
  return manifest;
}

export interface SegmentContent {
  files: Map<string, Buffer>;
}

/** Reads every file of a segment zip (segments are bounded in size, see the archiver). */
export function readSegment(bytes: Buffer): Promise<SegmentContent> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: true }, (error, zip) => {
      if (error || !zip) return reject(error ?? new Error('not a zip'));
      const files = new Map<string, Buffer>();
      zip.on('error', reject);
      zip.on('end', () => resolve({ files }));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return reject(err ?? new Error(`cannot read ${entry.fileName}`));
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('error', reject);
          stream.on('end', () => {
            files.set(entry.fileName, Buffer.concat(chunks));
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

export interface SegmentProblem {
  seq: number | null;
  recordId: string | null;
  problem: string;
  envelope?: Envelope;
}

export interface SegmentReport {
  ok: boolean;
  manifest: SegmentManifest | null;
  records: number;
  envelopes: number;
  problems: SegmentProblem[];
  /** The records, as read (for the caller's index or export); empty when unreadable. */
  entries: Array<{ seq: number; record: JournalRecord }>;
}

/**
 * Verifies one segment offline. `trust` says whose signatures count (the gateway's certificates,
 * or the same subject chaining to the trust anchors: chain.ts checkChainSignature).
 */
export async function verifySegment(bytes: Buffer, trust: ChainTrust, options: { name?: string } = {}): Promise<SegmentReport> {
  const problems: SegmentProblem[] = [];
  const report = (seq: number | null, recordId: string | null, problem: string, envelope?: Envelope) => problems.push(envelope ? { seq, recordId, problem, envelope } : { seq, recordId, problem });
  const done = (manifest: SegmentManifest | null, records = 0, envelopes = 0, entries: SegmentReport['entries'] = []): SegmentReport => ({ ok: problems.length === 0, manifest, records, envelopes, problems, entries });

  let content: SegmentContent;
  try {
    content = await readSegment(bytes);
  } catch (error) {
    report(null, null, `the segment cannot be read as a zip (${(error as Error).message})`);
    return done(null);
  }
  const manifestBytes = content.files.get('manifest.json');
  const signature = content.files.get('manifest.json.p7s');
  if (!manifestBytes) {
    report(null, null, 'manifest.json is missing');
    return done(null);
  }
  let manifest: SegmentManifest;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8')) as SegmentManifest;
    if (manifest.format !== SEGMENT_FORMAT) throw new Error(`format ${String(manifest.format)}, not ${SEGMENT_FORMAT}`);
  } catch (error) {
    report(null, null, `manifest.json cannot be read (${(error as Error).message})`);
    return done(null);
  }
  if (options.name) {
    const named = parseSegmentName(options.name);
    if (named && (named.firstSeq !== manifest.firstSeq || named.lastSeq !== manifest.lastSeq)) report(null, null, `the file is named for seqs ${named.firstSeq}–${named.lastSeq} but its manifest says ${manifest.firstSeq}–${manifest.lastSeq} (renamed)`);
  }

  // The manifest's signature: the gateway's (the same certificate as its end checkpoint's, which must count).
  const end = manifest.endCheckpoint;
  const endProblem = end ? checkChainSignature(end, end.seq, end.hash, trust) : 'there is none';
  if (endProblem) report(manifest.lastSeq, end?.recordId ?? null, `end checkpoint: ${endProblem}`);
  else if (end.seq !== manifest.lastSeq || end.hash !== manifest.endHash) report(manifest.lastSeq, end.recordId, `the end checkpoint (seq ${end.seq}) is not the manifest's end (seq ${manifest.lastSeq})`);
  if (!signature) report(null, null, 'manifest.json.p7s (the gateway\'s signature over the manifest) is missing');
  else {
    const certificates = end?.certificate ? [parseCertificate(Buffer.from(end.certificate, 'base64'))] : [];
    const verdict = verifyDetachedCms(manifestBytes, signature, { trust: null, certificates });
    const signer = verdict.signers[0]?.certificate;
    if (verdict.math !== 'valid') report(null, null, `manifest.json does not match its signature: ${verdict.message} (the manifest was changed)`);
    else if (!signer || !certificates[0] || !signer.der.equals(certificates[0].der)) report(null, null, 'manifest.json is signed by another certificate than the end checkpoint');
  }

  // Every file against the manifest; no file the manifest does not list.
  for (const [name, digest] of Object.entries(manifest.files ?? {})) {
    const file = content.files.get(name);
    if (!file) report(null, null, `${name} is listed in the manifest but missing (removed)`);
    else if (sha256(file) !== digest) report(null, null, `${name} was changed (its SHA-256 is not the manifest's)`);
  }
  for (const name of content.files.keys()) {
    if (name !== 'manifest.json' && name !== 'manifest.json.p7s' && !(name in (manifest.files ?? {}))) report(null, null, `${name} is in the segment but not in its manifest (added)`);
  }

  // The chain, record by record.
  const linesFile = content.files.get('records.jsonl');
  if (!linesFile) return done(manifest);
  const entries: SegmentReport['entries'] = [];
  let prev = manifest.prevHash;
  let expectedSeq = manifest.firstSeq;
  let envelopes = 0;
  const lines = linesFile.toString('utf8').split('\n').filter((l) => l.length > 0);
  const certCache = new Map<string, string | null>();
  for (const line of lines) {
    let item: { seq: number; record: JournalRecord; seal: Seal; checkpoint: Checkpoint | null };
    try {
      item = JSON.parse(line) as typeof item;
    } catch {
      report(expectedSeq, null, 'a line of records.jsonl is not JSON');
      continue;
    }
    const { seq, record, seal, checkpoint } = item;
    const id = record?.id ?? null;
    if (seq !== expectedSeq) report(seq, id, seq > expectedSeq ? `records ${expectedSeq}–${seq - 1} are missing from the segment` : `seq ${seq} out of order`);
    expectedSeq = seq + 1;
    if (!seal || seal.seq !== seq || seal.recordId !== id) report(seq, id, 'the seal is not this record\'s');
    else {
      if (seal.prevHash !== prev) report(seq, id, 'the chain is broken: the seal does not link to the previous one');
      if (chainHash(seal.prevHash, seq, record) !== seal.hash) report(seq, id, 'the record was changed after it was sealed (hash mismatch)');
      prev = seal.hash;
    }
    if (checkpoint) {
      const why = checkChainSignature(checkpoint, checkpoint.seq, checkpoint.hash, trust, certCache);
      if (why) report(seq, id, `checkpoint: ${why}`);
      else if (checkpoint.seq !== seq || checkpoint.hash !== seal?.hash) report(seq, id, 'the signed checkpoint does not match the chain');
    }
    for (const envelope of ENVELOPES) {
      const name = evidenceFile(seq, envelope);
      const bytes = content.files.get(name);
      const expected = record?.evidenceSha256?.[envelope] ?? null;
      const named = record?.evidence?.[envelope] ?? null;
      if (named && !bytes) report(seq, id, `the ${envelope} envelope is missing from the segment`, envelope);
      else if (!named && bytes) report(seq, id, `an ${envelope} envelope is in the segment that the record does not name (added)`, envelope);
      else if (bytes) {
        envelopes += 1;
        if (expected && evidenceDigest(bytes) !== expected) report(seq, id, `the ${envelope} envelope was changed (sha256 ${evidenceDigest(bytes).slice(0, 16)}…, the sealed record says ${expected.slice(0, 16)}…)`, envelope);
      }
    }
    entries.push({ seq, record });
  }
  if (expectedSeq !== manifest.lastSeq + 1) report(expectedSeq, null, `the segment's records end at seq ${expectedSeq - 1}, its manifest at ${manifest.lastSeq}`);
  if (prev !== manifest.endHash) report(manifest.lastSeq, null, 'the chain through the records does not end at the manifest\'s endHash');
  if (lines.length !== manifest.records) report(null, null, `records.jsonl has ${lines.length} record(s), the manifest says ${manifest.records}`);
  return done(manifest, lines.length, envelopes, entries);
}
