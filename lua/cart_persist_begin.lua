--[[ cart_persist_begin: a cart-persist job starts. Clears the pending-write
mark (pq) and returns the snapshot to write, in one step: every later change
sees no pending write and requests a new job (lua/lib/cart.lua).

(Line values: lua/lib/cart.lua.)

KEYS: 1 {u:<id>}:cart
Returns false when the cart is not in Redis (nothing newer than Postgres to
write), else {version, updatedAtMs, bookId1, quantity1, bookId2, ...}.
]]
local key = KEYS[1]
if redis.call('EXISTS', key) == 0 then return false end
redis.call('HDEL', key, 'pq')
local h = redis.call('HGETALL', key)
local out = { 0, 0 }
for i = 1, #h, 2 do
    local f = h[i]
    if f == 'v' then
        out[1] = tonumber(h[i + 1])
    elseif f == 'u' then
        out[2] = tonumber(h[i + 1])
    elseif string.sub(f, 1, 2) == 'i:' then
        out[#out + 1] = string.sub(f, 3)
        out[#out + 1] = tonumber(string.match(h[i + 1], '^(%d+)|'))
    end
end
return out
