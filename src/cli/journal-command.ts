/**
 * `okno journal verify`: checks the journal's hash chain and signed
 * checkpoints in Redis (see src/journal/verify.ts). Exit 0 intact, 1 problems
 * found, 2 usage error, the journal could not be read, or encrypted archive
 * segments could not be opened (no --key / ARCHIVE_DECRYPT_KEY_FILE): not checked.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { redactUrl } from '../config/env.js';
import { verifyJournal, type JournalReport } from '../journal/verify.js';
import { openArchiveStore } from '../journal/archive-open.js';
import { DirArchiveStore, type ArchiveStore } from '../journal/archive-store.js';
import { EncryptingArchiveStore, loadArchiveKey, loadRecipients, logicalSegmentName, openSegmentBytes, type ArchiveKey } from '../journal/archive-encryption.js';
import { verifyArchive, type ArchiveReport, type ArchiveSource } from '../journal/archive-verify.js';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { loadGatewayIdentity, splitPem } from '../pki/gateway-identity.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { createStore } from '../store/index.js';
import { exportPeriod, type ExportResult } from '../journal/export.js';
import { identityFromOptions } from './key-options.js';
import type { Command } from './command.js';

const USAGE = 'journal verify [--redis URL] [--prefix P] [--archive DIR|S3-URL] [--key KEY.pem] [--cert GATEWAY.pem]… [--trust CA.pem] [--json]\n       okno journal verify-archive FILE.zip|FILE.zip.p7m|DIR|S3-URL [--key KEY.pem] [--cert GATEWAY.pem]… [--trust CA.pem] [--json]\n       okno journal export --from DATE --to DATE --out DIR [--redis URL] [--prefix P] [--archive DIR|S3-URL] [--key KEY.pem] [--cert GATEWAY.pem]… [--trust CA.pem]';
const EXPORT_USAGE = 'journal export --from DATE --to DATE --out DIR [--redis URL] [--prefix P] [--archive DIR|S3-URL] [--key KEY.pem] [--cert GATEWAY.pem]… [--trust CA.pem]';
const KEY_HINT = 'pass --key KEY.pem (a recipient\'s private key) or set ARCHIVE_DECRYPT_KEY_FILE';

export const journalCommand: Command = {
  summary: "check the journal's hash chain, signed checkpoints and archive segments; exit 0 intact, 1 problems, 2 could not check",
  usage: USAGE,
  async run(args) {
    let values: { redis?: string; prefix?: string; archive?: string; key?: string; cert?: string[]; trust?: string; json?: boolean; from?: string; to?: string; out?: string };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { redis: { type: 'string' }, prefix: { type: 'string' }, archive: { type: 'string' }, key: { type: 'string' }, cert: { type: 'string', multiple: true }, trust: { type: 'string' }, json: { type: 'boolean' }, from: { type: 'string' }, to: { type: 'string' }, out: { type: 'string' } },
      }));
    } catch (error) {
      process.stderr.write(`okno journal: ${(error as Error).message}\nusage: okno ${USAGE}\n`);
      return 2;
    }
    if (positionals[0] === 'verify-archive' && positionals.length === 2) return verifyArchiveOffline(positionals[1]!, values);
    if (positionals[0] === 'export' && positionals.length === 1) return exportCommand(values);
    if (positionals.length !== 1 || positionals[0] !== 'verify') {
      process.stderr.write(`usage: okno ${USAGE}\n`);
      return 2;
    }
    const redisUrl = values.redis ?? (process.env.REDIS_URL?.trim() || undefined);
    if (!redisUrl) {
      process.stderr.write(
        'okno journal verify: no Redis (set REDIS_URL or pass --redis URL).\n' +
          'Without Redis the journal is in the memory of the running gateway and ends with it; ' +
          'verify it there: GET /api/v1/journal/verify with an ops token.\n',
      );
      return 2;
    }

    let gatewayCertificates: Certificate[];
    let trustAnchors: TrustAnchorSet;
    let encryption: ArchiveEncryptionInput;
    try {
      encryption = loadCliEncryption(values.key);
      gatewayCertificates = loadGatewayCertificates(values.cert);
      trustAnchors = new TrustAnchorSet(splitPem(readFileSync(values.trust ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8')));
    } catch (error) {
      process.stderr.write(`okno journal verify: ${(error as Error).message}\n`);
      return 2;
    }

    const prefix = values.prefix ?? (process.env.REDIS_KEY_PREFIX?.trim() || 'okno:');
    // The archive the gateway writes (ARCHIVE_S3_URL, else ARCHIVE_DIR, default var/archive): the older part of the same chain.
    const archiveAt = values.archive ?? (process.env.ARCHIVE_S3_URL?.trim() || process.env.ARCHIVE_DIR?.trim() || 'var/archive');
    const archiveStore = archiveStoreAt(archiveAt);
    let report: JournalReport;
    let archived: ArchiveReport | null = null;
    try {
      const store = await createStore({ redisUrl, keyPrefix: prefix });
      try {
        report = await verifyJournal(store, { gatewayCertificates, trustAnchors });
        if (archiveStore) archived = await verifyArchive(new EncryptingArchiveStore(archiveStore, { ...encryption, keyHint: KEY_HINT }), { gatewayCertificates, trustAnchors });
      } finally {
        await store.close();
      }
    } catch (error) {
      process.stderr.write(`okno journal verify: ${(error as Error).message}\n`);
      return 2;
    }
    // The store's journal goes on where the archive ends.
    if (archived && archived.lastSeq !== null) {
      const anchor = report.anchor;
      if (!anchor || anchor.seq < archived.lastSeq) {
        report.problems.push({ seq: archived.lastSeq, recordId: null, problem: `the archive ends at seq ${archived.lastSeq}, but the journal in the store ${anchor ? `starts after seq ${anchor.seq}` : 'starts at seq 1'} (archived records still counted as hot, or the store was reset)` });
      } else if (anchor.seq === archived.lastSeq && archived.endHash !== null && anchor.hash !== archived.endHash) {
        report.problems.push({ seq: anchor.seq, recordId: null, problem: `the journal in the store does not go on from the archive's last segment (its anchor's hash is not the segment's endHash)` });
      } else if (anchor.seq > archived.lastSeq) {
        report.warnings.push(`records ${archived.lastSeq + 1}–${anchor.seq} are neither in the store nor in the archive (removed by retention before the archive, or a segment is missing)`);
      }
      report.ok = report.problems.length === 0 && archived.ok;
    }
    // Problems found: 1; nothing wrong, but encrypted segments not opened: 2 (not checked, so not intact).
    const exit = report.problems.length > 0 || (archived?.problems.length ?? 0) > 0 ? 1 : (archived?.unreadable.length ?? 0) > 0 ? 2 : 0;

    if (values.json) {
      process.stdout.write(`${JSON.stringify(archived ? { ...report, ok: report.ok && archived.ok, archive: archived } : report, null, 2)}\n`);
      return exit;
    }
    const out: string[] = [];
    if (archived) {
      out.push(...archiveLines(`archive in ${redactUrl(archiveAt)}`, archived));
    }
    out.push(`journal in ${redactUrl(redisUrl)} (prefix ${prefix})`);
    out.push(`  starts       ${report.anchor ? `after seq ${report.anchor.seq} (retention anchor, ${report.anchor.prunedAt})` : 'at seq 1'}`);
    out.push(`  checked      ${report.checked} record(s)`);
    out.push(`  sealed       up to seq ${report.sealedUpTo}; ${report.unsealed} newer record(s) not sealed yet`);
    out.push(`  checkpoint   signed up to seq ${report.checkpointedUpTo}`);
    out.push(`  evidence     ${report.evidence.envelopes} envelope(s) ${report.problems.some((p) => p.envelope) ? 'compared with' : 'match'} their sealed digests${report.evidence.uncoveredRecords > 0 ? `; ${report.evidence.uncoveredRecords} older record(s) without digests (not covered)` : ''}`);
    out.push(`  verdict      ${report.ok ? 'INTACT' : `${report.problems.length} PROBLEM(S)`}`);
    for (const p of report.problems) out.push(`  seq ${String(p.seq).padEnd(8)} ${p.recordId ?? '-'}  ${p.problem}`);
    for (const w of report.warnings) out.push(`  warning      ${w}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return exit;
  },
};

type ArchiveEncryptionInput = { recipients: ReturnType<typeof loadRecipients>; key: ArchiveKey | null };

/** --key (else ARCHIVE_DECRYPT_KEY_FILE) opens encrypted segments; ARCHIVE_ENCRYPT_TO says the archive is meant to be encrypted. */
function loadCliEncryption(keyOption: string | undefined): ArchiveEncryptionInput {
  const encryptTo = (process.env.ARCHIVE_ENCRYPT_TO ?? '').split(',').map((f) => f.trim()).filter(Boolean);
  let recipients: ArchiveEncryptionInput['recipients'];
  try {
    recipients = loadRecipients(encryptTo);
  } catch (error) {
    throw new Error(`ARCHIVE_ENCRYPT_TO: ${(error as Error).message}`);
  }
  const keyFile = keyOption ?? (process.env.ARCHIVE_DECRYPT_KEY_FILE?.trim() || undefined);
  // The key is not matched to ARCHIVE_ENCRYPT_TO here: older segments may be encrypted to an earlier recipient.
  let key: ArchiveKey | null = null;
  if (keyFile) {
    try {
      key = loadArchiveKey(keyFile);
    } catch (error) {
      throw new Error(`${keyOption ? '--key' : 'ARCHIVE_DECRYPT_KEY_FILE'}: ${(error as Error).message}`);
    }
  }
  return { recipients, key };
}

/** An archive named on the command line: an S3 URL (credentials from ARCHIVE_S3_* in the environment) or a directory; null: no such directory. */
function archiveStoreAt(at: string): ArchiveStore | null {
  if (/^https?:\/\//.test(at)) {
    const env = process.env;
    return openArchiveStore({ dir: os.tmpdir(), s3: { url: at, region: env.ARCHIVE_S3_REGION?.trim() || 'us-east-1', accessKeyId: env.ARCHIVE_S3_ACCESS_KEY_ID ?? '', secretAccessKey: env.ARCHIVE_S3_SECRET_ACCESS_KEY ?? '' } });
  }
  return existsSync(at) ? new DirArchiveStore(at) : null;
}

function archiveLines(title: string, a: ArchiveReport): string[] {
  const out = [title];
  out.push(`  segments     ${a.segments}${a.firstSeq !== null ? ` (seqs ${a.firstSeq}–${a.lastSeq})` : ''}`);
  out.push(`  checked      ${a.records} record(s), ${a.envelopes} envelope(s)`);
  if (a.encrypted > 0) out.push(`  encrypted    ${a.encrypted} of ${a.segments} segment(s)${a.unreadable.length > 0 ? `; ${a.unreadable.length} could not be opened` : ''}`);
  const verdict = a.problems.length > 0 ? `${a.problems.length} PROBLEM(S)` : a.unreadable.length > 0 ? `NOT CHECKED: ${a.unreadable.length} segment(s) could not be read (${KEY_HINT})` : 'INTACT';
  out.push(`  verdict      ${verdict}`);
  for (const p of a.problems) out.push(`  ${p.segment}  seq ${p.seq ?? '-'}  ${p.recordId ?? '-'}  ${p.problem}`);
  for (const u of a.unreadable) out.push(`  ${u.segment}  not read: ${u.reason}`);
  for (const n of a.notes) out.push(`  note         ${n}`);
  return out;
}

/** `okno journal verify-archive FILE|DIR`: segments alone, without Redis or the gateway. */
async function verifyArchiveOffline(target: string, values: { key?: string; cert?: string[]; trust?: string; json?: boolean }): Promise<number> {
  let trust: { gatewayCertificates: Certificate[]; trustAnchors: TrustAnchorSet };
  let report: ArchiveReport;
  try {
    const encryption = loadCliEncryption(values.key);
    trust = { gatewayCertificates: loadGatewayCertificates(values.cert), trustAnchors: new TrustAnchorSet(splitPem(readFileSync(values.trust ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8'))) };
    if (!/^https?:\/\//.test(target) && !existsSync(target)) throw new Error(`${target}: no such file or directory`);
    if (/^https?:\/\//.test(target)) report = await verifyArchive(new EncryptingArchiveStore(archiveStoreAt(target)!, { ...encryption, keyHint: KEY_HINT }), trust);
    else if (statSync(target).isDirectory()) report = await verifyArchive(new EncryptingArchiveStore(new DirArchiveStore(target), { ...encryption, keyHint: KEY_HINT }), trust);
    else {
      const stored = path.basename(target);
      const name = logicalSegmentName(stored);
      // A segment renamed or copied out of its archive is read as it is; encrypted or not, by its bytes.
      const read = async () => openSegmentBytes(stored, readFileSync(target), encryption.key, KEY_HINT);
      const source: ArchiveSource = { list: async () => [name], get: async () => (await read()).bytes, read };
      report = await verifyArchive(source, trust, [name]);
    }
  } catch (error) {
    process.stderr.write(`okno journal verify-archive: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${archiveLines(`archive ${target}`, report).join('\n')}\n`);
  return report.problems.length > 0 ? 1 : report.unreadable.length > 0 ? 2 : 0;
}

/**
 * The certificates whose checkpoint signatures count: --cert files (e.g. the
 * current and earlier gateway certificates), else the gateway's own, from
 * GATEWAY_CERT_FILE or GATEWAY_P12_FILE as the gateway reads them.
 */
function loadGatewayCertificates(files: string[] | undefined): Certificate[] {
  if (files && files.length > 0) return files.map((f) => parseCertificate(firstPem(f)));
  if (process.env.GATEWAY_P12_FILE && !process.env.GATEWAY_CERT_FILE) {
    const identity = loadGatewayIdentity({ kind: 'p12', p12File: process.env.GATEWAY_P12_FILE, password: process.env.GATEWAY_P12_PASSWORD ?? '' });
    return [identity.certificate];
  }
  return [parseCertificate(firstPem(process.env.GATEWAY_CERT_FILE ?? 'certs-sample/gateway.crt.pem'))];
}

function firstPem(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const first = splitPem(text)[0];
  if (!first) throw new Error(`${file}: no PEM certificate in it`);
  return first;
}

/**
 * `okno journal export --from --to --out DIR`: the segments covering the period (archived ones as
 * zips, decrypted with --key when encrypted; the period's records still in Redis as one more
 * segment signed with the gateway's key from GATEWAY_KEY_FILE/GATEWAY_CERT_FILE or GATEWAY_P12_FILE).
 */
async function exportCommand(values: { redis?: string; prefix?: string; archive?: string; key?: string; cert?: string[]; trust?: string; from?: string; to?: string; out?: string }): Promise<number> {
  const fail = (message: string, code = 2) => {
    process.stderr.write(`okno journal export: ${message}\n`);
    return code;
  };
  const from = values.from ? Date.parse(values.from) : NaN;
  const to = values.to ? Date.parse(values.to) : NaN;
  if (Number.isNaN(from) || Number.isNaN(to)) return fail(`--from and --to must be ISO 8601 dates (usage: okno ${EXPORT_USAGE})`);
  if (from >= to) return fail('--from must be before --to');
  if (!values.out) return fail(`--out DIR is required (usage: okno ${EXPORT_USAGE})`);
  const redisUrl = values.redis ?? (process.env.REDIS_URL?.trim() || undefined);
  if (!redisUrl) return fail('no Redis (set REDIS_URL or pass --redis URL)');
  let result: ExportResult;
  try {
    const encryption = loadCliEncryption(values.key);
    const trust = { gatewayCertificates: loadGatewayCertificates(values.cert), trustAnchors: new TrustAnchorSet(splitPem(readFileSync(values.trust ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8'))) };
    const archiveAt = values.archive ?? (process.env.ARCHIVE_S3_URL?.trim() || process.env.ARCHIVE_DIR?.trim() || 'var/archive');
    const raw = archiveStoreAt(archiveAt);
    const archive = raw ? new EncryptingArchiveStore(raw, { ...encryption, keyHint: KEY_HINT }) : null;
    const signer = identityFromOptions({}).signer;
    const store = await createStore({ redisUrl, keyPrefix: values.prefix ?? (process.env.REDIS_KEY_PREFIX?.trim() || 'okno:') });
    try {
      result = await exportPeriod({ store, archive, from, to, outDir: values.out, trust, signer });
    } finally {
      await store.close();
    }
  } catch (error) {
    return fail((error as Error).message);
  }
  const out: string[] = [`journal export ${new Date(from).toISOString()} – ${new Date(to).toISOString()} to ${values.out}`];
  for (const f of result.files) out.push(`  ${path.basename(f.file)}  ${f.records} record(s) from the ${f.from === 'archive' ? 'archive' : 'store (signed now)'}  ${f.report.ok ? 'verified' : `${f.report.problems.length} PROBLEM(S): ${f.report.problems[0]!.problem}`}`);
  if (result.files.length === 0) out.push('  no record of the journal falls in the period');
  if (result.uncheckpointed > 0) out.push(`  ${result.uncheckpointed} record(s) of the period are not yet covered by a signed checkpoint: export again in a few seconds`);
  process.stdout.write(`${out.join('\n')}\n`);
  return result.files.every((f) => f.report.ok) ? (result.uncheckpointed > 0 ? 1 : 0) : 1;
}
