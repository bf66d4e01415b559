import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEV_TOKENS, loadConfig } from '../../src/config/env.js';

const cwd = '/srv/okno';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, cwd);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has working defaults (contract §1)', () => {
    const config = loadConfig({}, cwd);
    expect(config.port).toBe(8080);
    expect(config.host).toBe('127.0.0.1');
    expect(config.redisUrl).toBeNull();
    expect(config.gatewayKey).toEqual({
      kind: 'pem',
      keyFile: path.join(cwd, 'certs-sample/gateway.key.pem'),
      certFile: path.join(cwd, 'certs-sample/gateway.crt.pem'),
    });
    expect(config.trustCaFile).toBe(path.join(cwd, 'certs-sample/ca.crt.pem'));
    expect(config.partnersFile).toBe(path.join(cwd, 'config/partners.json'));
    expect(config.portalUrl).toBeNull();
    expect(config.cityWebhookUrl).toBeNull();
    expect(config.apiTokens).toEqual(DEV_TOKENS);
    expect(config.devTokens).toBe(true);
    expect(config.production).toBe(false);
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        PORT: '9000',
        HOST: '0.0.0.0',
        REDIS_URL: 'redis://127.0.0.1:6380/2',
        GATEWAY_P12_FILE: 'keys/gw.p12',
        GATEWAY_P12_PASSWORD: 'secret',
        TRUST_CA_FILE: '/etc/okno/ca.pem',
        PARTNERS_FILE: 'partners.prod.json',
        PORTAL_URL: 'https://portal.example/ws',
        CITY_WEBHOOK_URL: 'http://sed.local/hook',
        API_TOKENS: 'city-token-123456:city, ops-token-1234567:ops',
        LOG_LEVEL: 'debug',
      },
      cwd,
    );
    expect(config).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
      redisUrl: 'redis://127.0.0.1:6380/2',
      gatewayKey: { kind: 'p12', p12File: path.join(cwd, 'keys/gw.p12'), password: 'secret' },
      trustCaFile: '/etc/okno/ca.pem',
      partnersFile: path.join(cwd, 'partners.prod.json'),
      portalUrl: 'https://portal.example/ws',
      cityWebhookUrl: 'http://sed.local/hook',
      apiTokens: [
        { token: 'city-token-123456', role: 'city' },
        { token: 'ops-token-1234567', role: 'ops' },
      ],
      devTokens: false,
      logLevel: 'debug',
    });
  });

  describe('a key in a PKCS#11 token (GATEWAY_PKCS11_*)', () => {
    const token = { GATEWAY_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so', GATEWAY_PKCS11_TOKEN: 'city-gw', GATEWAY_PKCS11_KEY: 'okno-2026', GATEWAY_PKCS11_PIN_FILE: 'secrets/pin' };

    it('reads module, token, key label, PIN file and the certificate file', () => {
      expect(loadConfig({ ...token, GATEWAY_CERT_FILE: 'keys/gw.crt.pem' }, cwd).gatewayKey).toEqual({
        kind: 'pkcs11',
        module: '/usr/lib/softhsm/libsofthsm2.so',
        token: 'city-gw',
        key: { label: 'okno-2026' },
        pinFile: path.join(cwd, 'secrets/pin'),
        certFile: path.join(cwd, 'keys/gw.crt.pem'),
      });
    });

    it('takes the key by CKA_ID (id:<hex>), a bare module name as is, and no certificate file (read from the token)', () => {
      expect(loadConfig({ ...token, GATEWAY_PKCS11_MODULE: 'librtpkcs11ecp.so', GATEWAY_PKCS11_KEY: 'id:0A:1b' }, cwd).gatewayKey).toMatchObject({
        module: 'librtpkcs11ecp.so',
        key: { id: '0a1b' },
        certFile: null,
      });
      expect(problemsOf({ ...token, GATEWAY_PKCS11_KEY: 'id:xyz' })).toEqual([expect.stringMatching(/^GATEWAY_PKCS11_KEY: "id:xyz" is not id:<hex bytes>/)]);
    });

    it('needs all four settings, naming the missing ones', () => {
      expect(problemsOf({ GATEWAY_PKCS11_MODULE: token.GATEWAY_PKCS11_MODULE, GATEWAY_PKCS11_KEY: 'k' })).toEqual([
        expect.stringMatching(/^GATEWAY_PKCS11_TOKEN: must be set together with GATEWAY_PKCS11_MODULE, GATEWAY_PKCS11_KEY/),
        expect.stringMatching(/^GATEWAY_PKCS11_PIN_FILE: must be set together with/),
      ]);
    });

    it('refuses a key file or PKCS#12 set with it, naming both', () => {
      expect(problemsOf({ ...token, GATEWAY_KEY_FILE: 'k.pem' })).toEqual([expect.stringMatching(/^GATEWAY_PKCS11_MODULE: set together with GATEWAY_KEY_FILE/)]);
      expect(problemsOf({ ...token, GATEWAY_P12_FILE: 'k.p12', GATEWAY_P12_PASSWORD: 'x' })).toEqual([
        expect.stringMatching(/^GATEWAY_PKCS11_MODULE: set together with GATEWAY_P12_FILE/),
        expect.stringMatching(/^GATEWAY_PKCS11_MODULE: set together with GATEWAY_P12_PASSWORD/),
      ]);
    });
  });

  it('names each bad variable and says why, all at once', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      REDIS_URL: 'http://localhost:6379',
      PORTAL_URL: 'not a url',
      API_TOKENS: 'abc',
      LOG_LEVEL: 'loud',
      OKNO_ALLOW_SAMPLE_KEYS: 'maybe',
    });
    expect(problems).toHaveLength(6);
    expect(problems[0]).toMatch(/^PORT: must be a whole number from 0 to 65535, got "eighty"/);
    expect(problems.find((p) => p.startsWith('REDIS_URL:'))).toMatch(/must be a redis or rediss URL/);
    expect(problems.find((p) => p.startsWith('PORTAL_URL:'))).toMatch(/not a valid URL/);
    expect(problems.find((p) => p.startsWith('API_TOKENS:'))).toMatch(/token:role/);
    expect(problems.find((p) => p.startsWith('LOG_LEVEL:'))).toMatch(/one of fatal, error/);
    expect(problems.find((p) => p.startsWith('OKNO_ALLOW_SAMPLE_KEYS:'))).toMatch(/true or false/);
  });

  it('reads REDIS_WAIT_REPLICAS / REDIS_WAIT_TIMEOUT_MS: defaults 0 / 1000, a wait needs Redis', () => {
    expect(loadConfig({}, cwd)).toMatchObject({ redisWaitReplicas: 0, redisWaitTimeoutMs: 1000 });
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_WAIT_REPLICAS: '1', REDIS_WAIT_TIMEOUT_MS: '250' }, cwd)).toMatchObject({ redisWaitReplicas: 1, redisWaitTimeoutMs: 250 });
    expect(problemsOf({ REDIS_WAIT_REPLICAS: '1' })).toEqual([expect.stringMatching(/^REDIS_WAIT_REPLICAS: .*needs REDIS_URL/)]);
    for (const bad of ['-1', '1.5', 'one']) {
      expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_WAIT_REPLICAS: bad })).toEqual([expect.stringMatching(/^REDIS_WAIT_REPLICAS/)]);
    }
    for (const bad of ['0', '-5', 'soon']) {
      expect(problemsOf({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_WAIT_TIMEOUT_MS: bad })).toEqual([expect.stringMatching(/^REDIS_WAIT_TIMEOUT_MS/)]);
    }
  });

  it('rejects short, repeated and role-less tokens', () => {
    expect(problemsOf({ API_TOKENS: 'short:city' })[0]).toMatch(/API_TOKENS: item 1 has a token shorter than 12/);
    expect(problemsOf({ API_TOKENS: 'long-enough-token:admin' })[0]).toMatch(/item 1 must be token:role/);
    expect(problemsOf({ API_TOKENS: 'long-enough-token:city,long-enough-token:ops' })[0]).toMatch(/item 2 repeats a token/);
  });

  it('does not print credentials from a bad URL', () => {
    const [problem] = problemsOf({ REDIS_URL: 'redis://user:hunter2@host:99999' });
    expect(problem).toMatch(/^REDIS_URL/);
    expect(problem).not.toContain('hunter2');
  });

  it('refuses P12 and PEM together', () => {
    expect(problemsOf({ GATEWAY_P12_FILE: 'a.p12', GATEWAY_KEY_FILE: 'k.pem' })[0]).toMatch(/^GATEWAY_P12_FILE: set together with/);
  });

  describe('NODE_ENV=production', () => {
    it('refuses the in-memory store and the dev tokens', () => {
      const problems = problemsOf({ NODE_ENV: 'production' });
      expect(problems).toHaveLength(2);
      expect(problems[0]).toMatch(/^REDIS_URL: not set, and NODE_ENV=production refuses the in-memory store/);
      expect(problems[1]).toMatch(/^API_TOKENS: not set, so the public development tokens would be used/);
    });

    it('refuses a dev token even when set explicitly', () => {
      const problems = problemsOf({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', API_TOKENS: 'dev-ops-token:ops' });
      expect(problems).toEqual([expect.stringMatching(/^API_TOKENS: contains a public development token/)]);
    });

    it('accepts them when told explicitly', () => {
      const config = loadConfig({ NODE_ENV: 'production', OKNO_ALLOW_MEMORY_STORE: 'true', OKNO_ALLOW_DEV_TOKENS: 'true' }, cwd);
      expect(config.production).toBe(true);
      expect(config.redisUrl).toBeNull();
    });

    it('starts with Redis and real tokens', () => {
      const config = loadConfig({ NODE_ENV: 'production', REDIS_URL: 'redis://r:6379', API_TOKENS: 'a-real-secret-token:city' }, cwd);
      expect(config.apiTokens).toEqual([{ token: 'a-real-secret-token', role: 'city' }]);
    });
  });
});
