// Process-shared request metrics for Prometheus.
//
// nginx spreads requests over several bazaar-fcgi processes, and a scrape of
// /metrics lands on one of them, so the counters live in one shared-memory
// file (var/run/metrics.shm) that every fcgi process on the host maps. The
// hot path is a few relaxed atomic adds: no lock, no syscall, no Redis.
//
// Layout (all uint64, fixed at open from the route table):
//   header | requests[route][status slot] | latency buckets[route][bucket]
//          | latency sum µs[route] | named counters[kCounterCount]
// The header holds a hash of the route table and counter names, and the hash
// is also part of the file name (metrics.<hash>.shm): a new binary with
// another layout maps a file of its own instead of resizing the one an older
// process still maps (which would kill that process with SIGBUS). A file is
// never truncated; files of layouts no process uses any more are left behind
// (a few KiB each, removed with var/run). bazaar-worker counts into a file of
// its own beside it (open_worker), added in at render.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar::metrics {

enum class Counter : int {
    kCacheHit = 0,
    kCacheMiss,
    kCacheBypass,
    kRateLimited,
    kCacheNearHit,
    kRedisWaitShort,
    kOutboxOutageRetries,  // bazaar-worker: the relay backed off an outage
    kOutboxSetAside,       // bazaar-worker: an outbox row set aside for its own fault
    kSweepItemFailures,    // bazaar-worker: one item of a sweep failed, the rest went on
    kPaymentMismatches,    // a payment event whose amount/currency/order differ (alert)
    kRefundFailures,       // a refund the provider failed: REFUND_FAILED (alert)
    kCartFlushWrites,      // bazaar-worker: carts written to Postgres by the flusher
    kCartFlushHanded,      // bazaar-worker: carts Postgres refused, handed to a job
    kCount,                // keep last
};

// Maps the file at `path` (created if missing), or private memory when `path`
// is empty (tests, single process). Throws std::runtime_error on failure.
void open(const std::string& path, const std::vector<std::string>& route_names);
// bazaar-worker: its named counters in `run_dir`/metrics-worker.<hash>.shm,
// shared by every worker process (no routes). An fcgi process that opened
// `run_dir`/metrics.shm adds them to its own in render(), so /metrics shows
// the whole host's count whatever process counted it.
void open_worker(const std::string& run_dir);

void observe_request(std::size_t route, int status, double seconds);
void inc(Counter c, std::uint64_t n = 1);
std::uint64_t counter_value(Counter c);
std::uint64_t request_count(std::size_t route, int status);

// Prometheus text exposition of everything above.
std::string render();

// Bucket bounds in seconds (the last bucket is +Inf).
const std::vector<double>& latency_buckets();

}  // namespace bazaar::metrics
