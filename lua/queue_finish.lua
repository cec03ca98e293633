--[[ queue_finish: end attempts of active jobs — complete, retry or fail — in one call.

  {q:n}:active --complete--> {q:n}:completed (score = now), keep policy rc
               --retry-----> {q:n}:delayed (score = now + backoff) | {q:n}:wait
               --fail------> {q:n}:failed + {q:n}:dlq, keep policy rf
  completion releases dependents: {q:n}:deps:<id> members whose last
  dependency this was move from {q:n}:waitdeps to {q:n}:wait; a final failure
  fails them (and theirs) with the reason.

An attempt is finished only by the holder of its lease: the token must match
the job's `tok`, else the entry is refused as 'stale' and nothing changes.
That is what makes a job finish at most once even when a slow worker and the
worker that took the job back both try.

Backoff after attempt k (1-based): fixed = bd; exponential = bd * 2^(k-1);
both capped at the max backoff (QUEUE_MAX_BACKOFF_MS, default one hour), so a
large attempt number can never push a retry out of reach (2^k overflows to inf).
Outcome 'u' (unrecoverable) fails for good whatever attempts remain.

Full key layout: see queue_add.lua.

KEYS: 1 active, 2 wait, 3 delayed, 4 completed, 5 failed, 6 dlq, 7 marker,
      8 waitdeps, 9 rate
ARGV: 1 prefix, 2 count, then per job 4 fields: id, token, outcome
      ('c' complete | 'f' fail | 'u' fail for good), payload (return value
      JSON for 'c', error message otherwise), then the max backoff in ms
Returns { results, events }, results: per job 'completed' | 'delayed' |
'waiting' | 'failed' | 'stale'.
]]
--#include queue
local prefix = queue_prefix()
local n = tonumber(ARGV[2])
local max_backoff = tonumber(ARGV[3 + 4 * n] or '') or 3600000
local now = queue_now_ms()
local results = {}
local completed_n, failed_n, wake = 0, 0, false

local function remove_job(id)
  redis.call('DEL', prefix .. 'job:' .. id, prefix .. 'deps:' .. id)
end

-- Keeps at most `count` newest and nothing older than `age` seconds in `set`,
-- removing at most KEEP_PAGE jobs per rule and call.
local KEEP_PAGE = 1000
local function apply_keep(set, policy)
  local age, count = string.match(policy or '', '^(-?%d+),(-?%d+)$')
  age, count = tonumber(age or -1), tonumber(count or -1)
  if count >= 0 then
    -- Bounded per call: a policy tightened on a huge set converges over the
    -- next completions instead of blocking Redis in one call.
    local excess = math.min(redis.call('ZCARD', set) - count, KEEP_PAGE)
    if excess > 0 then
      local old = redis.call('ZRANGE', set, 0, excess - 1)
      for _, id in ipairs(old) do remove_job(id) end
      redis.call('ZREMRANGEBYRANK', set, 0, excess - 1)
    end
  end
  if age >= 0 then
    local old = redis.call('ZRANGEBYSCORE', set, '-inf', now - age * 1000, 'LIMIT', 0, KEEP_PAGE)
    for _, id in ipairs(old) do
      remove_job(id)
      redis.call('ZREM', set, id)
    end
  end
end

local function dead_letter(id, name, err, attempts)
  redis.call('LPUSH', KEYS[6], cjson.encode({ id = id, name = name, error = err,
    attempts = attempts, failedAt = now }))
  redis.call('LTRIM', KEYS[6], 0, 9999)
end

-- Fails the jobs waiting on `root` (transitively): they can never run.
local function fail_dependents(root, reason)
  local stack = { root }
  while #stack > 0 do
    local dep = table.remove(stack)
    local dk = prefix .. 'deps:' .. dep
    for _, id in ipairs(redis.call('SMEMBERS', dk)) do
      local jk = prefix .. 'job:' .. id
      local f = redis.call('HMGET', jk, 'state', 'name')
      if f[1] == 'waiting-children' then
        local err = 'dependency ' .. dep .. ' failed: ' .. reason
        redis.call('ZREM', KEYS[8], id)
        redis.call('HSET', jk, 'state', 'failed', 'fon', now, 'err', err)
        redis.call('ZADD', KEYS[5], now, id)
        dead_letter(id, f[2], err, 0)
        ev(id, f[2], 'failed', 0, 0, err)
        stack[#stack + 1] = id
      end
    end
    redis.call('DEL', dk)
  end
end

local function release_dependents(root)
  local dk = prefix .. 'deps:' .. root
  for _, id in ipairs(redis.call('SMEMBERS', dk)) do
    local jk = prefix .. 'job:' .. id
    if redis.call('HINCRBY', jk, 'deps', -1) <= 0 then
      local f = redis.call('HMGET', jk, 'state', 'prio', 'seq', 'name')
      if f[1] == 'waiting-children' then
        redis.call('ZREM', KEYS[8], id)
        redis.call('HSET', jk, 'state', 'waiting')
        redis.call('ZADD', KEYS[2], queue_wait_score(f[2], f[3]), id)
        ev(id, f[4], 'waiting', 0, 0, '')
        wake = true
      end
    end
  end
  redis.call('DEL', dk)
end

for i = 0, n - 1 do
  local b = 3 + i * 4
  local id, token, outcome, payload = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'tok', 'name', 'atm', 'att', 'bt', 'bd', 'rc', 'rf', 'prio',
    'seq', 'pon', 'hd')
  -- The ZREM is also the check that the job is active.
  if f[1] ~= token or redis.call('ZREM', KEYS[1], id) == 0 then
    results[#results + 1] = 'stale'
  else
    local name = f[2]
    local attempt = tonumber(f[3]) + 1
    local duration = now - tonumber(f[11])
    local has_dependents = f[12] == '1'
    if outcome == 'c' then
      redis.call('HSET', jk, 'state', 'completed', 'atm', attempt, 'fon', now, 'rv', payload,
        'tok', '')
      redis.call('ZADD', KEYS[4], now, id)
      ev(id, name, 'completed', attempt, duration, '')
      completed_n = completed_n + 1
      if has_dependents then release_dependents(id) end
      apply_keep(KEYS[4], f[7])
      results[#results + 1] = 'completed'
    else
      failed_n = failed_n + 1
      if outcome == 'f' and attempt < tonumber(f[4]) then
        local delay = tonumber(f[6])
        if f[5] == 'exponential' then delay = delay * 2 ^ (attempt - 1) end
        delay = math.floor(math.min(delay, max_backoff))
        if delay > 0 then
          redis.call('HSET', jk, 'state', 'delayed', 'due', now + delay, 'atm', attempt,
            'err', payload, 'tok', '')
          redis.call('ZADD', KEYS[3], now + delay, id)
          ev(id, name, 'delayed', attempt, now + delay, payload)
          results[#results + 1] = 'delayed'
        else
          redis.call('HSET', jk, 'state', 'waiting', 'atm', attempt, 'err', payload, 'tok', '')
          redis.call('ZADD', KEYS[2], queue_wait_score(f[9], f[10]), id)
          ev(id, name, 'waiting', attempt, 0, payload)
          results[#results + 1] = 'waiting'
        end
        wake = true
      else
        redis.call('HSET', jk, 'state', 'failed', 'atm', attempt, 'fon', now, 'err', payload,
          'tok', '')
        redis.call('ZADD', KEYS[5], now, id)
        dead_letter(id, name, payload, attempt)
        ev(id, name, 'failed', attempt, duration, payload)
        if has_dependents then fail_dependents(id, payload) end
        apply_keep(KEYS[5], f[8])
        results[#results + 1] = 'failed'
      end
    end
  end
end

-- Per-second counters in 60 slots for "processed/failed in the last minute".
if completed_n + failed_n > 0 then
  local sec = math.floor(now / 1000)
  local slot = sec % 60
  if tonumber(redis.call('HGET', KEYS[9], 't' .. slot) or '-1') ~= sec then
    redis.call('HSET', KEYS[9], 't' .. slot, sec, 'c' .. slot, 0, 'f' .. slot, 0)
  end
  if completed_n > 0 then redis.call('HINCRBY', KEYS[9], 'c' .. slot, completed_n) end
  if failed_n > 0 then redis.call('HINCRBY', KEYS[9], 'f' .. slot, failed_n) end
  redis.call('HINCRBY', KEYS[9], 'completed', completed_n)
  redis.call('HINCRBY', KEYS[9], 'failed', failed_n)
end
if wake then redis.call('ZADD', KEYS[7], 0, '1') end
return { results, events }
