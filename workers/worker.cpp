#include "worker.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "bazaar/cart/cart_service.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/process.hpp"
#include "bazaar/queue/keys.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/time.hpp"
#include "cart_flusher.hpp"
#include "event_sink.hpp"
#include "order_sweeper.hpp"
#include "outbox_relay.hpp"
#include "queue_runner.hpp"
#include "scheduler.hpp"

namespace bazaar::worker {

namespace {

using Clock = std::chrono::steady_clock;

// After the grace period: how long the finishers may still take to record
// the outcomes that came in.
constexpr auto kFlushTimeout = std::chrono::seconds(3);

std::string make_worker_id() {
    char host[64] = "host";
    gethostname(host, sizeof host - 1);
    return std::string(host) + "-" + std::to_string(getpid()) + "-" + random_hex(3);
}

std::vector<std::string> served_queues(const Config& config, const JobRegistry& registry) {
    auto all = registry.queues();
    if (config.worker_queues.empty()) return all;
    std::vector<std::string> out;
    for (const auto& q : config.worker_queues) {
        if (std::find(all.begin(), all.end(), q) != all.end())
            out.push_back(q);
        else
            log::warn("WORKER_QUEUES names a queue without handlers here; ignored", {{"queue", q}});
    }
    return out;
}

int concurrency_of(const Config& config, const JobRegistry& registry, const std::string& q) {
    if (auto it = config.worker_queue_concurrency.find(q);
        it != config.worker_queue_concurrency.end())
        return it->second;
    int registered = registry.options(q).concurrency;
    return registered > 0 ? registered : config.worker_threads;
}

}  // namespace

int run_worker(const Config& config, const JobRegistry& registry) {
    // Signals are taken by sigwait below only: block them before any thread starts.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    // Counters of the relay and the sweeps, added into /metrics by bazaar-fcgi.
    metrics::open_worker(config.var_dir + "/run");
    const std::string worker_id = make_worker_id();
    auto queues = served_queues(config, registry);

    EventSink events(config);
    events.start();
    Redis redis(redis_options(config));
    for (const auto& q : queues) {
        try {
            redis.command({"SADD", queue::kQueuesKey, q});
        } catch (const std::exception&) {
            // Redis may come up later; producers register the queue too.
        }
    }

    std::vector<std::unique_ptr<QueueRunner>> runners;
    std::vector<QueueRunner*> runner_ptrs;
    for (const auto& q : queues) {
        runners.push_back(
            std::make_unique<QueueRunner>(config, registry, q, concurrency_of(config, registry, q),
                                          registry.options(q).rate_limit, events, worker_id));
        runner_ptrs.push_back(runners.back().get());
    }
    // A schedule whose job has no handler linked here (a pipeline row whose
    // branch is not built in) would only enqueue failures: not scheduled.
    std::vector<Repeatable> repeatables;
    for (const auto& r : registry.repeatables()) {
        if (registry.find(r.queue, r.job.name))
            repeatables.push_back(r);
        else
            log::info("schedule without a handler here; not scheduled",
                      {{"queue", r.queue}, {"schedule", r.key}});
    }
    Scheduler scheduler(config, runner_ptrs, repeatables, events);
    OutboxRelay relay(config);
    OrderSweeper order_sweeper(config);
    // The carts' write-behind is the cart-persist queue's duty: a worker
    // that serves that queue flushes too.
    CartFlusher cart_flusher(config);
    const bool flushes =
        std::find(queues.begin(), queues.end(), cart::kPersistQueue) != queues.end();

    for (auto& r : runners) r->start();
    scheduler.start();
    if (config.worker_outbox_relay) relay.start();
    order_sweeper.start();
    if (flushes) cart_flusher.start();

    nlohmann::json served = nlohmann::json::array();
    for (const auto& q : queues)
        served.push_back({{"queue", q}, {"threads", concurrency_of(config, registry, q)}});
    log::info("bazaar-worker ready", {{"workerId", worker_id},
                                      {"queues", served},
                                      {"outboxRelay", config.worker_outbox_relay},
                                      {"cartFlusher", flushes}});

    int sig = 0;
    sigwait(&set, &sig);
    log::info("bazaar-worker stopping",
              {{"signal", sig}, {"graceMs", config.worker_shutdown_grace_ms}});

    for (auto& r : runners) r->stop_taking(redis);
    auto grace_end = Clock::now() + std::chrono::milliseconds(config.worker_shutdown_grace_ms);
    bool idle = true;
    for (auto& r : runners) idle = r->wait_idle(grace_end) && idle;
    if (!idle) {
        std::size_t released = 0;
        for (auto& r : runners) released += r->release_running(redis);
        log::warn("grace period over: running jobs given back to the queue", {{"jobs", released}});
    }
    relay.stop();
    order_sweeper.stop();
    cart_flusher.stop();
    bool joined = true;
    auto flush_end = Clock::now() + kFlushTimeout;
    for (auto& r : runners) joined = r->join(flush_end) && joined;
    scheduler.stop();
    events.stop();
    log::info("bazaar-worker stopped", {{"clean", joined}});
    if (!joined) {
        // Handlers still running were given back; their threads cannot be
        // joined or killed, so leave without running static destructors.
        std::fflush(nullptr);
        _exit(0);
    }
    return 0;
}

int worker_main(const char* process_name) {
    Config config = start_process(process_name);
    try {
        load_scripts(config.lua_dir);
        return run_worker(config, JobRegistry::global());
    } catch (const std::exception& e) {
        log::error("bazaar-worker failed to start", {{"error", e.what()}});
        return 1;
    }
}

}  // namespace bazaar::worker
