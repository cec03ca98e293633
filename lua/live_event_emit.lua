--[[ live_event_emit: append one event to a room's stream and publish it
(layout and retention in lua/lib/live_events.lua).

KEYS: 1 {<room>}:events
ARGV: 1 event name, 2 data (JSON text)
Returns the event id. ]]
--#include live_events
return live_emit(KEYS[1], ARGV[1], ARGV[2])
