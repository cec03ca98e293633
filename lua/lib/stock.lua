--[[ stock: the Redis stock counters (design and invariant in
shared/include/bazaar/orders/stock.hpp), shared by lua/stock_*.lua
(included with `--#include stock`).

Key layout, ONE hash tag for every counter so that one script can reserve
all the lines of an order (Redis Cluster: one slot):

  {stock}:b:<bookId>     HASH   a        available
                                e        epoch token of the load that built it
                                s        books.stock_seq that load read
                                p:<seq>  change committed while not loaded
                                         (a hash with no `e`; expires 120 s)
                                d:<seq>  change seq > s already applied by
                                         stock_apply (a resent apply is a
                                         no-op); at most STOCK_APPLIED_MAX,
                                         then the counter is dropped
  {stock}:holds          ZSET   orderId → lease deadline (ms, Redis clock)
  {stock}:hold:<orderId> STRING "<bookId>:<qty>:<epoch>,..." in line order,
                                then "settled:commit|cancel" for an hour
                                (lua/stock_settle.lua)
]]

local STOCK_PENDING_TTL_MS = 120000
-- Bound of the d:<seq> marks of one loaded counter. Past it the counter is
-- dropped: the next use loads it from Postgres, which has every change
-- (always safe, orders/stock.hpp), and the marks go with it. The worker's
-- unload_all drops every counter far more often than that in practice.
local STOCK_APPLIED_MAX = 1000

local function stock_now()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Mirrors one committed change (seq, delta) into a counter. `epoch` is the
-- epoch of the hold that already counted it ('' when none did). Returns 1
-- when `a` changed, 2 when stored as pending, 0 when already counted.
local function stock_apply(key, seq, delta, epoch)
    local e = redis.call('HGET', key, 'e')
    if not e then
        redis.call('HSET', key, 'p:' .. seq, delta)
        if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, STOCK_PENDING_TTL_MS) end
        return 2
    end
    if e == epoch then return 0 end
    if tonumber(redis.call('HGET', key, 's')) >= tonumber(seq) then return 0 end
    -- Every committed change has its own books.stock_seq, so (book, seq)
    -- names it: applied once, a resend (a retried job, a repeated
    -- after-commit step) finds its mark. A watermark (s = max) would not
    -- do: changes arrive out of commit order from different processes.
    if redis.call('HSETNX', key, 'd:' .. seq, 1) == 0 then return 0 end
    redis.call('HINCRBY', key, 'a', delta)
    if redis.call('HLEN', key) > STOCK_APPLIED_MAX + 3 then redis.call('DEL', key) end
    return 1
end

-- {{bookId, qty, epoch}, ...} of a hold's value.
local function stock_hold_lines(value)
    local lines = {}
    for book, qty, epoch in string.gmatch(value, '(%d+):(%d+):([^,]*)') do
        lines[#lines + 1] = { book, tonumber(qty), epoch }
    end
    return lines
end
