// One queue served by one worker process: a fetcher thread, N job threads
// and a finisher thread around a small in-process hand-off.
//
//   fetcher ──take(free slots)──▶ ready ──▶ job thread ×N ──▶ pending ──▶ finisher
//      ▲  BZPOPMIN {q}:marker + {q}:wake:<worker>             (batched queue_finish)
//      └───────────── a slot frees when a handler returns ◀────┘
//
// Why this shape: the fetcher takes as many jobs as there are free slots in
// one script call and the finisher ends every attempt that finished meanwhile
// in one call, so under load the Redis cost per job shrinks to a fraction of
// a round trip; when idle the fetcher blocks in Redis (no polling) and is
// woken by the first add. The wake key is private to this process: shutdown
// uses it to unblock the fetcher without waking anybody else.
//
// Leases: every job held here (ready, running, or waiting to be finished) is
// leased in Redis; the Scheduler renews leases() and reports lost ones. A job
// that times out or loses its lease is "abandoned": its outcome is decided
// elsewhere (the timeout fails it here at once; a lost lease belongs to
// another worker) and whatever its handler returns later is dropped. Its
// thread stays busy until the handler returns: C++ cannot kill a thread, and
// a slot must not be reused while its handler still runs.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bazaar/config.hpp"
#include "bazaar/queue/consumer.hpp"
#include "event_sink.hpp"
#include "job_registry.hpp"

namespace bazaar::worker {

class QueueRunner {
  public:
    QueueRunner(const Config& config, const JobRegistry& registry, std::string queue,
                int concurrency, RateLimit rate_limit, EventSink& events, std::string worker_id);
    ~QueueRunner();

    const std::string& name() const { return keys_.name; }
    const queue::QueueKeys& keys() const { return keys_; }

    void start();
    // Stops taking jobs and gives back the ones taken but not started.
    // `redis` is the caller's connection (used for the wake-up and release).
    void stop_taking(Redis& redis);
    // True once no job runs and every outcome reached Redis, or at `deadline`.
    bool wait_idle(std::chrono::steady_clock::time_point deadline);
    // Shutdown past the grace period: gives the still running jobs back to
    // the queue and cancels their handlers. Returns how many.
    std::size_t release_running(Redis& redis);
    // Stops the finisher after a last flush, and joins every thread whose
    // handler returned. Returns false when a handler is still running.
    bool join(std::chrono::steady_clock::time_point deadline);

    // For the Scheduler: the leases held here, lost leases, and deadlines.
    std::vector<queue::Lease> leases();
    void leases_lost(const std::vector<queue::Lease>& lost);
    void expire_deadlines(std::chrono::steady_clock::time_point now);

  private:
    struct Held {
        std::string id;
        std::string token;
        std::chrono::steady_clock::time_point deadline;
        std::int64_t timeout_ms = 0;
        bool running = false;
        bool abandoned = false;  // its outcome is decided elsewhere: drop the handler's
        bool lost = false;       // the lease is no longer ours: stop renewing it
        bool finishing = false;  // its outcome is on the way to Redis
        bool done = false;       // its outcome reached Redis
        std::shared_ptr<std::atomic<bool>> cancelled = std::make_shared<std::atomic<bool>>(false);
    };

    void fetch_loop();
    void job_loop();
    void finish_loop();
    void run_one(Backends& backends, const queue::TakenJob& job,
                 const std::shared_ptr<std::atomic<bool>>& cancelled,
                 std::chrono::steady_clock::time_point deadline);
    int free_slots_locked() const;
    void block_for_work(Redis& redis, std::int64_t wait_ms, bool marker);

    const Config& config_;
    const JobRegistry& registry_;
    queue::QueueKeys keys_;
    const int concurrency_;
    const RateLimit rate_limit_;
    EventSink& events_;
    const std::string worker_id_;
    const std::string wake_key_;

    std::mutex mu_;
    std::condition_variable fetch_cv_;   // a slot freed, or stopping
    std::condition_variable job_cv_;     // a job is ready, or stopping
    std::condition_variable finish_cv_;  // an outcome is pending, or stopping
    std::condition_variable idle_cv_;    // held_ changed
    std::deque<queue::TakenJob> ready_;
    // Every job taken and not yet finished in Redis, by job id + lease token:
    // the same id can be held twice for a moment (an attempt's outcome is in
    // Redis, the next attempt is already taken before the finisher saw the
    // reply), and tokens are only unique per job.
    std::map<std::string, Held> held_;
    std::vector<queue::Finish> pending_;
    int busy_threads_ = 0;  // handlers running, abandoned ones included
    bool stop_taking_ = false;
    bool stop_jobs_ = false;
    bool stop_finisher_ = false;
    int finishing_ = 0;  // outcomes sent to Redis, reply not yet in
    std::chrono::steady_clock::time_point finish_deadline_{};

    std::thread fetcher_;
    std::thread finisher_;
    std::vector<std::thread> job_threads_;
    std::atomic<int> threads_done_{0};
};

}  // namespace bazaar::worker
