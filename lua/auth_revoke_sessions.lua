-- Revokes every session of a user at once (logout, password reset, refresh
-- token theft): the refresh-token family and the access tokens already out.
--
-- Key layout (hash tag = the user, {u:<userId>}; refresh keys: see
-- auth_refresh_issue.lua):
--   {u:<userId>}:rt:gen  string  refresh-token generation; INCR revokes them all
--   {u:<userId>}:nbf     string  "not before", unix ms: an access token of this
--                               user issued at or before it is refused
--                               (shared/auth/session_stamp.hpp). TTL = access
--                               token lifetime: older tokens expire anyway.
-- The stamp only moves forward, so two revocations racing keep the later one.
--
-- Sockets already open (bazaar-ws) learn of it from a control message on the
-- user's live channel, published in the same script as the stamp so no
-- socket falls between the two (session_stamp.hpp):
--   SPUBLISH {u:<userId>}:live {"control":"session.revoked","notBefore":<ms>}
-- Sharded pub/sub: the channel hashes to the user's slot, which must be the
-- slot of KEYS (same {u:<userId>} tag), or a cluster refuses the script.
--
-- KEYS[1] gen key, KEYS[2] nbf key; ARGV[1] now (unix ms), ARGV[2] TTL (s),
-- ARGV[3] the user's live channel.
redis.call('INCR', KEYS[1])
local stamp = tonumber(ARGV[1])
local old = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if old > stamp then stamp = old end
redis.call('SET', KEYS[2], tostring(stamp), 'EX', tonumber(ARGV[2]))
redis.call('SPUBLISH', ARGV[3], '{"control":"session.revoked","notBefore":' .. string.format('%d', stamp) .. '}')
return stamp
