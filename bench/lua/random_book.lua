-- GET /api/v1/books/:id over random ids in [BOOK_ID_MIN, BOOK_ID_MAX].
local lo = tonumber(os.getenv("BOOK_ID_MIN"))
local hi = tonumber(os.getenv("BOOK_ID_MAX"))
local seeded = false
request = function()
    if not seeded then
        math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
        seeded = true
    end
    return wrk.format("GET", "/api/v1/books/" .. math.random(lo, hi))
end
