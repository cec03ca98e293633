#include "event_sink.hpp"

#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/redis.hpp"

namespace bazaar::worker {

namespace {
constexpr std::size_t kBatch = 2000;
constexpr auto kRetryAfter = std::chrono::milliseconds(500);
}  // namespace

EventSink::EventSink(const Config& config) : config_(config) {}

EventSink::~EventSink() {
    stop();
}

void EventSink::start() {
    thread_ = std::thread([this] { loop(); });
}

void EventSink::push(std::vector<queue::JobEvent>&& events) {
    if (events.empty()) return;
    {
        std::lock_guard lock(mu_);
        if (buffer_.size() + events.size() > kMaxBuffered) {
            std::size_t drop =
                std::min(buffer_.size(), buffer_.size() + events.size() - kMaxBuffered);
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(drop));
            log::warn("job events dropped: Redis unreachable for too long", {{"dropped", drop}});
        }
        for (auto& e : events) buffer_.push_back(std::move(e));
    }
    cv_.notify_one();
}

void EventSink::stop() {
    {
        std::lock_guard lock(mu_);
        if (!thread_.joinable()) return;
        stopping_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void EventSink::loop() {
    Redis redis(redis_options(config_));
    std::vector<queue::JobEvent> batch;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !buffer_.empty(); });
            if (buffer_.empty()) return;
            std::size_t n = std::min(kBatch, buffer_.size());
            batch.assign(std::make_move_iterator(buffer_.begin()),
                         std::make_move_iterator(buffer_.begin() + static_cast<std::ptrdiff_t>(n)));
            buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(n));
        }
        try {
            queue::append_events(redis, batch);
        } catch (const std::exception& e) {
            bool stopping;
            {
                std::lock_guard lock(mu_);
                stopping = stopping_;
                if (!stopping) buffer_.insert(buffer_.begin(), batch.begin(), batch.end());
            }
            if (stopping) {
                log::warn("job events lost at shutdown: Redis unreachable",
                          {{"events", batch.size()}, {"error", e.what()}});
                return;
            }
            std::unique_lock lock(mu_);
            cv_.wait_for(lock, kRetryAfter, [&] { return stopping_; });
        }
    }
}

}  // namespace bazaar::worker
