// The outbox relay: moves jobs written by add_in_transaction() from Postgres
// into their queues in Redis, then stamps the rows published.
//
// Order of the steps is what makes it safe: rows are locked (FOR UPDATE SKIP
// LOCKED, so several relays share the work), the jobs are added to Redis,
// and only then the stamp commits. A relay that dies in between leaves the
// rows unstamped; the next run adds them again, and the jobId that every
// outbox job carries turns that second add into a no-op. (The one way left to
// run a job twice: its earlier copy already completed and was removed by a
// removeOnComplete policy in that window.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::queue {

// Relays up to `limit` unpublished job rows in one transaction; returns how
// many it handled. A row the queue refuses (its job depends on a job that is
// gone, ...) does not hold back the others: it is added alone, its attempt
// and error are recorded, and after `max_attempts` refusals it is set aside
// (failed_at) and never selected again; a row that is not a valid job at all
// is set aside at once. Rows wait untouched while Postgres or Redis is down:
// then this throws Error(kUnavailable).
inline constexpr int kDefaultOutboxMaxAttempts = 5;
int relay_outbox(Pg& pg, Redis& redis, int limit, int max_attempts = kDefaultOutboxMaxAttempts);

// Rows set aside by the relay, newest first (admin API), and their number (/metrics).
struct OutboxFailure {
    std::int64_t id;
    std::string topic;
    int attempts;
    std::string error;
    std::string failed_at;   // RFC 3339
    std::string created_at;  // RFC 3339
    std::string payload;     // the job, JSON
};
struct OutboxFailures {
    std::int64_t total = 0;
    std::vector<OutboxFailure> rows;
};
OutboxFailures failed_outbox_rows(Pg& pg, int limit);

// Age in seconds of the oldest unrelayed row, job or live event (0 when
// none): /metrics.
double outbox_lag_seconds(Pg& pg);

}  // namespace bazaar::queue
