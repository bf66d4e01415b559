/**
 * `okno <command> [<subcommand>] --help` and `okno --version`: the usage and options of every
 * command (and simulate's and journal's subcommands), printed on stdout with exit 0. The texts
 * live here, beside each other, so they read alike; `okno catalogue` answers --help itself.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The package's version, from package.json (two folders up, in src/cli and dist/cli alike). */
export function packageVersion(): string {
  const file = path.resolve(import.meta.dirname, '../../package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** True when the arguments ask for help (before a `--` that ends the options). */
export function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

export interface CommandHelp {
  /** The usage line(s), after "usage: okno ". */
  usage: string[];
  /** What it does, a few lines. */
  about: string;
  /** [option, meaning] pairs. */
  options: Array<[string, string]>;
  /** Lines after the options: exit codes, examples. */
  notes?: string[];
}

const KEY_OPTIONS: Array<[string, string]> = [
  ['--key FILE --cert FILE', 'private key and certificate, PEM or DER (GOST R 34.10-2012, RSA, ECDSA P-256)'],
  ['--p12 FILE --password P', 'or a PKCS#12 file and its password'],
];
const HELP_OPTION: [string, string] = ['-h, --help', 'this help'];
const SIM_COMMON: Array<[string, string]> = [
  ['--certs DIR', 'sample PKI the defaults come from (default certs-sample; certs-sample/gost for GOST)'],
  ['--trust CA.pem', 'trusted CA(s) for incoming signatures (default TRUST_CA_FILE, else DIR/ca.crt.pem)'],
  ['--services DIR', 'the service catalogue (default SERVICES_DIR, else config/services)'],
];

export function formatHelp(h: CommandHelp): string {
  const width = Math.min(30, Math.max(...h.options.map(([o]) => o.length)) + 2);
  const lines = [
    ...h.usage.map((u, i) => `${i === 0 ? 'usage: ' : '       '}okno ${u}`),
    '',
    h.about,
    '',
    'options:',
    ...h.options.map(([o, m]) => (o.length + 2 > width ? `  ${o}\n  ${' '.repeat(width)}${m}` : `  ${o.padEnd(width)}${m}`)),
    ...(h.notes && h.notes.length > 0 ? ['', ...h.notes] : []),
    '',
  ];
  return lines.join('\n');
}

export const HELP: Record<string, CommandHelp> = {
  certs: {
    usage: ['certs [--out DIR] [--years N] [--rsa-only | --gost-only]'],
    about: 'Make the sample PKI (TEST ONLY): CA, gateway, portal, agency, exchange keys; RSA in DIR, GOST in DIR/gost.',
    options: [
      ['--out DIR', 'where to write (default certs-sample)'],
      ['--years N', 'validity of the certificates, 1 to 100 (default 20)'],
      ['--rsa-only', 'remake the RSA side only; the GOST files stay'],
      ['--gost-only', 'remake the GOST side only; the RSA files stay'],
      HELP_OPTION,
    ],
  },
  sign: {
    usage: ['sign FILE [--profile smev|xmldsig] [--id ID] [--key K --cert C | --p12 F --password P] [--out OUT]'],
    about: 'Sign an XML file: a SMEV envelope (into its empty CallerInformationSystemSignature) or any element with an Id (enveloped).',
    options: [
      ['--profile smev|xmldsig', 'smev (default): the SMEV 3 profile; xmldsig: a plain enveloped signature'],
      ['--id ID', 'the Id of the element to sign (default: the profile finds it)'],
      ...KEY_OPTIONS,
      ['', "default key: the gateway's (GATEWAY_KEY_FILE/GATEWAY_CERT_FILE or GATEWAY_P12_FILE, else the sample)"],
      ['--out OUT', 'write the signed document there (default stdout)'],
      HELP_OPTION,
    ],
    notes: ['Exit codes: 0 signed, 1 signing failed, 2 usage error.'],
  },
  verify: {
    usage: ['verify FILE [--trust CA.pem] [--partners FILE] [--ignore-trust] [--at ISO-DATE] [--save-certs FILE]'],
    about: 'Verify every ds:Signature in an XML file: algorithm, digest, transforms, reference, certificate, the mathematics, trust, partner, verdict.',
    options: [
      ['--trust CA.pem', 'trusted CA(s), PEM (default TRUST_CA_FILE, else certs-sample/ca.crt.pem); a self-signed certificate can be its own anchor'],
      ['--partners FILE', 'partner registry naming the signer (default PARTNERS_FILE, else config/partners.json)'],
      ['--ignore-trust', 'check the mathematics only'],
      ['--at ISO-DATE', 'check validity periods at that moment instead of now (for old samples)'],
      ['--save-certs FILE', 'write the signers\' certificates there, PEM (e.g. to pass a self-signed one as --trust)'],
      HELP_OPTION,
    ],
    notes: ['Exit codes: 0 every signature valid, 1 one is not, 2 usage error or an unreadable file.'],
  },
  'verify-file': {
    usage: ['verify-file FILE --signature SIG.p7s [--trust CA.pem]… [--certs FILE] [--ignore-trust] [--at ISO-DATE]'],
    about:
      'Verify a detached CMS (PKCS#7) signature over a file, as the gateway verifies SMEV attachments\' SignaturePKCS7: per signer the algorithm,\n' +
      'the signed attributes (contentType, messageDigest, signingTime), the certificate, the mathematics, trust and the verdict.\n' +
      'SIG.p7s may be DER, PEM or base64. GOST R 34.10-2012 256/512 and 2001, RSA (PKCS#1 v1.5, PSS), ECDSA.',
    options: [
      ['--signature SIG.p7s', 'the detached signature (required)'],
      ['--trust CA.pem', 'trusted CA(s), PEM, repeatable (default TRUST_CA_FILE, else certs-sample/ca.crt.pem)'],
      ['--certs FILE', "more certificates, PEM: the signer's when the signature carries none, intermediates"],
      ['--ignore-trust', 'check the mathematics only'],
      ['--at ISO-DATE', 'check validity periods at that moment instead of now'],
      HELP_OPTION,
    ],
    notes: ['Exit codes: 0 every signer valid, 1 one is not (or the signature cannot be read), 2 usage error or an unreadable file.'],
  },
  'sign-file': {
    usage: ['sign-file FILE [--out SIG.p7s] [--pem] [--key K --cert C | --p12 F --password P]'],
    about: 'Sign a file with a detached CMS (PKCS#7) SignedData: signed attributes contentType, signingTime, messageDigest; the certificate included. GOST for a GOST key.',
    options: [
      ['--out SIG.p7s', 'where to write the signature (default FILE.p7s)'],
      ['--pem', 'PEM ("-----BEGIN CMS-----") instead of DER'],
      ...KEY_OPTIONS,
      ['', "default key: the gateway's (GATEWAY_KEY_FILE/GATEWAY_CERT_FILE or GATEWAY_P12_FILE, else the sample)"],
      HELP_OPTION,
    ],
    notes: ['Check it with: okno verify-file FILE --signature SIG.p7s, or openssl cms -verify -binary -inform DER -in SIG.p7s -content FILE -CAfile CA.pem', 'Exit codes: 0 signed, 1 signing failed, 2 usage error.'],
  },
  send: {
    usage: ['send FILE.json --to URL [--service ID] [--out FILE] [--dry-run] [--profile smev|xmldsig] [--version 1.1|1.2|1.3] [--message-id UUID] [--test] [--key K --cert C | --p12 F --password P]'],
    about:
      'The portal simulator: a JSON application → the service\'s XML → a signed SendRequest → POST to the gateway; prints the reply and checks its signature.\n' +
      'FILE.json is { "service", "content" }, or the content itself with --service, or a service\'s example (config/services/<id>/example…json: the folder names the service).',
    options: [
      ['--to URL', "the gateway's SOAP endpoint, e.g. http://127.0.0.1:8080/smev (not needed with --dry-run)"],
      ['--service ID', 'the service; FILE.json is then the content itself'],
      ['--services DIR', 'the service catalogue (default SERVICES_DIR, else config/services)'],
      ['--out FILE', 'write the signed envelope sent, byte for byte'],
      ['--dry-run', 'sign and write the envelope (to --out, else stdout), send nothing'],
      ['--profile smev|xmldsig', 'signature profile (default smev)'],
      ['--version 1.1|1.2|1.3', 'SMEV 3 message-exchange schema version (default 1.1)'],
      ['--message-id UUID', 'the MessageID (default a new UUIDv1)'],
      ['--test', 'mark the message as a test message'],
      ...KEY_OPTIONS,
      ['', 'default key: certs-sample/portal.key.pem, certs-sample/portal.crt.pem'],
      HELP_OPTION,
    ],
    notes: ['Exit codes: 0 the gateway answered 200 (or --dry-run wrote the envelope), 1 refused or unreachable, 2 usage error.'],
  },
  poll: {
    usage: ['poll --to URL [--responses] [--no-ack] [--key K --cert C | --p12 F --password P]'],
    about: "Take the next message addressed to you from a SMEV exchange (GetRequest, or GetResponse), print it with the verdicts of the sender's and the exchange's signatures, and Ack it.",
    options: [
      ['--to URL', "the exchange's endpoint"],
      ['--responses', 'GetResponse instead of GetRequest'],
      ['--no-ack', 'leave the message in the queue'],
      ...KEY_OPTIONS,
      ['', 'default key: the portal sample key'],
      HELP_OPTION,
    ],
  },
  simulate: {
    usage: ['simulate portal [options]', 'simulate agency --gateway URL [options]', 'simulate smev [options]', 'simulate xroad [options]'],
    about: "Run a simulated partner in the foreground: the portal receiving ELK statuses, an agency answering the city's queries, the SMEV 3 exchange, or X-Road / Trembita Security Servers.\n`okno simulate <portal|agency|smev|xroad> --help` lists each one's options.",
    options: [...SIM_COMMON, HELP_OPTION],
  },
  journal: {
    usage: ['journal verify [--redis URL] [--prefix P] [--cert GATEWAY.pem]… [--trust CA.pem] [--json]'],
    about: "Check the journal's hash chain and signed checkpoints in Redis.",
    options: [['verify', 'the only subcommand; `okno journal verify --help` for its options'], HELP_OPTION],
  },
};

/** Help of subcommands, by command then name. */
export const SUBCOMMAND_HELP: Record<string, Record<string, CommandHelp>> = {
  simulate: {
    portal: {
      usage: ['simulate portal [--port 8091] [--certs DIR] [--trust CA.pem] [--expect-cert GATEWAY.crt.pem] [--key K --cert C | --p12 F --password P]'],
      about: 'The portal (EPGU) receiving the gateway\'s signed ELK status messages; prints each one with its signature\'s verdict.',
      options: [
        ['--port N', 'listen port (default 8091; 0 for any free one)'],
        ...SIM_COMMON,
        ['--expect-cert FILE', "accept only signatures by this certificate (the gateway's)"],
        ...KEY_OPTIONS,
        ['', 'default key: DIR/portal.key.pem, DIR/portal.crt.pem'],
        HELP_OPTION,
      ],
    },
    agency: {
      usage: ['simulate agency --gateway URL [--port 8092] [--certs DIR] [--trust CA.pem] [--expect-cert GATEWAY.crt.pem] [--reject SERVICE[:CODE]] [--late SERVICE:MS] [--silent SERVICE] [--key K --cert C | --p12 F --password P]'],
      about: "An agency answering the city's queries: receives each signed SendRequest and POSTs a signed answer to the gateway.",
      options: [
        ['--gateway URL', 'where the agency POSTs its answers, e.g. http://127.0.0.1:8080 (required)'],
        ['--port N', 'listen port (default 8092)'],
        ...SIM_COMMON,
        ['--expect-cert FILE', "accept only signatures by this certificate (the gateway's)"],
        ['--reject SERVICE[:CODE]', 'reject queries of SERVICE (* for all), with CODE (repeatable)'],
        ['--late SERVICE:MS', 'answer SERVICE after MS milliseconds (repeatable)'],
        ['--silent SERVICE', 'never answer SERVICE (repeatable)'],
        ...KEY_OPTIONS,
        ['', 'default key: DIR/agency.key.pem, DIR/agency.crt.pem'],
        HELP_OPTION,
      ],
    },
    smev: {
      usage: ['simulate smev [--port 8093] [--certs DIR] [--trust CA.pem] [--key K --cert C | --p12 F --password P | --ca-cert CA.pem --ca-key CA.key.pem] [--cert-out FILE] [--system MNEMONIC=CERT.pem[:NS,…]]… [--visibility-timeout MS] [--inline-attachments] [--deliver-test-messages] [--file-store [--ftp-port 8094] [--s3-port 8095] [--file-store-dir DIR]]'],
      about: 'The SMEV 3 exchange: queues per system, GetRequest / Ack / SendRequest / SendResponse / GetResponse / GetStatus; prints each event.',
      options: [
        ['--port N', 'listen port (default 8093)'],
        ...SIM_COMMON,
        ...KEY_OPTIONS,
        ['--ca-cert FILE --ca-key FILE', 'or issue the exchange\'s certificate at start-up from this CA (default DIR/ca.*)'],
        ['--cert-out FILE', "where the issued certificate is written (default a file in the temp folder; printed)"],
        ['--system M=CERT.pem[:NS,…]', 'register another information system with its certificate and the namespaces it serves (repeatable)'],
        ['--visibility-timeout MS', 'how long a taken, un-Acked message stays invisible'],
        ['--inline-attachments', 'deliver attachments inline instead of MTOM'],
        ['--deliver-test-messages', 'deliver messages marked as test too'],
        ['--file-store', "run the exchange's file store: an FTP server (senders upload to /{uuid}/{file name}) and an S3-compatible one (bucket attachment); FSAttachmentsList then carries real per-file credentials; the upload account is user upload, password $SMEV_FILE_STORE_PASSWORD (random when unset)"],
        ['--ftp-port N', 'port of the FTP file store (default 8094; 0: any free one)'],
        ['--s3-port N', 'port of the S3-compatible file store (default 8095; 0: any free one)'],
        ['--file-store-dir DIR', 'where the file store keeps files (default: a temp dir, removed at stop)'],
        HELP_OPTION,
      ],
    },
    xroad: {
      usage: [
        'simulate xroad [--port 8095] [--host 127.0.0.1] [--member SUBSYSTEM[=URL]]… [--rest-member SUBSYSTEM=URL]… [--allow CLIENT=SERVICE]… [--config FILE] [--dialect xroad|trembita] [--answer-as SUBSYSTEM]… [--partners FILE] [--services DIR] [--delay-ms MS | --refuse [--refuse-code CODE] | --down close|503] [--verbose]',
      ],
      about:
        "The X-Road / Trembita Security Servers of an exchange, both the client's and the provider's: checks each call's headers and access rights as they do, forwards it to the provider's information system and relays the answer (SOAP: X-Road message protocol 4.0, POST /; REST: /r1/{serviceId}/{path}, or Trembita's /restapi/{path} with Uxp-* headers). Its own refusals are X-Road faults (Client.*, Server.ClientProxy.*, Server.ServerProxy.*).",
      options: [
        ['--port N', 'listen port (default 8095; 0 for any free one)'],
        ['--host ADDRESS', 'listen address (default 127.0.0.1)'],
        ['--member SUBSYSTEM[=URL]', "a member (INSTANCE/CLASS/CODE/SUBSYSTEM) and its information system's URL: the SOAP endpoint calls are POSTed to, and the REST base URL (+ /{serviceCode}{path}); without URL a client only (repeatable)"],
        ['--rest-member SUBSYSTEM=URL', "its REST base URL when it differs from the SOAP endpoint, e.g. http://127.0.0.1:8080/xroad/rest (repeatable)"],
        ['--allow CLIENT=SERVICE', 'an access right: CLIENT (a subsystem, or a member: all its subsystems) may call SERVICE, INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICECODE[/VERSION] (repeatable)'],
        ['--config FILE', 'members and access rights as JSON: {"dialect", "members": [{"subsystem", "soap", "rest", "services"}], "allow": {CLIENT: [SERVICE, …]}}'],
        ['--dialect D', 'xroad (REST at /r1, X-Road-* headers; default) or trembita (REST at /restapi, Uxp-* headers); SOAP is the same'],
        ['--answer-as SUBSYSTEM', "play that provider's information system itself: its services (the registry partner with that transport.subsystem, the codes of its receives) are answered with the catalogue's response examples; the registry's access rights are granted (repeatable)"],
        ['--partners FILE', 'the partner registry --answer-as reads (default config/partners.xroad.json)'],
        ['--services DIR', 'the service catalogue --answer-as answers from (default SERVICES_DIR, else config/services)'],
        ['--delay-ms MS', 'slow: every call waits MS ms before it is forwarded'],
        ['--refuse', "refusing: every call gets the Security Server's own fault (Server.ClientProxy.NetworkError)"],
        ['--refuse-code CODE', 'the fault code --refuse answers with'],
        ['--down close|503', 'down: connections are cut unanswered (close) or answered 503'],
        ['-v, --verbose', "print every exchange (default: only the Security Server's own faults, on stderr)"],
        HELP_OPTION,
      ],
      notes: [
        'Kyiv: okno simulate xroad --dialect trembita --member SEVDEIR-TEST/GOV/44444444/okno=http://127.0.0.1:8080/ws/xroad --rest-member SEVDEIR-TEST/GOV/44444444/okno=http://127.0.0.1:8080/xroad/rest --answer-as SEVDEIR-TEST/GOV/12345678/registry --answer-as SEVDEIR-TEST/GOV/87654321/tax',
        'Example: okno simulate xroad --member EE/GOV/70000001/okno=http://127.0.0.1:8080/ws/xroad --rest-member EE/GOV/70000001/okno=http://127.0.0.1:8080/xroad/rest --allow EE/GOV/12345678/dms=EE/GOV/70000001/okno/zags-birth-record/v1',
      ],
    },
  },
  journal: {
    verify: {
      usage: ['journal verify [--redis URL] [--prefix P] [--cert GATEWAY.pem]… [--trust CA.pem] [--json]'],
      about: "Check the journal's hash chain and signed checkpoints in Redis. The in-memory journal is checked through GET /api/v1/journal/verify.",
      options: [
        ['--redis URL', "the Redis (default REDIS_URL; REDIS_SENTINELS is not read: give the primary's or a replica's URL)"],
        ['--prefix P', 'key prefix (default REDIS_KEY_PREFIX, else okno:)'],
        ['--cert FILE', "a gateway certificate whose checkpoint signatures count (repeatable; default the gateway's)"],
        ['--trust CA.pem', 'trusted CA(s) (default TRUST_CA_FILE, else certs-sample/ca.crt.pem)'],
        ['--json', 'print the report as JSON'],
        HELP_OPTION,
      ],
      notes: ['Exit codes: 0 intact, 1 problems found (each with its seq), 2 usage error or the store unreadable.'],
    },
  },
};

/** The help text for `okno <command> args… --help`: a subcommand's when args name one. */
export function helpFor(command: string, args: readonly string[]): string | null {
  const subs = SUBCOMMAND_HELP[command];
  const first = args.find((a) => !a.startsWith('-'));
  const sub = subs && first !== undefined ? subs[first] : undefined;
  const help = sub ?? HELP[command];
  return help ? formatHelp(help) : null;
}
