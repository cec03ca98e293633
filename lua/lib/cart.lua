--[[ cart: the live cart of one user (API.md section 4), shared by the
lua/cart_*.lua scripts (included with `--#include cart`, after
`--#include live_events`, whose live_rfc3339 and live_emit it uses).

Key layout (every key of a user under the hash tag {u:<userId>}, the same
tag as the user's event stream, so a change and its event are one script on
one Redis Cluster slot):

  {u:<id>}:cart    HASH   v          version: +1 on every change, never reused
                          u          updatedAt, ms (Redis clock)
                          pq         ms when a durable write was requested and
                                     no snapshot has been read for it since
                                     (absent: none pending)
                          i:<bookId> one line: "<quantity>|<priceCents>|<currency>|<title
                                     as a JSON string>", so rendering a cart
                                     decodes nothing (cjson.decode per line
                                     doubled the cost of a change)
                   (PEXPIRE 30 days from the last change: an abandoned cart
                   leaves Redis; Postgres keeps it until the cleanup job)
  {u:<id>}:events  STREAM the user's live events (lua/lib/live_events.lua)

Titles, prices and currencies are written by the caller from the catalog
(Postgres through the read cache), never from the client. Lines are listed
in book id order. A missing cart hash means "not loaded" (Redis lost it or it
expired): change scripts then answer {-1} and the caller rebuilds it from
Postgres (lua/cart_restore.lua) before trying again; a user with no cart at
all gets an empty hash with v = 0 on first read, so that this costs one
Postgres read per user, not one per request.

Durable copy: a change sets pq unless a write is already pending (and not
older than CART_PERSIST_STALE_MS, after which a lost request is re-made) and
tells the caller whether it did ("need"): on a Redis Cluster the caller then
marks the cart in {carts}:dirty (on one Redis it marks it after every change,
in the same pipeline; bazaar/cart/cart_flush.hpp). The flusher clears pq
(lua/cart_persist_begin.lua) and reads the snapshot it writes in the same
script, so every change is either in that snapshot or sets pq and the mark
again.

Event data (one event per change, written in the same script):
  cart.item_updated {"bookId":"42","quantity":3,"cart":<cart>}
  cart.item_removed {"bookId":"42","cart":<cart>}
  cart.cleared      {"cart":<cart>}
where <cart> is the whole cart as GET /api/v1/cart returns it, so that a
second tab can render from the event alone, while that JSON is at most
CART_EVENT_CART_MAX_BYTES. A bigger cart would make every change store it
again in the user's stream (~1000 entries kept; a 100-line cart is ~10 KB),
so its events carry the change and the totals instead, and no "cart":
  cart.item_updated {"bookId":"42","quantity":3,"item":<the line as in items>,
                     "version":7,"totalCents":..,"currency":"USD",
                     "updatedAt":"..","itemCount":100,"partial":true}
  cart.item_removed the same without "quantity" and "item"
(cart.cleared always leaves an empty cart, which is small). "partial": true
tells the client to GET /api/v1/cart for the lines. Every cart event is so
at most ~2 KiB (a title is at most 300 characters), which bounds the stream.

Lines: at most CART_MAX_LINES distinct books (cart_set_quantity's ARGV[8]);
a new book beyond is refused inside the script, so concurrent adds cannot
pass the limit; a rebuild from Postgres loads at most that many
(cart_service.cpp, restore()).
]]

local CART_EVENT_CART_MAX_BYTES = 2048

local CART_IDLE_TTL_MS = 30 * 86400000
local CART_PERSIST_STALE_MS = 60000

local function cart_now()
    local t = redis.call('TIME')
    return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function cart_int(n)
    return string.format('%d', n)
end

-- One line's hash value (see the layout above).
local function cart_line(quantity, price, currency, title)
    return string.format('%d|%d|%s|%s', quantity, price, currency, cjson.encode(title))
end

-- quantity, price (numbers), currency, title (JSON text) of a line's value.
local function cart_line_parts(value)
    local q, p, c, t = string.match(value, '^(%d+)|(%d+)|(%u+)|(.*)$')
    return tonumber(q), tonumber(p), c, t
end

-- The cart hash as the API's JSON text (API.md section 4), and a summary of
-- it for cart_event_data(): version, total, currency, updatedAt (JSON text),
-- count (lines) and lines (bookId -> the line's JSON text).
local function cart_json(key)
    local h = redis.call('HGETALL', key)
    local v, u, lines = 0, 0, {}
    for i = 1, #h, 2 do
        local f = h[i]
        if f == 'v' then
            v = tonumber(h[i + 1])
        elseif f == 'u' then
            u = tonumber(h[i + 1])
        elseif string.sub(f, 1, 2) == 'i:' then
            lines[#lines + 1] = { string.sub(f, 3), h[i + 1] }
        end
    end
    table.sort(lines, function(a, b)
        if #a[1] ~= #b[1] then return #a[1] < #b[1] end
        return a[1] < b[1]
    end)
    local parts, by_book, total, currency = {}, {}, 0, 'USD'
    for k, line in ipairs(lines) do
        local q, p, c, t = cart_line_parts(line[2])
        total = total + p * q
        currency = c
        parts[k] = '{"bookId":"' .. line[1] .. '","title":' .. t .. ',"priceCents":' ..
                       cart_int(p) .. ',"quantity":' .. cart_int(q) .. '}'
        by_book[line[1]] = parts[k]
    end
    local updated = 'null'
    if u > 0 then updated = '"' .. live_rfc3339(u) .. '"' end
    local json = '{"items":[' .. table.concat(parts, ',') .. '],"totalCents":' .. cart_int(total) ..
                     ',"currency":' .. cjson.encode(currency) .. ',"version":' .. cart_int(v) ..
                     ',"updatedAt":' .. updated .. '}'
    return json, { version = v, total = total, currency = currency, updated = updated,
                   count = #lines, lines = by_book }
end

-- The data of a cart event (shapes in the header): `head` holds the change's
-- own members ('"bookId":"42","quantity":3', or ''), `cart` and `summary`
-- come from cart_json(), `book` names the line to include in the short form
-- (nil: none).
local function cart_event_data(head, cart, summary, book)
    local sep = head == '' and '' or ','
    if #cart <= CART_EVENT_CART_MAX_BYTES then return '{' .. head .. sep .. '"cart":' .. cart .. '}' end
    local item = ''
    if book and summary.lines[book] then item = ',"item":' .. summary.lines[book] end
    return '{' .. head .. item .. sep .. '"version":' .. cart_int(summary.version) ..
               ',"totalCents":' .. cart_int(summary.total) .. ',"currency":' ..
               cjson.encode(summary.currency) .. ',"updatedAt":' .. summary.updated ..
               ',"itemCount":' .. cart_int(summary.count) .. ',"partial":true}'
end

-- Bumps the version and the clock of a change; returns (version, need) where
-- need = 1 when the caller must mark the cart for its durable write.
local function cart_touch(key)
    local now = cart_now()
    local v = redis.call('HINCRBY', key, 'v', 1)
    redis.call('HSET', key, 'u', now)
    redis.call('PEXPIRE', key, CART_IDLE_TTL_MS)
    local pq = tonumber(redis.call('HGET', key, 'pq') or '')
    local need = 0
    if not pq or now - pq >= CART_PERSIST_STALE_MS then
        redis.call('HSET', key, 'pq', now)
        need = 1
    end
    return v, need
end
