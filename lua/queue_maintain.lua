--[[ queue_maintain: promote due delayed jobs and take back stalled ones.

  {q:n}:delayed  score <= now  -->  {q:n}:wait
  {q:n}:active   score <= now (lease expired: its worker died or froze)
                 stalls <= max  -->  {q:n}:wait  (stc+1, attempt not counted)
                 stalls >  max  -->  returned to the caller, who fails it for
                                     good through queue_finish with its token

Every worker process runs this about once a second for each queue it
serves; any number of them may run it at once, each expired lease is taken
back by exactly one (the script is atomic). Jobs over the stall limit get a
fresh short lease so that concurrent callers do not count the same stall
twice; if the caller dies before failing it, the lease runs out again and
the next run returns it again — a job is never lost in between.

Full key layout: see queue_add.lua.

KEYS: 1 active, 2 wait, 3 delayed, 4 marker
ARGV: 1 prefix, 2 max stalls, 3 limit per call, 4 grace lease ms for jobs
      handed to the caller to fail
Returns { events, {id, token, ...} of jobs to fail }
]]
--#include queue
local prefix = queue_prefix()
local now = queue_now_ms()
local limit = tonumber(ARGV[3])
local to_fail = {}
local wake = false

local function enqueue(jk, id, f)
  redis.call('ZADD', KEYS[2], queue_wait_score(f.prio, f.seq), id)
  redis.call('HSET', jk, 'state', 'waiting')
  wake = true
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, limit)) do
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'prio', 'seq', 'name', 'atm')
  redis.call('ZREM', KEYS[3], id)
  if f[2] then
    enqueue(jk, id, { prio = f[1], seq = f[2] })
    redis.call('HDEL', jk, 'due')
    ev(id, f[3], 'waiting', tonumber(f[4]), 0, '')
  end
end

local max_stalls = tonumber(ARGV[2])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit)) do
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'prio', 'seq', 'name', 'atm', 'tok')
  if not f[2] then
    redis.call('ZREM', KEYS[1], id)
  else
    local stalls = redis.call('HINCRBY', jk, 'stc', 1)
    local attempt = tonumber(f[4]) + 1
    if stalls > max_stalls then
      redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), id)
      to_fail[#to_fail + 1] = id
      to_fail[#to_fail + 1] = f[5]
    else
      redis.call('ZREM', KEYS[1], id)
      redis.call('HDEL', jk, 'tok')
      enqueue(jk, id, { prio = f[1], seq = f[2] })
      ev(id, f[3], 'stalled', attempt, stalls, 'lease expired')
      ev(id, f[3], 'waiting', attempt - 1, 0, '')
    end
  end
end

if wake then redis.call('ZADD', KEYS[4], 0, '1') end
return { events, to_fail }
