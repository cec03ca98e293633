--[[ queue_extend: renew the leases of running jobs, in one call per queue.

  {q:n}:active  score := now + lease   for each id whose {q:n}:job:<id>.tok
                                       still equals the caller's token

A worker renews every lease/3 while its handlers run, so only a dead or
frozen worker lets a lease run out. A job whose token no longer matches was
taken back (stall recovery) or finished by someone else: it is reported as
lost so the worker stops treating it as its own.

Full key layout: see queue_add.lua.

KEYS: 1 active
ARGV: 1 prefix, 2 lease ms, then pairs id, token
Returns the lost leases as flat pairs id, token (the same id may also be held
under a newer token, which is renewed).
]]
--#include queue
local prefix = queue_prefix()
local now = queue_now_ms()
local until_ms = now + tonumber(ARGV[2])
local lost = {}
for i = 3, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', prefix .. 'job:' .. id, 'tok') == token
      and redis.call('ZSCORE', KEYS[1], id) then
    redis.call('ZADD', KEYS[1], 'XX', until_ms, id)
  else
    lost[#lost + 1] = id
    lost[#lost + 1] = token
  end
end
return lost
