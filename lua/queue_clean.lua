--[[ queue_clean: delete jobs of one state older than a cutoff (admin clean, drain).

  completed/failed: by finish time (the set's score)
  waiting/delayed:  by add time (job field ts); drain = cutoff +inf

Deleting a waiting job that others depend on leaves them waiting for it:
clean the dependents too, or let them be.

Full key layout: see queue_add.lua.

KEYS: 1 the state's set ({q:n}:completed | :failed | :wait | :delayed)
ARGV: 1 prefix, 2 state, 3 cutoff ms (Redis clock, inclusive), 4 limit
Returns { removed count, removed ids }
]]
local prefix = ARGV[1]
local state, cutoff, limit = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local removed = {}
if state == 'completed' or state == 'failed' then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, limit)) do
    redis.call('DEL', prefix .. 'job:' .. id, prefix .. 'deps:' .. id)
    redis.call('ZREM', KEYS[1], id)
    removed[#removed + 1] = id
  end
else
  -- Drain (cutoff beyond any time) removes from the head; an age cutoff scans.
  local ids = redis.call('ZRANGE', KEYS[1], 0, cutoff >= 1e15 and (limit - 1) or -1)
  for _, id in ipairs(ids) do
    if #removed >= limit then break end
    local ts = tonumber(redis.call('HGET', prefix .. 'job:' .. id, 'ts') or '0')
    if ts <= cutoff then
      redis.call('DEL', prefix .. 'job:' .. id, prefix .. 'deps:' .. id)
      redis.call('ZREM', KEYS[1], id)
      removed[#removed + 1] = id
    end
  end
end
return { #removed, removed }
