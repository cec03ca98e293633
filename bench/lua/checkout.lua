-- One request per user of TOKENS_FILE (one access token per line), each
-- user used once: MODE=fill puts BOOK_ID_MIN + (user % BOOKS) in the cart,
-- MODE=checkout sends POST /api/v1/orders with a fresh Idempotency-Key.
-- Threads take interleaved slices (setup() numbers them); a thread whose
-- slice is used up sends GET /api/v1/ping, which the script reports apart
-- (size TOKENS so that it never happens within the run).
local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end

local tokens, idx, step, mode, lo, books
function init(args)
    tokens = {}
    for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
    step = tonumber(os.getenv("THREADS") or "2")
    idx = tid
    mode = os.getenv("MODE") or "checkout"
    lo = tonumber(os.getenv("BOOK_ID_MIN") or "1")
    books = tonumber(os.getenv("BOOKS") or "1")
end

exhausted = 0
request = function()
    local i = idx + 1
    idx = idx + step
    local token = tokens[i]
    if not token then
        exhausted = exhausted + 1
        return wrk.format("GET", "/api/v1/ping")
    end
    local auth = "Bearer " .. token
    if mode == "fill" then
        local body = '{"bookId":"' .. (lo + (i - 1) % books) .. '","quantity":1}'
        return wrk.format("POST", "/api/v1/cart/items",
                          {["Content-Type"] = "application/json", ["Authorization"] = auth}, body)
    end
    return wrk.format("POST", "/api/v1/orders",
                      {["Authorization"] = auth, ["Idempotency-Key"] = "bench-" .. tid .. "-" .. i}, nil)
end

statuses = {}
response = function(status)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
end
