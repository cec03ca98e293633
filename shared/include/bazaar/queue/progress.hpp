// Progress of a running job in the `job:events` stream (API.md §7): an entry
// with state "progress" and a `progress` field holding a JSON object (what
// the job reports: rows read, written...). Long jobs (the catalog import)
// call it now and then so that operators watching the stream see them move.
// Best effort: the job's state is the record, so a Redis failure is logged,
// never thrown.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "bazaar/redis.hpp"

namespace bazaar::queue {

void append_progress(Redis& redis, std::string_view queue, std::string_view job_id,
                     std::string_view name, int attempt, const nlohmann::json& progress);

}  // namespace bazaar::queue
