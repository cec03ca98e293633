// The producer side of the job queue (API.md §7), used by fcgi handlers and
// by jobs that enqueue further jobs. A queue is a set of Redis keys under one
// hash tag, `{q:<name>}`, changed only by the Lua scripts in lua/queue_*.lua.
//
// Two ways to add a job:
//   - add()/add_bulk(): straight to Redis (one script call, one round trip).
//   - add_in_transaction(): an outbox row written in the caller's Postgres
//     transaction; the worker's relay moves it into the queue after commit.
//     Use it when the job must exist if and only if the transaction commits
//     (a paid order's fulfillment, say).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::queue {

struct Backoff {
    enum class Type { kFixed, kExponential };
    Type type = Type::kExponential;
    std::int64_t delay_ms = 1000;
};

// Keep at most `count` finished jobs, none older than `age_s` (unset: no bound).
struct KeepPolicy {
    std::optional<std::int64_t> age_s{};
    std::optional<std::int64_t> count{};
};

struct JobOptions {
    int attempts = 3;
    Backoff backoff{};
    int priority = 0;  // lower runs first
    std::int64_t delay_ms = 0;
    std::string job_id{};  // empty: generated; an existing id makes add() a no-op
    KeepPolicy remove_on_complete{};
    KeepPolicy remove_on_fail{};
    std::int64_t timeout_ms = 0;            // 0: the worker's default
    std::vector<std::string> depends_on{};  // job ids (same queue) to wait for
};

struct NewJob {
    std::string name{};
    nlohmann::json data = nlohmann::json::object();
    JobOptions options{};
};

// Returns the job's id (the existing one when `job_id` deduplicated it).
// Throws Error(kUnavailable) when Redis is down, Error(kValidationFailed) for
// bad options.
std::string add(Redis& redis, std::string_view queue, const NewJob& job);
std::vector<std::string> add_bulk(Redis& redis, std::string_view queue,
                                  const std::vector<NewJob>& jobs);
// add() split in two, for a caller that sends the add in one round trip with
// its own commands (Redis::pipeline): the command (validates; a NOSCRIPT
// reply means "call add() instead"), then its reply, which appends the
// job:events entries and returns {job id, true when added, false when the
// id existed}.
RedisArgs add_command(Redis& redis, std::string_view queue, const NewJob& job);
std::pair<std::string, bool> read_add_reply(Redis& redis, std::string_view queue,
                                            const Reply& reply);
// Writes the job into the outbox within `tx`; see the header comment. The
// job gets a generated jobId ("ob-<uuid>") when it has none, so that the
// relay may deliver it twice without running it twice.
void add_in_transaction(pqxx::transaction_base& tx, std::string_view queue, const NewJob& job);

// The outbox topic of a queue's jobs ("job:<queue>") and the Postgres channel
// add_in_transaction() notifies at commit (the relay LISTENs on it).
std::string outbox_topic(std::string_view queue);
inline constexpr const char* kOutboxChannel = "bazaar_outbox_jobs";

// Enqueues the tick `tick_ms` of the cron schedule `schedule_key` as a job
// delayed until that tick, unless this or a later tick of the schedule was
// already enqueued (by any process): returns true when this call did it.
bool add_repeat_tick(Redis& redis, std::string_view queue, std::string_view schedule_key,
                     std::int64_t tick_ms, const NewJob& job);

}  // namespace bazaar::queue
