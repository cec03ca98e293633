--[[ cart_remove_item: remove one line; bump the version, emit
cart.item_removed, request the durable write (lua/lib/cart.lua).

KEYS: 1 {u:<id>}:cart, 2 {u:<id>}:events
ARGV: 1 bookId
Returns {-1} (not loaded: rebuild, retry), {0} (no such line: nothing
changed) or {1, need, version, cartJson}.
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { -1 } end
if redis.call('HDEL', key, 'i:' .. ARGV[1]) == 0 then return { 0 } end
local v, need = cart_touch(key)
local cart, summary = cart_json(key)
live_emit(KEYS[2], 'cart.item_removed', cart_event_data('"bookId":"' .. ARGV[1] .. '"', cart, summary))
return { 1, need, v, cart }
