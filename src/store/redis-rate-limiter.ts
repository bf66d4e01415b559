/**
 * The rate limiter every gateway instance on one Redis shares: one Lua script
 * per take, atomic, so two instances racing for the last token cannot both get it.
 *
 * GCRA (the generic cell rate algorithm) rather than a stored token bucket:
 * it behaves exactly like a token bucket of `burst` tokens refilled
 * `perSecond` a second, but keeps one number per key (the "theoretical
 * arrival time" TAT, when the bucket will be full again) instead of two
 * (tokens and when they were counted), so the script is one GET and one SET,
 * and the key's expiry is exactly that number: a key expires when its bucket
 * would be full again, so a spray of client addresses leaves nothing behind
 * for longer than one bucket's refill.
 *
 * Time is Redis's own (`TIME`, microseconds): the instances' clocks do not
 * take part.
 *
 * Not replicated, not in the AOF (`redis.set_repl(redis.REPL_NONE)`): with
 * `appendfsync always` (the HA setting) every propagated write waits for an
 * fsync, which made a take cost 0.4–1.3 ms here instead of ~0.1 ms; and a
 * bucket is worth nothing after a restart or a failover. Then the buckets on
 * the new primary start full: for at most one burst per key the limit is as
 * if fresh. (Redis still propagates a DEL when such a key expires: harmless,
 * the replicas and the AOF never had the key; a take that finds its key
 * expired, an idle client's first, pays for that one write.)
 *
 * Key (P = the store's prefix): P rl:<key> string, the TAT in microseconds,
 * PX = TAT - now. Like the store's other scripts (redis-scripts.ts) the key
 * is computed from the prefix inside the script: no Redis Cluster.
 */
import type { Redis } from 'ioredis';
import type { RateLimiter, Take, TokenRate } from './rate-limiter.js';

/** ARGV: 1 prefix, 2 key, 3 emission interval (µs per token = 1e6 / perSecond), 4 burst. Returns {1, 0} or {0, retry after ms}. */
export const RATE_LIMIT_SCRIPT = `
if redis.replicate_commands then pcall(redis.replicate_commands) end
redis.set_repl(redis.REPL_NONE)
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local key = ARGV[1] .. 'rl:' .. ARGV[2]
local interval = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local tat = tonumber(redis.call('GET', key) or '')
if tat == nil or tat < now then tat = now end
local nextTat = tat + interval
local allowedAt = nextTat - burst * interval
if allowedAt > now then
  return {0, math.ceil((allowedAt - now) / 1000)}
end
redis.call('SET', key, string.format('%.0f', nextTat), 'PX', math.ceil((nextTat - now) / 1000))
return {1, 0}
`;

const COMMAND = 'oknoRateLimit';

type TakeCommand = (prefix: string, key: string, interval: string, burst: string) => Promise<[number, number]>;

export class RedisRateLimiter implements RateLimiter {
  readonly shared = true;

  constructor(
    private readonly client: Redis,
    private readonly keyPrefix: string,
  ) {
    if (!(COMMAND in client)) client.defineCommand(COMMAND, { numberOfKeys: 0, lua: RATE_LIMIT_SCRIPT });
  }

  async take(key: string, limit: TokenRate): Promise<Take> {
    const command = (this.client as unknown as Record<string, TakeCommand>)[COMMAND]!;
    const [ok, retryAfterMs] = await command.call(this.client, this.keyPrefix, key, String(1_000_000 / limit.perSecond), String(limit.burst));
    return ok === 1 ? { ok: true } : { ok: false, retryAfterMs: Math.max(1, Number(retryAfterMs)) };
  }
}
