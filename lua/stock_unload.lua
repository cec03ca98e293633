--[[ stock_unload: drop loaded counters so that the next use loads them from
Postgres again (always safe: lua/lib/stock.lua, orders/stock.hpp). A hash
holding only pending changes is kept: the next load needs them.

KEYS: i {stock}:b:<bookId>
Returns the number dropped. ]]
local n = 0
for i = 1, #KEYS do
    if redis.call('HEXISTS', KEYS[i], 'e') == 1 then
        redis.call('DEL', KEYS[i])
        n = n + 1
    end
end
return n
