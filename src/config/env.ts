/**
 * Configuration from the environment (12-factor), validated once at start-up.
 * Every problem is collected and reported together, each naming the variable
 * and why it is wrong, so an operator fixes a bad deployment in one go.
 */
import { accessSync, constants as fsConstants, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { parseTrustedProxies } from './trusted-proxies.js';

export type Role = 'city' | 'ops';

export interface ApiToken {
  token: string;
  role: Role;
}

export interface KeySource {
  kind: 'pem';
  keyFile: string;
  certFile: string;
}

export interface P12Source {
  kind: 'p12';
  p12File: string;
  password: string;
}

/** A key held in a PKCS#11 token (GATEWAY_PKCS11_*): it never leaves the token. */
export interface Pkcs11Source {
  kind: 'pkcs11';
  /** Path of the vendor's PKCS#11 module (.so). */
  module: string;
  /** The token's label (CKA_LABEL of the token, as C_GetTokenInfo reports it). */
  token: string;
  /** The private key: by its CKA_LABEL, or by its CKA_ID (`id:<hex>`). */
  key: { label: string } | { id: string };
  /** File holding the user PIN (a trailing newline is ignored). */
  pinFile: string;
  /** The certificate (PEM); null: read from the token (the certificate object with the key's CKA_ID or label). */
  certFile: string | null;
}

export type GatewayKeySource = KeySource | P12Source | Pkcs11Source;

const PKCS11_VARIABLES = ['GATEWAY_PKCS11_MODULE', 'GATEWAY_PKCS11_TOKEN', 'GATEWAY_PKCS11_KEY', 'GATEWAY_PKCS11_PIN_FILE'] as const;

/** A token bucket: refills `perSecond` tokens a second up to `burst`; one message takes one. */
export interface RateLimit {
  perSecond: number;
  burst: number;
}

export type TlsClientAuth = 'off' | 'optional' | 'required';

/** HTTPS for the listener (TLS_*), with the optional client-certificate check on the SOAP endpoint. */
export interface TlsConfig {
  certFile: string;
  keyFile: string;
  clientAuth: TlsClientAuth;
  /** CA bundle that TLS client certificates must chain to (default TRUST_CA_FILE). */
  clientCaFile: string;
}

/** What the gateway presents and trusts when it calls partners over https (OUTBOUND_TLS_*). */
export interface OutboundTlsConfig {
  /** Client certificate and key (both or neither). */
  certFile: string | null;
  keyFile: string | null;
  /** CA bundle for the partners' server certificates (null: Node's built-in CAs). */
  caFile: string | null;
}

export interface RevocationConfig {
  ocsp: OcspSettings;
  /** How often CRL_FILES are re-read when changed and distribution-point CRLs downloaded again (0: never, as read at start-up). */
  crlRefreshIntervalMs: number;
  /** CRLs to download besides the distribution points named by the partners' and CAs' certificates. */
  crlUrls: string[];
  /** Whether the certificates' CRL distribution points are downloaded (CRL_DOWNLOAD). */
  crlDownload: boolean;
}

/** OCSP (README "Certificate revocation"): read by pki/ocsp-client.ts. */
export interface OcspSettings {
  /** off: no OCSP at all. */
  mode: 'on' | 'off';
  /** Overrides every certificate's AIA responder. */
  responderUrl: string | null;
  /** What an unreachable / unusable responder means for the message. */
  onOutage: 'refuse' | 'accept';
  timeoutMs: number;
  /** Answers kept (per issuer + serial); the oldest goes first. */
  cacheSize: number;
  /** The hash of the certificate id in requests (SHA-1 as most responders expect, or SHA-256). */
  hash: 'sha1' | 'sha256';
}

/** REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD, REDIS_SENTINEL_TLS. */
export interface RedisSentinelConfig {
  sentinels: Array<{ host: string; port: number }>;
  /** The master group name the sentinels monitor. */
  name: string;
  sentinelPassword: string | null;
  /** TLS to the sentinels and to the data nodes. */
  tls: boolean;
}

/** Whether the configuration names a Redis (a URL or a Sentinel group) rather than the in-memory store. */
export function usesRedis(config: Pick<Config, 'redisUrl' | 'redisSentinel'>): boolean {
  return config.redisUrl !== null || config.redisSentinel !== null;
}

/** The Redis settings as createStore takes them (spread into its argument). */
export function storeRedisSettings(config: Pick<Config, 'redisUrl' | 'redisSentinel' | 'redisPassword'>): { redisUrl?: string; sentinel?: RedisSentinelConfig; redisPassword?: string } {
  return {
    ...(config.redisUrl ? { redisUrl: config.redisUrl } : {}),
    ...(config.redisSentinel ? { sentinel: config.redisSentinel } : {}),
    ...(config.redisPassword ? { redisPassword: config.redisPassword } : {}),
  };
}

export interface Config {
  nodeEnv: string;
  production: boolean;
  port: number;
  host: string;
  /** Who may tell the client's address (README "Behind a load balancer"): TRUSTED_PROXIES, PROXY_PROTOCOL. */
  proxies: {
    /**
     * Peers whose X-Forwarded-For / PROXY header is believed, as checked items (empty: nobody; the client is
     * the socket's peer). Plain data, like all of Config (it is cloned into worker threads): compile it with
     * trustedProxies() once where it is used.
     */
    trusted: readonly string[];
    /** PROXY_PROTOCOL=on: every connection from a trusted peer starts with a PROXY protocol v1/v2 header. */
    proxyProtocol: boolean;
  };
  redisUrl: string | null;
  /** A Sentinel group's primary instead of REDIS_URL (README "Redis Sentinel"); null: not used. */
  redisSentinel: RedisSentinelConfig | null;
  /** REDIS_PASSWORD: the data nodes' password when REDIS_URL carries none (and for the Sentinel group's nodes). */
  redisPassword: string | null;
  redisKeyPrefix: string;
  /** Replicas every store write waits for (Redis WAIT); 0: none (asynchronous replication only). */
  redisWaitReplicas: number;
  /** How long a write waits for them before the request is refused (SMEVFailure / 503). */
  redisWaitTimeoutMs: number;
  gatewayKey: GatewayKeySource;
  trustCaFile: string;
  /** Certificate revocation lists (PEM or DER), each signed by a trusted CA; empty: no revocation checks. */
  crlFiles: string[];
  /** Revocation beyond CRL_FILES: OCSP for partners' signing certificates, and CRLs refreshed while running. */
  revocation: RevocationConfig;
  /** /ready and okno_certificate_expiry_days: a certificate in use expiring within this many days is a warning. */
  certExpiryWarningDays: number;
  partnersFile: string;
  servicesDir: string;
  /** The gateway's public base URL (for the WSDL's soap:address); null: taken from each request's Host. */
  publicUrl: string | null;
  portalUrl: string | null;
  cityWebhookUrl: string | null;
  apiTokens: ApiToken[];
  /** True when API_TOKENS was not set and the built-in development tokens are in use. */
  devTokens: boolean;
  allow: { sampleKeys: boolean; devTokens: boolean; memoryStore: boolean };
  logLevel: string;
  maxBodyBytes: number;
  /** Limits on client connections (slow clients, floods); see README "Configuration". */
  http: HttpLimits;
  shutdownTimeoutMs: number;
  /** SHUTDOWN_DRAIN_MS: on SIGTERM, how long /ready fails while requests are still served, before closing (0: close at once). */
  shutdownDrainMs: number;
  /** HTTP worker processes (node:cluster); 1 = this process serves. */
  workers: number;
  /**
   * The large-message lane: SOAP bodies of at least `bytes` are processed by
   * `threads` worker threads of each process (own store connection), so the
   * event loop keeps serving small messages meanwhile. 0 threads, or no Redis:
   * everything on the event loop. With two threads or more and `hugeBytes` > 0,
   * bodies of at least `hugeBytes` have threads of their own (the second half),
   * run at `hugeNice`, so that they take the CPU the event loop and the other
   * lane threads leave (see push/large-message-lane.ts).
   */
  largeMessages: { bytes: number; threads: number; nice: number; hugeBytes: number; hugeNice: number };
  lifecycleFile: string;
  /** How long the city waits for an agency's answer by default. */
  queryDeadlineHours: number;
  /** X-Road / Trembita provider: how long a client's call to a query service waits for the city's answer (ms; XROAD_ANSWER_WAIT_S). */
  xroadAnswerWaitMs: number;
  /**
   * SendRequest/SendResponse MessageIDs (version-1 UUIDs carry their time) older
   * than this are refused as StaleMessageId; newer than now + the clock-skew
   * allowance, too. Generous by default: partners retry after outages.
   */
  messageMaxAgeHours: number;
  /** Journal records older than this are removed (0 = kept forever); with the archive on, from the archive. */
  journalRetentionDays: number;
  /**
   * The journal archive: sealed records older than hotHours leave the store in signed segments
   * in `dir`, looked for every intervalMs (hotHours 0: no archive; retention removes from the store).
   */
  journalArchive: {
    dir: string;
    hotHours: number;
    intervalMs: number;
    /** ARCHIVE_ENCRYPT_TO: recipient certificate files; every new segment is a CMS EnvelopedData to them (empty: plain zips). */
    encryptTo: string[];
    /** ARCHIVE_DECRYPT_KEY_FILE: a recipient's private key, to read encrypted segments back (search, proofs, retention). */
    decryptKeyFile: string | null;
    /** ARCHIVE_S3_URL and its credentials: segments go to the bucket (dir is then only the scratch space). */
    s3: { url: string; region: string; accessKeyId: string; secretAccessKey: string } | null;
  };
  /** Outbound deliveries (statuses to the portal, queries to agencies). */
  delivery: { timeoutMs: number; maxAttempts: number; backoffMs: number; backoffCapMs: number };
  /** HTTPS (null: plain HTTP). */
  tls: TlsConfig | null;
  /** Client certificate / CA for calls to partners over https (null: Node's defaults, no client certificate). */
  outboundTls: OutboundTlsConfig | null;
  /** Limits on POST /ws/smev3 (README "Rate limits"). */
  limits: {
    /** Default per-partner limit, after signature verification (null = none); the registry's rateLimit overrides it. */
    perPartner: RateLimit | null;
    /** Per client IP address, before anything is parsed (null = none). */
    perClient: RateLimit | null;
    /** SOAP requests processed at once by one process; more are refused at once (0 = no cap). */
    maxInFlight: number;
    /** JSON API requests per bearer token (API_RATE_LIMIT; null = none): 429 with Retry-After beyond it. */
    perApiToken: RateLimit | null;
  };
  /** Pull mode (partners reached through a SMEV exchange): how often the pollers ask when the queue is empty. */
  pull: { intervalMs: number; maxIntervalMs: number; concurrency: number; maxTries: number };
  /** Files fetched from exchanges' file stores (src/attachments): where they are kept and how they are fetched. */
  fileStore: FileStoreSettings;
  /** Files the city sends (POST /api/v1/files; statuses, queries and answers reference them). */
  outboundFiles: OutboundFileSettings;
  /** The project root: relative file paths in the environment resolve against the working directory. */
  cwd: string;
}

export interface FileStoreSettings {
  /** Blob directory: downloaded files (`blobs/sha256-<hex>`) and partial downloads (`partial/`). Shared by every gateway process. */
  attachmentDir: string;
  /** Connect / idle-socket time limit of one FTP or S3 exchange. */
  timeoutMs: number;
  maxBytes: number;
  maxAttempts: number;
  backoffMs: number;
  backoffCapMs: number;
  concurrency: number;
}

export interface OutboundFileSettings {
  /** FILE_MAX_BYTES: the largest file POST /api/v1/files takes (413 beyond it). */
  maxBytes: number;
  /**
   * ATTACHMENT_INLINE_MAX_BYTES: the largest file sent inside a message (an MTOM part); larger ones
   * go through the exchange's file store (pull mode) or are refused (push mode).
   */
  inlineMaxBytes: number;
}

export interface HttpLimits {
  /** A request (headers and body) must arrive completely within this. */
  requestTimeoutMs: number;
  /** Its headers must arrive within this of the connection (or the previous request). */
  headersTimeoutMs: number;
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many open ones are closed at once (0: no limit). */
  maxConnections: number;
}

export const DEV_TOKENS: readonly ApiToken[] = Object.freeze([
  { token: 'dev-city-token', role: 'city' },
  { token: 'dev-ops-token', role: 'ops' },
]);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** NODE_ENV's values: `production` turns the safeguards on; the other two are the same as each other. */
export const NODE_ENVS = ['development', 'production', 'test'] as const;
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const TRUE = new Set(['1', 'true', 'yes']);
const FALSE = new Set(['0', 'false', 'no', '']);

type Env = Record<string, string | undefined>;

/** Reads and checks the environment; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const problems: string[] = [];
  const v = new Reader(env, problems);

  // A typo (`prod`) must not silently run with every production safeguard off.
  const nodeEnv = v.oneOf('NODE_ENV', [...NODE_ENVS], 'development');
  const production = nodeEnv === 'production';
  const port = v.int('PORT', 8080, 0, 65535);
  const host = v.host('HOST') ?? '127.0.0.1';
  const proxies = readProxies(v, problems);
  const redisUrl = v.url('REDIS_URL', ['redis:', 'rediss:']);
  const redisSentinel = readRedisSentinel(env, v, problems);
  const redisPassword = v.str('REDIS_PASSWORD');
  if (redisUrl && redisSentinel) {
    problems.push('REDIS_SENTINELS: REDIS_URL is set too; set one of them (REDIS_URL for one Redis server, REDIS_SENTINELS with REDIS_SENTINEL_NAME for a Sentinel group)');
  }
  if (redisPassword !== null && redisUrl && urlPassword(redisUrl)) {
    problems.push('REDIS_PASSWORD: REDIS_URL carries a password too; give it in one place');
  } else if (redisPassword !== null && !redisUrl && v.str('REDIS_SENTINELS') === null) {
    problems.push('REDIS_PASSWORD: set, but neither REDIS_URL nor REDIS_SENTINELS is');
  }
  const redisKeyPrefix = v.str('REDIS_KEY_PREFIX') ?? 'okno:';
  const redisWaitReplicas = v.int('REDIS_WAIT_REPLICAS', 0, 0, 100);
  const redisWaitTimeoutMs = v.int('REDIS_WAIT_TIMEOUT_MS', 1_000, 1, 60_000);
  const file = (name: string, fallback: string | null): string | null => {
    const value = v.str(name) ?? fallback;
    return value === null ? null : path.resolve(cwd, value);
  };

  const gatewayKey = readGatewayKey(env, v, problems, file, cwd);

  const apiTokens = v.tokens('API_TOKENS');
  const devTokens = env.API_TOKENS === undefined;

  const config: Config = {
    nodeEnv,
    production,
    port,
    host,
    proxies,
    redisUrl,
    redisSentinel,
    redisPassword,
    redisKeyPrefix,
    redisWaitReplicas,
    redisWaitTimeoutMs,
    gatewayKey,
    trustCaFile: file('TRUST_CA_FILE', 'certs-sample/ca.crt.pem')!,
    certExpiryWarningDays: v.int('CERT_EXPIRY_WARNING_DAYS', 30, 1, 3650),
    crlFiles: (v.str('CRL_FILES') ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => path.resolve(cwd, f)),
    revocation: {
      ocsp: {
        mode: v.oneOf('OCSP', ['on', 'off'], 'on') as 'on' | 'off',
        responderUrl: v.url('OCSP_RESPONDER_URL', ['http:', 'https:']),
        onOutage: v.oneOf('OCSP_ON_OUTAGE', ['refuse', 'accept'], 'refuse') as 'refuse' | 'accept',
        timeoutMs: v.int('OCSP_TIMEOUT_MS', 5_000, 100, 60_000),
        cacheSize: v.int('OCSP_CACHE_SIZE', 10_000, 1, 1_000_000),
        hash: v.oneOf('OCSP_CERT_ID_HASH', ['sha1', 'sha256'], 'sha1') as 'sha1' | 'sha256',
      },
      crlRefreshIntervalMs: v.int('CRL_REFRESH_INTERVAL_MS', 3_600_000, 0, 7 * 86_400_000),
      crlUrls: urlList(env.CRL_URLS, 'CRL_URLS', problems),
      crlDownload: v.oneOf('CRL_DOWNLOAD', ['on', 'off'], 'on') === 'on',
    },
    partnersFile: file('PARTNERS_FILE', 'config/partners.json')!,
    servicesDir: file('SERVICES_DIR', 'config/services')!,
    publicUrl: v.url('PUBLIC_URL', ['http:', 'https:'])?.replace(/\/+$/, '') ?? null,
    portalUrl: v.url('PORTAL_URL', ['http:', 'https:']),
    cityWebhookUrl: v.url('CITY_WEBHOOK_URL', ['http:', 'https:']),
    apiTokens: apiTokens ?? [...DEV_TOKENS],
    devTokens,
    allow: {
      sampleKeys: v.bool('OKNO_ALLOW_SAMPLE_KEYS', false),
      devTokens: v.bool('OKNO_ALLOW_DEV_TOKENS', false),
      memoryStore: v.bool('OKNO_ALLOW_MEMORY_STORE', false),
    },
    logLevel: v.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    maxBodyBytes: v.int('MAX_BODY_BYTES', 16 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    http: {
      requestTimeoutMs: v.int('REQUEST_TIMEOUT_MS', 120_000, 1_000, 3_600_000),
      headersTimeoutMs: v.int('HEADERS_TIMEOUT_MS', 20_000, 500, 600_000),
      keepAliveTimeoutMs: v.int('KEEP_ALIVE_TIMEOUT_MS', 72_000, 1, 3_600_000),
      maxConnections: v.int('MAX_CONNECTIONS', 0, 0, 1_000_000),
    },
    shutdownTimeoutMs: v.int('SHUTDOWN_TIMEOUT_MS', 10_000, 0, 600_000),
    shutdownDrainMs: v.int('SHUTDOWN_DRAIN_MS', 0, 0, 600_000),
    lifecycleFile: file('LIFECYCLE_FILE', 'config/lifecycle.json')!,
    queryDeadlineHours: v.int('QUERY_DEADLINE_HOURS', 120, 1, 24 * 365),
    xroadAnswerWaitMs: v.decimal('XROAD_ANSWER_WAIT_S', 25, 0.01, 3_600) * 1000,
    messageMaxAgeHours: v.int('MESSAGE_MAX_AGE_HOURS', 72, 1, 24 * 365),
    journalRetentionDays: v.int('JOURNAL_RETENTION_DAYS', 365, 0, 36_500),
    journalArchive: {
      dir: file('ARCHIVE_DIR', 'var/archive')!,
      hotHours: v.decimal('JOURNAL_HOT_HOURS', 72, 0, 24 * 36_500),
      intervalMs: v.decimal('ARCHIVE_INTERVAL_S', 60, 0.01, 86_400) * 1000,
      encryptTo: (v.str('ARCHIVE_ENCRYPT_TO') ?? '').split(',').map((f) => f.trim()).filter(Boolean).map((f) => path.resolve(cwd, f)),
      decryptKeyFile: file('ARCHIVE_DECRYPT_KEY_FILE', null),
      s3: readArchiveS3(v, problems),
    },
    delivery: {
      timeoutMs: v.int('DELIVERY_TIMEOUT_MS', 10_000, 100, 300_000),
      maxAttempts: v.int('DELIVERY_MAX_ATTEMPTS', 20, 1, 1_000),
      backoffMs: v.int('DELIVERY_BACKOFF_MS', 2_000, 1, 3_600_000),
      backoffCapMs: v.int('DELIVERY_BACKOFF_CAP_MS', 600_000, 1, 86_400_000),
    },
    pull: {
      intervalMs: v.int('PULL_INTERVAL_MS', 1_000, 10, 3_600_000),
      maxIntervalMs: v.int('PULL_MAX_INTERVAL_MS', 30_000, 10, 3_600_000),
      concurrency: v.int('PULL_CONCURRENCY', 1, 1, 32),
      // Failed tries of one delivered message before it is dead (journaled, listed on /ops, no longer processed).
      maxTries: v.int('PULL_MAX_TRIES', 5, 1, 1_000),
    },
    fileStore: {
      attachmentDir: file('ATTACHMENT_DIR', 'var/attachments')!,
      timeoutMs: v.int('FILE_STORE_TIMEOUT_MS', 30_000, 100, 600_000),
      maxBytes: v.int('FILE_STORE_MAX_BYTES', 1024 * 1024 * 1024, 1, 64 * 1024 * 1024 * 1024),
      maxAttempts: v.int('FILE_STORE_MAX_ATTEMPTS', 20, 1, 1_000),
      backoffMs: v.int('FILE_STORE_BACKOFF_MS', 2_000, 1, 3_600_000),
      backoffCapMs: v.int('FILE_STORE_BACKOFF_CAP_MS', 600_000, 1, 86_400_000),
      concurrency: v.int('FILE_STORE_CONCURRENCY', 2, 1, 32),
    },
    outboundFiles: {
      maxBytes: v.int('FILE_MAX_BYTES', 100 * 1024 * 1024, 1, 64 * 1024 * 1024 * 1024),
      // SMEV 3 carries files up to 5 MB inside a message; larger ones go through its file store.
      inlineMaxBytes: v.int('ATTACHMENT_INLINE_MAX_BYTES', 5 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    },
    workers: env.WORKERS?.trim() === 'auto' ? availableParallelism() : v.int('WORKERS', 1, 1, 64),
    largeMessages: {
      bytes: v.int('LARGE_MESSAGE_BYTES', 64 * 1024, 1024, 1024 * 1024 * 1024),
      // Two by default: a 100 KB message does not wait behind a 1 MB one (measured with npm run bench).
      threads: env.LARGE_MESSAGE_THREADS?.trim() === 'auto' ? availableParallelism() : v.int('LARGE_MESSAGE_THREADS', 2, 0, 16),
      // Linux nice value of the lane threads. Off by default: at 10 the small messages' p99 fell, but under
      // sustained load the 100 KB class (9 % of the bench mix) starved (p50 ~1 s at concurrency 32).
      nice: v.int('LARGE_MESSAGE_NICE', 0, 0, 19),
      // Bodies this large (the bench's 1 MB class) get half the lane's threads, at a lower priority: they wait
      // for the CPU the small messages and the 100 KB ones leave (issue 26; npm run bench, cell "mix + 1 MB").
      hugeBytes: v.int('LARGE_MESSAGE_HUGE_BYTES', 512 * 1024, 0, 1024 * 1024 * 1024),
      hugeNice: v.int('LARGE_MESSAGE_HUGE_NICE', 10, 0, 19),
    },
    tls: null,
    outboundTls: null,
    limits: {
      perPartner: v.rateLimit('RATE_LIMIT_PER_PARTNER'),
      perClient: v.rateLimit('RATE_LIMIT_PER_CLIENT'),
      maxInFlight: v.int('SOAP_MAX_IN_FLIGHT', 256, 0, 1_000_000),
      perApiToken: v.rateLimit('API_RATE_LIMIT'),
    },
    cwd,
  };
  if (config.http.headersTimeoutMs > config.http.requestTimeoutMs) {
    problems.push(`HEADERS_TIMEOUT_MS: ${config.http.headersTimeoutMs} is longer than REQUEST_TIMEOUT_MS (${config.http.requestTimeoutMs}); the headers are part of the request`);
  }
  config.tls = readTls(env, v, problems, file, config.trustCaFile);
  config.outboundTls = readOutboundTls(problems, file);
  if (config.revocation.crlRefreshIntervalMs > 0 && config.revocation.crlRefreshIntervalMs < 1_000) {
    problems.push(`CRL_REFRESH_INTERVAL_MS: must be 0 (never) or at least 1000, got ${config.revocation.crlRefreshIntervalMs}`);
  }
  const archiveDirProblem = config.journalArchive.hotHours > 0 ? writableDirProblem(config.journalArchive.dir) : null;
  if (archiveDirProblem) problems.push(`ARCHIVE_DIR: ${config.journalArchive.dir} ${archiveDirProblem}`);
  const attachmentDirProblem = writableDirProblem(config.fileStore.attachmentDir);
  if (attachmentDirProblem) problems.push(`ATTACHMENT_DIR: ${config.fileStore.attachmentDir} ${attachmentDirProblem}`);
  if (config.fileStore.backoffCapMs < config.fileStore.backoffMs) {
    problems.push(`FILE_STORE_BACKOFF_CAP_MS: ${config.fileStore.backoffCapMs} is less than FILE_STORE_BACKOFF_MS (${config.fileStore.backoffMs})`);
  }
  if (config.pull.maxIntervalMs < config.pull.intervalMs) {
    problems.push(`PULL_MAX_INTERVAL_MS: ${config.pull.maxIntervalMs} is less than PULL_INTERVAL_MS (${config.pull.intervalMs})`);
  }
  if (config.redisWaitReplicas > 0 && !usesRedis(config)) {
    problems.push(`REDIS_WAIT_REPLICAS: ${config.redisWaitReplicas} needs REDIS_URL or REDIS_SENTINELS (the in-memory store has no replicas)`);
  }
  if (config.workers > 1 && !usesRedis(config)) {
    problems.push(`WORKERS: ${config.workers} worker processes need REDIS_URL or REDIS_SENTINELS (each would otherwise keep its own in-memory store)`);
  }

  if (production) {
    if (!usesRedis(config) && !config.allow.memoryStore) {
      problems.push(
        'REDIS_URL: not set, and NODE_ENV=production refuses the in-memory store (nothing would survive a restart); ' +
          'set REDIS_URL (or REDIS_SENTINELS and REDIS_SENTINEL_NAME), or OKNO_ALLOW_MEMORY_STORE=true to accept that',
      );
    }
    const usesDevTokens = config.apiTokens.some((t) => DEV_TOKENS.some((d) => d.token === t.token));
    if (usesDevTokens && !config.allow.devTokens) {
      problems.push(
        'API_TOKENS: ' +
          (devTokens ? 'not set, so the public development tokens would be used' : 'contains a public development token') +
          '; NODE_ENV=production refuses them (set your own tokens, or OKNO_ALLOW_DEV_TOKENS=true)',
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * A Sentinel group (README "Redis Sentinel"): REDIS_SENTINELS is `host:port`
 * items separated by commas (IPv6 in brackets: `[::1]:26379`); the group's
 * name is required with it, and the other REDIS_SENTINEL_* need it.
 */
function readRedisSentinel(env: Env, v: Reader, problems: string[]): RedisSentinelConfig | null {
  const raw = v.str('REDIS_SENTINELS');
  const name = v.str('REDIS_SENTINEL_NAME');
  const sentinelPassword = v.str('REDIS_SENTINEL_PASSWORD');
  const tls = v.oneOf('REDIS_SENTINEL_TLS', ['on', 'off'], 'off') === 'on';
  if (raw === null) {
    for (const other of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD', ...(tls ? ['REDIS_SENTINEL_TLS'] : [])]) {
      if (v.str(other) !== null) problems.push(`${other}: set, but REDIS_SENTINELS (the sentinels' host:port list) is not`);
    }
    return null;
  }
  const sentinels: RedisSentinelConfig['sentinels'] = [];
  raw.split(',').map((item) => item.trim()).forEach((item, index) => {
    const address = parseHostPort(item);
    if (!address) {
      problems.push(`REDIS_SENTINELS: item ${index + 1} ("${item}") must be host:port (IPv6 as [::1]:26379), e.g. 10.0.0.5:26379,10.0.0.6:26379`);
      return;
    }
    if (sentinels.some((s) => s.host === address.host && s.port === address.port)) {
      problems.push(`REDIS_SENTINELS: item ${index + 1} ("${item}") is listed twice`);
      return;
    }
    sentinels.push(address);
  });
  if (name === null) {
    problems.push('REDIS_SENTINEL_NAME: required with REDIS_SENTINELS (the master group name the sentinels monitor, e.g. mymaster)');
  } else if (/\s/.test(name)) {
    problems.push(`REDIS_SENTINEL_NAME: a master group name has no spaces, got "${name}"`);
  }
  if (env.REDIS_SENTINEL_PASSWORD !== undefined && sentinelPassword === null) {
    problems.push('REDIS_SENTINEL_PASSWORD: set but empty (leave it unset when the sentinels have no password)');
  }
  return { sentinels, name: name ?? '', sentinelPassword, tls };
}

/** `host:port` or `[ipv6]:port`; null when malformed. */
function parseHostPort(item: string): { host: string; port: number } | null {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:\[\]\s]+)):(\d{1,5})$/i.exec(item);
  if (!match) return null;
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return null;
  if (match[1] !== undefined && isIP(host) !== 6) return null;
  const hostName = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
  if (match[2] !== undefined && isIP(host) === 0 && !hostName.test(host)) return null;
  return { host, port };
}

function urlPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/**
 * One source of the gateway's key: PEM files (the default, the sample key), a
 * PKCS#12 bundle, or a PKCS#11 token. Settings of two sources together are refused,
 * naming both, rather than one silently winning.
 */
function readGatewayKey(env: Env, v: Reader, problems: string[], file: (name: string, fallback: string | null) => string | null, cwd: string): GatewayKeySource {
  const p12File = file('GATEWAY_P12_FILE', null);
  const pkcs11Set = PKCS11_VARIABLES.filter((name) => v.str(name) !== null);
  if (pkcs11Set.length > 0) {
    for (const other of ['GATEWAY_KEY_FILE', 'GATEWAY_P12_FILE', 'GATEWAY_P12_PASSWORD']) {
      if (env[other] !== undefined) problems.push(`${pkcs11Set[0]}: set together with ${other}; the key is either in a PKCS#11 token or in a file, not both`);
    }
    const missing = PKCS11_VARIABLES.filter((name) => !pkcs11Set.includes(name));
    for (const name of missing) problems.push(`${name}: must be set together with ${pkcs11Set.join(', ')} (the token needs module, token label, key label and PIN file)`);
    const keyRaw = v.str('GATEWAY_PKCS11_KEY') ?? '';
    let key: Pkcs11Source['key'] = { label: keyRaw };
    if (/^id:/i.test(keyRaw)) {
      const hex = keyRaw.slice(3).replace(/[\s:]/g, '').toLowerCase();
      if (!/^([0-9a-f]{2})+$/.test(hex)) problems.push(`GATEWAY_PKCS11_KEY: "${keyRaw}" is not id:<hex bytes> (e.g. id:01a2)`);
      key = { id: hex };
    }
    return {
      kind: 'pkcs11',
      // A bare file name (librtpkcs11ecp.so) is left to the dynamic loader's search path; a path resolves here.
      module: ((m) => (m.includes('/') ? path.resolve(cwd, m) : m))(v.str('GATEWAY_PKCS11_MODULE') ?? ''),
      token: v.str('GATEWAY_PKCS11_TOKEN') ?? '',
      key,
      pinFile: file('GATEWAY_PKCS11_PIN_FILE', null) ?? '',
      certFile: file('GATEWAY_CERT_FILE', null),
    };
  }
  if (p12File) {
    if (env.GATEWAY_KEY_FILE || env.GATEWAY_CERT_FILE) {
      problems.push('GATEWAY_P12_FILE: set together with GATEWAY_KEY_FILE/GATEWAY_CERT_FILE; use one or the other');
    }
    return { kind: 'p12', p12File, password: env.GATEWAY_P12_PASSWORD ?? '' };
  }
  if (env.GATEWAY_P12_PASSWORD !== undefined) {
    problems.push('GATEWAY_P12_PASSWORD: set without GATEWAY_P12_FILE');
  }
  return {
    kind: 'pem',
    keyFile: file('GATEWAY_KEY_FILE', 'certs-sample/gateway.key.pem')!,
    certFile: file('GATEWAY_CERT_FILE', 'certs-sample/gateway.crt.pem')!,
  };
}

const TLS_CLIENT_AUTH: readonly TlsClientAuth[] = ['off', 'optional', 'required'];

/** TLS_CERT_FILE and TLS_KEY_FILE together turn HTTPS on; the client-certificate settings need it. */
function readTls(env: Env, v: Reader, problems: string[], file: (name: string, fallback: string | null) => string | null, trustCaFile: string): TlsConfig | null {
  const certFile = file('TLS_CERT_FILE', null);
  const keyFile = file('TLS_KEY_FILE', null);
  const clientAuth = v.oneOf('TLS_CLIENT_AUTH', [...TLS_CLIENT_AUTH], 'off') as TlsClientAuth;
  const clientCaFile = file('TLS_CLIENT_CA_FILE', null);
  if (!certFile !== !keyFile) {
    problems.push(`${certFile ? 'TLS_KEY_FILE' : 'TLS_CERT_FILE'}: must be set together with ${certFile ? 'TLS_CERT_FILE' : 'TLS_KEY_FILE'} (both turn HTTPS on)`);
    return null;
  }
  if (!certFile || !keyFile) {
    if (clientAuth !== 'off') problems.push(`TLS_CLIENT_AUTH: is ${clientAuth}, but HTTPS is off (set TLS_CERT_FILE and TLS_KEY_FILE)`);
    if (clientCaFile) problems.push('TLS_CLIENT_CA_FILE: is set, but HTTPS is off (set TLS_CERT_FILE and TLS_KEY_FILE)');
    return null;
  }
  if (clientCaFile && clientAuth === 'off') problems.push('TLS_CLIENT_CA_FILE: is set, but TLS_CLIENT_AUTH is off');
  return { certFile, keyFile, clientAuth, clientCaFile: clientCaFile ?? trustCaFile };
}

function readOutboundTls(problems: string[], file: (name: string, fallback: string | null) => string | null): OutboundTlsConfig | null {
  const certFile = file('OUTBOUND_TLS_CERT_FILE', null);
  const keyFile = file('OUTBOUND_TLS_KEY_FILE', null);
  const caFile = file('OUTBOUND_TLS_CA_FILE', null);
  if (!certFile !== !keyFile) {
    problems.push(`${certFile ? 'OUTBOUND_TLS_KEY_FILE' : 'OUTBOUND_TLS_CERT_FILE'}: must be set together with ${certFile ? 'OUTBOUND_TLS_CERT_FILE' : 'OUTBOUND_TLS_KEY_FILE'}`);
    return null;
  }
  return certFile || caFile ? { certFile, keyFile, caFile } : null;
}

function readProxies(v: Reader, problems: string[]): Config['proxies'] {
  let trusted: readonly string[] = [];
  const raw = v.str('TRUSTED_PROXIES');
  if (raw !== null) {
    try {
      trusted = parseTrustedProxies(raw).items;
    } catch (error) {
      problems.push(`TRUSTED_PROXIES: ${(error as Error).message}`);
    }
  }
  const proxyProtocol = v.oneOf('PROXY_PROTOCOL', ['on', 'off'], 'off') === 'on';
  // Only trusted peers send the header: with nobody trusted, every connection that has one is closed.
  if (proxyProtocol && raw === null) problems.push('PROXY_PROTOCOL: is on, but TRUSTED_PROXIES (the balancers that send the header) is not set');
  return { trusted, proxyProtocol };
}

/** Reads typed values from the environment, recording a problem per bad variable. */
class Reader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  str(name: string): string | null {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? null : value.trim();
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === null) return fallback;
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: must be a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  }

  /** A decimal number (fractions allowed: 0.001). */
  decimal(name: string, fallback: number, min: number, max: number): number {
    const raw = this.str(name);
    if (raw === null) return fallback;
    if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      this.problems.push(`${name}: must be a number from ${min} to ${max} (fractions allowed), got "${raw}"`);
      return fallback;
    }
    return Number(raw);
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.env[name];
    if (raw === undefined) return fallback;
    const value = raw.trim().toLowerCase();
    if (TRUE.has(value)) return true;
    if (FALSE.has(value)) return false;
    this.problems.push(`${name}: must be true or false, got "${raw}"`);
    return fallback;
  }

  oneOf(name: string, allowed: string[], fallback: string): string {
    const raw = this.str(name);
    if (raw === null) return fallback;
    if (!allowed.includes(raw)) {
      this.problems.push(`${name}: must be one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw;
  }

  /** An IP address or a DNS host name (what `listen` takes), not a URL or `host:port`. */
  host(name: string): string | null {
    const raw = this.str(name);
    if (raw === null) return null;
    const hostName = /^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;
    if (isIP(raw) === 0 && !hostName.test(raw)) {
      this.problems.push(`${name}: must be an IP address or a host name (e.g. 127.0.0.1, 0.0.0.0, ::), got "${raw}"`);
      return null;
    }
    return raw;
  }

  url(name: string, protocols: string[]): string | null {
    const raw = this.str(name);
    if (raw === null) return null;
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      this.problems.push(`${name}: not a valid URL ("${redactUrl(raw)}")`);
      return null;
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name}: must be a ${protocols.map((p) => p.slice(0, -1)).join(' or ')} URL, got "${parsed.protocol}"`);
      return null;
    }
    return raw;
  }

  /** `0` (off), `<n>/s` or `<n>/min`, optionally `:<burst>` (default: one second's worth, at least 1). */
  rateLimit(name: string): RateLimit | null {
    const raw = this.str(name);
    if (raw === null || raw === '0') return null;
    const limit = parseRateLimit(raw);
    if (!limit) this.problems.push(`${name}: must be 0 (off) or <rate>/s or <rate>/min with an optional :<burst>, e.g. 50/s or 50/s:100, got "${raw}"`);
    return limit;
  }

  /** `token:role,token:role` (whitespace around items is ignored). */
  tokens(name: string): ApiToken[] | null {
    const raw = this.env[name];
    if (raw === undefined) return null;
    const tokens: ApiToken[] = [];
    const items = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (items.length === 0) this.problems.push(`${name}: is set but lists no token (format: token:role,token:role)`);
    items.forEach((item, index) => {
      const sep = item.lastIndexOf(':');
      const token = sep > 0 ? item.slice(0, sep) : '';
      const role = sep > 0 ? item.slice(sep + 1) : '';
      if (!token || (role !== 'city' && role !== 'ops')) {
        this.problems.push(`${name}: item ${index + 1} must be token:role with role city or ops`);
        return;
      }
      if (token.length < 12) {
        this.problems.push(`${name}: item ${index + 1} has a token shorter than 12 characters`);
        return;
      }
      if (tokens.some((t) => t.token === token)) {
        this.problems.push(`${name}: item ${index + 1} repeats a token`);
        return;
      }
      tokens.push({ token, role });
    });
    return tokens;
  }
}

/** `50/s`, `30/min`, `50/s:100` → a token bucket; null when malformed or not positive. */
export function parseRateLimit(raw: string): RateLimit | null {
  const m = /^(\d+(?:\.\d+)?)\s*\/\s*(s|min)(?:\s*:\s*(\d+))?$/.exec(raw.trim());
  if (!m) return null;
  const perSecond = Number(m[1]) / (m[2] === 'min' ? 60 : 1);
  if (!(perSecond > 0) || perSecond > 1_000_000) return null;
  const burst = m[3] === undefined ? Math.max(1, Math.ceil(perSecond)) : Number(m[3]);
  if (burst < 1 || burst > 1_000_000) return null;
  return { perSecond, burst };
}

/** A comma-separated list of http(s) URLs. */
function urlList(raw: string | undefined, name: string, problems: string[]): string[] {
  const items = (raw ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const item of items) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(item).protocol);
    } catch {
      ok = false;
    }
    if (!ok) problems.push(`${name}: "${redactUrl(item)}" is not an http(s) URL`);
  }
  return items;
}

/** Hides credentials in URLs before they reach messages or logs. */
export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^/@]*)@/, '//***@');
}

/** Null when `dir` is a writable directory, or does not exist yet under a writable one (created on first use). */
/** ARCHIVE_S3_URL (http(s)://host[:port]/bucket[/prefix]) with its credentials, or null. */
function readArchiveS3(v: Reader, problems: string[]): Config['journalArchive']['s3'] {
  const url = v.str('ARCHIVE_S3_URL');
  if (url === null) return null;
  let u: URL | null = null;
  try {
    u = new URL(url);
  } catch {
    problems.push(`ARCHIVE_S3_URL: not a URL: "${redactUrl(url)}"`);
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`ARCHIVE_S3_URL: must be http(s)://host[:port]/bucket[/prefix], got ${u.protocol}`);
  else if (u.username || u.password) problems.push('ARCHIVE_S3_URL: must not carry credentials (set ARCHIVE_S3_ACCESS_KEY_ID and ARCHIVE_S3_SECRET_ACCESS_KEY)');
  else if (u.pathname.split('/').filter((p) => p).length === 0) problems.push('ARCHIVE_S3_URL: names no bucket (http(s)://host[:port]/bucket[/prefix])');
  const accessKeyId = v.str('ARCHIVE_S3_ACCESS_KEY_ID');
  const secretAccessKey = v.str('ARCHIVE_S3_SECRET_ACCESS_KEY');
  if (accessKeyId === null) problems.push('ARCHIVE_S3_ACCESS_KEY_ID: required with ARCHIVE_S3_URL');
  if (secretAccessKey === null) problems.push('ARCHIVE_S3_SECRET_ACCESS_KEY: required with ARCHIVE_S3_URL');
  return { url, region: v.str('ARCHIVE_S3_REGION') ?? 'us-east-1', accessKeyId: accessKeyId ?? '', secretAccessKey: secretAccessKey ?? '' };
}

function writableDirProblem(dir: string): string | null {
  let at = dir;
  for (;;) {
    try {
      if (!statSync(at).isDirectory()) return at === dir ? 'is not a directory' : `cannot be created: ${at} is not a directory`;
      accessSync(at, fsConstants.W_OK);
      return null;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EROFS') return at === dir ? 'is not writable' : `cannot be created: ${at} is not writable`;
      if (code !== 'ENOENT') return `cannot be used (${code})`;
      const parent = path.dirname(at);
      if (parent === at) return 'cannot be created';
      at = parent;
    }
  }
}
