#include "bazaar/events/live_events.hpp"

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "bazaar/redis.hpp"
#include "bazaar/time.hpp"

namespace bazaar::live {

std::string user_room(std::string_view user_id) {
    std::string room = "u:";
    room += user_id;
    return room;
}

std::string stream_key(std::string_view room) {
    std::string key = "{";
    key += room;
    key += "}:events";
    return key;
}

std::string channel(std::string_view room) {
    std::string key = "{";
    key += room;
    key += "}:live";
    return key;
}

std::string emit(Redis& redis, std::string_view room, std::string_view event,
                 const nlohmann::json& data) {
    Reply r =
        redis.eval_script("live_event_emit", {stream_key(room)}, {std::string(event), data.dump()});
    return std::string(r.str());
}

std::string frame(std::string_view id, std::string_view event, std::string_view data_json) {
    auto parsed = parse_event_id(id);
    std::int64_t ms = parsed ? static_cast<std::int64_t>(parsed->ms) : 0;
    std::string out = R"({"event":)";
    out += nlohmann::json(event).dump();
    out += R"(,"id":")";
    out += id;
    out += R"(","ts":")";
    out += format_rfc3339(SysTime(std::chrono::milliseconds(ms)));
    out += R"(","data":)";
    out += data_json;
    out += '}';
    return out;
}

std::optional<EventId> parse_event_id(std::string_view id) {
    auto dash = id.find('-');
    if (dash == std::string_view::npos || dash == 0 || dash + 1 == id.size()) return std::nullopt;
    EventId out;
    auto parse = [](std::string_view part, std::uint64_t& value) {
        if (part.size() > 20) return false;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        return ec == std::errc() && end == part.data() + part.size();
    };
    if (!parse(id.substr(0, dash), out.ms) || !parse(id.substr(dash + 1), out.seq))
        return std::nullopt;
    return out;
}

}  // namespace bazaar::live
