// The consumer side of the job queue: the calls a worker makes, one Lua
// script each (lua/queue_take, _extend, _finish, _release, _maintain). They
// return the state changes as JobEvents; appending them to job:events is the
// caller's job (a worker batches them on a separate connection).
//
// Every call throws Error(kUnavailable) when Redis is unreachable; the calls
// that change state are safe to repeat after such a failure: a take whose
// reply was lost leaves jobs under leases nobody renews (they come back as
// stalled), a repeated finish/extend/release is refused by the token check.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bazaar/queue/events.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::queue {

struct TakenJob {
    std::string id;
    std::string token;  // lease token: required to extend, finish or release
    std::string name;
    std::string data;  // JSON text
    int attempt = 1;
    std::int64_t timeout_ms = 0;  // 0: the worker's default
    std::int64_t added_at_ms = 0;
};

struct TakeResult {
    enum class Status { kOk, kEmpty, kPaused, kLimited };
    std::vector<TakenJob> jobs;
    std::vector<JobEvent> events;
    Status status = Status::kEmpty;
    // With no job taken: ms until work can exist (next delayed job, end of the
    // rate-limit window), -1 when unknown (wait for the marker).
    std::int64_t wait_ms = -1;
};

// Takes up to `max` jobs (priority order, FIFO within a priority) under leases
// of `lease_ms`. `rate_max` jobs per `rate_window_ms` across all workers (0: no limit).
TakeResult take(Redis& redis, const QueueKeys& k, int max, std::int64_t lease_ms,
                const std::string& token_prefix, int rate_max = 0, std::int64_t rate_window_ms = 0);

using Lease = std::pair<std::string, std::string>;  // job id, token

// Renews the leases; returns the ones that were lost (taken back or finished).
std::vector<Lease> extend(Redis& redis, const QueueKeys& k, std::int64_t lease_ms,
                          const std::vector<Lease>& leases);

struct Finish {
    enum class Outcome { kComplete, kFail, kFailForGood };
    std::string id;
    std::string token;
    Outcome outcome = Outcome::kComplete;
    std::string payload;  // return value JSON (complete) or error message
};

struct FinishResult {
    // Per entry: "completed", "delayed", "waiting", "failed", or "stale" when
    // the lease was no longer the caller's (nothing changed).
    std::vector<std::string> states;
    std::vector<JobEvent> events;
};

// A retry's backoff is capped at `max_backoff_ms` (QUEUE_MAX_BACKOFF_MS).
inline constexpr std::int64_t kDefaultMaxBackoffMs = 3600000;
FinishResult finish(Redis& redis, const QueueKeys& k, const std::vector<Finish>& entries,
                    std::int64_t max_backoff_ms = kDefaultMaxBackoffMs);

// Gives running jobs back to waiting (shutdown); attempts are not counted.
std::vector<JobEvent> release(Redis& redis, const QueueKeys& k, const std::vector<Lease>& leases);

// Promotes due delayed jobs and takes back jobs whose lease expired. Jobs that
// stalled more than `max_stalls` times are failed for good (through finish
// with their token). Safe to run from any number of processes at once.
std::vector<JobEvent> maintain(Redis& redis, const QueueKeys& k, int max_stalls, int limit = 1000);

}  // namespace bazaar::queue
