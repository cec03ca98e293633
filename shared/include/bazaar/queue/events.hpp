// Job state changes and the Redis stream `job:events` (API.md §7).
//
// The queue scripts return the changes they made (they may not write the
// stream themselves: it is in another Redis Cluster slot), and their callers
// append them here with one pipelined round trip, trimmed to about
// kEventsMaxLen entries. Consequence, by design: the job's state is changed
// atomically, its event follows a round trip later, and a process killed in
// between loses the event, never the state change.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::queue {

struct JobEvent {
    std::string queue;
    std::string id;
    std::string name;
    std::string state;  // waiting, delayed, active, completed, failed, stalled, ...
    int attempt = 0;
    // completed/failed: run time in ms; delayed: due time (ms since epoch,
    // Redis clock); stalled: the stall count.
    std::int64_t number = 0;
    std::string error;
};

// Parses the flat 6-tuples (id, name, state, attempt, number, error) that the
// queue scripts return.
std::vector<JobEvent> parse_events(const Reply& flat, std::string_view queue);

// One XADD per event in one round trip. Throws Error(kUnavailable).
void append_events(Redis& redis, const std::vector<JobEvent>& events);
RedisArgs xadd_command(const JobEvent& e);

// The newest `limit` entries, newest first, as API objects
// {id, at, queue, jobId, name, state, attempt, durationMs?, dueAt?, stalls?, error?}.
nlohmann::json read_events(Redis& redis, int limit);

}  // namespace bazaar::queue
