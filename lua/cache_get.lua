-- Read side of the read cache (shared/include/bazaar/cache/read_cache.hpp).
--
-- Key layout, one hash tag per scope (a book, the book lists, the tags, a
-- user's profile), so a scope's keys share a cluster slot:
--
--   c:{<scope>}:gen             string  the scope's generation: a random token,
--                                       replaced by every write to the scope
--   c:{<scope>}:v:<variant>     hash    g  generation the body was built in
--                                       b  the response body, served as is
--                                       TTL = the route's cache TTL
--   c:{<scope>}:lock:<variant>  string  owner token of the one request that
--                                       rebuilds a cold variant (PX)
--
-- A body is fresh only while its g equals the current gen, so a write makes
-- every variant of its scope stale in O(1), without KEYS or SCAN. Tokens are
-- random rather than counters: if a gen key is lost (eviction, restart), the
-- new one can never equal a token some stale body was stored with.
--
-- KEYS[1] gen, KEYS[2] value, KEYS[3] lock
-- ARGV[1] a fresh random token (used if the scope has no gen yet)
-- ARGV[2] lock TTL in ms, ARGV[3] this request's owner token
-- Returns {'HIT', body} | {'LOAD', gen} (you rebuild) | {'WAIT', gen}
local gen = redis.call('GET', KEYS[1])
if not gen then
    gen = ARGV[1]
    redis.call('SET', KEYS[1], gen, 'EX', 86400)
end
local v = redis.call('HMGET', KEYS[2], 'g', 'b')
if v[1] == gen and v[2] then return {'HIT', v[2]} end
if redis.call('SET', KEYS[3], ARGV[3], 'NX', 'PX', tonumber(ARGV[2])) then
    return {'LOAD', gen}
end
return {'WAIT', gen}
