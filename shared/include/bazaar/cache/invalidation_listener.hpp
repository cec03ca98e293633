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
//
// Redis Cluster (REDIS_CLUSTER set): tracking is per node, so
// NodeInvalidations keeps one such listener per master (BCAST PREFIX c: on
// each; a write's PING barrier runs on the written key's node, redis.hpp),
// sync() drains all of them, and the near cache is healthy only while every
// master's listener is: any one down or lagging flushes and bypasses it, as
// above. The node set comes from CLUSTER SLOTS, asked again every second by
// a supervisor thread; when the masters change (a failover promoted a
// replica, a master was added or removed) the listeners are rebuilt and the
// cache stays bypassed until every new one is subscribed. Known window: a
// master ADDED to a running cluster gets its first slots before the next
// map refresh (≤ 1 s) notices it; writes to it in between are not seen by
// this process's near cache (a failover or a reshard among known masters
// has no such window: the dead master's listener is broken, and every
// known master is tracked whatever slots it holds).
// Single mode: one listener, exactly as described above.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "bazaar/cache/near_cache.hpp"
#include "bazaar/cache/read_cache.hpp"
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
    // Set: the listener reports its health here instead of setting the
    // cache's (NodeInvalidations aggregates the listeners of every node).
    // Called with the listener's lock held; must not call back into it.
    std::function<void(bool healthy)> on_health{};
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
    void report_health_locked(bool healthy);

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

// The listeners of every node: one InvalidationListener in single mode
// (opts.redis.cluster empty), one per master in cluster mode (see above).
class NodeInvalidations {
  public:
    NodeInvalidations(ListenerOptions opts, NearCache& cache);
    ~NodeInvalidations();
    NodeInvalidations(const NodeInvalidations&) = delete;
    NodeInvalidations& operator=(const NodeInvalidations&) = delete;

    // Every listener's sync(); true when the near cache may answer now.
    bool sync() noexcept;
    // Subscriptions made so far, over every node's listener.
    std::uint64_t subscriptions() const;
    // The nodes listened to (1 in single mode).
    std::size_t nodes() const;

  private:
    struct Node {
        std::uint64_t id;
        std::string address;
        std::unique_ptr<InvalidationListener> listener;
    };
    void supervise() noexcept;
    void set_masters(const std::vector<std::pair<std::string, int>>& masters);
    void node_health(std::uint64_t id, bool healthy);
    void update_cache_health_locked();

    ListenerOptions opts_;
    NearCache& cache_;
    std::unique_ptr<InvalidationListener> single_;
    // Cluster mode.
    mutable std::shared_mutex nodes_mu_;  // sync() shares, a rebuild excludes
    std::vector<Node> nodes_;
    std::uint64_t retired_subscriptions_ = 0;
    std::mutex health_mu_;
    std::map<std::uint64_t, bool> health_;  // node id → its listener healthy
    std::uint64_t next_id_ = 1;
    std::vector<std::string> known_;  // addresses to ask for the map first
    std::atomic<bool> stop_{false};
    std::mutex stop_mu_;
    std::condition_variable stop_cv_;
    std::thread supervisor_;
};

// The process's near cache and its listeners, created on first use from the
// configuration (NEAR_CACHE...). nullptr when NEAR_CACHE=off or the read
// cache is disabled.
struct TrackedNearCache {
    TrackedNearCache(const Config& c);
    NearCache cache;
    NodeInvalidations listener;
};
TrackedNearCache* process_near_cache(const Config& c);

// The read cache's options for this process: enabled, stampede wait and
// the process's near cache, as configured. Every reader of a cached entry
// (the HTTP reads and the cart's book lookups) uses these, so a hit costs
// the same round trips whoever asks.
Options process_options(const Config& c);

}  // namespace bazaar::cache
