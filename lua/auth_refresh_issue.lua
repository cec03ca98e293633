-- Stores a new refresh token of a user (login, register).
--
-- Key layout (hash tag = the user, {u:<userId>}, shared with the user's cart,
-- event stream, session stamp and live channel: shared/include/bazaar/key_tags.hpp):
--   {u:<userId>}:rt:gen          string  the user's token generation; INCR
--                                        revokes every token issued before
--   {u:<userId>}:rt:t:<sha256>   hash    gen   generation it was issued in
--                                        used  "0" | "1" (rotated already)
--                                        TTL   REFRESH_TTL_S
-- Only the SHA-256 of a token is stored: a Redis dump leaks no usable token.
--
-- KEYS[1] token key, KEYS[2] gen key; ARGV[1] TTL in seconds.
local gen = redis.call('GET', KEYS[2]) or '0'
redis.call('HSET', KEYS[1], 'gen', gen, 'used', '0')
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[1]))
return 1
