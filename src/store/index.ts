/**
 * Store entry point: picks Redis when a URL is configured (durable, shared by
 * several gateway processes) and the in-memory store otherwise.
 */
import { MemoryStore } from './memory-store.js';
import { RedisStore } from './redis-store.js';
import type { Store, StoreOptions } from './types.js';

export interface CreateStoreConfig extends Partial<StoreOptions> {
  /** redis:// or rediss:// URL; without it the store is in memory. */
  redisUrl?: string;
  /** Prefix of every Redis key (default `okno:`). */
  keyPrefix?: string;
  /** Connection errors of the Redis client, for logging (calls reject either way). */
  onRedisError?: (error: Error) => void;
  /** Replicas every Redis write waits for (REDIS_WAIT_REPLICAS; default 0: none). */
  waitReplicas?: number;
  /** How long a write waits for them (REDIS_WAIT_TIMEOUT_MS). */
  waitTimeoutMs?: number;
}

/**
 * Creates the store. With a Redis URL it resolves only after the connection
 * works (connect + PING), so a bad URL or a Redis that is down stops start-up
 * instead of failing the first request.
 */
export async function createStore(config: CreateStoreConfig = {}): Promise<Store> {
  const { redisUrl, keyPrefix, onRedisError, waitReplicas, waitTimeoutMs, ...options } = config;
  if (!redisUrl) {
    if (waitReplicas) throw new Error('waiting for replicas (REDIS_WAIT_REPLICAS) needs a Redis store (REDIS_URL)');
    return new MemoryStore(options);
  }
  const store = new RedisStore(redisUrl, { ...options, keyPrefix, onError: onRedisError, waitReplicas, waitTimeoutMs });
  try {
    await store.ping();
  } catch (error) {
    await store.close();
    throw new Error(`cannot connect to Redis at ${redactUrl(redisUrl)}: ${(error as Error).message}`, { cause: error });
  }
  return store;
}

/** Hides the password of a redis URL in messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}

export { MemoryStore } from './memory-store.js';
export { RedisStore, DEFAULT_KEY_PREFIX, redisClientOptions, type RedisStoreOptions } from './redis-store.js';
export { DEFAULT_OPTIONS } from './validate.js';
export * from './types.js';
