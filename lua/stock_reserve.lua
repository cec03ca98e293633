--[[ stock_reserve: take every line of an order or none, and record the hold
(layout in lua/lib/stock.lua).

KEYS: 1 {stock}:holds, 2 {stock}:hold:<orderId>, 2+i {stock}:b:<bookId of line i>
ARGV: 1 orderId, 2 lease ms, 2+i quantity of line i (lines merged per book)
Returns {-1, i, ...}  lines whose counter is not loaded (load, retry)
        {0, i, available, ...}  lines that cannot be served (nothing taken)
        {1, holdValue}  taken
        {2, holdValue}  this order already holds its stock (a retry)
]]
--#include stock
local held = redis.call('GET', KEYS[2])
if held then return { 2, held } end
local n = #KEYS - 2
local missing = { -1 }
for i = 1, n do
    if redis.call('HEXISTS', KEYS[2 + i], 'e') == 0 then missing[#missing + 1] = i end
end
if #missing > 1 then return missing end
local short = { 0 }
local avail = {}
for i = 1, n do
    avail[i] = tonumber(redis.call('HGET', KEYS[2 + i], 'a'))
    local want = tonumber(ARGV[2 + i])
    if avail[i] < want then
        short[#short + 1] = i
        short[#short + 1] = math.max(avail[i], 0)
    end
end
if #short > 1 then return short end
local parts = {}
for i = 1, n do
    local key = KEYS[2 + i]
    redis.call('HINCRBY', key, 'a', -tonumber(ARGV[2 + i]))
    local book = string.match(key, ':b:(%d+)$')
    parts[i] = book .. ':' .. ARGV[2 + i] .. ':' .. redis.call('HGET', key, 'e')
end
local value = table.concat(parts, ',')
redis.call('SET', KEYS[2], value)
redis.call('ZADD', KEYS[1], stock_now() + tonumber(ARGV[2]), ARGV[1])
return { 1, value }
