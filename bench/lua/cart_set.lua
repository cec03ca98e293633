-- POST /api/v1/cart/items rotating over the users of TOKENS_FILE (one access
-- token per line) and books in [BOOK_ID_MIN, BOOK_ID_MIN + BOOKS - 1], quantity 1..10.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local lo = tonumber(os.getenv("BOOK_ID_MIN"))
local books = tonumber(os.getenv("BOOKS") or "10")
local n = 0
local offset = nil
request = function()
    if not offset then
        math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
        offset = math.random(0, #tokens - 1)
    end
    n = n + 1
    local token = tokens[(n + offset) % #tokens + 1]
    local body = '{"bookId":"' .. (lo + math.random(0, books - 1)) .. '","quantity":' .. math.random(1, 10) .. '}'
    return wrk.format("POST", "/api/v1/cart/items",
                      {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
