-- One request per user of TOKENS_FILE (one access token per line), each
-- user used once: MODE=fill puts BOOK_ID_MIN + (user % BOOKS) in the cart,
-- MODE=checkout sends POST /api/v1/orders with a fresh Idempotency-Key.
-- Threads take interleaved slices (setup() numbers them); a thread whose
-- slice is used up sends GET IDLE_PATH (/api/v1/ping), which the script
-- reports apart (size TOKENS so that it never happens within the run).
local counter = 0
local threads = {}
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
    threads[#threads + 1] = thread
end

local tokens, idx, step, mode, lo, books, idle
function init(args)
    tokens = {}
    for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
    step = tonumber(os.getenv("THREADS") or "2")
    idx = tid
    mode = os.getenv("MODE") or "checkout"
    lo = tonumber(os.getenv("BOOK_ID_MIN") or "1")
    books = tonumber(os.getenv("BOOKS") or "1")
    idle = os.getenv("IDLE_PATH") or "/api/v1/ping"
end

exhausted = 0
request = function()
    local i = idx + 1
    idx = idx + step
    local token = tokens[i]
    if not token then
        exhausted = exhausted + 1
        return wrk.format("GET", idle)
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

-- One line for the caller: answers by status, and the idle requests sent
-- after a thread ran out of buyers (a run sized too small).
function done(summary, latency, requests)
    local total, idle_sent = {}, 0
    for _, t in ipairs(threads) do
        idle_sent = idle_sent + (t:get("exhausted") or 0)
        for code, n in pairs(t:get("statuses") or {}) do total[code] = (total[code] or 0) + n end
    end
    local parts = {}
    for code, n in pairs(total) do parts[#parts + 1] = code .. "=" .. n end
    table.sort(parts)
    io.write(string.format("STATUSES %s idle=%d\n", table.concat(parts, " "), idle_sent))
end
