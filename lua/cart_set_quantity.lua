--[[ cart_set_quantity: set one line's quantity, clamped to the stock and to
the per-line maximum; bump the version, emit cart.item_updated, request the
durable write (layout and event shapes in lua/lib/cart.lua).

KEYS: 1 {u:<id>}:cart, 2 {u:<id>}:events
ARGV: 1 bookId, 2 requested quantity (>= 1), 3 stock, 4 title, 5 priceCents,
      6 currency, 7 maximum per line
Returns:
  {-1}                       the cart is not loaded: rebuild it, then retry
  {-2, cartCurrency}         the book's currency differs from the cart's
  {0}                        nothing in stock: nothing changed
  {1, granted, need, version, cartJson}
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { -1 } end
local book = ARGV[1]
local granted = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[7]))
if granted < 1 then return { 0 } end

local fields = redis.call('HKEYS', key)
for _, f in ipairs(fields) do
    if string.sub(f, 1, 2) == 'i:' and f ~= 'i:' .. book then
        local _, _, currency = cart_line_parts(redis.call('HGET', key, f))
        if currency ~= ARGV[6] then return { -2, currency } end
        break
    end
end

redis.call('HSET', key, 'i:' .. book, cart_line(granted, tonumber(ARGV[5]), ARGV[6], ARGV[4]))
local v, need = cart_touch(key)
local cart = cart_json(key)
live_emit(KEYS[2], 'cart.item_updated',
          '{"bookId":"' .. book .. '","quantity":' .. cart_int(granted) .. ',"cart":' .. cart .. '}')
return { 1, granted, need, v, cart }
