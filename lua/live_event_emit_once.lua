--[[ live_event_emit_once: append and publish one event relayed from the
Postgres outbox, at most once per outbox row (layout and retention of the
stream in lua/lib/live_events.lua). The relay is at least once (it may die
after this script and before it stamps the row); the set of relayed row ids
turns the second delivery into a no-op.

KEYS: 1 {<room>}:events, 2 {<room>}:relayed  ZSET outbox id → relay time (ms),
      entries older than 24 h trimmed; expires with the stream (2 days idle)
ARGV: 1 event name, 2 data (JSON text), 3 outbox row id
Returns the event id, or "" when this row was already relayed. ]]
--#include live_events
if redis.call('ZSCORE', KEYS[2], ARGV[3]) then return '' end
local id = live_emit(KEYS[1], ARGV[1], ARGV[2])
local ms = live_id_ms(id)
redis.call('ZADD', KEYS[2], ms, ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ms - LIVE_KEEP_MS)
redis.call('PEXPIRE', KEYS[2], LIVE_IDLE_TTL_MS)
return id
