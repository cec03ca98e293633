// queue_bench: end-to-end cost of the Book Bazar job queue on a real Redis,
// with the real runner (workers/queue_runner) in-process, the same shape as
// bench/bullmq/bench.mjs so the two can be compared run for run:
//   1. throughput: add N trivial jobs (add_bulk), then process them all with
//      CONCURRENCY job threads; jobs/s from worker start to the last
//      completion recorded in Redis; Redis commands per job from INFO
//      commandstats (every command, those run inside scripts included);
//   2. latency: the worker idles blocked in Redis; one job is added every
//      1/RATE s (one add() per job, no batching) for LAT_SECONDS; add→start
//      latency per job, p50/p99/max.
// Prints one JSON object. Environment: REDIS_HOST/REDIS_PORT, JOBS (50000),
// CONCURRENCY (8), RATE (1000), LAT_SECONDS (10), BAZAAR_LUA_DIR.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "bazaar/config.hpp"
#include "bazaar/log.hpp"
#include "bazaar/queue/admin.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/time.hpp"
#include "event_sink.hpp"
#include "job_registry.hpp"
#include "queue_runner.hpp"

namespace {

using namespace bazaar;
using Clock = std::chrono::steady_clock;

long env_int(const char* name, long fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::atol(v) : fallback;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

struct CommandStats {
    std::int64_t total = 0;
    std::int64_t evalsha = 0;
};

CommandStats command_stats(Redis& r) {
    std::string info(r.command({"INFO", "commandstats"}).str());
    CommandStats s;
    std::size_t at = 0;
    while ((at = info.find("cmdstat_", at)) != std::string::npos) {
        auto colon = info.find(':', at);
        auto calls = info.find("calls=", colon);
        std::string cmd = info.substr(at + 8, colon - at - 8);
        std::int64_t n = std::stoll(info.substr(calls + 6));
        // The bench's own bookkeeping is not part of a job's cost.
        if (cmd != "info" && cmd != "config" && cmd != "ping") s.total += n;
        if (cmd == "evalsha") s.evalsha += n;
        at = colon;
    }
    return s;
}

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

int main() {
    Config config = Config::load();
    config.queue_lease_ms = 30000;
    log::init("queue_bench", log::Level::kError);
    load_scripts(config.lua_dir);
    const long jobs = env_int("JOBS", 50000);
    const int concurrency = static_cast<int>(env_int("CONCURRENCY", 8));
    const long rate = env_int("RATE", 1000);
    const long seconds = env_int("LAT_SECONDS", 10);
    RedisOptions redis_opts = redis_options(config);  // single or REDIS_CLUSTER
    redis_opts.timeout_ms = 5000;
    Redis redis(redis_opts);

    std::atomic<long> started{0};
    std::mutex lat_mu;
    std::vector<double> latencies_ms;
    worker::JobRegistry registry;
    registry.add_handler("bench-tp-" + std::to_string(getpid()), "*",
                         [&](worker::JobContext&) { started.fetch_add(1); });
    const std::string lat_queue = "bench-lat-" + std::to_string(getpid());
    registry.add_handler(lat_queue, "*", [&](worker::JobContext& job) {
        double ms = static_cast<double>(now_us() - job.data().at("t").get<std::int64_t>()) / 1000.0;
        std::lock_guard lock(lat_mu);
        latencies_ms.push_back(ms);
    });
    worker::EventSink events(config);
    events.start();

    /* ---- 1. throughput ---- */
    const std::string tp_queue = "bench-tp-" + std::to_string(getpid());
    redis.command({"CONFIG", "RESETSTAT"});
    std::vector<queue::NewJob> batch;
    auto add_start = Clock::now();
    for (long i = 0; i < jobs; ++i) {
        batch.push_back({"noop", {{"i", i}}, {}});
        if (batch.size() == 1000 || i + 1 == jobs) {
            queue::add_bulk(redis, tp_queue, batch);
            batch.clear();
        }
    }
    double add_s = std::chrono::duration<double>(Clock::now() - add_start).count();

    worker::QueueRunner tp(config, registry, tp_queue, concurrency, {}, events, "bench");
    auto run_start = Clock::now();
    tp.start();
    while (queue::counts(redis, tp_queue).completed < jobs)
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    double run_s = std::chrono::duration<double>(Clock::now() - run_start).count();
    // Let the event sink drain so its XADDs are counted.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    auto after_run = command_stats(redis);
    tp.stop_taking(redis);
    tp.join(Clock::now() + std::chrono::seconds(5));

    /* ---- 2. latency at RATE jobs/s ---- */
    worker::QueueRunner lat(config, registry, lat_queue, concurrency, {}, events, "bench");
    lat.start();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const long total = rate * seconds;
    auto period = std::chrono::nanoseconds(1000000000L / rate);
    auto next = Clock::now();
    for (long i = 0; i < total; ++i) {
        std::this_thread::sleep_until(next);
        queue::add(redis, lat_queue, {"ping", {{"t", now_us()}}, {}});
        next += period;
    }
    while (queue::counts(redis, lat_queue).completed < total)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    lat.stop_taking(redis);
    lat.join(Clock::now() + std::chrono::seconds(5));
    events.stop();

    std::printf(
        "{\"impl\":\"bazaar\",\"jobs\":%ld,\"concurrency\":%d,\"addPerS\":%.0f,"
        "\"processedPerS\":%.0f,\"commandsPerJob\":%.2f,\"scriptCallsPerJob\":%.3f,"
        "\"latency\":{\"offeredPerS\":%ld,\"jobs\":%zu,\"p50Ms\":%.3f,\"p99Ms\":%.3f,"
        "\"maxMs\":%.3f}}\n",
        jobs, concurrency, static_cast<double>(jobs) / add_s, static_cast<double>(jobs) / run_s,
        static_cast<double>(after_run.total) / static_cast<double>(jobs),
        static_cast<double>(after_run.evalsha) / static_cast<double>(jobs), rate,
        latencies_ms.size(), percentile(latencies_ms, 0.50), percentile(latencies_ms, 0.99),
        percentile(latencies_ms, 1.0));
    // Leave nothing behind in a shared Redis.
    for (const auto& q : {tp_queue, lat_queue}) {
        queue::QueueKeys k(q);
        for (;;) {
            Reply ids = redis.command({"ZRANGE", k.completed, "0", "999"});
            if (ids.size() == 0) break;
            RedisArgs del{"DEL"};
            RedisArgs rem{"ZREM", k.completed};
            for (std::size_t i = 0; i < ids.size(); ++i) {
                del.add(k.job(ids.at(i).str()));
                rem.add(ids.at(i).str());
            }
            redis.pipeline({del, rem});
        }
        for (const auto& key : {k.seq, k.rate, k.marker, k.meta}) redis.command({"DEL", key});
        redis.command({"SREM", queue::kQueuesKey, q});
    }
    return 0;
}
