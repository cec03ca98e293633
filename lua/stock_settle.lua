--[[ stock_settle: end a hold (lua/lib/stock.lua). `commit`: the order's
transaction committed; each line's change (seq, −qty) is mirrored unless the
hold's epoch already counted it. `cancel`: it did not; the quantities go back
to counters still of the hold's epoch (a newer load never counted them).

KEYS: 1 {stock}:holds, 2 {stock}:hold:<orderId>, 2+i {stock}:b:<bookId of hold line i>
ARGV: 1 orderId, 2 'commit'|'cancel', 3 the hold's value as the caller read
      it, 3+i (commit) books.stock_seq of line i's change
Returns 1 when settled, 0 when the hold is gone or changed (already settled). ]]
--#include stock
if redis.call('GET', KEYS[2]) ~= ARGV[3] then return 0 end
local lines = stock_hold_lines(ARGV[3])
for i, line in ipairs(lines) do
    local key = KEYS[2 + i]
    if ARGV[2] == 'commit' then
        stock_apply(key, ARGV[3 + i], -line[2], line[3])
    elseif redis.call('HGET', key, 'e') == line[3] then
        redis.call('HINCRBY', key, 'a', line[2])
    end
end
redis.call('DEL', KEYS[2])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
