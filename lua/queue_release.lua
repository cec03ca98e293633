--[[ queue_release: give running jobs back to the queue (worker shutdown).

  {q:n}:active --> {q:n}:wait   for each id whose token still matches

Used by a worker stopping on SIGTERM for the jobs that did not finish within
its grace period: another worker takes them at once instead of after the
lease runs out. The attempt is not counted and it is not a stall.

Full key layout: see queue_add.lua.

KEYS: 1 active, 2 wait, 3 marker
ARGV: 1 prefix, then pairs id, token
Returns events.
]]
--#include queue
local prefix = queue_prefix()
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  local jk = prefix .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'tok', 'prio', 'seq', 'name', 'atm')
  if f[1] == token and redis.call('ZREM', KEYS[1], id) == 1 then
    redis.call('HDEL', jk, 'tok')
    redis.call('HSET', jk, 'state', 'waiting')
    redis.call('ZADD', KEYS[2], queue_wait_score(f[2], f[3]), id)
    ev(id, f[4], 'waiting', tonumber(f[5]), 0, 'released by a stopping worker')
  end
end
if #events > 0 then redis.call('ZADD', KEYS[3], 0, '1') end
return events
