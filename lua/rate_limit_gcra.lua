-- Rate limiting by GCRA (generic cell rate algorithm), one key per client.
--
--   rl:{<policy>:<identity>}  string  TAT, the "theoretical arrival time" in
--                                     ms on Redis's clock; PX = TAT - now, so
--                                     an idle client's key simply expires.
--
-- With `limit` requests per `window` ms, each request advances TAT by
-- T = window/limit; a request is allowed while TAT - now <= window - T, i.e.
-- a full burst of `limit` is allowed from idle and then one every T. Unlike a
-- fixed window there is no double burst at a window edge, and unlike a
-- sliding log it stores one number per client. The clock is Redis's TIME, so
-- every fcgi process on every host agrees on it.
--
-- KEYS[1] the client's key; ARGV[1] limit, ARGV[2] window in ms
-- Returns {allowed 0|1, remaining, reset_ms, retry_after_ms}
--   reset_ms: time until the client is back to a full quota
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = window / limit
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - window
if now < allow_at then
    local retry = math.ceil(allow_at - now)
    return {0, 0, math.ceil(tat - now), retry}
end
-- At least 1 ms: with a huge limit one request advances TAT by less than that.
redis.call('SET', KEYS[1], string.format('%d', math.ceil(new_tat)), 'PX', math.max(1, math.ceil(new_tat - now)))
local remaining = math.floor((now - allow_at) / interval)
return {1, remaining, math.ceil(new_tat - now), 0}
