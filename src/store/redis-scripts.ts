/**
 * Lua scripts of the Redis store. Every state change is exactly one script,
 * so Redis runs it atomically: no other client sees a half-applied step, and
 * a crash of the gateway between two commands cannot leave one behind.
 *
 * The style follows BullMQ: helper functions live in string constants that are
 * concatenated in front of each script body; `RedisStore` registers every
 * script once with `defineCommand` (EVALSHA, with ioredis falling back to EVAL
 * after a SCRIPT FLUSH or a Redis restart).
 *
 * Keys are computed inside the scripts from a prefix, so the scripts declare
 * no KEYS: Redis Cluster is NOT supported (use a single instance, optionally
 * with replicas / Sentinel). Don't add `#!lua flags=` shebangs: they would make
 * Redis reject the undeclared key access.
 *
 * Calling convention: ARGV[1] = key prefix, ARGV[2] = the caller's clock
 * (ms, as a decimal string); the rest is per script. Times are kept as the
 * strings the caller sent and never formatted by Lua (Lua's tostring would
 * round to 14 significant digits); Lua only compares them with tonumber.
 * Before any write a script checks everything it needs, so a script either
 * writes all of its changes or none.
 *
 * Key layout (P = prefix, default `okno:`):
 *   P idem:<key>                 string  idempotency record (JSON, or compressed: redis-value.ts)
 *   P doc:<collection>:<id>      string  document (JSON, or compressed: redis-value.ts)
 *   P blob:<collection>:<id>     string  blob (header byte + raw or compressed bytes: redis-value.ts)
 *   P feed:<feed>                zset    score seq, member "<seq>:<id>"
 *   P feed:<feed>:seq            string  last assigned feed sequence
 *   P lease                      string  lease token counter (global)
 *   P q:<queue>:seq              string  enqueue sequence (FIFO tie-break)
 *   P q:<queue>:job:<id>         hash    the job (see JOB FIELDS)
 *   P q:<queue>:pending          zset    score availableAt (ungrouped jobs and group heads)
 *   P q:<queue>:inflight         zset    score leaseUntil
 *   P q:<queue>:dead             zset    score time of death
 *   P q:<queue>:done             zset    score time done; trimmed to keepDone
 *   P q:<queue>:open             zset    score createdAt; every waiting/pending/inflight job
 *   P q:<queue>:g:<group>        list    job ids of the group in enqueue order (head first)
 *   P rl:<key>                   string  a rate limit's GCRA time (redis-rate-limiter.ts, its own script)
 * Queue zset members are "<15-digit enqueue seq>:<id>" so score ties are
 * broken in enqueue order. Collection, feed and queue names never contain
 * ':' (validated), so ids and groups can hold anything.
 *
 * JOB FIELDS: id, queue, m (index member), payload (JSON), state, group?,
 * attempts, maxAttempts, availableAt, leaseUntil?, leaseToken?, lastError?,
 * createdAt, updatedAt. A missing optional field means null.
 */

const COMMON = `
local P = ARGV[1]
local NOW = ARGV[2]

local function qkey(q, part) return P .. 'q:' .. q .. ':' .. part end
local function jobKey(q, id) return P .. 'q:' .. q .. ':job:' .. id end
local function groupKey(q, g) return P .. 'q:' .. q .. ':g:' .. g end

local function memberFor(seq, id)
  local s = tostring(seq)
  return string.rep('0', 15 - #s) .. s .. ':' .. id
end
local function idOf(m) return string.sub(m, 17) end
`;

/** Creating a job: shared by the enqueue and commit scripts. Group '' = none. */
const ENQUEUE_JOB = `
local function enqueueJob(q, id, payload, availableAt, group, maxAttempts)
  local jk = jobKey(q, id)
  if redis.call('EXISTS', jk) == 1 then return jk end
  local m = memberFor(redis.call('INCR', qkey(q, 'seq')), id)
  local state = 'pending'
  if group ~= '' then
    if redis.call('RPUSH', groupKey(q, group), id) > 1 then state = 'waiting' end
    redis.call('HSET', jk, 'group', group)
  end
  redis.call('HSET', jk, 'id', id, 'queue', q, 'm', m, 'payload', payload, 'state', state,
    'attempts', '0', 'maxAttempts', maxAttempts, 'availableAt', availableAt,
    'createdAt', NOW, 'updatedAt', NOW)
  if state == 'pending' then redis.call('ZADD', qkey(q, 'pending'), availableAt, m) end
  redis.call('ZADD', qkey(q, 'open'), NOW, m)
  return jk
end
`;

/** State transitions of existing jobs. */
const TRANSITIONS = `
-- The job key when the job is in flight under this token, else nil.
local function leasedJob(q, id, token)
  local jk = jobKey(q, id)
  local f = redis.call('HMGET', jk, 'state', 'leaseToken')
  if f[1] ~= 'inflight' or f[2] ~= token then return nil end
  return jk
end

local function endLease(q, jk, m)
  redis.call('ZREM', qkey(q, 'inflight'), m)
  redis.call('HDEL', jk, 'leaseUntil', 'leaseToken')
end

-- A dead job keeps its place at the head of its group, blocking it.
local function toDead(q, jk, m)
  redis.call('HSET', jk, 'state', 'dead', 'updatedAt', NOW)
  redis.call('ZADD', qkey(q, 'dead'), NOW, m)
  redis.call('ZREM', qkey(q, 'open'), m)
end

-- Removes the job from its group and makes the next job of the group pending.
local function releaseGroup(q, jk, id)
  local g = redis.call('HGET', jk, 'group')
  if not g then return end
  local gk = groupKey(q, g)
  redis.call('LREM', gk, 1, id)
  local head = redis.call('LINDEX', gk, 0)
  if not head then return end
  local hk = jobKey(q, head)
  local h = redis.call('HMGET', hk, 'state', 'availableAt', 'm')
  if h[1] == 'waiting' then
    redis.call('HSET', hk, 'state', 'pending', 'updatedAt', NOW)
    redis.call('ZADD', qkey(q, 'pending'), h[2], h[3])
  end
end
`;

function script(...parts: string[]): string {
  return parts.join('\n');
}

/**
 * ARGV[3] = 1 when an idempotency record is given, [4] key, [5] record JSON,
 * then a count and 4 values per doc (collection, id, ifAbsent 1/0, stored
 * value), a count and 4 per blob (the same), a count and 3 per delete
 * (collection, id, 'd' for a doc or 'b' for a blob; applied after the writes), a
 * count and 3 per feed append (feed, id, 1 when its seq is at least NOW), a count and 6 per job (queue, id,
 * payload JSON, availableAt, group or '', maxAttempts).
 * Returns {0, existing record JSON} or {1, seq...}.
 */
const COMMIT = script(
  COMMON,
  ENQUEUE_JOB,
  `
if ARGV[3] == '1' then
  local ik = P .. 'idem:' .. ARGV[4]
  local existing = redis.call('GET', ik)
  if existing then return {0, existing} end
  redis.call('SET', ik, ARGV[5])
end
local i = 6
-- Documents, then blobs: a count, then (collection, id, ifAbsent, value) each.
for _, family in ipairs({'doc:', 'blob:'}) do
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local k = P .. family .. ARGV[i] .. ':' .. ARGV[i + 1]
    if ARGV[i + 2] == '1' then
      redis.call('SET', k, ARGV[i + 3], 'NX')
    else
      redis.call('SET', k, ARGV[i + 3])
    end
    i = i + 4
  end
end
local nDeletes = tonumber(ARGV[i]); i = i + 1
for _ = 1, nDeletes do
  local family = 'doc:'
  if ARGV[i + 2] == 'b' then family = 'blob:' end
  redis.call('DEL', P .. family .. ARGV[i] .. ':' .. ARGV[i + 1])
  i = i + 3
end
local result = {1}
local nFeeds = tonumber(ARGV[i]); i = i + 1
for _ = 1, nFeeds do
  local fk = P .. 'feed:' .. ARGV[i]
  local seq = redis.call('INCR', fk .. ':seq')
  -- NOW is ms: 13 digits, which tostring keeps exact (%.14g).
  if ARGV[i + 2] == '1' and seq < math.floor(tonumber(NOW)) then
    seq = math.floor(tonumber(NOW))
    redis.call('SET', fk .. ':seq', tostring(seq))
  end
  redis.call('ZADD', fk, seq, tostring(seq) .. ':' .. ARGV[i + 1])
  result[#result + 1] = seq
  i = i + 3
end
local nJobs = tonumber(ARGV[i]); i = i + 1
for _ = 1, nJobs do
  enqueueJob(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5])
  i = i + 6
end
return result
`,
);

/** ARGV[3..8] = queue, id, payload JSON, availableAt, group or '', maxAttempts. Returns the job. */
const ENQUEUE = script(
  COMMON,
  ENQUEUE_JOB,
  `
local jk = enqueueJob(ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
return redis.call('HGETALL', jk)
`,
);

/**
 * ARGV[3] = queue, [4] leaseUntil, [5] max expired leases to reclaim.
 * Expired leases (leaseUntil <= now) go back to pending from when they ran
 * out, or dead when their attempts are used up; then the due job with the
 * lowest (availableAt, enqueue seq) is leased under a fresh token.
 * Returns the job or nil.
 */
const RESERVE = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local expired = redis.call('ZRANGEBYSCORE', qkey(q, 'inflight'), '-inf', NOW, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[5]))
for j = 1, #expired, 2 do
  local m = expired[j]
  local leaseUntil = expired[j + 1]
  local jk = jobKey(q, idOf(m))
  local f = redis.call('HMGET', jk, 'attempts', 'maxAttempts')
  endLease(q, jk, m)
  redis.call('HSET', jk, 'lastError', 'lease expired', 'updatedAt', NOW)
  if tonumber(f[1]) >= tonumber(f[2]) then
    toDead(q, jk, m)
  else
    redis.call('HSET', jk, 'state', 'pending', 'availableAt', leaseUntil)
    redis.call('ZADD', qkey(q, 'pending'), leaseUntil, m)
  end
end
local due = redis.call('ZRANGEBYSCORE', qkey(q, 'pending'), '-inf', NOW, 'LIMIT', 0, 1)
local m = due[1]
if not m then return nil end
local jk = jobKey(q, idOf(m))
local token = redis.call('INCR', P .. 'lease')
redis.call('ZREM', qkey(q, 'pending'), m)
redis.call('HINCRBY', jk, 'attempts', 1)
redis.call('HSET', jk, 'state', 'inflight', 'leaseUntil', ARGV[4], 'leaseToken', tostring(token), 'updatedAt', NOW)
redis.call('ZADD', qkey(q, 'inflight'), ARGV[4], m)
return redis.call('HGETALL', jk)
`,
);

/** ARGV[3] = queue, [4] id, [5] token, [6] keepDone. Returns 1 or 0 (stale token). */
const ACK = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local jk = leasedJob(q, ARGV[4], ARGV[5])
if not jk then return 0 end
local m = redis.call('HGET', jk, 'm')
endLease(q, jk, m)
redis.call('ZREM', qkey(q, 'open'), m)
redis.call('HSET', jk, 'state', 'done', 'updatedAt', NOW)
-- Release the group before trimming: with keepDone 0 this job goes at once.
releaseGroup(q, jk, ARGV[4])
local dk = qkey(q, 'done')
redis.call('ZADD', dk, NOW, m)
local excess = redis.call('ZCARD', dk) - tonumber(ARGV[6])
if excess > 0 then
  local old = redis.call('ZRANGE', dk, 0, excess - 1)
  for _, om in ipairs(old) do redis.call('DEL', jobKey(q, idOf(om))) end
  redis.call('ZREMRANGEBYRANK', dk, 0, excess - 1)
end
return 1
`,
);

/** ARGV[3] = queue, [4] id, [5] token, [6] availableAt, [7] error. Returns the new state or nil. */
const RETRY = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local jk = leasedJob(q, ARGV[4], ARGV[5])
if not jk then return nil end
local f = redis.call('HMGET', jk, 'm', 'attempts', 'maxAttempts')
endLease(q, jk, f[1])
redis.call('HSET', jk, 'lastError', ARGV[7], 'updatedAt', NOW)
if tonumber(f[2]) >= tonumber(f[3]) then
  toDead(q, jk, f[1])
  return 'dead'
end
redis.call('HSET', jk, 'state', 'pending', 'availableAt', ARGV[6])
redis.call('ZADD', qkey(q, 'pending'), ARGV[6], f[1])
return 'pending'
`,
);

/** ARGV[3] = queue, [4] id, [5] token, [6] error. Returns 1 or 0. */
const FAIL = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local jk = leasedJob(q, ARGV[4], ARGV[5])
if not jk then return 0 end
local m = redis.call('HGET', jk, 'm')
endLease(q, jk, m)
redis.call('HSET', jk, 'lastError', ARGV[6])
toDead(q, jk, m)
return 1
`,
);

/** ARGV[3] = queue, [4] id, [5] token, [6] new leaseUntil. Returns 1 or 0. */
const EXTEND = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local jk = leasedJob(q, ARGV[4], ARGV[5])
if not jk then return 0 end
redis.call('HSET', jk, 'leaseUntil', ARGV[6], 'updatedAt', NOW)
redis.call('ZADD', qkey(q, 'inflight'), ARGV[6], redis.call('HGET', jk, 'm'))
return 1
`,
);

/** ARGV[3] = queue, [4] id. Dead → pending now, attempts reset. Returns 1 or 0. */
const REPLAY = script(
  COMMON,
  `
local q = ARGV[3]
local jk = jobKey(q, ARGV[4])
local f = redis.call('HMGET', jk, 'state', 'm', 'createdAt')
if f[1] ~= 'dead' then return 0 end
redis.call('ZREM', qkey(q, 'dead'), f[2])
redis.call('HSET', jk, 'state', 'pending', 'attempts', '0', 'availableAt', NOW, 'updatedAt', NOW)
redis.call('ZADD', qkey(q, 'pending'), NOW, f[2])
redis.call('ZADD', qkey(q, 'open'), f[3], f[2])
return 1
`,
);

/** ARGV[3] = queue, [4] id. Dead or pending → removed, its group released. Returns 1 or 0. */
const DISCARD = script(
  COMMON,
  TRANSITIONS,
  `
local q = ARGV[3]
local jk = jobKey(q, ARGV[4])
local f = redis.call('HMGET', jk, 'state', 'm')
if f[1] == 'dead' then
  redis.call('ZREM', qkey(q, 'dead'), f[2])
elseif f[1] == 'pending' then
  redis.call('ZREM', qkey(q, 'pending'), f[2])
  redis.call('ZREM', qkey(q, 'open'), f[2])
else
  return 0
end
releaseGroup(q, jk, ARGV[4])
redis.call('DEL', jk)
return 1
`,
);

/**
 * ARGV[3] = queue. A consistent snapshot of the counts.
 * Returns {open, pending, due, inflight, done, dead, oldest open createdAt or false}.
 */
const STATS = script(
  COMMON,
  `
local q = ARGV[3]
local oldest = redis.call('ZRANGE', qkey(q, 'open'), 0, 0, 'WITHSCORES')
return {
  redis.call('ZCARD', qkey(q, 'open')),
  redis.call('ZCARD', qkey(q, 'pending')),
  redis.call('ZCOUNT', qkey(q, 'pending'), '-inf', NOW),
  redis.call('ZCARD', qkey(q, 'inflight')),
  redis.call('ZCARD', qkey(q, 'done')),
  redis.call('ZCARD', qkey(q, 'dead')),
  oldest[2] or false,
}
`,
);

/**
 * ARGV[3] = queue, [4] index (pending, inflight, dead, done), [5] limit.
 * Returns the jobs as HGETALL arrays; done is listed newest first.
 */
const LIST = script(
  COMMON,
  `
local q = ARGV[3]
local limit = tonumber(ARGV[5])
if limit <= 0 then return {} end
local members
if ARGV[4] == 'done' then
  members = redis.call('ZREVRANGE', qkey(q, 'done'), 0, limit - 1)
else
  members = redis.call('ZRANGE', qkey(q, ARGV[4]), 0, limit - 1)
end
local out = {}
for _, m in ipairs(members) do
  out[#out + 1] = redis.call('HGETALL', jobKey(q, idOf(m)))
end
return out
`,
);

/** Script sources by the command name `RedisStore` registers them under. */
export const SCRIPTS = {
  oknoCommit: COMMIT,
  oknoEnqueue: ENQUEUE,
  oknoReserve: RESERVE,
  oknoAck: ACK,
  oknoRetry: RETRY,
  oknoFail: FAIL,
  oknoExtend: EXTEND,
  oknoReplay: REPLAY,
  oknoDiscard: DISCARD,
  oknoStats: STATS,
  oknoList: LIST,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

/** How many expired leases one reserve call reclaims at most (keeps each script short). */
export const RECLAIM_BATCH = 1000;
