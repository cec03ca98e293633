// Which routes a loop thread runs itself, and which go to the worker pool.
//
// A loop thread (server.cpp) serves many connections; while it runs a
// handler, every other connection on it waits. So it runs only routes whose
// work is a few microseconds of CPU plus at most one Redis round trip on
// loopback: ping, the metrics page, and the cache-first catalog reads (a hit
// is one pipelined Redis round trip; a miss adds one prepared Postgres
// statement under PG_TIMEOUT_MS, rare by design, and the reason the cache
// exists). Everything else goes to the pool: writes and transactions
// (several Postgres round trips, row locks that can wait), password hashing
// (its own gate, 0.1 s of CPU), uploads (megabytes of body read and image
// checks), admin listings and health (which probes both dependencies with
// their full timeouts). A pool hop costs one wake-up, small next to a
// Postgres transaction.
//
// A request whose body does not fit the loop's peek window goes to the pool
// whatever its route: its body is read with blocking reads under a deadline.
#pragma once

#include <string_view>
#include <vector>

namespace bazaar::http {

// "GET /api/v1/ping" etc. (Router::metric_names' spelling): the routes the
// loop threads run.
const std::vector<std::string_view>& loop_routes();
bool runs_on_loop(std::string_view route_name);

}  // namespace bazaar::http
