// Keeps a NearCache coherent with Redis by server-assisted client-side
// caching, and decides when the near cache may answer at all.
//
// Mode: BCAST. One connection per process runs
//   CLIENT TRACKING on REDIRECT <its own id> BCAST PREFIX c:
//   SUBSCRIBE __redis__:invalidate
// so Redis sends it the name of every read-cache key ("c:{scope}...") that
// changes, expires or is evicted, and a nil payload on FLUSHALL/FLUSHDB.
// Why BCAST and not per-key tracking with REDIRECT from the readers: the fcgi
// process reads through one connection per thread, each reconnecting on its
// own; per-key tracking would have to be switched on again on every one of
// them after every reconnect (of it or of the listener, whose id changes),
// and a read on a connection whose tracking was lost would insert a body
// nothing will ever invalidate. With BCAST, tracking lives and dies with the
// one listener connection: it exists exactly while we are subscribed. The
// price is a message for every write of a c: key (generation bumps, stores
// of rebuilt bodies), which is one short message per write, not per read.
//
// Read-your-writes (API.md §3): a writer's extra round trip after its
// invalidation (cache::invalidate sends PING) makes Redis write the
// invalidation to this socket before the writer's reply. `sync()` drains the
// socket without blocking and applies everything on it before a request is
// answered from memory, so any write whose response was sent before this
// request arrived has been applied.
//
// Health: the listener thread sends PING every ping interval. A pong that
// is more than max lag late (Redis frozen, this process starved, Redis's
// output buffer to us backed up), a drain that finds a suspicious amount of
// data at once, or a dropped connection makes the cache unhealthy: flushed
// and bypassed until tracking is proven caught up again (the pong of a PING
// sent after the trouble, or a fresh subscription after a reconnect).
// Requests never block on the listener: when it is unhealthy they take the
// Redis path as before.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include "bazaar/cache/near_cache.hpp"
#include "bazaar/redis.hpp"

struct redisContext;

namespace bazaar {
struct Config;
}

namespace bazaar::cache {

struct ListenerOptions {
    RedisOptions redis;
    int ping_interval_ms = 100;
    int max_lag_ms = 250;
};

class InvalidationListener {
  public:
    InvalidationListener(ListenerOptions opts, NearCache& cache);
    ~InvalidationListener();  // stops and joins the thread
    InvalidationListener(const InvalidationListener&) = delete;
    InvalidationListener& operator=(const InvalidationListener&) = delete;

    // Applies every invalidation already on the socket; true when the near
    // cache may answer now. Never blocks on Redis; never throws.
    bool sync() noexcept;

    // Subscriptions made so far (1 after the first, +1 per reconnect).
    std::uint64_t subscriptions() const { return subscriptions_.load(); }

  private:
    using Clock = std::chrono::steady_clock;
    void run() noexcept;
    redisContext* open_tracked();  // blocking; outside the lock
    void drain_locked(Clock::time_point now);
    void apply_locked(void* reply);
    void check_lag_locked(Clock::time_point now);
    void send_ping_locked(Clock::time_point now);
    void mark_broken_locked(const char* why);
    void set_lagging_locked(bool lagging);

    ListenerOptions opts_;
    NearCache& cache_;
    std::mutex mu_;
    redisContext* ctx_ = nullptr;
    bool broken_ = false;   // the thread replaces ctx_
    bool lagging_ = false;  // until the pong of resync_ping_
    std::uint64_t pings_sent_ = 0;
    std::uint64_t pongs_ = 0;
    std::uint64_t resync_ping_ = 0;
    std::deque<Clock::time_point> outstanding_;  // send times of unanswered PINGs
    Clock::time_point last_ping_{};
    std::atomic<std::uint64_t> subscriptions_{0};
    std::atomic<bool> stop_{false};
    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    std::thread thread_;
};

// The process's near cache and its listener, created on first use from the
// configuration (NEAR_CACHE...). nullptr when NEAR_CACHE=off or the read
// cache is disabled.
struct TrackedNearCache {
    TrackedNearCache(const Config& c);
    NearCache cache;
    InvalidationListener listener;
};
TrackedNearCache* process_near_cache(const Config& c);

}  // namespace bazaar::cache
