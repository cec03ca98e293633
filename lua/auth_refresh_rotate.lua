-- Single-use rotation of a refresh token, with theft detection (API.md §2)
-- and a reuse window for retries. Key layout: see auth_refresh_issue.lua
-- and auth_revoke_sessions.lua.
--
-- A rotated token is kept (used = "1", usedAt = ms) until its own TTL runs
-- out instead of being deleted: that is what lets a second presentation be
-- recognised. The successor of a token is derived from it (HMAC, computed in
-- refresh_tokens.cpp), so KEYS[3] always names the same successor:
--   - presented again within the reuse window while that successor is still
--     unspent and of the current generation: a client retrying after a lost
--     response or a 503; it gets the same successor again ('retry');
--   - otherwise: a replay of a stolen token; the whole family is revoked
--     (INCR gen) and so are the user's access tokens (nbf stamp), as in
--     auth_revoke_sessions.lua ('reused').
--
-- KEYS[1] presented token key, KEYS[2] gen key, KEYS[3] successor token key,
-- KEYS[4] nbf key
-- ARGV[1] TTL of the successor (s), ARGV[2] reuse window (ms, 0 = none),
-- ARGV[3] now (unix ms), ARGV[4] access token TTL (s, life of the stamp),
-- ARGV[5] the user's live channel (the revocation's control message, SPUBLISHed:
-- it must share the {u:<userId>} tag of KEYS)
-- Returns 'ok' | 'retry' | 'invalid' (unknown or expired) | 'revoked' | 'reused'.
local t = redis.call('HMGET', KEYS[1], 'gen', 'used', 'usedAt')
if not t[1] then return 'invalid' end
local gen = redis.call('GET', KEYS[2]) or '0'
if t[1] ~= gen then return 'revoked' end
local now = tonumber(ARGV[3])
if t[2] == '1' then
    local window = tonumber(ARGV[2])
    local s = redis.call('HMGET', KEYS[3], 'gen', 'used')
    if window > 0 and t[3] and now - tonumber(t[3]) <= window and s[1] == gen and s[2] == '0' then
        return 'retry'
    end
    redis.call('INCR', KEYS[2])
    local old = tonumber(redis.call('GET', KEYS[4]) or '0') or 0
    local stamp = now
    if old > stamp then stamp = old end
    redis.call('SET', KEYS[4], tostring(stamp), 'EX', tonumber(ARGV[4]))
    redis.call('SPUBLISH', ARGV[5], '{"control":"session.revoked","notBefore":' .. string.format('%d', stamp) .. '}')
    return 'reused'
end
redis.call('HSET', KEYS[1], 'used', '1', 'usedAt', ARGV[3])
redis.call('HSET', KEYS[3], 'gen', gen, 'used', '0')
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[1]))
return 'ok'
