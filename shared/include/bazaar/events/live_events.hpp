// Live events (API.md section 6): what the REST handlers, the worker and the
// outbox relay emit, and what bazaar-ws delivers to sockets.
//
// An event belongs to a room: `u:<userId>` (every socket of that user) or
// `role:admin` (every admin socket). Each room has a Redis Stream
// `{<room>}:events`, whose entry ids are the event ids clients resume from,
// and a pub/sub channel `{<room>}:live` carrying each event's frame as it is
// appended. Both are written by one Lua function (lua/lib/live_events.lua)
// in the same script as the change that caused the event, or through the
// `live_event_emit` script; the layout and retention rules are documented
// there. The frame is the envelope of API.md:
//   {"event":"cart.item_updated","id":"<entry id>","ts":"<RFC 3339>","data":{...}}
// where `ts` is the millisecond part of the entry id.
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar {
class Redis;
}

namespace bazaar::live {

// Room names. `user_id` is a canonical (lower-case) UUID.
std::string user_room(std::string_view user_id);
inline constexpr std::string_view kAdminRoom = "role:admin";

// "{<room>}:events" and "{<room>}:live".
std::string stream_key(std::string_view room);
std::string channel(std::string_view room);

// Appends and publishes one event (one EVALSHA); returns its id. Throws
// Error(kUnavailable) when Redis is unreachable.
std::string emit(Redis& redis, std::string_view room, std::string_view event,
                 const nlohmann::json& data);

// The frame of a stream entry, built exactly as the Lua side builds it for
// the live channel (`data_json` is inserted verbatim). Used to replay.
std::string frame(std::string_view id, std::string_view event, std::string_view data_json);

// A stream entry id "<ms>-<seq>" split into its parts; nullopt when `id` is
// not one (clients send ids back in `resume`, so this parses outside bytes).
struct EventId {
    std::uint64_t ms = 0;
    std::uint64_t seq = 0;
    auto operator<=>(const EventId&) const = default;
};
std::optional<EventId> parse_event_id(std::string_view id);

}  // namespace bazaar::live
