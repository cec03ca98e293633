--[[ stock_due: the holds whose lease has run out (layout in lua/lib/stock.lua),
judged by the clock of the Redis node that holds them, the clock
stock_reserve set the deadline by. A TIME sent on its own could be answered
by another node of a cluster (another host, another clock).

KEYS: 1 {stock}:holds
ARGV: 1 at most this many
Returns the order ids, earliest deadline first. ]]
--#include stock
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', stock_now(), 'LIMIT', 0, tonumber(ARGV[1]))
