--[[ live_events: a room's event stream and its live channel (API.md section 6).
Included by scripts with `--#include live_events` (see load_scripts() in
shared/src/redis.cpp), so every producer writes events the same way.

Key layout of a room (rooms: u:<userId> for a user's sockets, role:admin for
every admin socket; one hash tag per room, so a script that changes a user's
cart and emits its event touches a single Redis Cluster slot):

  {<room>}:events  STREAM   one entry per event, fields: event <name>, data <JSON>;
                            the entry id is the event id ("1764500000000-0") and
                            its millisecond part is the event's `ts`
  {<room>}:live    channel  SPUBLISH (sharded pub/sub: same slot as the stream, so
                            only the room's node carries it) of the frame sent to sockets:
                            {"event":"<name>","id":"<entry id>","ts":"<RFC 3339>","data":<data>}

Retention (API.md: at least 1000 events / 24 h per user), bounded so that
one user cannot fill Redis (issue 18): XADD trims the stream to about the
newest LIVE_KEEP_ENTRIES entries (MAXLEN ~: whole listpack nodes only, so
never fewer than that, O(1) amortised), and an idle stream expires after
LIVE_IDLE_TTL_MS (2 days: a socket that was away for a day still resumes).
The 24 h hold for events beyond the newest 1000 is gone: that was a window
of up to 10,000 entries per user. Entries are bounded too: an event's data
above LIVE_MAX_DATA_BYTES is stored (and published) as its top-level scalar
members plus "partial": true, and the client reloads over REST (cart events
stay below it by themselves: lua/lib/cart.lua). So one user's stream is at
most ~1000 x 4 KiB, in practice (cart events of ~0.3-2 KiB) well under 2 MB.
bazaar-ws rebuilds replayed frames from the entry with the same rules
(shared/src/events/live_events.cpp); keep the two in step.
]]

local LIVE_KEEP_ENTRIES = 1000
local LIVE_IDLE_TTL_MS = 2 * 86400000
local LIVE_MAX_DATA_BYTES = 4096
-- (kept by the relayed-row set of lua/live_event_emit_once.lua)
local LIVE_KEEP_MS = 86400000

-- "2026-11-30T12:00:00.000Z" for a Unix time in ms (civil_from_days, H. Hinnant).
local function live_rfc3339(ms)
    local s = math.floor(ms / 1000)
    local days = math.floor(s / 86400)
    local rem = s - days * 86400
    local z = days + 719468
    local era = math.floor(z / 146097)
    local doe = z - era * 146097
    local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) -
                            math.floor(doe / 146096)) / 365)
    local y = yoe + era * 400
    local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
    local mp = math.floor((5 * doy + 2) / 153)
    local d = doy - math.floor((153 * mp + 2) / 5) + 1
    local m = mp < 10 and mp + 3 or mp - 9
    if m <= 2 then y = y + 1 end
    return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d,
                         math.floor(rem / 3600), math.floor((rem % 3600) / 60), rem % 60, ms % 1000)
end

local function live_id_ms(id)
    return tonumber(string.match(id, '^(%d+)'))
end

-- `data` itself while it is at most LIVE_MAX_DATA_BYTES, else its top-level
-- numbers, booleans and short strings (ids, status) with "partial": true.
local function live_bounded(data)
    if #data <= LIVE_MAX_DATA_BYTES then return data end
    local ok, value = pcall(cjson.decode, data)
    local out = {}
    if ok and type(value) == 'table' then
        for k, v in pairs(value) do
            local t = type(v)
            if type(k) == 'string' and #k <= 64 and
                (t == 'number' or t == 'boolean' or (t == 'string' and #v <= 256)) then
                out[k] = v
            end
        end
    end
    out.partial = true
    local short = cjson.encode(out)
    if #short > LIVE_MAX_DATA_BYTES then return '{"partial":true}' end
    return short
end

-- Appends the event to `stream` ("{<room>}:events"), publishes its frame on
-- the room's channel and returns the event id. `data` must be JSON text.
local function live_emit(stream, event, data)
    data = live_bounded(data)
    local id = redis.call('XADD', stream, 'MAXLEN', '~', LIVE_KEEP_ENTRIES, '*',
                          'event', event, 'data', data)
    local ms = live_id_ms(id)
    redis.call('PEXPIRE', stream, LIVE_IDLE_TTL_MS)
    local channel = string.sub(stream, 1, #stream - #':events') .. ':live'
    redis.call('SPUBLISH', channel, '{"event":' .. cjson.encode(event) .. ',"id":"' .. id ..
                                    '","ts":"' .. live_rfc3339(ms) .. '","data":' .. data .. '}')
    return id
end
