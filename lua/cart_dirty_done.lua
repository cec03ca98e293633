--[[ cart_dirty_done: drop the dirty marks of carts whose durable write is
done, unless a change marked them again after the claim (its score is then
no longer the claim's: they stay for the next round).

KEYS: 1 {carts}:dirty
ARGV: 1 claimScore, 2.. userIds
Returns the number of marks dropped.
]]
local claim = tonumber(ARGV[1])
local dropped = 0
for i = 2, #ARGV do
    if tonumber(redis.call('ZSCORE', KEYS[1], ARGV[i]) or '-1') == claim then
        redis.call('ZREM', KEYS[1], ARGV[i])
        dropped = dropped + 1
    end
end
return dropped
