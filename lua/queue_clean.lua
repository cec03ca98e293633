--[[ queue_clean: delete jobs of one state older than a cutoff (admin clean, drain).

  completed/failed: by finish time (the set's score)
  waiting/delayed:  by add time (job field ts); drain = cutoff +inf

Work per call is bounded: at most `limit` jobs are looked at (waiting and
delayed are ordered by priority or due time, not by age, so an age cutoff
must look at every member). The caller pages on with the returned position
until it is -1; a page starts where the previous one stopped, so a whole
clean is O(N), not a rescan from the head per page (O(N^2)).

Deleting a waiting job that others depend on leaves them waiting for it:
clean the dependents too, or let them be.

Full key layout: see queue_add.lua.

KEYS: 1 the state's set ({q:n}:completed | :failed | :wait | :delayed)
ARGV: 1 prefix, 2 state, 3 cutoff ms (Redis clock, inclusive), 4 limit,
      5 start position in the set (0 on the first call)
Returns { removed count, removed ids, next start position or -1 when done }
]]
--#include queue
local prefix = queue_prefix()
local state, cutoff, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local start = tonumber(ARGV[5] or '0') or 0
local removed = {}
local function remove(id)
  redis.call('DEL', prefix .. 'job:' .. id, prefix .. 'deps:' .. id)
  redis.call('ZREM', KEYS[1], id)
  removed[#removed + 1] = id
end
if state == 'completed' or state == 'failed' then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, limit)) do
    remove(id)
  end
  return { #removed, removed, #removed == limit and 0 or -1 }
end
if cutoff >= 1e15 then
  -- Drain: everything goes, from the head.
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, limit - 1)) do remove(id) end
  return { #removed, removed, #removed == limit and 0 or -1 }
end
local ids = redis.call('ZRANGE', KEYS[1], start, start + limit - 1)
for _, id in ipairs(ids) do
  local ts = tonumber(redis.call('HGET', prefix .. 'job:' .. id, 'ts') or '0')
  if ts <= cutoff then remove(id) end
end
-- Removed members shift the ones after them down.
return { #removed, removed, #ids < limit and -1 or start + #ids - #removed }
