// The worker's housekeeping thread, for every queue this process serves:
//   - renews the leases of the jobs held here (every third of QUEUE_LEASE_MS),
//   - fails running jobs past their timeout,
//   - once a second, promotes due delayed jobs and takes back jobs whose
//     lease ran out (their worker died) — safe with any number of processes
//     doing the same, each change is one atomic script,
//   - enqueues the next tick of each cron schedule (queue_add with a
//     per-schedule "last tick" guard, so each tick exists once however many
//     processes race for it).
// It never runs jobs. A Redis outage only delays it; it logs once per outage.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/queue/cron.hpp"
#include "event_sink.hpp"
#include "job_registry.hpp"
#include "queue_runner.hpp"

namespace bazaar::worker {

class Scheduler {
  public:
    // Throws Error(kValidationFailed) for a repeatable with a bad cron or zone.
    Scheduler(const Config& config, std::vector<QueueRunner*> runners,
              const std::vector<Repeatable>& repeatables, EventSink& events);
    ~Scheduler();

    void start();
    void stop();

  private:
    struct Schedule {
        const Repeatable* spec;
        queue::CronExpression cron;
        std::int64_t scheduled_tick_ms = 0;  // the last tick this process saw enqueued
    };

    void loop();
    void renew_leases(Redis& redis);
    void maintain(Redis& redis);
    void schedule_ticks(Redis& redis);

    const Config& config_;
    std::vector<QueueRunner*> runners_;
    std::vector<Schedule> schedules_;
    EventSink& events_;

    std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;
    bool failing_ = false;
    std::thread thread_;
};

}  // namespace bazaar::worker
