#include "bazaar/cache/invalidation_listener.hpp"

#include <hiredis.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

#include "bazaar/config.hpp"
#include "bazaar/log.hpp"
#include "bazaar/redis_cluster_map.hpp"

namespace bazaar::cache {

namespace {

// One drain finding this much at once means messages were piling up: Redis
// may hold more for us in its output buffer than the socket shows, so the
// cache is flushed and bypassed until a fresh PING comes back.
constexpr std::size_t kLagBytes = 64 * 1024;
constexpr auto kReconnectBackoff = std::chrono::milliseconds(200);
constexpr char kPing[] = "*1\r\n$4\r\nPING\r\n";

std::string_view text(const redisReply* r) {
    if (!r || !r->str) return {};
    return {r->str, r->len};
}

}  // namespace

InvalidationListener::InvalidationListener(ListenerOptions opts, NearCache& cache)
    : opts_(std::move(opts)), cache_(cache) {
    thread_ = std::thread([this] { run(); });
}

InvalidationListener::~InvalidationListener() {
    {
        std::lock_guard lock(stop_mu_);
        stop_ = true;
    }
    stop_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(mu_);
    report_health_locked(false);
    if (ctx_) redisFree(ctx_);
    ctx_ = nullptr;
}

redisContext* InvalidationListener::open_tracked() {
    timeval tv{opts_.redis.timeout_ms / 1000, (opts_.redis.timeout_ms % 1000) * 1000};
    redisContext* c = opts_.redis.socket.empty()
                          ? redisConnectWithTimeout(opts_.redis.host.c_str(), opts_.redis.port, tv)
                          : redisConnectUnixWithTimeout(opts_.redis.socket.c_str(), tv);
    auto fail = [&](std::string why) -> redisContext* {
        log::warn("near cache: cannot subscribe to invalidations", {{"error", why}});
        if (c) redisFree(c);
        return nullptr;
    };
    if (!c) return fail("out of memory");
    if (c->err) return fail(c->errstr);
    redisSetTimeout(c, tv);
    // TCP only: on a unix socket it fails (EOPNOTSUPP) and poisons the context.
    if (opts_.redis.socket.empty()) redisEnableKeepAlive(c);
    auto* id = static_cast<redisReply*>(redisCommand(c, "CLIENT ID"));
    if (!id || id->type != REDIS_REPLY_INTEGER) {
        std::string why = id ? std::string(text(id)) : std::string(c->errstr);
        if (id) freeReplyObject(id);
        return fail("CLIENT ID: " + why);
    }
    long long my_id = id->integer;
    freeReplyObject(id);
    // Redirected to itself: tracking exists exactly as long as this
    // connection, which is subscribed before any message can matter.
    auto* tr = static_cast<redisReply*>(
        redisCommand(c, "CLIENT TRACKING on REDIRECT %lld BCAST PREFIX c:", my_id));
    bool ok = tr && tr->type == REDIS_REPLY_STATUS && text(tr) == "OK";
    std::string why = tr ? std::string(text(tr)) : std::string(c->errstr);
    if (tr) freeReplyObject(tr);
    if (!ok) return fail("CLIENT TRACKING: " + why);
    auto* sub = static_cast<redisReply*>(redisCommand(c, "SUBSCRIBE __redis__:invalidate"));
    ok = sub && sub->type == REDIS_REPLY_ARRAY && sub->elements == 3 &&
         text(sub->element[0]) == "subscribe";
    why = sub ? std::string(text(sub)) : std::string(c->errstr);
    if (sub) freeReplyObject(sub);
    if (!ok) return fail("SUBSCRIBE: " + why);
    // A Redis still loading its data accepts the subscription but answers
    // every PING with -LOADING: not caught up, so not subscribed yet.
    auto* pong = static_cast<redisReply*>(redisCommand(c, "PING"));
    ok = pong && pong->type == REDIS_REPLY_ARRAY && pong->elements >= 1 &&
         text(pong->element[0]) == "pong";
    why = pong ? std::string(text(pong)) : std::string(c->errstr);
    if (pong) freeReplyObject(pong);
    if (!ok) return fail("PING: " + why);
    return c;
}

void InvalidationListener::report_health_locked(bool healthy) {
    if (opts_.on_health)
        opts_.on_health(healthy);
    else
        cache_.set_healthy(healthy);
}

void InvalidationListener::mark_broken_locked(const char* why) {
    if (!broken_)
        log::warn(
            "near cache: invalidation connection lost",
            {{"error", why}, {"node", opts_.redis.host + ":" + std::to_string(opts_.redis.port)}});
    broken_ = true;
    report_health_locked(false);
}

void InvalidationListener::send_ping_locked(Clock::time_point now) {
    last_ping_ = now;
    if (!ctx_ || broken_) return;
    ssize_t n = ::send(ctx_->fd, kPing, sizeof kPing - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(sizeof kPing - 1)) {
        mark_broken_locked("cannot send PING");
        return;
    }
    ++pings_sent_;
    outstanding_.push_back(now);
}

void InvalidationListener::set_lagging_locked(bool lagging) {
    if (lagging == lagging_) return;
    lagging_ = lagging;
    if (lagging) {
        log::warn("near cache: invalidations lag; bypassing until caught up");
        report_health_locked(false);
        // Caught up again once the pong of a PING sent from now on is back.
        resync_ping_ = pings_sent_ + 1;
        send_ping_locked(Clock::now());
    } else {
        report_health_locked(true);
    }
}

void InvalidationListener::apply_locked(void* raw) {
    auto* r = static_cast<redisReply*>(raw);
    // Only a PING can be answered with an error here (-LOADING after a
    // restart, say). Its pong will never come, and the pongs after it must
    // not be matched with older PINGs: start over on a fresh connection.
    if (r->type == REDIS_REPLY_ERROR)
        return mark_broken_locked(("error reply: " + std::string(text(r))).c_str());
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1) return;
    std::string_view kind = text(r->element[0]);
    if (kind == "message" && r->elements == 3) {
        const redisReply* payload = r->element[2];
        if (payload->type == REDIS_REPLY_ARRAY) {
            for (size_t i = 0; i < payload->elements; ++i)
                cache_.invalidate_key(text(payload->element[i]));
        } else {
            cache_.flush();  // FLUSHALL / FLUSHDB: a nil key list
        }
    } else if (kind == "pong") {
        ++pongs_;
        if (!outstanding_.empty()) outstanding_.pop_front();
        if (lagging_ && pongs_ >= resync_ping_) set_lagging_locked(false);
    }
}

void InvalidationListener::drain_locked(Clock::time_point now) {
    if (!ctx_ || broken_) return;
    char buf[16384];
    std::size_t total = 0;
    while (total < kLagBytes) {
        ssize_t n = ::recv(ctx_->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n > 0) {
            if (redisReaderFeed(ctx_->reader, buf, static_cast<size_t>(n)) != REDIS_OK)
                return mark_broken_locked("reader");
            total += static_cast<std::size_t>(n);
            continue;
        }
        if (n == 0) return mark_broken_locked("closed by Redis");
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return mark_broken_locked(std::strerror(errno));
    }
    for (;;) {
        void* reply = nullptr;
        if (redisReaderGetReply(ctx_->reader, &reply) != REDIS_OK)
            return mark_broken_locked("protocol error");
        if (!reply) break;
        apply_locked(reply);
        freeReplyObject(reply);
        if (broken_) return;  // nothing after it may report health
    }
    if (total >= kLagBytes) set_lagging_locked(true);
    (void)now;
}

void InvalidationListener::check_lag_locked(Clock::time_point now) {
    if (!ctx_ || broken_) return;
    const auto max_lag = std::chrono::milliseconds(opts_.max_lag_ms);
    const auto dead_after =
        std::max(std::chrono::milliseconds(opts_.redis.timeout_ms), 4 * max_lag);
    if (!outstanding_.empty()) {
        auto age = now - outstanding_.front();
        if (age > dead_after) return mark_broken_locked("no pong");
        if (age > max_lag) set_lagging_locked(true);
    }
    // The pinger itself stalled (this process was stopped or starved): what
    // Redis queued for us meanwhile may exceed what the socket shows.
    if (now - last_ping_ > std::chrono::milliseconds(opts_.ping_interval_ms) + max_lag)
        set_lagging_locked(true);
}

bool InvalidationListener::sync() noexcept {
    if (!cache_.healthy()) return false;
    try {
        std::lock_guard lock(mu_);
        if (!ctx_ || broken_ || lagging_) return false;
        auto now = Clock::now();
        drain_locked(now);
        check_lag_locked(now);
        return ctx_ && !broken_ && !lagging_ && cache_.healthy();
    } catch (...) {
        // Only allocation can throw here; never serve from a cache that may
        // have missed an invalidation.
        cache_.flush();
        return false;
    }
}

void InvalidationListener::run() noexcept {
    while (!stop_) {
        try {
            bool reopen = false;
            {
                std::lock_guard lock(mu_);
                if (broken_ && ctx_) {
                    redisFree(ctx_);
                    ctx_ = nullptr;
                }
                reopen = ctx_ == nullptr;
            }
            if (reopen) {
                redisContext* c = open_tracked();  // blocking: never under mu_
                if (!c) {
                    std::unique_lock lock(stop_mu_);
                    stop_cv_.wait_for(lock, kReconnectBackoff, [this] { return stop_.load(); });
                    continue;
                }
                std::lock_guard lock(mu_);
                ctx_ = c;
                broken_ = false;
                lagging_ = false;
                pings_sent_ = pongs_ = resync_ping_ = 0;
                outstanding_.clear();
                auto now = Clock::now();
                last_ping_ = now;
                drain_locked(now);  // anything the reader already holds
                if (!broken_) {
                    ++subscriptions_;
                    report_health_locked(true);
                    log::info("near cache: tracking invalidations",
                              {{"subscriptions", std::to_string(subscriptions_.load())}});
                }
                continue;
            }
            int fd = -1;
            {
                std::lock_guard lock(mu_);
                fd = ctx_->fd;  // only this thread closes it
            }
            pollfd p{fd, POLLIN, 0};
            ::poll(&p, 1, opts_.ping_interval_ms);
            std::lock_guard lock(mu_);
            if (stop_ || !ctx_ || broken_) continue;
            auto now = Clock::now();
            drain_locked(now);
            if (now - last_ping_ >= std::chrono::milliseconds(opts_.ping_interval_ms))
                send_ping_locked(now);
            check_lag_locked(now);
        } catch (const std::exception& e) {
            std::lock_guard lock(mu_);
            mark_broken_locked(e.what());
        } catch (...) {
            std::lock_guard lock(mu_);
            mark_broken_locked("unknown error");
        }
    }
}

/* ---- every node's listener ---- */

namespace {

// The masters of the cluster per CLUSTER SLOTS, asked of the first of
// `candidates` that answers (blocking, bounded by the timeout per node).
std::optional<std::vector<std::pair<std::string, int>>> cluster_masters(
    const std::vector<std::string>& candidates, int timeout_ms, std::vector<std::string>& known) {
    std::vector<RedisNodeAddress> nodes;
    for (const auto& text : candidates) {
        try {
            nodes.push_back(parse_node_address(text));
        } catch (const std::exception&) {
        }
    }
    auto map = fetch_cluster_slots(nodes, timeout_ms);
    if (!map) return std::nullopt;
    known.clear();
    for (const auto& n : map->nodes()) known.push_back(n.str());
    // Unserved slots: some keys have no listener; not healthy.
    if (!map->covers_every_slot()) return std::nullopt;
    std::vector<std::pair<std::string, int>> out;
    for (const auto& m : map->masters()) out.emplace_back(m.host, m.port);
    return out;
}

constexpr auto kClusterRefresh = std::chrono::milliseconds(1000);

}  // namespace

NodeInvalidations::NodeInvalidations(ListenerOptions opts, NearCache& cache)
    : opts_(std::move(opts)), cache_(cache) {
    if (opts_.redis.cluster.empty()) {
        single_ = std::make_unique<InvalidationListener>(opts_, cache_);
        return;
    }
    supervisor_ = std::thread([this] { supervise(); });
}

NodeInvalidations::~NodeInvalidations() {
    {
        std::lock_guard lock(stop_mu_);
        stop_ = true;
    }
    stop_cv_.notify_all();
    if (supervisor_.joinable()) supervisor_.join();
    std::unique_lock lock(nodes_mu_);
    nodes_.clear();  // joins each listener
    single_.reset();
    cache_.set_healthy(false);
}

bool NodeInvalidations::sync() noexcept {
    if (single_) return single_->sync();
    if (!cache_.healthy()) return false;
    std::shared_lock lock(nodes_mu_);
    if (nodes_.empty()) return false;
    bool ok = true;
    for (auto& n : nodes_) ok = n.listener->sync() && ok;  // drain every one
    return ok && cache_.healthy();
}

std::uint64_t NodeInvalidations::subscriptions() const {
    if (single_) return single_->subscriptions();
    std::shared_lock lock(nodes_mu_);
    std::uint64_t total = retired_subscriptions_;
    for (const auto& n : nodes_) total += n.listener->subscriptions();
    return total;
}

std::size_t NodeInvalidations::nodes() const {
    if (single_) return 1;
    std::shared_lock lock(nodes_mu_);
    return nodes_.size();
}

void NodeInvalidations::node_health(std::uint64_t id, bool healthy) {
    std::lock_guard lock(health_mu_);
    auto it = health_.find(id);
    if (it == health_.end()) return;  // a retired listener
    it->second = healthy;
    update_cache_health_locked();
}

void NodeInvalidations::update_cache_health_locked() {
    bool all = !health_.empty();
    for (const auto& [id, h] : health_) all = all && h;
    if (all != cache_.healthy()) cache_.set_healthy(all);  // flushes either way
}

void NodeInvalidations::set_masters(const std::vector<std::pair<std::string, int>>& masters) {
    std::vector<std::string> wanted;
    for (const auto& [host, port] : masters) wanted.push_back(host + ":" + std::to_string(port));
    {
        std::shared_lock lock(nodes_mu_);
        std::vector<std::string> have;
        for (const auto& n : nodes_) have.push_back(n.address);
        if (have == wanted) return;
    }
    log::info("near cache: cluster masters changed; listening to each",
              {{"masters", static_cast<std::int64_t>(wanted.size())}});
    // Bypassed from here until every new listener is subscribed.
    {
        std::lock_guard lock(health_mu_);
        health_.clear();
        cache_.set_healthy(false);
    }
    std::unique_lock lock(nodes_mu_);
    for (const auto& n : nodes_) retired_subscriptions_ += n.listener->subscriptions();
    nodes_.clear();  // joins them; their last reports find no entry
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard hl(health_mu_);
        for (std::size_t i = 0; i < masters.size(); ++i) {
            ids.push_back(next_id_++);
            health_[ids.back()] = false;
        }
    }
    for (std::size_t i = 0; i < masters.size(); ++i) {
        ListenerOptions o = opts_;
        o.redis.host = masters[i].first;
        o.redis.port = masters[i].second;
        o.redis.socket.clear();
        o.redis.cluster.clear();
        std::uint64_t id = ids[i];
        o.on_health = [this, id](bool h) { node_health(id, h); };
        nodes_.push_back({id, wanted[i], std::make_unique<InvalidationListener>(o, cache_)});
    }
}

void NodeInvalidations::supervise() noexcept {
    while (!stop_) {
        try {
            std::vector<std::string> candidates = known_;
            for (const auto& s : opts_.redis.cluster) candidates.push_back(s);
            int ms = std::min(opts_.redis.timeout_ms, 300);
            if (auto masters = cluster_masters(candidates, ms, known_)) {
                set_masters(*masters);
                std::lock_guard lock(health_mu_);
                update_cache_health_locked();  // healthy again after a map gap
            } else {
                log::warn("near cache: no cluster map; bypassing");
                std::lock_guard lock(health_mu_);
                if (cache_.healthy()) cache_.set_healthy(false);
            }
        } catch (const std::exception& e) {
            log::warn("near cache: cluster supervisor", {{"error", e.what()}});
        }
        std::unique_lock lock(stop_mu_);
        stop_cv_.wait_for(lock, kClusterRefresh, [this] { return stop_.load(); });
    }
}

/* ---- the process's instance ---- */

TrackedNearCache::TrackedNearCache(const Config& c)
    : cache(static_cast<std::size_t>(c.near_cache_entries),
            static_cast<std::size_t>(c.near_cache_bytes)),
      listener(ListenerOptions{redis_options(c), c.near_cache_ping_ms, c.near_cache_max_lag_ms},
               cache) {}

TrackedNearCache* process_near_cache(const Config& c) {
    if (!c.near_cache || !c.cache_enabled) return nullptr;
    static std::once_flag once;
    static std::unique_ptr<TrackedNearCache> instance;
    std::call_once(once, [&] { instance = std::make_unique<TrackedNearCache>(c); });
    return instance.get();
}

Options process_options(const Config& c) {
    Options o;
    o.enabled = c.cache_enabled;
    o.rebuild_wait_ms = c.cache_rebuild_wait_ms;
    o.near = process_near_cache(c);
    return o;
}

}  // namespace bazaar::cache
