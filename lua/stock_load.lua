--[[ stock_load: build a missing counter from Postgres (lua/lib/stock.lua).
Changes committed while it was missing (p:<seq>) count only when the read
did not see them (seq > s). A loaded counter is left alone.

KEYS: 1 {stock}:b:<bookId>
ARGV: 1 books.stock, 2 books.stock_seq, 3 a fresh epoch token
Returns 1 when loaded, 0 when it already was. ]]
--#include stock
local key = KEYS[1]
if redis.call('HEXISTS', key, 'e') == 1 then return 0 end
local a = tonumber(ARGV[1])
local s = tonumber(ARGV[2])
local h = redis.call('HGETALL', key)
for i = 1, #h, 2 do
    local seq = string.match(h[i], '^p:(%d+)$')
    if seq then
        if tonumber(seq) > s then a = a + tonumber(h[i + 1]) end
        redis.call('HDEL', key, h[i])
    end
end
redis.call('HSET', key, 'a', a, 'e', ARGV[3], 's', ARGV[2])
redis.call('PERSIST', key)
return 1
