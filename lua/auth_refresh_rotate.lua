-- Single-use rotation of a refresh token, with theft detection (API.md §2).
-- Key layout: see auth_refresh_issue.lua.
--
-- A rotated token is kept (used = "1") until its own TTL runs out instead of
-- being deleted: that is what lets a second presentation be recognised as a
-- replay of a stolen token, which then revokes the whole family (INCR gen).
--
-- KEYS[1] presented token key, KEYS[2] gen key, KEYS[3] new token key
-- ARGV[1] TTL of the new token in seconds
-- Returns 'ok' | 'invalid' (unknown or expired) | 'revoked' | 'reused'.
local t = redis.call('HMGET', KEYS[1], 'gen', 'used')
if not t[1] then return 'invalid' end
local gen = redis.call('GET', KEYS[2]) or '0'
if t[1] ~= gen then return 'revoked' end
if t[2] == '1' then
    redis.call('INCR', KEYS[2])
    return 'reused'
end
redis.call('HSET', KEYS[1], 'used', '1')
redis.call('HSET', KEYS[3], 'gen', gen, 'used', '0')
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[1]))
return 'ok'
