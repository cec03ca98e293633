--[[ cart_clear: remove every line; bump the version, emit cart.cleared,
request the durable write (lua/lib/cart.lua). Clearing an empty cart is
still a change (the client asked for it; the version tells tabs apart).
With ARGV[1] (checkout: the version that was ordered) the cart is cleared
only if it is still that version: lines changed during checkout stay.

KEYS: 1 {u:<id>}:cart, 2 {u:<id>}:events
ARGV: 1 expected version (optional)
Returns {-1} (not loaded: rebuild, retry), {0} (another version: nothing
changed) or {1, need, version, cartJson}.
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { -1 } end
if ARGV[1] and tonumber(redis.call('HGET', key, 'v') or '0') ~= tonumber(ARGV[1]) then
    return { 0 }
end
for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 2) == 'i:' then redis.call('HDEL', key, f) end
end
local v, need = cart_touch(key)
local cart, summary = cart_json(key)
live_emit(KEYS[2], 'cart.cleared', cart_event_data('', cart, summary))
return { 1, need, v, cart }
