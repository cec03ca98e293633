--[[ cart_clear: remove every line; bump the version, emit cart.cleared,
request the durable write (lua/lib/cart.lua). Clearing an empty cart is
still a change (the client asked for it; the version tells tabs apart).

KEYS: 1 {u:<id>}:cart, 2 {u:<id>}:events
Returns {-1} (not loaded: rebuild, retry) or {1, need, version, cartJson}.
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { -1 } end
for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 2) == 'i:' then redis.call('HDEL', key, f) end
end
local v, need = cart_touch(key)
local cart = cart_json(key)
live_emit(KEYS[2], 'cart.cleared', '{"cart":' .. cart .. '}')
return { 1, need, v, cart }
