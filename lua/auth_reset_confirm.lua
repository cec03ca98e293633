-- Spends a password-reset token: if it is outstanding and unexpired, every
-- outstanding token of the user is dropped with it (key layout in
-- auth_reset_issue.lua). Exactly one of two racing confirmations wins.
--
-- KEYS[1] reset hash; ARGV[1] token hash, ARGV[2] now (unix ms)
-- Returns 1 when spent, 0 when unknown, expired or already used.
local expiry = redis.call('HGET', KEYS[1], ARGV[1])
if not expiry or tonumber(expiry) < tonumber(ARGV[2]) then return 0 end
redis.call('DEL', KEYS[1])
return 1
