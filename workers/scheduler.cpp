#include "scheduler.hpp"

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/queue/producer.hpp"
#include "bazaar/queue/repeat.hpp"

namespace bazaar::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Resolution of job timeouts; everything else runs on longer periods.
constexpr auto kTick = milliseconds(100);
constexpr auto kMaintainEvery = milliseconds(1000);
constexpr auto kCronEvery = milliseconds(1000);

std::int64_t to_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Scheduler::Scheduler(const Config& config, std::vector<QueueRunner*> runners,
                     const std::vector<Repeatable>& repeatables, EventSink& events)
    : config_(config), runners_(std::move(runners)), events_(events) {
    for (const auto& r : repeatables) {
        bool served = false;
        for (auto* q : runners_) served = served || q->name() == r.queue;
        if (!served) continue;
        schedules_.push_back({&r, queue::CronExpression::parse(r.cron, r.timezone), 0});
    }
}

Scheduler::~Scheduler() {
    stop();
}

void Scheduler::start() {
    thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

void Scheduler::renew_leases(Redis& redis) {
    for (auto* q : runners_) {
        auto leases = q->leases();
        if (leases.empty()) continue;
        q->leases_lost(queue::extend(redis, q->keys(), config_.queue_lease_ms, leases));
    }
}

void Scheduler::maintain(Redis& redis) {
    // The admin API lists (and accepts) only registered queues; a flushed or
    // restarted Redis lost the set, so every worker keeps its own in it.
    RedisArgs add{"SADD", queue::kQueuesKey};
    for (auto* q : runners_) add.add(q->name());
    if (!runners_.empty()) redis.command(add);
    for (auto* q : runners_)
        events_.push(queue::maintain(redis, q->keys(), config_.queue_max_stalls));
}

void Scheduler::schedule_ticks(Redis& redis) {
    auto now = std::chrono::system_clock::now();
    for (auto& s : schedules_) {
        if (to_ms(s.cron.next_after(now)) == s.scheduled_tick_ms) continue;
        auto t =
            queue::enqueue_next_tick(redis, s.spec->queue, s.spec->key, s.cron, s.spec->job, now);
        if (t.added) {
            log::info("cron tick scheduled",
                      {{"queue", s.spec->queue}, {"schedule", s.spec->key}, {"tickMs", t.tick_ms}});
        }
        s.scheduled_tick_ms = t.tick_ms;
    }
}

void Scheduler::loop() {
    log::set_request_id("scheduler");
    Redis redis(redis_options(config_));
    const auto renew_every = milliseconds(config_.queue_lease_ms / 3);
    auto next_renew = Clock::now() + renew_every;
    auto next_maintain = Clock::now();
    auto next_cron = Clock::now();
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (cv_.wait_for(lock, kTick, [&] { return stopping_; })) return;
        }
        auto now = Clock::now();
        for (auto* q : runners_) q->expire_deadlines(now);
        try {
            if (now >= next_renew) {
                renew_leases(redis);
                next_renew = now + renew_every;
            }
            if (now >= next_maintain) {
                maintain(redis);
                next_maintain = now + kMaintainEvery;
            }
            if (now >= next_cron && !schedules_.empty()) {
                schedule_ticks(redis);
                next_cron = now + kCronEvery;
            }
            if (failing_) log::info("scheduler reconnected to Redis");
            failing_ = false;
        } catch (const std::exception& e) {
            if (!failing_)
                log::warn("scheduler cannot reach Redis; retrying", {{"error", e.what()}});
            failing_ = true;
        }
    }
}

}  // namespace bazaar::worker
