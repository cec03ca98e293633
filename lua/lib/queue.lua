--[[ queue: the helpers every lua/queue_*.lua script shared as a copy
(included with `--#include queue`; key layout and job fields are in
lua/queue_add.lua).

  queue_now_ms()               the Redis server's clock (TIME) in ms: every
                               queue time is this one clock, never a
                               client's, so workers on skewed hosts agree
  queue_wait_score(prio, seq)  a job's score in {q:n}:wait,
                               prio * 2^32 + seq % 2^32: lower priority
                               value first, FIFO (add order) within one
  events, ev(id, name, state, attempt, num, err)
                               the job events of this call, six fields each;
                               the script returns `events` and the caller
                               appends them to job:events (XADD, MAXLEN ~),
                               a key of another slot than the queue's
  queue_prefix()               ARGV[1], the queue's key prefix "{q:<name>}:",
                               checked against KEYS[1] (below)
]]

-- Job and dependency keys ({q:n}:job:<id>, {q:n}:deps:<id>) are built inside
-- the scripts from the prefix, since only the script knows which ids it
-- touches; they are not in KEYS. On Redis Cluster they stay on the script's
-- node only because the prefix carries the same hash tag as KEYS, so a
-- prefix that is not the one KEYS[1] starts with is refused here instead of
-- reaching into another slot. Every key a queue script derives must start
-- with this prefix.
local function queue_prefix()
  local p = ARGV[1]
  if not string.find(p, '^{q:[^}]+}:$') or string.sub(KEYS[1], 1, #p) ~= p then
    error('queue prefix ' .. tostring(p) .. ' is not that of ' .. tostring(KEYS[1]))
  end
  return p
end

local function queue_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function queue_wait_score(prio, seq)
  return tonumber(prio) * 4294967296 + tonumber(seq) % 4294967296
end

local events = {}
local function ev(id, name, state, attempt, num, err)
  local e = events
  e[#e + 1] = id; e[#e + 1] = name; e[#e + 1] = state
  e[#e + 1] = attempt; e[#e + 1] = num; e[#e + 1] = err
end
