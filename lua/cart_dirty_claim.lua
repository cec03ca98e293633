--[[ cart_dirty_claim: take up to ARGV[1] carts due for their durable write
(bazaar/cart/cart_flush.hpp). A change marks its user with score 0 in the
dirty set; a claim moves the taken members to score `now + lease`, so a
flusher that dies mid-batch leaves them to the next claim after the lease,
and a change made meanwhile (score 0 again) is told apart from the claim by
cart_dirty_done.

KEYS: 1 {carts}:dirty
ARGV: 1 most members to take, 2 lease (ms)
Returns { claimScore, { userId, ... } }
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local claim = now + tonumber(ARGV[2])
local due = redis.call('ZRANGE', KEYS[1], '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[1]))
for _, user in ipairs(due) do redis.call('ZADD', KEYS[1], claim, user) end
return { claim, due }
