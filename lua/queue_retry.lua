--[[ queue_retry: put failed jobs back to waiting, with a fresh set of attempts.

  {q:n}:failed --> {q:n}:wait    atm = 0, stc = 0, err kept for reference

Jobs that were failed because this one failed (dependents) stay failed: the
caller retries them too if wanted.

Full key layout: see queue_add.lua.

KEYS: 1 failed, 2 wait, 3 marker
ARGV: 1 prefix, 2 job id, or '' for every failed job, 3 limit for ''
Returns { retried count, events }, or an error reply "NOT_FOUND" / "NOT_FAILED"
for one id.
]]
--#include queue
local prefix = queue_prefix()
local ids
if ARGV[2] ~= '' then
  local st = redis.call('HGET', prefix .. 'job:' .. ARGV[2], 'state')
  if not st then return redis.error_reply('NOT_FOUND') end
  if st ~= 'failed' then return redis.error_reply('NOT_FAILED ' .. st) end
  ids = { ARGV[2] }
else
  ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[3]) - 1)
end
local n = 0
for _, id in ipairs(ids) do
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'prio', 'seq', 'name')
  redis.call('ZREM', KEYS[1], id)
  if f[2] then
    redis.call('HSET', jk, 'state', 'waiting', 'atm', 0, 'stc', 0)
    redis.call('HDEL', jk, 'fon')
    redis.call('ZADD', KEYS[2], queue_wait_score(f[1], f[2]), id)
    ev(id, f[3], 'waiting', 0, 0, 'retried')
    n = n + 1
  end
end
if n > 0 then redis.call('ZADD', KEYS[3], 0, '1') end
return { n, events }
