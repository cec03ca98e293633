--[[ stock_apply: mirror committed changes of books.stock that no hold
counted (a release, a re-reservation) into the counters (lua/lib/stock.lua).
Idempotent per (book, stock_seq): applying the same change again counts
nothing; changes may come in any order.

KEYS: i {stock}:b:<bookId>
ARGV: 2i-1 books.stock_seq of the change, 2i its delta
Returns the number of counters changed. ]]
--#include stock
local changed = 0
for i = 1, #KEYS do
    if stock_apply(KEYS[i], ARGV[2 * i - 1], tonumber(ARGV[2 * i]), '') == 1 then
        changed = changed + 1
    end
end
return changed
