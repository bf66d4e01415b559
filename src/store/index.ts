/**
 * Store entry point: picks Redis when a URL or a Sentinel group is configured
 * (durable, shared by several gateway processes) and the in-memory store otherwise.
 */
import { MemoryStore } from './memory-store.js';
import { describeTarget, type RedisSentinelTarget, type RedisTarget } from './redis-connection.js';
import { RedisStore } from './redis-store.js';
import type { Store, StoreOptions } from './types.js';

export interface CreateStoreConfig extends Partial<StoreOptions> {
  /** redis:// or rediss:// URL; without it (and without `sentinel`) the store is in memory. */
  redisUrl?: string;
  /** A Sentinel group's primary instead of `redisUrl` (not both). */
  sentinel?: RedisSentinelTarget;
  /** Password of the Redis server(s) when `redisUrl` carries none (with `sentinel`, its own `password` wins). */
  redisPassword?: string;
  /** Prefix of every Redis key (default `okno:`). */
  keyPrefix?: string;
  /** Connection errors of the Redis client, for logging (calls reject either way). */
  onRedisError?: (error: Error) => void;
  /** Replicas every Redis write waits for (REDIS_WAIT_REPLICAS; default 0: none). */
  waitReplicas?: number;
  /** How long a write waits for them (REDIS_WAIT_TIMEOUT_MS). */
  waitTimeoutMs?: number;
  /** The sentinels announced a new primary (`host:port`). */
  onPrimaryChange?: (primary: string) => void;
}

/** The Redis the configuration names, or null for the in-memory store. */
export function redisTargetOf(config: Pick<CreateStoreConfig, 'redisUrl' | 'sentinel' | 'redisPassword'>): RedisTarget | null {
  if (config.redisUrl && config.sentinel) throw new Error('give a Redis URL or a Sentinel group, not both');
  if (config.sentinel) return { sentinel: { ...config.sentinel, password: config.sentinel.password ?? config.redisPassword ?? null } };
  if (config.redisUrl) return { url: config.redisUrl, password: config.redisPassword ?? null };
  return null;
}

/**
 * Creates the store. With Redis it resolves only after the connection works
 * (connect + PING; with Sentinel: a sentinel named the primary and it answers
 * as one), so a bad URL or a Redis that is down stops start-up instead of
 * failing the first request.
 */
export async function createStore(config: CreateStoreConfig = {}): Promise<Store> {
  const { redisUrl, sentinel, redisPassword, keyPrefix, onRedisError, waitReplicas, waitTimeoutMs, onPrimaryChange, ...options } = config;
  const target = redisTargetOf({ redisUrl, sentinel, redisPassword });
  if (!target) {
    if (waitReplicas) throw new Error('waiting for replicas (REDIS_WAIT_REPLICAS) needs a Redis store (REDIS_URL or REDIS_SENTINELS)');
    return new MemoryStore(options);
  }
  // The sentinels' own complaints (unknown group name, wrong password) say more than "unreachable".
  let sentinelProblem: string | null = null;
  const store = new RedisStore(target, { ...options, keyPrefix, onError: onRedisError, waitReplicas, waitTimeoutMs, onPrimaryChange });
  const detach = store.onSentinelError((error) => (sentinelProblem = error.message));
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    const why = (error as Error).message + (sentinelProblem && !(error as Error).message.includes(sentinelProblem) ? ` (${sentinelProblem})` : '');
    throw new Error(`cannot connect to ${describeTarget(target)}: ${why}`, { cause: error });
  } finally {
    detach();
  }
  return store;
}

export { MemoryStore } from './memory-store.js';
export { RedisStore, DEFAULT_KEY_PREFIX, redisClientOptions, type RedisStoreOptions } from './redis-store.js';
export { createRedisClient, describeTarget, formatAddress, type RedisSentinelTarget, type RedisTarget, type SentinelAddress } from './redis-connection.js';
export { MemoryRateLimiter, TokenBucket, type RateLimiter, type Take, type TokenRate } from './rate-limiter.js';
export { RedisRateLimiter, RATE_LIMIT_SCRIPT } from './redis-rate-limiter.js';
export { DEFAULT_OPTIONS } from './validate.js';
export * from './types.js';
