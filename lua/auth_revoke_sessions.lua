-- Revokes every session of a user at once (logout, password reset, refresh
-- token theft): the refresh-token family and the access tokens already out.
--
-- Key layout (hash tag = the user; refresh keys: see auth_refresh_issue.lua):
--   {rt:<userId>}:gen   string  refresh-token generation; INCR revokes them all
--   {rt:<userId>}:nbf   string  "not before", unix ms: an access token of this
--                               user issued at or before it is refused
--                               (shared/auth/session_stamp.hpp). TTL = access
--                               token lifetime: older tokens expire anyway.
-- The stamp only moves forward, so two revocations racing keep the later one.
--
-- KEYS[1] gen key, KEYS[2] nbf key; ARGV[1] now (unix ms), ARGV[2] TTL (s).
redis.call('INCR', KEYS[1])
local stamp = tonumber(ARGV[1])
local old = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if old > stamp then stamp = old end
redis.call('SET', KEYS[2], tostring(stamp), 'EX', tonumber(ARGV[2]))
return stamp
