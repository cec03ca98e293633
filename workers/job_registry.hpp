// The job handler registry of bazaar-worker: which code runs a job, by queue
// and job name. A queue's file in workers/jobs/ registers itself with static
// objects, so adding a queue never touches the runner:
//
//   // workers/jobs/email.cpp
//   #include "../job_registry.hpp"
//   namespace {
//   using namespace bazaar::worker;
//   const QueueRegistration kEmail{"email", {.concurrency = 2,
//                                            .rate_limit = {.max = 50, .duration_ms = 1000}}};
//   const JobRegistration kWelcome{"email", "welcome", [](JobContext& job) {
//       send_welcome(job.backends(), job.data().at("userId").get<std::string>());
//   }};
//   }  // namespace
//
// and producers enqueue with bazaar::queue::add(redis, "email", {"welcome", {{"userId", id}}}).
//
// Contract of a handler: return normally to complete the job (optionally
// after job.set_result()), throw to fail this attempt (the queue retries it
// with backoff until its attempts are used up), throw PermanentFailure to fail
// it for good at once. Delivery is at-least-once: a handler can run again for
// the same job after a worker crash, so its effects must be idempotent (key
// them by job.id()). A handler runs on a job thread that owns its Postgres and
// Redis connections (job.backends()); it must never keep them for later.
//
// Must never: hold global state between jobs, or block forever — a job past
// its timeout is failed (and retried) by the runner, but its thread is only
// freed when the handler returns, so long handlers should poll
// job.cancelled().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/queue/producer.hpp"

namespace bazaar::worker {

// Thrown by a handler: fail the job now, without further attempts.
class PermanentFailure : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// Thrown by JobContext::throw_if_cancelled().
class JobCancelled : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class JobContext {
  public:
    JobContext(Backends& backends, std::string queue, std::string id, std::string name,
               nlohmann::json data, int attempt, std::chrono::steady_clock::time_point deadline,
               const std::atomic<bool>& cancelled)
        : backends_(backends),
          queue_(std::move(queue)),
          id_(std::move(id)),
          name_(std::move(name)),
          data_(std::move(data)),
          attempt_(attempt),
          deadline_(deadline),
          cancelled_(cancelled) {}

    Backends& backends() { return backends_; }
    const std::string& queue() const { return queue_; }
    const std::string& id() const { return id_; }
    const std::string& name() const { return name_; }
    const nlohmann::json& data() const { return data_; }
    // 1 on the first run, 2 on the first retry, ...
    int attempt() const { return attempt_; }
    std::chrono::steady_clock::time_point deadline() const { return deadline_; }

    // True once the job timed out, its lease was lost (another worker took it
    // back), or the worker is shutting down past its grace period. Whatever the
    // handler does afterwards, this run's outcome is discarded.
    bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
    void throw_if_cancelled() const {
        if (cancelled()) throw JobCancelled("job cancelled");
    }

    // Stored as the job's return value when it completes (API: job details).
    void set_result(nlohmann::json result) { result_ = std::move(result); }
    const nlohmann::json& result() const { return result_; }

  private:
    Backends& backends_;
    std::string queue_;
    std::string id_;
    std::string name_;
    nlohmann::json data_;
    int attempt_;
    std::chrono::steady_clock::time_point deadline_;
    const std::atomic<bool>& cancelled_;
    nlohmann::json result_;
};

using JobHandler = std::function<void(JobContext&)>;

// At most `max` jobs start per `duration_ms`, across every worker process.
struct RateLimit {
    int max = 0;  // 0: unlimited
    std::int64_t duration_ms = 0;
};

struct QueueOptions {
    int concurrency = 0;  // job threads per process; 0: WORKER_THREADS
    RateLimit rate_limit{};
};

// A job added on a cron schedule (5 fields, IANA zone). Each tick is enqueued
// exactly once however many worker processes run; ticks missed while no
// worker ran are skipped, not replayed.
struct Repeatable {
    std::string queue{};
    std::string key{};  // unique within the queue; names the schedule
    std::string cron{};
    std::string timezone = "UTC";
    queue::NewJob job{};
};

class JobRegistry {
  public:
    // The process-wide registry that the static registrations fill.
    static JobRegistry& global();

    void add_queue(std::string queue, QueueOptions options);
    // `name` "*" handles every job name of the queue without its own handler.
    void add_handler(std::string queue, std::string name, JobHandler handler);
    void add_repeatable(Repeatable r);

    // Null when neither the name nor "*" is registered for the queue.
    const JobHandler* find(std::string_view queue, std::string_view name) const;
    // Every queue with a handler, sorted.
    std::vector<std::string> queues() const;
    QueueOptions options(std::string_view queue) const;
    const std::vector<Repeatable>& repeatables() const { return repeatables_; }

  private:
    std::map<std::string, QueueOptions, std::less<>> options_;
    std::map<std::string, std::map<std::string, JobHandler, std::less<>>, std::less<>> handlers_;
    std::vector<Repeatable> repeatables_;
};

/* ---- static registration, one object per line in workers/jobs/<queue>.cpp ---- */

struct QueueRegistration {
    QueueRegistration(std::string queue, QueueOptions options = {}) {
        JobRegistry::global().add_queue(std::move(queue), options);
    }
};

struct JobRegistration {
    JobRegistration(std::string queue, std::string name, JobHandler handler) {
        JobRegistry::global().add_handler(std::move(queue), std::move(name), std::move(handler));
    }
};

struct RepeatRegistration {
    explicit RepeatRegistration(Repeatable r) {
        JobRegistry::global().add_repeatable(std::move(r));
    }
};

}  // namespace bazaar::worker
