#include "queue_runner.hpp"

#include <algorithm>
#include <cstdio>

#include "bazaar/backends.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"

namespace bazaar::worker {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Longest single block in Redis: bounds how stale a blocked fetcher's view of
// the delayed set can get if a wake-up were ever missed.
constexpr std::int64_t kMaxBlockMs = 5000;
constexpr auto kMaxBackoff = milliseconds(2000);

// Lease tokens are unique per job (a per-job counter), not per process.
std::string hold_key(const std::string& id, const std::string& token) {
    return id + '\n' + token;
}

}  // namespace

QueueRunner::QueueRunner(const Config& config, const JobRegistry& registry, std::string queue,
                         int concurrency, RateLimit rate_limit, EventSink& events,
                         std::string worker_id)
    : config_(config),
      registry_(registry),
      keys_(queue),
      concurrency_(concurrency),
      rate_limit_(rate_limit),
      events_(events),
      worker_id_(std::move(worker_id)),
      wake_key_(keys_.wake(worker_id_)) {}

QueueRunner::~QueueRunner() {
    for (auto* t : {&fetcher_, &finisher_})
        if (t->joinable()) t->detach();
    for (auto& t : job_threads_)
        if (t.joinable()) t.detach();
}

void QueueRunner::start() {
    for (int i = 0; i < concurrency_; ++i) job_threads_.emplace_back([this] { job_loop(); });
    finisher_ = std::thread([this] { finish_loop(); });
    fetcher_ = std::thread([this] { fetch_loop(); });
}

// Up to `concurrency` jobs wait ready beyond the running ones, so that a
// take fetches a useful batch and a freed thread starts its next job without
// a round trip. They are leased like running jobs; a job's timeout starts
// when it starts.
int QueueRunner::free_slots_locked() const {
    return 2 * concurrency_ - busy_threads_ - static_cast<int>(ready_.size());
}

/* ---- fetching ---- */

void QueueRunner::block_for_work(Redis& redis, std::int64_t wait_ms, bool marker) {
    std::int64_t ms = wait_ms < 0 ? kMaxBlockMs : std::clamp<std::int64_t>(wait_ms, 1, kMaxBlockMs);
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%.3f", static_cast<double>(ms) / 1000.0);
    RedisArgs cmd{"BZPOPMIN"};
    // Rate-limited: the marker would only wake us into the same limit; sleep
    // out the window on the private key alone.
    if (marker) cmd.add(keys_.marker);
    cmd.add(wake_key_).add(timeout);
    redis.blocking_command(cmd, static_cast<int>(ms));
}

void QueueRunner::fetch_loop() {
    log::set_request_id("fetch-" + keys_.name);
    Redis redis(redis_options(config_));
    auto backoff = milliseconds(100);
    bool failing = false;
    bool named = false;
    for (;;) {
        int slots;
        {
            std::unique_lock lock(mu_);
            fetch_cv_.wait(lock, [&] { return stop_taking_ || free_slots_locked() > 0; });
            if (stop_taking_) return;
            slots = free_slots_locked();
        }
        try {
            auto r = queue::take(redis, keys_, slots, config_.queue_lease_ms, worker_id_,
                                 rate_limit_.max, rate_limit_.duration_ms);
            events_.push(std::move(r.events));
            if (!named) {
                // Shows in CLIENT LIST which connection waits for which queue.
                redis.command({"CLIENT", "SETNAME", "fetch:" + keys_.name + ":" + worker_id_});
                named = true;
            }
            if (failing) log::info("queue fetcher reconnected", {{"queue", keys_.name}});
            failing = false;
            backoff = milliseconds(100);
            if (!r.jobs.empty()) {
                std::lock_guard lock(mu_);
                for (auto& j : r.jobs) {
                    Held h;
                    h.id = j.id;
                    h.token = j.token;
                    h.timeout_ms = j.timeout_ms > 0 ? j.timeout_ms : config_.queue_job_timeout_ms;
                    held_[hold_key(j.id, j.token)] = std::move(h);
                    ready_.push_back(std::move(j));
                    // One wake-up per job: waking every idle thread for one
                    // job costs the others a context switch for nothing.
                    job_cv_.notify_one();
                }
                continue;
            }
            block_for_work(redis, r.wait_ms, r.status != queue::TakeResult::Status::kLimited);
        } catch (const std::exception& e) {
            if (!failing) {
                log::warn("queue fetcher cannot reach Redis; retrying",
                          {{"queue", keys_.name}, {"error", e.what()}});
            }
            failing = true;
            named = false;
            std::unique_lock lock(mu_);
            fetch_cv_.wait_for(lock, backoff, [&] { return stop_taking_; });
            backoff = std::min(backoff * 2, kMaxBackoff);
        }
    }
}

/* ---- running ---- */

void QueueRunner::job_loop() {
    Backends backends(config_);
    for (;;) {
        queue::TakenJob job;
        std::shared_ptr<std::atomic<bool>> cancelled;
        Clock::time_point deadline;
        {
            std::unique_lock lock(mu_);
            job_cv_.wait(lock, [&] { return stop_jobs_ || !ready_.empty(); });
            if (ready_.empty()) break;
            job = std::move(ready_.front());
            ready_.pop_front();
            auto it = held_.find(hold_key(job.id, job.token));
            // Dropped while it waited here (its lease was lost, e.g. across a
            // Redis restart): the queue hands it out again; running it now
            // could only be refused, and held_.at() used to kill the process.
            if (it == held_.end()) continue;
            auto& h = it->second;
            h.running = true;
            h.deadline = Clock::now() + milliseconds(h.timeout_ms);
            cancelled = h.cancelled;
            deadline = h.deadline;
            ++busy_threads_;
        }
        run_one(backends, job, cancelled, deadline);
    }
    threads_done_.fetch_add(1);
    idle_cv_.notify_all();
}

void QueueRunner::run_one(Backends& backends, const queue::TakenJob& job,
                          const std::shared_ptr<std::atomic<bool>>& cancelled,
                          Clock::time_point deadline) {
    log::set_request_id("job-" + keys_.name + "-" + job.id);
    queue::Finish f{job.id, job.token, queue::Finish::Outcome::kComplete, ""};
    const JobHandler* handler = registry_.find(keys_.name, job.name);
    if (!handler) {
        f.outcome = queue::Finish::Outcome::kFailForGood;
        f.payload = "no handler for job '" + job.name + "' in queue '" + keys_.name + "'";
    } else {
        try {
            JobContext ctx(backends, keys_.name, job.id, job.name, nlohmann::json::parse(job.data),
                           job.attempt, deadline, *cancelled);
            (*handler)(ctx);
            if (!ctx.result().is_null()) f.payload = ctx.result().dump();
        } catch (const PermanentFailure& e) {
            f.outcome = queue::Finish::Outcome::kFailForGood;
            f.payload = e.what();
        } catch (const nlohmann::json::parse_error&) {
            f.outcome = queue::Finish::Outcome::kFailForGood;
            f.payload = "job data is not JSON";
        } catch (const std::exception& e) {
            f.outcome = queue::Finish::Outcome::kFail;
            // Shown to admins: no SQL DETAIL (row contents) in it.
            f.payload = *e.what() ? log::redact(e.what()) : "handler failed";
        } catch (...) {
            f.outcome = queue::Finish::Outcome::kFail;
            f.payload = "handler threw a non-standard exception";
        }
    }
    if (f.outcome != queue::Finish::Outcome::kComplete) {
        log::warn("job attempt failed", {{"queue", keys_.name},
                                         {"job", job.id},
                                         {"name", job.name},
                                         {"attempt", job.attempt},
                                         {"error", f.payload}});
    }
    {
        std::lock_guard lock(mu_);
        --busy_threads_;
        auto it = held_.find(hold_key(job.id, job.token));
        if (it != held_.end()) {
            it->second.running = false;
            if (!it->second.abandoned) {
                it->second.finishing = true;
                pending_.push_back(std::move(f));
                finish_cv_.notify_one();
            } else if (it->second.done || it->second.lost) {
                held_.erase(it);
            }
        }
        fetch_cv_.notify_one();
        idle_cv_.notify_all();
    }
    log::set_request_id("");
}

/* ---- finishing ---- */

void QueueRunner::finish_loop() {
    log::set_request_id("finish-" + keys_.name);
    Redis redis(redis_options(config_));
    auto backoff = milliseconds(100);
    std::vector<queue::Finish> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            finish_cv_.wait(lock, [&] { return stop_finisher_ || !pending_.empty(); });
            if (pending_.empty()) return;
            batch.swap(pending_);
            finishing_ += static_cast<int>(batch.size());
        }
        try {
            auto r = queue::finish(redis, keys_, batch, config_.queue_max_backoff_ms);
            events_.push(std::move(r.events));
            backoff = milliseconds(100);
            std::lock_guard lock(mu_);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (r.states[i] == "stale") {
                    log::warn("job outcome refused: the lease had moved on",
                              {{"queue", keys_.name}, {"job", batch[i].id}});
                }
                auto it = held_.find(hold_key(batch[i].id, batch[i].token));
                if (it == held_.end()) continue;
                if (it->second.running)
                    it->second.done = true;
                else
                    held_.erase(it);
            }
            finishing_ -= static_cast<int>(batch.size());
            idle_cv_.notify_all();
            batch.clear();
        } catch (const std::exception& e) {
            log::warn("job outcomes not recorded yet; retrying",
                      {{"queue", keys_.name}, {"jobs", batch.size()}, {"error", e.what()}});
            std::unique_lock lock(mu_);
            pending_.insert(pending_.begin(), std::make_move_iterator(batch.begin()),
                            std::make_move_iterator(batch.end()));
            finishing_ -= static_cast<int>(batch.size());
            batch.clear();
            if (stop_finisher_ && Clock::now() >= finish_deadline_) {
                log::error("giving up on job outcomes at shutdown; their leases will expire",
                           {{"queue", keys_.name}, {"jobs", pending_.size()}});
                pending_.clear();
                return;
            }
            finish_cv_.wait_for(lock, backoff);
            backoff = std::min(backoff * 2, kMaxBackoff);
        }
    }
}

/* ---- scheduler hooks ---- */

std::vector<queue::Lease> QueueRunner::leases() {
    std::lock_guard lock(mu_);
    std::vector<queue::Lease> out;
    out.reserve(held_.size());
    for (const auto& [key, h] : held_)
        // Outcomes on their way are renewed too: a Redis outage must not turn
        // them into stalls. If one turns out lost, it was finished meanwhile.
        if (!h.lost && !h.done) out.emplace_back(h.id, h.token);
    return out;
}

void QueueRunner::leases_lost(const std::vector<queue::Lease>& lost) {
    if (lost.empty()) return;
    std::lock_guard lock(mu_);
    for (const auto& [id, token] : lost) {
        auto it = held_.find(hold_key(id, token));
        if (it == held_.end() || it->second.finishing) continue;
        log::warn("job lease lost; another worker owns the job now",
                  {{"queue", keys_.name}, {"job", id}});
        it->second.lost = it->second.abandoned = true;
        it->second.cancelled->store(true);
        if (!it->second.running) {
            ready_.erase(std::remove_if(ready_.begin(), ready_.end(),
                                        [&](const queue::TakenJob& j) {
                                            return j.id == id && j.token == token;
                                        }),
                         ready_.end());
            held_.erase(it);
        }
    }
    fetch_cv_.notify_one();
    idle_cv_.notify_all();
}

void QueueRunner::expire_deadlines(Clock::time_point now) {
    std::lock_guard lock(mu_);
    for (auto& [key, h] : held_) {
        if (!h.running || h.abandoned || now < h.deadline) continue;
        h.abandoned = true;
        h.cancelled->store(true);
        log::warn("job timed out",
                  {{"queue", keys_.name}, {"job", h.id}, {"timeoutMs", h.timeout_ms}});
        h.finishing = true;
        pending_.push_back({h.id, h.token, queue::Finish::Outcome::kFail,
                            "timed out after " + std::to_string(h.timeout_ms) + " ms"});
        finish_cv_.notify_one();
    }
}

/* ---- shutdown ---- */

void QueueRunner::stop_taking(Redis& redis) {
    {
        std::lock_guard lock(mu_);
        stop_taking_ = true;
    }
    fetch_cv_.notify_all();
    try {
        redis.command({"ZADD", wake_key_, "0", "stop"});
    } catch (const std::exception& e) {
        // The fetcher's block ends by its own timeout (at most kMaxBlockMs).
        log::warn("cannot wake the queue fetcher", {{"queue", keys_.name}, {"error", e.what()}});
    }
    if (fetcher_.joinable()) fetcher_.join();

    std::vector<queue::Lease> unstarted;
    {
        std::lock_guard lock(mu_);
        for (const auto& j : ready_) unstarted.emplace_back(j.id, j.token);
        for (const auto& l : unstarted) held_.erase(hold_key(l.first, l.second));
        ready_.clear();
        stop_jobs_ = true;
    }
    job_cv_.notify_all();
    idle_cv_.notify_all();
    try {
        redis.command({"DEL", wake_key_});
        events_.push(queue::release(redis, keys_, unstarted));
    } catch (const std::exception& e) {
        log::warn("cannot give back unstarted jobs; they return when their lease expires",
                  {{"queue", keys_.name}, {"jobs", unstarted.size()}, {"error", e.what()}});
    }
}

bool QueueRunner::wait_idle(Clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return idle_cv_.wait_until(
        lock, deadline, [&] { return held_.empty() && pending_.empty() && finishing_ == 0; });
}

std::size_t QueueRunner::release_running(Redis& redis) {
    std::vector<queue::Lease> running;
    {
        std::lock_guard lock(mu_);
        for (auto& [key, h] : held_) {
            if (!h.running || h.abandoned) continue;
            running.emplace_back(h.id, h.token);
            h.abandoned = h.lost = true;
            h.cancelled->store(true);
        }
    }
    try {
        events_.push(queue::release(redis, keys_, running));
    } catch (const std::exception& e) {
        log::warn("cannot give back running jobs; they return when their lease expires",
                  {{"queue", keys_.name}, {"jobs", running.size()}, {"error", e.what()}});
    }
    return running.size();
}

bool QueueRunner::join(Clock::time_point deadline) {
    {
        std::lock_guard lock(mu_);
        stop_jobs_ = stop_finisher_ = true;
        finish_deadline_ = deadline;
    }
    job_cv_.notify_all();
    finish_cv_.notify_all();
    if (finisher_.joinable()) finisher_.join();
    {
        std::unique_lock lock(mu_);
        if (!idle_cv_.wait_until(lock, deadline, [&] {
                return threads_done_.load() == static_cast<int>(job_threads_.size());
            })) {
            return false;
        }
    }
    for (auto& t : job_threads_) t.join();
    job_threads_.clear();
    return true;
}

}  // namespace bazaar::worker
