/**
 * `okno journal verify`: checks the journal's hash chain and signed
 * checkpoints in Redis (see src/journal/verify.ts). Exit 0 intact, 1 problems
 * found, 2 usage error or the journal could not be read.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { redactUrl } from '../config/env.js';
import { verifyJournal, type JournalReport } from '../journal/verify.js';
import { parseCertificate, type Certificate } from '../pki/certificate.js';
import { loadGatewayIdentity, splitPem } from '../pki/gateway-identity.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { createStore } from '../store/index.js';
import type { Command } from './command.js';

const USAGE = 'journal verify [--redis URL] [--prefix P] [--cert GATEWAY.pem]… [--trust CA.pem] [--json]';

export const journalCommand: Command = {
  summary: "check the journal's hash chain and signed checkpoints; exit 0 intact, 1 problems",
  usage: USAGE,
  async run(args) {
    let values: { redis?: string; prefix?: string; cert?: string[]; trust?: string; json?: boolean };
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: { redis: { type: 'string' }, prefix: { type: 'string' }, cert: { type: 'string', multiple: true }, trust: { type: 'string' }, json: { type: 'boolean' } },
      }));
    } catch (error) {
      process.stderr.write(`okno journal: ${(error as Error).message}\nusage: okno ${USAGE}\n`);
      return 2;
    }
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
    try {
      gatewayCertificates = loadGatewayCertificates(values.cert);
      trustAnchors = new TrustAnchorSet(splitPem(readFileSync(values.trust ?? process.env.TRUST_CA_FILE ?? 'certs-sample/ca.crt.pem', 'utf8')));
    } catch (error) {
      process.stderr.write(`okno journal verify: ${(error as Error).message}\n`);
      return 2;
    }

    const prefix = values.prefix ?? (process.env.REDIS_KEY_PREFIX?.trim() || 'okno:');
    let report: JournalReport;
    try {
      const store = await createStore({ redisUrl, keyPrefix: prefix });
      try {
        report = await verifyJournal(store, { gatewayCertificates, trustAnchors });
      } finally {
        await store.close();
      }
    } catch (error) {
      process.stderr.write(`okno journal verify: ${(error as Error).message}\n`);
      return 2;
    }

    if (values.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return report.ok ? 0 : 1;
    }
    const out: string[] = [`journal in ${redactUrl(redisUrl)} (prefix ${prefix})`];
    out.push(`  starts       ${report.anchor ? `after seq ${report.anchor.seq} (retention anchor, ${report.anchor.prunedAt})` : 'at seq 1'}`);
    out.push(`  checked      ${report.checked} record(s)`);
    out.push(`  sealed       up to seq ${report.sealedUpTo}; ${report.unsealed} newer record(s) not sealed yet`);
    out.push(`  checkpoint   signed up to seq ${report.checkpointedUpTo}`);
    out.push(`  evidence     ${report.evidence.envelopes} envelope(s) ${report.problems.some((p) => p.envelope) ? 'compared with' : 'match'} their sealed digests${report.evidence.uncoveredRecords > 0 ? `; ${report.evidence.uncoveredRecords} older record(s) without digests (not covered)` : ''}`);
    out.push(`  verdict      ${report.ok ? 'INTACT' : `${report.problems.length} PROBLEM(S)`}`);
    for (const p of report.problems) out.push(`  seq ${String(p.seq).padEnd(8)} ${p.recordId ?? '-'}  ${p.problem}`);
    for (const w of report.warnings) out.push(`  warning      ${w}`);
    process.stdout.write(`${out.join('\n')}\n`);
    return report.ok ? 0 : 1;
  },
};

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
