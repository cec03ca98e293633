--[[ queue_counts: the numbers of one queue, consistent with each other.

Reads {q:n}:wait, :active, :delayed, :completed, :failed, :waitdeps (ZCARD),
:meta (paused) and the 60 per-second slots of :rate.

KEYS: 1 wait, 2 active, 3 delayed, 4 completed, 5 failed, 6 waitdeps, 7 meta, 8 rate
Returns { waiting, active, delayed, completed, failed, waitingChildren, paused,
          completedLastMinute, failedLastMinute, completedTotal, failedTotal }
]]
local t = redis.call('TIME')
local sec = tonumber(t[1])
local out = {}
for i = 1, 6 do out[i] = redis.call('ZCARD', KEYS[i]) end
out[7] = redis.call('HGET', KEYS[7], 'paused') == '1' and 1 or 0
local c, f = 0, 0
local slots = redis.call('HGETALL', KEYS[8])
local h = {}
for i = 1, #slots, 2 do h[slots[i]] = slots[i + 1] end
for slot = 0, 59 do
  local ts = tonumber(h['t' .. slot] or '-1')
  if ts > sec - 60 then
    c = c + tonumber(h['c' .. slot] or '0')
    f = f + tonumber(h['f' .. slot] or '0')
  end
end
out[8] = c
out[9] = f
out[10] = tonumber(h['completed'] or '0')
out[11] = tonumber(h['failed'] or '0')
return out
