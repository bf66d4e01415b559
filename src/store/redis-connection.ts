/**
 * Where the store's Redis is and how a client reaches it: one server by URL
 * (REDIS_URL), or the current primary of a Sentinel group (REDIS_SENTINELS +
 * REDIS_SENTINEL_NAME), using ioredis's own Sentinel support. Every client the
 * store opens comes from `createRedisClient`, so all of them follow a failover.
 *
 * Sentinel behaviour:
 * - each (re)connect asks the sentinels for the group's primary
 *   (`SENTINEL get-master-addr-by-name`) and checks its role is `master`
 *   (ioredis's ready check), so after a failover the client reconnects to the
 *   promoted replica by itself;
 * - a switchover (the old primary stays up): the old primary keeps taking
 *   writes until the sentinels convert it to a replica, seconds later, so
 *   `watchSwitchMaster` subscribes to `+switch-master` on every sentinel and
 *   drops the connection at once when the group's primary changes. (ioredis's
 *   own `failoverDetector` does the same, but its sentinel clients have no
 *   error listener: a sentinel that is down prints "[ioredis] Unhandled error
 *   event" on stderr at every retry, and quit() leaves them reconnecting.)
 * - a READONLY reply (a demoted primary that still answers) makes the client
 *   reconnect through the sentinels; the command itself is rejected, not
 *   re-sent (the store never re-sends: see redis-store.ts), and the caller's
 *   retry path repeats it;
 * - at start-up, sentinels that do not answer fail the connection after a few
 *   tries (so start-up stops naming REDIS_SENTINELS); once connected, the client
 *   keeps asking them forever.
 */
import type { ConnectionOptions } from 'node:tls';
import { Redis, type RedisOptions } from 'ioredis';

export interface SentinelAddress {
  host: string;
  port: number;
}

/** A Sentinel-managed primary (README "Redis Sentinel"). */
export interface RedisSentinelTarget {
  sentinels: SentinelAddress[];
  /** The master group name the sentinels monitor (`sentinel monitor <name> …`). */
  name: string;
  /** Password of the sentinels (`requirepass` in their config); null: none. */
  sentinelPassword?: string | null;
  /** Password of the data nodes (primary and replicas); null: none. */
  password?: string | null;
  /** TLS to the sentinels and to the data nodes. */
  tls?: boolean;
}

/** One Redis server by URL; `password` is used when the URL carries none. */
export interface RedisUrlTarget {
  url: string;
  password?: string | null;
}

export type RedisTarget = RedisUrlTarget | { sentinel: RedisSentinelTarget };

/** `host:port`, IPv6 in brackets. */
export function formatAddress(a: SentinelAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * ioredis options the store uses for the clients it creates; use them too
 * when passing your own client. `enableOfflineQueue` is switched off after the
 * first successful connect (commands issued before it wait for it).
 */
export function redisClientOptions(commandTimeoutMs = 5000): RedisOptions {
  return {
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    enableOfflineQueue: true,
    commandTimeout: commandTimeoutMs,
    connectTimeout: 5000,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    // A demoted primary answers writes with READONLY: reconnect (through the
    // sentinels, to the new primary). 1, not 2: the failed command is rejected
    // rather than re-sent (with the offline queue off it could not be anyway).
    reconnectOnError: (error: Error) => (/\bREADONLY\b/.test(error.message) ? 1 : false),
  };
}

/** Tries of all sentinels in one connect before start-up gives up (after the first connect: forever). */
const STARTUP_SENTINEL_ROUNDS = 3;

/** The ioredis options for a Sentinel group, on top of `redisClientOptions`. */
export function sentinelClientOptions(target: RedisSentinelTarget, commandTimeoutMs = 5000, connectedOnce: () => boolean = () => true): RedisOptions {
  const tls: ConnectionOptions | undefined = target.tls ? {} : undefined;
  return {
    ...redisClientOptions(commandTimeoutMs),
    sentinels: target.sentinels.map((s) => ({ host: s.host, port: s.port })),
    name: target.name,
    role: 'master',
    sentinelPassword: target.sentinelPassword ?? undefined,
    password: target.password ?? undefined,
    sentinelCommandTimeout: Math.min(commandTimeoutMs, 2000),
    // Before the first connect: give up after a few rounds (a connector error ends an ioredis client,
    // which is right at start-up and wrong later). After it: keep asking, the main retryStrategy's pace.
    sentinelRetryStrategy: (times: number) => {
      if (connectedOnce()) return Math.min(50 * times, 1000);
      return times < STARTUP_SENTINEL_ROUNDS ? 100 * times : null;
    },
    sentinelReconnectStrategy: (times: number) => Math.min(100 * times, 1000),
    failoverDetector: false,
    enableReadyCheck: true,
    ...(tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
  };
}

/** A new ioredis client for the target (the caller owns and closes it). */
export function createRedisClient(target: RedisTarget, commandTimeoutMs = 5000): Redis {
  if ('sentinel' in target) {
    let connectedOnce = false;
    const client = new Redis(sentinelClientOptions(target.sentinel, commandTimeoutMs, () => connectedOnce));
    client.once('ready', () => (connectedOnce = true));
    return client;
  }
  const options = redisClientOptions(commandTimeoutMs);
  if (target.password && !urlHasPassword(target.url)) options.password = target.password;
  return new Redis(target.url, options);
}

/**
 * Subscribes to `+switch-master` on every sentinel; calls `onSwitch` with the
 * new primary (`host:port`) when the group's primary changes. Each subscriber
 * reconnects by itself (a sentinel that is down is retried quietly; errors go
 * to `onError`). Returns the function that closes them.
 */
export function watchSwitchMaster(target: RedisSentinelTarget, onSwitch: (primary: string) => void, onError: (error: Error) => void = () => {}): () => void {
  const tls: ConnectionOptions | undefined = target.tls ? {} : undefined;
  const subscribers = target.sentinels.map((s) => {
    const client = new Redis({
      host: s.host,
      port: s.port,
      password: target.sentinelPassword ?? undefined,
      tls,
      connectTimeout: 5000,
      maxRetriesPerRequest: null,
      retryStrategy: (times: number) => Math.min(100 * times, 2000),
    });
    client.on('error', onError);
    client.on('message', (channel: string, message: string) => {
      // "<name> <old-ip> <old-port> <new-ip> <new-port>"
      const [name, , , host, port] = message.split(' ');
      if (channel === '+switch-master' && name === target.name && host && port) onSwitch(formatAddress({ host, port: Number(port) }));
    });
    client.subscribe('+switch-master').catch(() => {
      // Not reachable now: ioredis subscribes again when it connects (autoResubscribe).
    });
    return client;
  });
  return () => subscribers.forEach((c) => c.disconnect());
}

/** For messages: the URL without its password, or the Sentinel group and its sentinels. */
export function describeTarget(target: RedisTarget): string {
  if ('sentinel' in target) {
    return `Redis Sentinel group "${target.sentinel.name}" (via sentinels ${target.sentinel.sentinels.map(formatAddress).join(', ')})`;
  }
  return `Redis at ${redactUrl(target.url)}`;
}

/** The server the client is connected to now (`host:port`), or null while not connected. */
export function connectedServer(client: Redis): string | null {
  if (client.status !== 'ready') return null;
  const stream = client.stream as { remoteAddress?: string; remotePort?: number } | undefined;
  if (!stream?.remoteAddress || !stream.remotePort) return null;
  return formatAddress({ host: stream.remoteAddress, port: stream.remotePort });
}

function urlHasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}

/** Hides the password of a redis URL in messages. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<invalid URL>';
  }
}
