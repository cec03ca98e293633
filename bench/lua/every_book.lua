-- Warms the cache: every id in [BOOK_ID_MIN, BOOK_ID_MAX] in turn. Each of
-- wrk's threads (WARM_THREADS of them, default 2: pass the same -t) starts
-- at its own share of the range, so that together they cover it in one
-- pass instead of each reading the same first ids.
local lo = tonumber(os.getenv("BOOK_ID_MIN"))
local hi = tonumber(os.getenv("BOOK_ID_MAX"))
local threads = tonumber(os.getenv("WARM_THREADS") or "2")
local made = 0

function setup(thread)
    thread:set("start", lo + math.floor(made * (hi - lo + 1) / threads))
    made = made + 1
end

function init(args)
    next_id = start or lo
end

request = function()
    local id = next_id
    next_id = next_id < hi and next_id + 1 or lo
    return wrk.format("GET", "/api/v1/books/" .. id)
end
