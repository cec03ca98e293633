-- Write side of the read cache; key layout in cache_get.lua.
--
-- Stores a rebuilt body only if its scope's generation is still the one the
-- rebuild started from: a write that committed meanwhile has replaced the
-- gen, and its readers must not see this (possibly older) body. Releases the
-- rebuild lock if this request still owns it.
--
-- KEYS[1] gen, KEYS[2] value, KEYS[3] lock
-- ARGV[1] gen the body was built in, ARGV[2] body, ARGV[3] TTL in s,
-- ARGV[4] owner token
-- Returns 1 if stored, 0 if the body was already stale.
local stored = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('HSET', KEYS[2], 'g', ARGV[1], 'b', ARGV[2])
    redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
    stored = 1
end
if redis.call('GET', KEYS[3]) == ARGV[4] then redis.call('DEL', KEYS[3]) end
return stored
