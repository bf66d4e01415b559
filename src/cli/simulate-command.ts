/**
 * `okno simulate portal | agency`: runs a simulated partner in the
 * foreground, for the README walk-through and partners' integration testing.
 * Stops on Ctrl-C (SIGINT) or SIGTERM.
 *
 * - portal (src/simulators/portal.ts): the portal's SMEV endpoint for ELK
 *   statuses. The default port is the portal's endpoint in
 *   config/partners.json (http://127.0.0.1:8091/ws/smev3), so a gateway
 *   started with the shipped configuration delivers to it as is. Prints one
 *   line per status received.
 * - agency (src/simulators/agency.ts): the partner agency answering the
 *   city's interagency queries (egrn-extract, zags-birth-record,
 *   egrul-extract) on the agency's endpoint in config/partners.json
 *   (http://127.0.0.1:8092/ws/smev3), POSTing its answers to the gateway
 *   given with --gateway. Prints one line per query received and per answer
 *   sent (service, MessageID, outcome).
 * - smev (src/simulators/smev-exchange.ts): the SMEV 3 exchange itself, a
 *   broker with per-system queues (http://127.0.0.1:8093/ws/smev3). Registers
 *   okno, agency and portal with their sample certificates (plus --system),
 *   signs with --key/--cert or, by default, a certificate issued at start-up
 *   by the sample CA and written to --cert-out (printed), so the gateway's
 *   registry can be pointed at it. Prints one line per exchange event.
 * - xroad (src/simulators/xroad-security-server.ts, run by ./simulate-xroad.ts):
 *   the X-Road / Trembita Security Servers between a client information
 *   system and a provider's (http://127.0.0.1:8095), with a table of members
 *   (--member SUBSYSTEM=URL) and access rights (--allow CLIENT=SERVICE).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadCatalogue } from '../catalogue/load.js';
import { parseCertificate } from '../pki/certificate.js';
import { splitPem } from '../pki/gateway-identity.js';
import { issueLeafCertificate } from '../pki/sample-pki.js';
import { LocalKeySigner, type Signer } from '../pki/signer.js';
import { readPrivateKey } from '../pki/private-key.js';
import { SmevExchangeSimulator, type ExchangeSystem } from '../simulators/smev-exchange.js';
import { defaultExchangeSystems, parseSystemOption } from '../simulators/smev-exchange-systems.js';
import type { SimulatedFileStore } from '../simulators/smev-file-store.js';
import { TrustAnchorSet } from '../pki/trust.js';
import { AgencySimulator, type AgencyMode, type CityResponse, type ReceivedQuery, type SentAnswer } from '../simulators/agency.js';
import { PortalSimulator, type ReceivedStatus } from '../simulators/portal.js';
import { AgencyExchangePoller } from '../simulators/agency-exchange-poller.js';
import { identityFromOptions, KEY_OPTION_NAMES, KEY_OPTION_SPEC, signerFromOptions, type KeyOptions } from './key-options.js';
import { UsageError, type Command } from './command.js';
import { ExchangeLog } from './exchange-log.js';
import { untilStopped } from './until-stopped.js';
import { DEFAULT_XROAD_PORT, runXRoad } from './simulate-xroad.js';

export { exchangeLine } from './exchange-log.js';

const DEFAULT_PORTAL_PORT = 8091;
const DEFAULT_AGENCY_PORT = 8092;
const DEFAULT_SMEV_PORT = 8093;
const REJECT_DESCRIPTION = 'Сведения по запросу не найдены (симулятор ведомства)';

type Values = Record<string, string | boolean | string[] | undefined>;

/** One line per status entry: when, create/update, order number, ELK code, status date, comment. */
export function statusLines(s: ReceivedStatus): string[] {
  const lines = s.orders.flatMap((o) =>
    o.statusHistory.map((h) =>
      [s.receivedAt.toISOString(), s.kind, `order ${o.orderNumber}`, `status ${h.status}`, h.statusDate, h.statusComment ?? '—'].join('  '),
    ),
  );
  // The files it carried, each with the portal's check of its SignaturePKCS7.
  for (const f of s.files ?? []) {
    const v = f.verdict;
    lines.push(`    file ${f.contentId}  ${f.mimeType}  ${f.size} bytes  sha256 ${f.sha256.slice(0, 16)}…  signature ${v ? `${v.valid ? 'valid' : 'INVALID'} (${v.algorithm ?? '?'}, ${v.signer ?? '?'})` : 'none'}`);
  }
  return lines;
}

function describeMode(m: AgencyMode): string {
  switch (m.kind) {
    case 'answer':
    case 'silent':
    case 'duplicate-answer':
      return m.kind;
    case 'reject':
      return `reject ${m.code}`;
    case 'late':
      return `late ${m.delayMs} ms`;
    case 'status-then-answer':
      return `status, then answer in ${m.delayMs ?? 200} ms`;
    case 'fault':
      return `fault ${m.fault}`;
  }
}

/** A query received: when, service, MessageID, accepted (and how it will be answered). */
export function queryLine(q: ReceivedQuery): string {
  return [q.receivedAt.toISOString(), 'query', q.service, q.messageId, `accepted (${describeMode(q.mode)})`].join('  ');
}

/** An answer sent: when, service, its MessageID, the query it answers, what it said, what the gateway said. */
export function answerLine(a: SentAnswer): string {
  const what =
    a.kind === 'content' ? `content${a.fixture ? ` (${a.fixture})` : ''}` : a.kind === 'rejected' ? `rejected ${a.rejection?.code ?? ''}` : `status ${a.status?.code ?? ''}`;
  const outcome = a.httpStatus === null ? `not delivered: ${a.error ?? 'no answer'}` : `gateway HTTP ${a.httpStatus}`;
  return [a.sentAt.toISOString(), a.repeat ? 'answer (again)' : 'answer', a.service, a.messageId, `to ${a.to}`, what, outcome].join('  ');
}

export function cityResponseLine(r: CityResponse): string {
  const what = r.kind === 'rejected' ? `rejected ${r.rejections?.map((x) => x.code).join(',') ?? ''}` : r.kind === 'status' ? `status ${r.status?.code ?? ''}` : 'content';
  return [r.receivedAt.toISOString(), 'city response', r.service, r.messageId, `to ${r.to}`, what].join('  ');
}

/** --host ADDRESS: where the simulator listens (default loopback; 0.0.0.0 in a container, see docker-compose.yml). */
function hostFrom(values: Values): string {
  return (values.host as string | undefined) ?? '127.0.0.1';
}

/** --certs DIR: the sample PKI the simulators take their defaults from (certs-sample, or certs-sample/gost). */
function certsDir(values: Values): string {
  return (values.certs as string | undefined) ?? 'certs-sample';
}

function trustFrom(values: Values): TrustAnchorSet {
  const trustFile = (values.trust as string | undefined) ?? process.env.TRUST_CA_FILE ?? path.join(certsDir(values), 'ca.crt.pem');
  const anchors = splitPem(readFileSync(trustFile, 'utf8'));
  if (anchors.length === 0) throw new Error(`${trustFile} holds no PEM certificate`);
  return new TrustAnchorSet(anchors);
}

function expectedSignerFrom(values: Values): string | undefined {
  const expectCert = values['expect-cert'] as string | undefined;
  return expectCert ? parseCertificate(readFileSync(expectCert, 'utf8')).fingerprintSha256 : undefined;
}

/** The partner's own key signs its replies (its sample key by default, not the gateway's). */
function partnerSigner(values: Values, name: 'portal' | 'agency') {
  const o = keyOptionsFrom(values);
  if (o.p12 || o.key || o.cert) return signerFromOptions(o);
  return signerFromOptions({ key: path.join(certsDir(values), `${name}.key.pem`), cert: path.join(certsDir(values), `${name}.crt.pem`) });
}

function keyOptionsFrom(values: Values): KeyOptions {
  const o: KeyOptions = {};
  for (const k of KEY_OPTION_NAMES) if (typeof values[k] === 'string') o[k] = values[k] as string;
  return o;
}

function catalogueFrom(values: Values) {
  return loadCatalogue((values.services as string | undefined) ?? process.env.SERVICES_DIR ?? 'config/services');
}

/** --reject SERVICE[:CODE], --late SERVICE:MS, --silent SERVICE (each repeatable; SERVICE may be *) as modes, in that order. */
export function agencyModes(values: Values): Array<[string, AgencyMode]> {
  const list = (name: string): string[] => (values[name] as string[] | undefined) ?? [];
  const modes: Array<[string, AgencyMode]> = [];
  for (const r of list('reject')) {
    const [service, code] = r.split(':');
    modes.push([service!, { kind: 'reject', code: code || 'NO_DATA', description: REJECT_DESCRIPTION }]);
  }
  for (const l of list('late')) {
    const m = /^([^:]+):(\d+)$/.exec(l);
    if (!m) throw new UsageError(`--late takes SERVICE:MS, not "${l}"`);
    modes.push([m[1]!, { kind: 'late', delayMs: Number(m[2]) }]);
  }
  for (const s of list('silent')) modes.push([s, { kind: 'silent' }]);
  return modes;
}

export const simulateCommand: Command = {
  summary: 'run a simulated partner: the portal receiving ELK statuses, an agency answering the city\'s queries, the SMEV 3 exchange, or X-Road / Trembita Security Servers',
  usage:
    'simulate portal|agency|smev [--host 127.0.0.1] [--certs DIR (certs-sample; certs-sample/gost for GOST)] …' +
    ' | simulate portal [--port 8091] [--trust CA.pem] [--expect-cert GATEWAY.crt.pem] [--key K --cert C | --p12 F --password P]' +
    ' | simulate agency --gateway URL | --exchange URL [--port 8092] [--trust CA.pem] [--expect-cert GATEWAY.crt.pem] [--key K --cert C | --p12 F --password P] [--reject SERVICE[:CODE]] [--late SERVICE:MS] [--silent SERVICE]' +
    ' | simulate smev [--port 8093] [--trust CA.pem] [--key K --cert C | --p12 F --password P | --ca-cert CA.pem --ca-key CA.key.pem] [--cert-out FILE]' +
    ' [--system MNEMONIC=CERT.pem[:NS,…]] [--visibility-timeout MS] [--inline-attachments] [--deliver-test-messages] [--file-store [--ftp-port 8094] [--s3-port 8095] [--file-store-dir DIR]] [--verbose] [--poll-summary SECONDS (60)]' +
    ' | simulate xroad [--port 8095] [--member SUBSYSTEM[=URL]]… [--rest-member SUBSYSTEM=URL]… [--allow CLIENT=SERVICE]… [--config FILE] [--dialect xroad|trembita] [--answer-as SUBSYSTEM]… [--partners FILE] [--services DIR] [--delay-ms MS | --refuse [--refuse-code CODE] | --down close|503] [--verbose]',
  async run(args) {
    let values: Values;
    let positionals: string[];
    try {
      ({ values, positionals } = parseArgs({
        args,
        allowPositionals: true,
        options: {
          port: { type: 'string' },
          host: { type: 'string' },
          trust: { type: 'string' },
          certs: { type: 'string' },
          'expect-cert': { type: 'string' },
          services: { type: 'string' },
          gateway: { type: 'string' },
          exchange: { type: 'string' },
          reject: { type: 'string', multiple: true },
          late: { type: 'string', multiple: true },
          silent: { type: 'string', multiple: true },
          'ca-cert': { type: 'string' },
          'ca-key': { type: 'string' },
          'cert-out': { type: 'string' },
          system: { type: 'string', multiple: true },
          'visibility-timeout': { type: 'string' },
          'inline-attachments': { type: 'boolean' },
          'deliver-test-messages': { type: 'boolean' },
          'file-store': { type: 'boolean' },
          'ftp-port': { type: 'string' },
          's3-port': { type: 'string' },
          'file-store-dir': { type: 'string' },
          verbose: { type: 'boolean', short: 'v' },
          'poll-summary': { type: 'string' },
          // simulate xroad (src/cli/simulate-xroad.ts)
          member: { type: 'string', multiple: true },
          'rest-member': { type: 'string', multiple: true },
          allow: { type: 'string', multiple: true },
          config: { type: 'string' },
          dialect: { type: 'string' },
          'delay-ms': { type: 'string' },
          'answer-as': { type: 'string', multiple: true },
          partners: { type: 'string' },
          refuse: { type: 'boolean' },
          'refuse-code': { type: 'string' },
          down: { type: 'string' },
          ...KEY_OPTION_SPEC,
        },
      }));
    } catch (error) {
      process.stderr.write(`okno simulate: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const which = positionals.length === 1 ? positionals[0] : undefined;
    const defaultPort = which === 'agency' ? DEFAULT_AGENCY_PORT : which === 'smev' ? DEFAULT_SMEV_PORT : which === 'xroad' ? DEFAULT_XROAD_PORT : DEFAULT_PORTAL_PORT;
    const port = values.port === undefined ? defaultPort : Number(values.port);
    if ((which !== 'portal' && which !== 'agency' && which !== 'smev' && which !== 'xroad') || !Number.isInteger(port) || port < 0 || port > 65535) {
      process.stderr.write(`usage: okno ${this.usage}\n`);
      return 2;
    }
    if (which === 'xroad') return runXRoad(values, port);
    if (which === 'portal') return runPortal(values, port);
    if (which === 'smev') return runSmev(values, port);
    // The agency must know where to answer: there is no default gateway address to guess.
    if (typeof values.gateway === 'string' && typeof values.exchange === 'string') {
      process.stderr.write(`okno simulate agency: --gateway (push) or --exchange (pull), not both\nusage: okno ${this.usage}\n`);
      return 2;
    }
    const answerTo = (values.exchange ?? values.gateway) as string | undefined;
    if (typeof answerTo !== 'string') {
      process.stderr.write(
        `okno simulate agency: --gateway URL (push: where the agency POSTs its answers, e.g. http://127.0.0.1:8080) or --exchange URL (pull: the SMEV exchange it polls and answers through, e.g. http://127.0.0.1:8093/ws/smev3) is required\nusage: okno ${this.usage}\n`,
      );
      return 2;
    }
    let modes: Array<[string, AgencyMode]>;
    try {
      modes = agencyModes(values);
    } catch (error) {
      process.stderr.write(`okno simulate agency: ${(error as Error).message}\nusage: okno ${this.usage}\n`);
      return 2;
    }
    return runAgency(values, port, answerTo, modes);
  },
};

async function runPortal(values: Values, port: number): Promise<number> {
  // listening for SIGINT/SIGTERM before "listening on" is printed: a signal sent right after it still stops the simulator cleanly
  const stopped = untilStopped();
  let sim: PortalSimulator;
  try {
    sim = await PortalSimulator.start({
      port,
      host: hostFrom(values),
      trust: trustFrom(values),
      expectedSigner: expectedSignerFrom(values),
      signer: partnerSigner(values, 'portal'),
      catalogue: catalogueFrom(values),
      onStatus: (s) => process.stdout.write(statusLines(s).map((l) => `${l}\n`).join('')),
      onDuplicate: (id) => process.stdout.write(`${new Date().toISOString()}  duplicate ${id}: answered with the first reply, not recorded again\n`),
      onRefused: (what, message) => process.stderr.write(`${new Date().toISOString()}  refused: ${what}: ${message}\n`),
    });
  } catch (error) {
    process.stderr.write(`okno simulate: ${(error as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`portal simulator listening on ${sim.endpoint}${values['expect-cert'] ? ` (only ${String(values['expect-cert'])})` : ''}; Ctrl-C to stop\n`);
  await stopped;
  await sim.close();
  process.stdout.write(`portal simulator stopped: ${sim.statuses().length} status messages, ${sim.duplicates} duplicates\n`);
  return 0;
}

async function runAgency(values: Values, port: number, gatewayUrl: string, modes: Array<[string, AgencyMode]>): Promise<number> {
  // listening for SIGINT/SIGTERM before "listening on" is printed: a signal sent right after it still stops the simulator cleanly
  const stopped = untilStopped();
  let started: AgencySimulator | undefined;
  try {
    started = await AgencySimulator.start({
      port,
      host: hostFrom(values),
      trust: trustFrom(values),
      expectedSigner: expectedSignerFrom(values),
      signer: partnerSigner(values, 'agency'),
      catalogue: catalogueFrom(values),
      gatewayUrl,
      onQuery: (q) => process.stdout.write(`${queryLine(q)}\n`),
      onDuplicate: (id, service) => process.stdout.write(`${new Date().toISOString()}  duplicate  ${service}  ${id}: answered with the first reply, not recorded again\n`),
      onAnswer: (a) => process.stdout.write(`${answerLine(a)}\n`),
      onCityResponse: (r) => process.stdout.write(`${cityResponseLine(r)}\n`),
      onRefused: (what, message) => process.stderr.write(`${new Date().toISOString()}  refused: ${what}: ${message}\n`),
    });
    for (const [service, mode] of modes) started.mode(service, mode);
  } catch (error) {
    process.stderr.write(`okno simulate: ${(error as Error).message}\n`);
    await started?.close();
    return 1;
  }
  const sim = started;
  process.stdout.write(
    `agency simulator listening on ${sim.endpoint} (answers ${sim.answeredServices.join(', ')}; to ${sim.gatewayEndpointUrl})` +
      `${values['expect-cert'] ? ` (only ${String(values['expect-cert'])})` : ''}; Ctrl-C to stop\n`,
  );
  let poller: AgencyExchangePoller | undefined;
  if (typeof values.exchange === 'string') {
    poller = new AgencyExchangePoller({
      agency: sim,
      exchangeUrl: sim.gatewayEndpointUrl!,
      signer: partnerSigner(values, 'agency'),
      trust: trustFrom(values),
      expectedSigner: expectedSignerFrom(values),
      onRefused: (id, message) => process.stderr.write(`${new Date().toISOString()}  refused  ${id}: ${message} (Ack accepted=false)\n`),
      onError: (message) => process.stderr.write(`${new Date().toISOString()}  exchange: ${message} (retrying every second, said once)\n`),
      onRecovered: () => process.stdout.write(`${new Date().toISOString()}  exchange: reachable again\n`),
    }).start();
    process.stdout.write(`  pull mode: takes queries from ${sim.gatewayEndpointUrl} (GetRequest, Ack) and answers there (SendResponse)\n`);
  }
  await stopped;
  await poller?.stop();
  await sim.close();
  process.stdout.write(`agency simulator stopped: ${sim.queries().length} queries, ${sim.answers().length} answers sent, ${sim.duplicates} duplicates\n`);
  return 0;
}

/**
 * The exchange's key: --key/--cert (or --p12 …); else the --certs folder's exchange.key.pem /
 * exchange.crt.pem when it has them (the GOST sample PKI does); else a certificate issued now
 * by the (sample, RSA) CA, written to --cert-out.
 */
function exchangeSigner(values: Values): { signer: Signer; certFile: string | null } {
  const o = keyOptionsFrom(values);
  if (o.key || o.cert || o.p12) {
    const identity = identityFromOptions(o);
    if (o.cert) return { signer: identity.signer, certFile: o.cert };
    // from a PKCS#12: write its certificate out, so the gateway's registry can be pointed at it
    const certFile = (values['cert-out'] as string | undefined) ?? path.join(tmpdir(), 'okno-smev-exchange.crt.pem');
    writeFileSync(certFile, identity.certificatePem);
    return { signer: identity.signer, certFile };
  }
  const dir = certsDir(values);
  const own = { key: path.join(dir, 'exchange.key.pem'), cert: path.join(dir, 'exchange.crt.pem') };
  if (!values['ca-cert'] && !values['ca-key'] && existsSync(own.key) && existsSync(own.cert)) {
    return { signer: signerFromOptions({ key: own.key, cert: own.cert }), certFile: own.cert };
  }
  const { certPem, keyPem } = issueLeafCertificate({
    caCertPem: readFileSync((values['ca-cert'] as string | undefined) ?? path.join(dir, 'ca.crt.pem'), 'utf8'),
    caKeyPem: readFileSync((values['ca-key'] as string | undefined) ?? path.join(dir, 'ca.key.pem'), 'utf8'),
    commonName: 'smev-exchange-simulator',
  });
  const certFile = (values['cert-out'] as string | undefined) ?? path.join(tmpdir(), 'okno-smev-exchange.crt.pem');
  writeFileSync(certFile, certPem);
  // the key was made just now, in memory: the same reader as for key files, no file in between
  return { signer: new LocalKeySigner(readPrivateKey(Buffer.from(keyPem)).key, certPem), certFile };
}

async function runSmev(values: Values, port: number): Promise<number> {
  // listening for SIGINT/SIGTERM before "listening on" is printed: a signal sent right after it still stops the simulator cleanly
  const stopped = untilStopped();
  let sim: SmevExchangeSimulator;
  let certFile: string | null;
  let log: ExchangeLog;
  let files: SimulatedFileStore | null = null;
  try {
    const visibility = values['visibility-timeout'] === undefined ? undefined : Number(values['visibility-timeout']);
    if (visibility !== undefined && (!Number.isInteger(visibility) || visibility < 0)) throw new UsageError('--visibility-timeout takes milliseconds (a non-negative integer)');
    const catalogue = catalogueFrom(values);
    const systems = new Map<string, ExchangeSystem>(defaultExchangeSystems(catalogue, certsDir(values)).map((s) => [s.mnemonic, s]));
    for (const v of (values.system as string[] | undefined) ?? []) {
      const s = parseSystemOption(v);
      systems.set(s.mnemonic, s);
    }
    const summarySeconds = values['poll-summary'] === undefined ? 60 : Number(values['poll-summary']);
    if (!Number.isFinite(summarySeconds) || summarySeconds <= 0) throw new UsageError('--poll-summary takes seconds (a positive number)');
    log = new ExchangeLog({
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
      verbose: values.verbose === true,
      summaryEveryMs: summarySeconds * 1000,
    });
    const identity = exchangeSigner(values);
    certFile = identity.certFile;
    if (values['file-store']) {
      const portOf = (name: string, fallback: number) => {
        const v = values[name] === undefined ? fallback : Number(values[name]);
        if (!Number.isInteger(v) || v < 0 || v > 65535) throw new UsageError(`--${name} takes a port (0-65535; 0: any free one)`);
        return v;
      };
      // ftp-srv and s3rver load only when asked for (--file-store).
      const { SimulatedFileStore } = await import('../simulators/smev-file-store.js');
      files = await SimulatedFileStore.start({ host: hostFrom(values), ftpPort: portOf('ftp-port', 8094), s3Port: portOf('s3-port', 8095), ...(values['file-store-dir'] ? { dir: values['file-store-dir'] as string } : {}), ...(process.env.SMEV_FILE_STORE_PASSWORD ? { uploadPassword: process.env.SMEV_FILE_STORE_PASSWORD } : {}) });
    }
    sim = await SmevExchangeSimulator.start({
      port,
      host: hostFrom(values),
      trust: trustFrom(values),
      signer: identity.signer,
      systems: [...systems.values()],
      catalogue,
      ...(visibility !== undefined ? { visibilityTimeoutMs: visibility } : {}),
      attachmentDelivery: values['inline-attachments'] ? 'inline' : 'mtom',
      deliverTestMessages: values['deliver-test-messages'] === true,
      ...(files ? { fileStore: files } : {}),
      onEvent: (e) => log.event(e),
    });
    // One write: a reader that sees the "listening" line sees the whole banner.
    const banner = [`SMEV exchange simulator listening on ${sim.endpoint}; Ctrl-C to stop`];
    for (const s of systems.values()) banner.push(`  system ${s.mnemonic}: provides ${s.provides?.length ? s.provides.join(', ') : 'nothing (sends and polls only)'}`);
    if (certFile) banner.push(`  the exchange's certificate (SMEVSignature): ${certFile}`);
    if (files) {
      banner.push(`  file store: FTP ${files.ftpUrl} (senders upload to /{uuid}/{file name} as user ${files.uploadUser}, password ${files.uploadPassword}); S3 ${files.s3Endpoint} (bucket attachment)`);
      banner.push(`  the gateway's registry: "fileStore": { "ftp": "${files.ftpUrl}", "s3": { "endpoint": "${files.s3Endpoint}" }, "upload": { "user": "${files.uploadUser}", "passwordEnv": "SMEV_FILE_STORE_PASSWORD" } } in the exchange`);
      if (!process.env.SMEV_FILE_STORE_PASSWORD) banner.push(`  (set SMEV_FILE_STORE_PASSWORD to choose the upload password; the gateway reads it from the same variable)`);
    }
    banner.push(values.verbose ? '  every poll is printed (--verbose)' : `  empty polls are summed up every ${summarySeconds} s (--verbose prints each)`);
    process.stdout.write(`${banner.join('\n')}\n`);
    log.start();
  } catch (error) {
    await files?.close();
    process.stderr.write(`okno simulate smev: ${(error as Error).message}\n`);
    return error instanceof UsageError ? 2 : 1;
  }
  await stopped;
  await sim.close();
  await files?.close();
  log.stop();
  const c = sim.counts;
  process.stdout.write(
    `SMEV exchange simulator stopped: ${c.sent} sent, ${c.delivered} delivered (${c.redelivered} again), ${c.acked} acked, ${c.faults} faults, ${log.emptyPolls} empty polls\n`,
  );
  return 0;
}
