--[[ cart_read: the cart as the API's JSON (lua/lib/cart.lua), or nil when it
is not loaded (the caller rebuilds it from Postgres).

KEYS: 1 {u:<id>}:cart
]]
--#include live_events
--#include cart
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local cart = cart_json(KEYS[1])  -- (the JSON only, not the summary)
return cart
