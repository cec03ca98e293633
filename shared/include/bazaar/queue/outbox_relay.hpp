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
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::queue {

// Relays up to `limit` unpublished job rows in one transaction; returns how
// many it handled. Rows are set aside only for a fault of their own: a row
// the queue refuses (its job depends on a job that is gone, ...) does not
// hold back the others: it is added alone, its attempt and error are
// recorded, and after `max_attempts` refusals it is set aside (failed_at)
// and never selected again; a row that is not a valid job at all is set
// aside at once. An outage is nobody's row's fault: while Postgres or Redis
// is down or refusing (OOM under maxmemory, READONLY, LOADING, ... see
// redis.hpp) every row waits untouched, no attempt is counted, and this
// throws Error(kUnavailable); the caller backs off (next_outage_delay_ms)
// and tries again for as long as the outage lasts. Rows set aside are
// counted in metrics (kOutboxSetAside) and listed by failed_outbox_rows().
inline constexpr int kDefaultOutboxMaxAttempts = 5;
int relay_outbox(Pg& pg, Redis& redis, int limit, int max_attempts = kDefaultOutboxMaxAttempts);

// Whether a relay failure is an outage (Error(kUnavailable), or an outage
// reply text in a RedisError) rather than the row's fault.
bool is_outage(const std::exception& e);

// The relay's wait before its next try during an outage: 100 ms after the
// first failure, doubling, at most `cap_ms` (OUTBOX_RETRY_MAX_MS). `previous_ms`
// 0 means the last try succeeded.
inline constexpr int kFirstOutageDelayMs = 100;
int next_outage_delay_ms(int previous_ms, int cap_ms);

// Operators' re-drive of rows set aside: clears failed_at and attempts so
// the relay takes the row again (woken by NOTIFY). One row (`id`; 404 when
// there is none, 409 INVALID_TRANSITION when it is not set aside), or every
// row set aside (`id` empty), of one queue only when `queue` is given (a
// job row's queue; 400 for an invalid name). Returns the ids re-driven.
// A row that is still bad is set aside again by the relay.
struct RedriveResult {
    std::vector<std::int64_t> ids;
};
RedriveResult redrive_outbox(Pg& pg, std::optional<std::int64_t> id,
                             std::optional<std::string> queue = std::nullopt);

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
