--[[ cart_restore: load a cart from its durable copy in Postgres, unless a
cart is already there (another request rebuilt it first, or a change won the
race: the live cart always wins). No event: nothing changed for the user.

KEYS: 1 {u:<id>}:cart
ARGV: 1 version, 2 updatedAt (ms, 0 = never), then per line 5 fields:
      bookId quantity title priceCents currency
Returns 1 when restored, 0 when a cart was there.
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 1 then return 0 end
redis.call('HSET', key, 'v', ARGV[1], 'u', ARGV[2])
for i = 3, #ARGV, 5 do
    redis.call('HSET', key, 'i:' .. ARGV[i],
               cart_line(tonumber(ARGV[i + 1]), tonumber(ARGV[i + 3]), ARGV[i + 4], ARGV[i + 2]))
end
redis.call('PEXPIRE', key, CART_IDLE_TTL_MS)
return 1
