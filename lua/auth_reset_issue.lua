-- Stores a password-reset token of a user (the email job, when it renders
-- the message: the token exists nowhere else, not even in the job's data).
--
-- Key layout (hash tag = the user, {u:<userId>}, shared with auth_refresh_*.lua):
--   {u:<userId>}:pwreset    hash   <sha256 of token> -> expiry (unix ms)
--                                  key TTL = that of the newest token
-- One hash per user, so that spending any token drops all of them
-- (auth_reset_confirm.lua): a second mail's token cannot reset again.
--
-- KEYS[1] reset hash; ARGV[1] token hash, ARGV[2] expiry (unix ms), ARGV[3] TTL (s)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
