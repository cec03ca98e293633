--[[ cart_set_quantity: set one line's quantity, clamped to the stock and to
the per-line maximum; bump the version, emit cart.item_updated, request the
durable write (layout and event shapes in lua/lib/cart.lua). A new book is
refused when the cart already holds the maximum of lines: checked here, in
the script that adds it, so concurrent adds cannot pass the limit.

KEYS: 1 {u:<id>}:cart, 2 {u:<id>}:events
ARGV: 1 bookId, 2 requested quantity (>= 1), 3 stock, 4 title, 5 priceCents,
      6 currency, 7 maximum per line, 8 maximum of lines (absent: no limit)
Returns:
  {-1}                       the cart is not loaded: rebuild it, then retry
  {-2, cartCurrency}         the book's currency differs from the cart's
  {-3, maxLines}             a new line, and the cart is full: nothing changed
  {0}                        nothing in stock: nothing changed
  {1, granted, need, version, cartJson}
]]
--#include live_events
--#include cart
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return { -1 } end
local book = ARGV[1]
local field = 'i:' .. book
local granted = math.min(tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[7]))
if granted < 1 then return { 0 } end

local lines, present, other = 0, false, nil
for _, f in ipairs(redis.call('HKEYS', key)) do
    if string.sub(f, 1, 2) == 'i:' then
        lines = lines + 1
        if f == field then
            present = true
        elseif not other then
            other = f
        end
    end
end
if other then
    local _, _, currency = cart_line_parts(redis.call('HGET', key, other))
    if currency ~= ARGV[6] then return { -2, currency } end
end
local max_lines = tonumber(ARGV[8] or '')
if max_lines and not present and lines >= max_lines then return { -3, max_lines } end

redis.call('HSET', key, field, cart_line(granted, tonumber(ARGV[5]), ARGV[6], ARGV[4]))
local v, need = cart_touch(key)
local cart, summary = cart_json(key)
live_emit(KEYS[2], 'cart.item_updated',
          cart_event_data('"bookId":"' .. book .. '","quantity":' .. cart_int(granted), cart,
                          summary, book))
return { 1, granted, need, v, cart }
