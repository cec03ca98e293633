-- Warms the cache: every id in [BOOK_ID_MIN, BOOK_ID_MAX] in turn, per thread.
local lo = tonumber(os.getenv("BOOK_ID_MIN"))
local hi = tonumber(os.getenv("BOOK_ID_MAX"))
local next_id = lo
request = function()
    local id = next_id
    next_id = next_id < hi and next_id + 1 or lo
    return wrk.format("GET", "/api/v1/books/" .. id)
end
