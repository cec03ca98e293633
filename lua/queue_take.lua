--[[ queue_take: move up to N jobs from waiting to active, each under a lease.

  {q:n}:delayed  --(due)-->  {q:n}:wait  --ZPOPMIN-->  {q:n}:active
                                                       score = now + lease
  {q:n}:job:<id>  atm, lc+1, tok = <token prefix>:<lc>, pon = now, state=active

The lease token is new for every take (lc never goes back), so a worker that
lost a job (stalled, then taken back) can never complete it: completion
checks the token. Due delayed jobs are promoted first, so a worker needs no
separate timer to run them on time. When jobs remain waiting after this
take, the marker is set again so that another blocked worker wakes up (one
BZPOPMIN wakes one worker; this cascade wakes as many as there is work for).

Full key layout: see queue_add.lua.

KEYS: 1 wait, 2 active, 3 delayed, 4 marker, 5 meta, 6 limiter
ARGV: 1 prefix, 2 max jobs, 3 lease ms, 4 token prefix,
      5 rate limit max (0 = none), 6 rate limit window ms
Returns { jobs, events, status, waitMs }
  jobs: flat 7-tuples id, token, name, data, attempt, timeoutMs, addedAt
  status: 'ok' | 'paused' | 'limited' | 'empty'
  waitMs: when nothing was taken, how long until there can be work
          (next delayed job, end of the rate-limit window; -1 = unknown)
]]
--#include queue
local prefix = queue_prefix()
local now = queue_now_ms()

-- Promote due delayed jobs (bounded per call; the rest follow next call).
local due = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'prio', 'seq', 'name', 'atm')
  redis.call('ZREM', KEYS[3], id)
  if f[2] then
    redis.call('ZADD', KEYS[1], queue_wait_score(f[1], f[2]), id)
    redis.call('HSET', jk, 'state', 'waiting')
    redis.call('HDEL', jk, 'due')
    ev(id, f[3], 'waiting', tonumber(f[4]), 0, '')
  end
end

local function next_delayed()
  local d = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if d[2] then return math.max(tonumber(d[2]) - now, 1) end
  return -1
end

if redis.call('HGET', KEYS[5], 'paused') == '1' then
  return { {}, events, 'paused', -1 }
end

local max = tonumber(ARGV[2])
local lmax, lwin = tonumber(ARGV[5]), tonumber(ARGV[6])
if lmax > 0 then
  local used = tonumber(redis.call('GET', KEYS[6]) or '0')
  if used >= lmax then
    local ttl = redis.call('PTTL', KEYS[6])
    if ttl < 0 then
      -- A counter without expiry cannot happen unless the window key was
      -- touched by hand; reset it rather than block the queue forever.
      redis.call('DEL', KEYS[6])
    else
      return { {}, events, 'limited', math.max(ttl, 1) }
    end
  end
  max = math.min(max, lmax - (tonumber(redis.call('GET', KEYS[6]) or '0')))
end

local popped = redis.call('ZPOPMIN', KEYS[1], max)
if #popped == 0 then return { {}, events, 'empty', next_delayed() } end

local lease_until = now + tonumber(ARGV[3])
local jobs = {}
local taken = 0
for i = 1, #popped, 2 do
  local id = popped[i]
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'name', 'data', 'atm', 'to', 'ts', 'lc')
  if f[1] then
    local lc = tonumber(f[6] or '0') + 1
    local tok = ARGV[4] .. ':' .. lc
    redis.call('HSET', jk, 'state', 'active', 'tok', tok, 'pon', now, 'lc', lc)
    redis.call('ZADD', KEYS[2], lease_until, id)
    local attempt = tonumber(f[3]) + 1
    jobs[#jobs + 1] = id; jobs[#jobs + 1] = tok; jobs[#jobs + 1] = f[1]
    jobs[#jobs + 1] = f[2]; jobs[#jobs + 1] = attempt; jobs[#jobs + 1] = tonumber(f[4])
    jobs[#jobs + 1] = tonumber(f[5])
    ev(id, f[1], 'active', attempt, 0, '')
    taken = taken + 1
  end
end

if lmax > 0 and taken > 0 then
  if redis.call('INCRBY', KEYS[6], taken) == taken then
    redis.call('PEXPIRE', KEYS[6], lwin)
  end
end
if redis.call('ZCARD', KEYS[1]) > 0 then redis.call('ZADD', KEYS[4], 0, '1') end
return { jobs, events, 'ok', 0 }
