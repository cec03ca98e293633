--[[ stock_settle: end a hold (lua/lib/stock.lua). `commit`: the order's
transaction committed; each line's change (seq, −qty) is mirrored unless the
hold's epoch already counted it. `cancel`: it did not; the quantities go back
to counters still of the hold's epoch (a newer load never counted them).

A settled hold leaves the tombstone "settled:<mode>" for an hour, so a late
second settle (the sweeper and the process both) is a no-op — except a
commit that finds "settled:cancel": the sweeper judged the order not
committed (Postgres had no rows yet, or the sweeper's clock ran ahead) and
gave the stock back, then the order committed after all. Its changes are
then mirrored as for a lost hold (stock_seq decides), which undoes the
give-back on counters of the hold's epoch and is right for newer ones. A hold that is simply
gone was lost with Redis's data (FLUSHALL, a restart without the last
writes): a commit then still mirrors its changes, with no epoch — the
stock_seq check alone decides, which is exactly right for counters loaded
after the loss; a cancel has nothing to give back to them.

`abort`: the caller does not know whether its reserve ran (Redis timed out
or restarted mid-call): a hold found is cancelled, whatever its value.

KEYS: 1 {stock}:holds, 2 {stock}:hold:<orderId>, 2+i {stock}:b:<bookId of hold line i>
ARGV: 1 orderId, 2 'commit'|'cancel'|'abort', 3 the hold's value as the
      caller knows it (abort: ignored), 3+i (commit) books.stock_seq of line i's change
Returns 1 when settled, 2 when the hold was lost (or cancelled by the
sweeper) and its commit mirrored, 0 when already settled (or lost, for a
cancel). ]]
--#include stock
local STOCK_SETTLED_TTL_MS = 3600000
local current = redis.call('GET', KEYS[2])
local settled = current and string.sub(current, 1, 8) == 'settled:'
if ARGV[2] == 'abort' then
    if not current or settled then return 0 end
    ARGV[2] = 'cancel'
    ARGV[3] = current
end
local lines = stock_hold_lines(ARGV[3])
if settled and ARGV[2] == 'commit' and current == 'settled:cancel' then
    redis.call('SET', KEYS[2], 'settled:commit', 'PX', STOCK_SETTLED_TTL_MS)
    current = nil
end
if not current then
    if ARGV[2] ~= 'commit' then return 0 end
    for i, line in ipairs(lines) do stock_apply(KEYS[2 + i], ARGV[3 + i], -line[2], '') end
    return 2
end
if current ~= ARGV[3] then return 0 end
for i, line in ipairs(lines) do
    local key = KEYS[2 + i]
    if ARGV[2] == 'commit' then
        stock_apply(key, ARGV[3 + i], -line[2], line[3])
    elseif redis.call('HGET', key, 'e') == line[3] then
        redis.call('HINCRBY', key, 'a', line[2])
    end
end
redis.call('SET', KEYS[2], 'settled:' .. ARGV[2], 'PX', STOCK_SETTLED_TTL_MS)
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
