import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, storeRedisSettings, usesRedis } from '../../src/config/env.js';
import { redisClientOptions } from '../../src/store/index.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env, '/srv/okno');
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

const group = { REDIS_SENTINELS: '10.0.0.5:26379, sentinel-b.example:26380,[::1]:26381', REDIS_SENTINEL_NAME: 'mymaster' };

describe('Redis Sentinel settings (REDIS_SENTINELS, REDIS_SENTINEL_NAME, REDIS_SENTINEL_PASSWORD, REDIS_SENTINEL_TLS, REDIS_PASSWORD)', () => {
  it('reads the sentinels (IPv6 in brackets), the group, the passwords and TLS', () => {
    const config = loadConfig({ ...group, REDIS_SENTINEL_PASSWORD: 's-secret', REDIS_PASSWORD: 'n-secret', REDIS_SENTINEL_TLS: 'on' }, '/srv/okno');
    expect(config.redisUrl).toBeNull();
    expect(config.redisSentinel).toEqual({
      sentinels: [
        { host: '10.0.0.5', port: 26379 },
        { host: 'sentinel-b.example', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'mymaster',
      sentinelPassword: 's-secret',
      tls: true,
    });
    expect(config.redisPassword).toBe('n-secret');
    expect(usesRedis(config)).toBe(true);
    expect(storeRedisSettings(config)).toEqual({ sentinel: config.redisSentinel, redisPassword: 'n-secret' });
  });

  it('is off by default', () => {
    const config = loadConfig({}, '/srv/okno');
    expect(config.redisSentinel).toBeNull();
    expect(config.redisPassword).toBeNull();
    expect(usesRedis(config)).toBe(false);
  });

  it('refuses REDIS_URL and REDIS_SENTINELS together, in one problem naming both', () => {
    expect(problemsOf({ ...group, REDIS_URL: 'redis://127.0.0.1:6379' })).toEqual([expect.stringMatching(/^REDIS_SENTINELS: REDIS_URL is set too; set one of them/)]);
  });

  it('names each bad item, a repeated one, and a missing group name', () => {
    expect(problemsOf({ REDIS_SENTINELS: '10.0.0.5:26379,10.0.0.6,::1:26379,[::1]:70000,10.0.0.5:26379' })).toEqual([
      'REDIS_SENTINELS: item 2 ("10.0.0.6") must be host:port (IPv6 as [::1]:26379), e.g. 10.0.0.5:26379,10.0.0.6:26379',
      'REDIS_SENTINELS: item 3 ("::1:26379") must be host:port (IPv6 as [::1]:26379), e.g. 10.0.0.5:26379,10.0.0.6:26379',
      'REDIS_SENTINELS: item 4 ("[::1]:70000") must be host:port (IPv6 as [::1]:26379), e.g. 10.0.0.5:26379,10.0.0.6:26379',
      'REDIS_SENTINELS: item 5 ("10.0.0.5:26379") is listed twice',
      expect.stringMatching(/^REDIS_SENTINEL_NAME: required with REDIS_SENTINELS/),
    ]);
    expect(problemsOf({ ...group, REDIS_SENTINEL_NAME: 'my master' })).toEqual(['REDIS_SENTINEL_NAME: a master group name has no spaces, got "my master"']);
    expect(problemsOf({ ...group, REDIS_SENTINEL_TLS: 'yes' })).toEqual([expect.stringMatching(/^REDIS_SENTINEL_TLS: must be one of on, off/)]);
  });

  it('refuses the sentinel settings without REDIS_SENTINELS, and REDIS_PASSWORD twice or for nothing', () => {
    expect(problemsOf({ REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'x', REDIS_SENTINEL_TLS: 'on' })).toEqual([
      "REDIS_SENTINEL_NAME: set, but REDIS_SENTINELS (the sentinels' host:port list) is not",
      "REDIS_SENTINEL_PASSWORD: set, but REDIS_SENTINELS (the sentinels' host:port list) is not",
      "REDIS_SENTINEL_TLS: set, but REDIS_SENTINELS (the sentinels' host:port list) is not",
    ]);
    expect(problemsOf({ REDIS_URL: 'redis://:one@127.0.0.1:6379', REDIS_PASSWORD: 'two' })).toEqual(['REDIS_PASSWORD: REDIS_URL carries a password too; give it in one place']);
    expect(problemsOf({ REDIS_PASSWORD: 'two' })).toEqual(['REDIS_PASSWORD: set, but neither REDIS_URL nor REDIS_SENTINELS is']);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_PASSWORD: 'two' }, '/srv/okno').redisPassword).toBe('two');
  });

  it('is a Redis for WORKERS > 1 and for production', () => {
    expect(loadConfig({ ...group, WORKERS: '2' }, '/srv/okno').workers).toBe(2);
    expect(problemsOf({ WORKERS: '2' })).toEqual([expect.stringMatching(/^WORKERS: 2 worker processes need REDIS_URL or REDIS_SENTINELS/)]);
    const production = problemsOf({ ...group, NODE_ENV: 'production' });
    expect(production.filter((p) => p.startsWith('REDIS_URL'))).toEqual([]);
  });
});

describe('the Redis client options', () => {
  it('reconnect on READONLY (a demoted primary) and reject that command, nothing else', () => {
    const { reconnectOnError } = redisClientOptions();
    expect(reconnectOnError?.(new Error("READONLY You can't write against a read only replica."))).toBe(1);
    expect(reconnectOnError?.(new Error("ERR Error running script: READONLY You can't write against a read only replica."))).toBe(1);
    expect(reconnectOnError?.(new Error('ERR unknown command'))).toBe(false);
  });
});
