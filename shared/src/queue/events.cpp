#include "bazaar/queue/events.hpp"

#include <chrono>

#include "bazaar/queue/keys.hpp"
#include "bazaar/time.hpp"

namespace bazaar::queue {

std::vector<JobEvent> parse_events(const Reply& flat, std::string_view queue) {
    std::vector<JobEvent> out;
    out.reserve(flat.size() / 6);
    for (std::size_t i = 0; i + 5 < flat.size(); i += 6) {
        JobEvent e;
        e.queue = queue;
        e.id = flat.at(i).str();
        e.name = flat.at(i + 1).str();
        e.state = flat.at(i + 2).str();
        e.attempt = static_cast<int>(flat.at(i + 3).integer());
        e.number = flat.at(i + 4).integer();
        e.error = flat.at(i + 5).str();
        out.push_back(std::move(e));
    }
    return out;
}

RedisArgs xadd_command(const JobEvent& e) {
    RedisArgs a{"XADD", kEventsKey, "MAXLEN", "~"};
    a.add(static_cast<std::int64_t>(kEventsMaxLen));
    a.add("*").add("queue").add(e.queue).add("jobId").add(e.id).add("name").add(e.name);
    a.add("state").add(e.state).add("attempt").add(static_cast<std::int64_t>(e.attempt));
    if (e.state == "completed" || (e.state == "failed" && e.attempt > 0)) {
        a.add("durationMs").add(e.number);
    } else if (e.state == "delayed" && e.number != 0) {
        a.add("dueMs").add(e.number);
    } else if (e.state == "stalled") {
        a.add("stalls").add(e.number);
    }
    if (!e.error.empty()) a.add("error").add(e.error);
    return a;
}

void append_events(Redis& redis, const std::vector<JobEvent>& events) {
    if (events.empty()) return;
    std::vector<RedisArgs> cmds;
    cmds.reserve(events.size());
    for (const auto& e : events) cmds.push_back(xadd_command(e));
    redis.pipeline(cmds);
}

namespace {

std::string ms_to_rfc3339(std::int64_t ms) {
    return format_rfc3339(SysTime(std::chrono::milliseconds(ms)));
}

}  // namespace

nlohmann::json read_events(Redis& redis, int limit) {
    Reply r = redis.command(RedisArgs{"XREVRANGE", kEventsKey, "+", "-", "COUNT"}.add(
        static_cast<std::int64_t>(limit)));
    auto out = nlohmann::json::array();
    for (std::size_t i = 0; i < r.size(); ++i) {
        Reply entry = r.at(i);
        std::string id(entry.at(0).str());
        nlohmann::json ev = {{"id", id}};
        // Stream ids start with the append time in ms.
        try {
            ev["at"] = ms_to_rfc3339(std::stoll(id.substr(0, id.find('-'))));
        } catch (const std::exception&) {
            ev["at"] = nullptr;
        }
        Reply fields = entry.at(1);
        for (std::size_t f = 0; f + 1 < fields.size(); f += 2) {
            std::string key(fields.at(f).str());
            std::string value(fields.at(f + 1).str());
            if (key == "attempt" || key == "durationMs" || key == "stalls") {
                ev[key] = std::stoll(value);
            } else if (key == "dueMs") {
                ev["dueAt"] = ms_to_rfc3339(std::stoll(value));
            } else if (key == "progress") {
                // A job's own JSON report (queue/progress.hpp).
                ev[key] = nlohmann::json::parse(value, nullptr, false);
                if (ev[key].is_discarded()) ev[key] = value;
            } else {
                ev[key] = value;
            }
        }
        out.push_back(std::move(ev));
    }
    return out;
}

}  // namespace bazaar::queue
