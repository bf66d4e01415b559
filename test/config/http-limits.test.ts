import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/okno');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('HTTP connection limits (REQUEST_TIMEOUT_MS, HEADERS_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, MAX_CONNECTIONS)', () => {
  it('has defaults that cut slow clients without hurting large uploads', () => {
    expect(loadConfig({}, '/srv/okno').http).toEqual({ requestTimeoutMs: 120_000, headersTimeoutMs: 20_000, keepAliveTimeoutMs: 72_000, maxConnections: 0 });
  });

  it('reads each', () => {
    const config = loadConfig({ REQUEST_TIMEOUT_MS: '30000', HEADERS_TIMEOUT_MS: '5000', KEEP_ALIVE_TIMEOUT_MS: '65000', MAX_CONNECTIONS: '4000' }, '/srv/okno');
    expect(config.http).toEqual({ requestTimeoutMs: 30_000, headersTimeoutMs: 5_000, keepAliveTimeoutMs: 65_000, maxConnections: 4_000 });
  });

  it('names each bad one', () => {
    const problems = problemsOf({ REQUEST_TIMEOUT_MS: '0', HEADERS_TIMEOUT_MS: 'soon', KEEP_ALIVE_TIMEOUT_MS: '-1', MAX_CONNECTIONS: 'many' });
    expect(problems).toEqual([
      expect.stringMatching(/^REQUEST_TIMEOUT_MS: must be a whole number from 1000/),
      expect.stringMatching(/^HEADERS_TIMEOUT_MS: must be a whole number/),
      expect.stringMatching(/^KEEP_ALIVE_TIMEOUT_MS: must be a whole number/),
      expect.stringMatching(/^MAX_CONNECTIONS: must be a whole number/),
    ]);
  });

  it('refuses a headers timeout longer than the request timeout', () => {
    expect(problemsOf({ REQUEST_TIMEOUT_MS: '5000', HEADERS_TIMEOUT_MS: '10000' })).toEqual([expect.stringMatching(/^HEADERS_TIMEOUT_MS: 10000 is longer than REQUEST_TIMEOUT_MS \(5000\)/)]);
  });
});
