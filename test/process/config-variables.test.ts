/**
 * Every variable in the README's Configuration table, given a bad value, stops
 * the real process (`node dist/main.js`, what `npm start` runs) with exit 78 and
 * ONE line on stderr that names the variable, without a stack trace. The table
 * is parsed from README.md: a variable added there without a case here fails.
 * Variables whose every value is acceptable are listed with the reason.
 *
 * Fast: the processes run in parallel (a small pool) and each stops before it
 * connects anywhere (no Redis is needed: REDIS_URL's and the REDIS_SENTINEL* bad values are refused when read).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/gateway.js';
import { spawnGateway } from '../helpers/process.js';
import { createSoftHsmToken, SOFTHSM_MODULE, type SoftHsmToken } from '../helpers/softhsm.js';
import { requireTool } from '../helpers/tools.js';

/** The variables of README.md's "## Configuration" table, in order. */
function readmeVariables(): string[] {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration\n');
  expect(start, 'README.md has a "## Configuration" section').toBeGreaterThan(0);
  const section = readme.slice(start + 1).split(/\n#{2,3} /)[0]!;
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)` \|/gm)].map((m) => m[1]!);
}

/** Variables with no wrong value, and why. */
const ACCEPTS_ANY: Record<string, string> = {
  REDIS_KEY_PREFIX: 'any string is a valid Redis key prefix (empty: the default)',
  ARCHIVE_S3_REGION: 'any string names a region (S3-compatible stores take whatever they are configured with)',
};

const sample = (file: string) => path.join(projectRoot, 'certs-sample', file);
const missing = '/nonexistent/okno-config-test';

let dir: string;
let token: SoftHsmToken;

/** One wrong setting per variable: the environment to start with (built once the fixtures exist). */
function badValues(): Record<string, Record<string, string>> {
  const p12 = path.join(dir, 'gateway.p12');
  const wrongPin = path.join(dir, 'wrong-pin');
  const pkcs11 = { GATEWAY_PKCS11_MODULE: SOFTHSM_MODULE, GATEWAY_PKCS11_TOKEN: token.label, GATEWAY_PKCS11_KEY: 'gw-rsa', GATEWAY_PKCS11_PIN_FILE: token.pinFile, SOFTHSM2_CONF: token.conf };
  const https = { TLS_CERT_FILE: sample('gateway.crt.pem'), TLS_KEY_FILE: sample('gateway.key.pem') };
  return {
    PORT: { PORT: '80800' },
    HOST: { HOST: 'http://0.0.0.0' },
    REDIS_URL: { REDIS_URL: 'http://127.0.0.1:6379' },
    REDIS_SENTINELS: { REDIS_SENTINELS: '10.0.0.5', REDIS_SENTINEL_NAME: 'mymaster' },
    REDIS_SENTINEL_NAME: { REDIS_SENTINELS: '127.0.0.1:9' },
    REDIS_SENTINEL_PASSWORD: { REDIS_SENTINEL_PASSWORD: 'sentinel-secret' },
    REDIS_PASSWORD: { REDIS_URL: 'redis://:in-url@127.0.0.1:9', REDIS_PASSWORD: 'other' },
    REDIS_SENTINEL_TLS: { REDIS_SENTINELS: '127.0.0.1:9', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_TLS: 'yes' },
    REDIS_WAIT_REPLICAS: { REDIS_WAIT_REPLICAS: '1' }, // > 0 needs REDIS_URL (negative / non-integer: test/config/env.test.ts)
    REDIS_WAIT_TIMEOUT_MS: { REDIS_WAIT_TIMEOUT_MS: '0' },
    GATEWAY_KEY_FILE: { GATEWAY_KEY_FILE: `${missing}/gateway.key.pem` },
    GATEWAY_CERT_FILE: { GATEWAY_CERT_FILE: `${missing}/gateway.crt.pem` },
    GATEWAY_P12_FILE: { GATEWAY_P12_FILE: `${missing}/gateway.p12` },
    GATEWAY_P12_PASSWORD: { GATEWAY_P12_FILE: p12, GATEWAY_P12_PASSWORD: 'wrong' },
    GATEWAY_PKCS11_MODULE: { ...pkcs11, GATEWAY_PKCS11_MODULE: `${missing}/libpkcs11.so` },
    GATEWAY_PKCS11_TOKEN: { ...pkcs11, GATEWAY_PKCS11_TOKEN: 'no-such-token' },
    GATEWAY_PKCS11_KEY: { ...pkcs11, GATEWAY_PKCS11_KEY: 'no-such-key' },
    GATEWAY_PKCS11_PIN_FILE: { ...pkcs11, GATEWAY_PKCS11_PIN_FILE: wrongPin },
    TRUST_CA_FILE: { TRUST_CA_FILE: `${missing}/ca.crt.pem` },
    CERT_EXPIRY_WARNING_DAYS: { CERT_EXPIRY_WARNING_DAYS: '0' },
    CRL_FILES: { CRL_FILES: `${missing}/a.crl` },
    CRL_REFRESH_INTERVAL_MS: { CRL_REFRESH_INTERVAL_MS: '500' },
    CRL_DOWNLOAD: { CRL_DOWNLOAD: 'yes' },
    CRL_URLS: { CRL_URLS: 'ftp://crl.example/ca.crl' },
    OCSP: { OCSP: 'maybe' },
    OCSP_RESPONDER_URL: { OCSP_RESPONDER_URL: 'ldap://ocsp.example' },
    OCSP_ON_OUTAGE: { OCSP_ON_OUTAGE: 'ignore' },
    OCSP_TIMEOUT_MS: { OCSP_TIMEOUT_MS: '5' },
    OCSP_CACHE_SIZE: { OCSP_CACHE_SIZE: '0' },
    OCSP_CERT_ID_HASH: { OCSP_CERT_ID_HASH: 'md5' },
    MESSAGE_MAX_AGE_HOURS: { MESSAGE_MAX_AGE_HOURS: '0' },
    PARTNERS_FILE: { PARTNERS_FILE: `${missing}/partners.json` },
    SERVICES_DIR: { SERVICES_DIR: `${missing}/services` },
    PUBLIC_URL: { PUBLIC_URL: 'gateway.example.org' },
    PORTAL_URL: { PORTAL_URL: 'ftp://portal.example' },
    CITY_WEBHOOK_URL: { CITY_WEBHOOK_URL: 'city webhook' },
    API_TOKENS: { API_TOKENS: 'short:city' },
    NODE_ENV: { NODE_ENV: 'prod' },
    OKNO_ALLOW_SAMPLE_KEYS: { OKNO_ALLOW_SAMPLE_KEYS: 'maybe' },
    OKNO_ALLOW_DEV_TOKENS: { OKNO_ALLOW_DEV_TOKENS: 'maybe' },
    OKNO_ALLOW_MEMORY_STORE: { OKNO_ALLOW_MEMORY_STORE: 'maybe' },
    LOG_LEVEL: { LOG_LEVEL: 'loud' },
    MAX_BODY_BYTES: { MAX_BODY_BYTES: '16M' },
    REQUEST_TIMEOUT_MS: { REQUEST_TIMEOUT_MS: '1' },
    HEADERS_TIMEOUT_MS: { HEADERS_TIMEOUT_MS: '200000' },
    KEEP_ALIVE_TIMEOUT_MS: { KEEP_ALIVE_TIMEOUT_MS: '72s' },
    MAX_CONNECTIONS: { MAX_CONNECTIONS: '-1' },
    SHUTDOWN_TIMEOUT_MS: { SHUTDOWN_TIMEOUT_MS: 'forever' },
    SHUTDOWN_DRAIN_MS: { SHUTDOWN_DRAIN_MS: '-5' },
    LIFECYCLE_FILE: { LIFECYCLE_FILE: `${missing}/lifecycle.json` },
    DELIVERY_TIMEOUT_MS: { DELIVERY_TIMEOUT_MS: '0' },
    DELIVERY_MAX_ATTEMPTS: { DELIVERY_MAX_ATTEMPTS: '0' },
    DELIVERY_BACKOFF_MS: { DELIVERY_BACKOFF_MS: '2.5' },
    DELIVERY_BACKOFF_CAP_MS: { DELIVERY_BACKOFF_CAP_MS: '0' },
    QUERY_DEADLINE_HOURS: { QUERY_DEADLINE_HOURS: '0' },
    XROAD_ANSWER_WAIT_S: { XROAD_ANSWER_WAIT_S: '0' },
    JOURNAL_RETENTION_DAYS: { JOURNAL_RETENTION_DAYS: 'forever' },
    JOURNAL_HOT_HOURS: { JOURNAL_HOT_HOURS: 'soon' },
    ARCHIVE_DIR: { ARCHIVE_DIR: sample('ca.crt.pem') },
    ARCHIVE_INTERVAL_S: { ARCHIVE_INTERVAL_S: '0' },
    ARCHIVE_S3_URL: { ARCHIVE_S3_URL: 'ftp://127.0.0.1/okno-archive', ARCHIVE_S3_ACCESS_KEY_ID: 'k', ARCHIVE_S3_SECRET_ACCESS_KEY: 's' },
    ARCHIVE_S3_ACCESS_KEY_ID: { ARCHIVE_S3_URL: 'http://127.0.0.1:9/okno-archive', ARCHIVE_S3_SECRET_ACCESS_KEY: 's' },
    ARCHIVE_S3_SECRET_ACCESS_KEY: { ARCHIVE_S3_URL: 'http://127.0.0.1:9/okno-archive', ARCHIVE_S3_ACCESS_KEY_ID: 'k' },
    FILE_MAX_BYTES: { FILE_MAX_BYTES: '0' },
    ATTACHMENT_INLINE_MAX_BYTES: { ATTACHMENT_INLINE_MAX_BYTES: 'big' },
    // A file that is no certificate; a key that belongs to none of the recipients (the gateway could not read its own archive).
    ARCHIVE_ENCRYPT_TO: { ARCHIVE_ENCRYPT_TO: path.join(projectRoot, 'package.json') },
    ARCHIVE_DECRYPT_KEY_FILE: { ARCHIVE_ENCRYPT_TO: sample('portal.crt.pem'), ARCHIVE_DECRYPT_KEY_FILE: sample('agency.key.pem') },
    PULL_INTERVAL_MS: { PULL_INTERVAL_MS: '1' },
    PULL_CONCURRENCY: { PULL_CONCURRENCY: '33' },
    ATTACHMENT_DIR: { ATTACHMENT_DIR: sample('ca.crt.pem') },
    FILE_STORE_TIMEOUT_MS: { FILE_STORE_TIMEOUT_MS: '5' },
    FILE_STORE_MAX_BYTES: { FILE_STORE_MAX_BYTES: '0' },
    FILE_STORE_MAX_ATTEMPTS: { FILE_STORE_MAX_ATTEMPTS: '0' },
    FILE_STORE_BACKOFF_MS: { FILE_STORE_BACKOFF_MS: 'soon' },
    FILE_STORE_BACKOFF_CAP_MS: { FILE_STORE_BACKOFF_MS: '5000', FILE_STORE_BACKOFF_CAP_MS: '1000' },
    FILE_STORE_CONCURRENCY: { FILE_STORE_CONCURRENCY: '33' },
    PULL_MAX_INTERVAL_MS: { PULL_MAX_INTERVAL_MS: '500' },
    PULL_MAX_TRIES: { PULL_MAX_TRIES: '0' },
    WORKERS: { WORKERS: '0' },
    LARGE_MESSAGE_BYTES: { LARGE_MESSAGE_BYTES: '1' },
    LARGE_MESSAGE_THREADS: { LARGE_MESSAGE_THREADS: '17' },
    LARGE_MESSAGE_NICE: { LARGE_MESSAGE_NICE: '20' },
    LARGE_MESSAGE_HUGE_BYTES: { LARGE_MESSAGE_HUGE_BYTES: '1MB' },
    LARGE_MESSAGE_HUGE_NICE: { LARGE_MESSAGE_HUGE_NICE: '-1' },
    TLS_CERT_FILE: { ...https, TLS_CERT_FILE: `${missing}/tls.crt.pem` },
    TLS_KEY_FILE: { ...https, TLS_KEY_FILE: `${missing}/tls.key.pem` },
    TLS_CLIENT_AUTH: { ...https, TLS_CLIENT_AUTH: 'always' },
    TLS_CLIENT_CA_FILE: { ...https, TLS_CLIENT_AUTH: 'required', TLS_CLIENT_CA_FILE: `${missing}/clients.pem` },
    OUTBOUND_TLS_CERT_FILE: { OUTBOUND_TLS_CERT_FILE: `${missing}/client.crt.pem`, OUTBOUND_TLS_KEY_FILE: sample('gateway.key.pem') },
    OUTBOUND_TLS_KEY_FILE: { OUTBOUND_TLS_CERT_FILE: sample('gateway.crt.pem'), OUTBOUND_TLS_KEY_FILE: `${missing}/client.key.pem` },
    OUTBOUND_TLS_CA_FILE: { OUTBOUND_TLS_CA_FILE: `${missing}/partners-ca.pem` },
    RATE_LIMIT_PER_PARTNER: { RATE_LIMIT_PER_PARTNER: '50/h' },
    RATE_LIMIT_PER_CLIENT: { RATE_LIMIT_PER_CLIENT: 'lots' },
    TRUSTED_PROXIES: { TRUSTED_PROXIES: '10.0.0.0/33' },
    PROXY_PROTOCOL: { PROXY_PROTOCOL: 'auto', TRUSTED_PROXIES: '127.0.0.1' },
    API_RATE_LIMIT: { API_RATE_LIMIT: 'lots' },
    SOAP_MAX_IN_FLIGHT: { SOAP_MAX_IN_FLIGHT: '-3' },
  };
}

/** Runs `tasks` with at most `size` at once. */
async function pool<T>(tasks: Array<() => Promise<T>>, size: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, tasks.length) }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

interface Outcome {
  code: number | null;
  stderr: string;
  ms: number;
}

/**
 * A file that exists but is not a lifecycle: refused by its loader, after the logger exists
 * (started at once, beside the pool).
 */
async function fatalRun(level: string): Promise<{ code: number | null; stderr: string; fatal: string }> {
  const proc = spawnGateway({ PORT: '0', LOG_LEVEL: level, LIFECYCLE_FILE: path.join(projectRoot, 'package.json') });
  const code = await proc.exited;
  return { code, stderr: proc.stderr(), fatal: JSON.stringify(proc.lines.find((l) => l.level === 'fatal')) };
}
const fatalRuns: Partial<Record<'info' | 'debug', ReturnType<typeof fatalRun>>> = {};

/** A port another process holds: the gateway loads everything, then cannot listen. */
async function portTaken(): Promise<{ code: number | null; stderr: string; port: number }> {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as AddressInfo).port;
  try {
    const proc = spawnGateway({ PORT: String(port) });
    return { code: await proc.exited, stderr: proc.stderr(), port };
  } finally {
    holder.close();
  }
}
let portTakenRun: ReturnType<typeof portTaken>;

const variables = readmeVariables();
const outcomes = new Map<string, Outcome>();
let cases: Record<string, Record<string, string>> = {};

beforeAll(async () => {
  fatalRuns.info = fatalRun('info');
  fatalRuns.debug = fatalRun('debug');
  portTakenRun = portTaken();
  requireTool('openssl', ['version'], 'openssl');
  dir = mkdtempSync(path.join(tmpdir(), 'okno-config-'));
  token = createSoftHsmToken();
  token.generateKey('rsa', 'gw-rsa', '01');
  writeFileSync(path.join(dir, 'wrong-pin'), '000000\n', { mode: 0o600 });
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', sample('gateway.key.pem'), '-in', sample('gateway.crt.pem'), '-passout', 'pass:right', '-out', path.join(dir, 'gateway.p12')], { stdio: 'ignore' });
  cases = badValues();
  const names = Object.keys(cases).filter((name) => variables.includes(name));
  const results = await pool(
    names.map((name) => async () => {
      const started = Date.now();
      // With the sample PKI in development; only the variable under test (and what it needs) is set.
      const proc = spawnGateway({ PORT: '0', ...cases[name]! });
      const timer = setTimeout(() => proc.child.kill('SIGKILL'), 20_000);
      const code = await proc.exited;
      clearTimeout(timer);
      return [name, { code, stderr: proc.stderr(), ms: Date.now() - started }] as const;
    }),
    4,
  );
  for (const [name, outcome] of results) outcomes.set(name, outcome);
  await Promise.all([...Object.values(fatalRuns), portTakenRun]);
}, 120_000);

afterAll(() => {
  token?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('README "Configuration": every variable', () => {
  it('is read from the table (a sanity check of the parser)', () => {
    expect(variables.length).toBeGreaterThan(50);
    expect(variables).toContain('NODE_ENV');
    expect(variables).toContain('SOAP_MAX_IN_FLIGHT');
  });

  it('has a bad-value case here, or is listed as accepting any value', () => {
    const uncovered = variables.filter((name) => !(name in cases) && !(name in ACCEPTS_ANY));
    expect(uncovered, 'README variables without a bad-value case (add one to badValues, or to ACCEPTS_ANY with the reason)').toEqual([]);
    const stale = [...Object.keys(cases), ...Object.keys(ACCEPTS_ANY)].filter((name) => !variables.includes(name));
    expect(stale, 'cases for variables the README does not list').toEqual([]);
    expect(Object.keys(cases).filter((name) => name in ACCEPTS_ANY)).toEqual([]);
  });

  it.each(variables.filter((name) => !(name in ACCEPTS_ANY)))('%s: a bad value stops start-up with exit 78 and one line naming it, no stack', (name) => {
    const outcome = outcomes.get(name);
    expect(outcome, `no outcome for ${name}`).toBeDefined();
    const { code, stderr } = outcome!;
    const lines = stderr.split('\n').filter(Boolean);
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^okno: /);
    expect(lines[0]).toContain(name);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(code, stderr).toBe(78);
  });
});

describe('file variables name the path too', () => {
  it.each(['PARTNERS_FILE', 'SERVICES_DIR', 'LIFECYCLE_FILE', 'TRUST_CA_FILE', 'GATEWAY_KEY_FILE', 'TLS_CLIENT_CA_FILE', 'OUTBOUND_TLS_CA_FILE'])('%s', (name) => {
    const stderr = outcomes.get(name)?.stderr ?? '';
    const file = Object.values(cases[name] ?? {}).find((v) => v.startsWith(missing));
    expect(file).toBeDefined();
    expect(stderr.trim()).toBe(`okno: ${name}: cannot read ${file}: ENOENT (no such file or directory)`);
  });
});

describe('NODE_ENV', () => {
  it('names the allowed values', () => {
    expect(outcomes.get('NODE_ENV')?.stderr.trim()).toBe('okno: NODE_ENV: must be one of development, production, test, got "prod"');
  });
});

describe('the fatal log line', () => {
  it('carries no stack trace, and the same line as stderr', async () => {
    const { code, stderr, fatal } = await fatalRuns.info!;
    expect(code).toBe(78);
    expect(stderr.trim()).toMatch(/^okno: LIFECYCLE_FILE: lifecycle .*package\.json is invalid: /);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(fatal).toContain(JSON.stringify(stderr.trim().slice('okno: '.length)).slice(1, -1));
    expect(fatal).not.toMatch(/stack|\\n\s+at /);
  });

  it('carries the stack at LOG_LEVEL=debug (stderr stays one line)', async () => {
    const { code, stderr, fatal } = await fatalRuns.debug!;
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(fatal).toMatch(/"stack":".*\\n\s+at /);
  });
});

describe('a port in use', () => {
  it('stops start-up with one line naming PORT / HOST (exit 78)', async () => {
    const { code, stderr, port } = await portTakenRun;
    expect(stderr).toBe(`okno: PORT / HOST: cannot listen on 127.0.0.1:${port}: EADDRINUSE (the port is in use)\n`);
    expect(code).toBe(78);
  });
});
