--[[ queue_pause: pause or resume a queue.

  {q:n}:meta.paused = 1 while paused: queue_take hands out nothing, jobs keep
  being added, running jobs finish normally. Resuming sets {q:n}:marker so
  that blocked workers wake up at once.

KEYS: 1 meta, 2 marker, 3 wait
ARGV: 1 '1' pause | '0' resume
Returns 1 when the state changed, 0 when it already was so.
]]
if ARGV[1] == '1' then
  return redis.call('HSET', KEYS[1], 'paused', '1')
end
local changed = redis.call('HDEL', KEYS[1], 'paused')
redis.call('ZADD', KEYS[2], 0, '1')
return changed
