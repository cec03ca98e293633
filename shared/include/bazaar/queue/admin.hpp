// Inspection and operator actions on queues: what /api/v1/admin/queues*, the
// `bazaar queue` command and /metrics use. Reads are plain Redis reads (a
// listing may see a job move while it is read); every change is one Lua
// script and appends its events to job:events.
//
// Errors: an unknown queue is Error(kNotFound); a bad state, limit or cursor
// is Error(kValidationFailed); Redis down is Error(kUnavailable).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::queue {

struct QueueCounts {
    std::int64_t waiting = 0, active = 0, delayed = 0, completed = 0, failed = 0,
                 waiting_children = 0;
    bool paused = false;
    std::int64_t completed_last_minute = 0, failed_last_minute = 0;
    // Since the queue exists; "failed" counts every failed attempt.
    std::int64_t completed_total = 0, failed_total = 0;
};

// Every queue a producer or worker has used, sorted.
std::vector<std::string> known_queues(Redis& redis);
// Throws Error(kNotFound) unless `queue` is known.
void require_queue(Redis& redis, std::string_view queue);

QueueCounts counts(Redis& redis, std::string_view queue);
// {name, waiting, active, delayed, completed, failed, paused, total,
//  processedLastMinute, failedLastMinute, waitingChildren}
nlohmann::json counts_json(std::string_view queue, const QueueCounts& c);

// States accepted by list_jobs(): waiting, active, delayed, completed, failed,
// waiting-children.
bool is_job_state(std::string_view state);

struct JobPage {
    nlohmann::json items = nlohmann::json::array();
    std::optional<std::string> next_cursor;
};
// Completed and failed jobs newest first; waiting in run order; delayed by
// due time; active by lease expiry. The cursor is opaque (a forged one is a
// validation error).
JobPage list_jobs(Redis& redis, std::string_view queue, std::string_view state, int limit,
                  std::optional<std::string_view> cursor);

// The job with attempts, last error, timestamps; nullopt when absent.
std::optional<nlohmann::json> get_job(Redis& redis, std::string_view queue, std::string_view id);

// A failed job back to waiting. kNotFound when absent, kInvalidTransition
// when it is not failed.
void retry_job(Redis& redis, std::string_view queue, std::string_view id);
// Every failed job back to waiting; returns how many.
std::int64_t retry_failed(Redis& redis, std::string_view queue);

// Returns true when the state changed.
bool set_paused(Redis& redis, std::string_view queue, bool paused);

// Deletes jobs of `state` (completed, failed, waiting, delayed) finished (or,
// for waiting/delayed, added) at least `older_than_s` ago; returns how many.
std::int64_t clean(Redis& redis, std::string_view queue, std::string_view state,
                   std::int64_t older_than_s);
// Deletes every waiting and delayed job; returns how many.
std::int64_t drain(Redis& redis, std::string_view queue);

}  // namespace bazaar::queue
