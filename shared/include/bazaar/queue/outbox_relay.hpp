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

#include "bazaar/pg.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::queue {

// Relays up to `limit` unpublished job rows in one transaction; returns how
// many. Rows whose payload is not a valid job are stamped and logged (they
// could never be delivered and would block nothing but the log).
// Throws Error(kUnavailable) when Postgres or Redis is down.
int relay_outbox(Pg& pg, Redis& redis, int limit);

// Age in seconds of the oldest unrelayed job row (0 when none): /metrics.
double outbox_lag_seconds(Pg& pg);

}  // namespace bazaar::queue
