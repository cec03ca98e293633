#include "bazaar/cache/read_cache.hpp"

#include <chrono>
#include <thread>

#include "bazaar/cache/invalidation_listener.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/migrations.hpp"  // sha256_hex
#include "bazaar/replication.hpp"
#include "bazaar/time.hpp"

namespace bazaar::cache {

namespace {

constexpr int kGenerationTtlS = 86400;

// Variants can be long (a q= search); a digest keeps keys short and bounded.
std::string variant_id(const std::string& variant) {
    return variant.size() <= 64 ? variant : sha256_hex(variant);
}

bool redis_down(const Error& e) {
    return e.code() == ErrorCode::kUnavailable;
}

Result load_direct(const std::function<std::string()>& load, Status status) {
    metrics::inc(status == Status::kBypass ? metrics::Counter::kCacheBypass
                                           : metrics::Counter::kCacheMiss);
    return Result{load(), status};
}

}  // namespace

const char* status_name(Status s) {
    switch (s) {
        case Status::kHit:
            return "HIT";
        case Status::kMiss:
            return "MISS";
        case Status::kBypass:
            return "BYPASS";
    }
    return "MISS";
}

std::string generation_key(const std::string& scope) {
    return "c:{" + scope + "}:gen";
}

std::string value_key(const std::string& scope, const std::string& variant) {
    return "c:{" + scope + "}:v:" + variant_id(variant);
}

std::string lock_key(const std::string& scope, const std::string& variant) {
    return "c:{" + scope + "}:lock:" + variant_id(variant);
}

namespace {

// The first round trip: the piggybacked commands, then (cache on) the
// generation and the stored body. Returns true on a hit (body in `out`).
// Redis down: on_replies({}) and nullopt-like false with `down` set.
bool first_round_trip(Redis& redis, const std::vector<std::string>& keys, bool enabled,
                      const Piggyback* piggyback, std::string& out, bool& down) {
    std::vector<RedisArgs> cmds;
    if (piggyback) cmds = piggyback->commands;
    std::size_t k = cmds.size();
    if (enabled) {
        cmds.push_back(RedisArgs{"GET", keys[0]});
        cmds.push_back(RedisArgs{"HMGET", keys[1], "g", "b"});
    }
    std::vector<Reply> replies;
    down = false;
    if (!cmds.empty()) {
        try {
            replies = redis.pipeline(cmds);
        } catch (const Error& e) {
            if (!redis_down(e)) throw;
            down = true;
        }
    }
    if (piggyback && piggyback->on_replies)
        piggyback->on_replies(down ? std::vector<Reply>{}
                                   : std::vector<Reply>(replies.begin(), replies.begin() + k));
    if (down || !enabled) return false;
    const Reply& gen = replies[k];
    const Reply& value = replies[k + 1];
    if (gen.is_nil() || !value.is_array() || value.size() != 2 || value.at(0).is_nil() ||
        value.at(1).is_nil() || value.at(0).str() != gen.str())
        return false;
    out.assign(value.at(1).str());
    return true;
}

}  // namespace

namespace {

// A near hit still owes the piggybacked commands (the rate limit) their
// round trip; on_replies may throw 429 before anything is served.
void run_piggyback(Redis& redis, const Piggyback& piggyback) {
    std::vector<Reply> replies;
    try {
        replies = redis.pipeline(piggyback.commands);
    } catch (const Error& e) {
        if (!redis_down(e)) throw;
    }
    if (piggyback.on_replies) piggyback.on_replies(replies);
}

}  // namespace

Result get_or_load(Redis& redis, const Entry& entry, const Options& options,
                   const std::function<std::string()>& load, const Piggyback* piggyback) {
    const std::vector<std::string> keys = {generation_key(entry.scope),
                                           value_key(entry.scope, entry.variant),
                                           lock_key(entry.scope, entry.variant)};
    // Near cache: usable only after every invalidation already on the
    // listener's socket has been applied (sync), and a body read from Redis
    // is kept only if no invalidation of its shard came in meanwhile (ticket).
    NearCache* near = nullptr;
    NearCache::Ticket ticket;
    if (options.enabled && options.near && options.near->listener.sync()) {
        near = &options.near->cache;
        if (auto body = near->get(entry.scope, keys[1], NearCache::Clock::now())) {
            if (piggyback && !piggyback->commands.empty()) run_piggyback(redis, *piggyback);
            metrics::inc(metrics::Counter::kCacheNearHit);
            return Result{*body, Status::kHit, true};
        }
        ticket = near->ticket(entry.scope);
    }
    std::string hit;
    bool down = false;
    if (first_round_trip(redis, keys, options.enabled, piggyback, hit, down)) {
        metrics::inc(metrics::Counter::kCacheHit);
        if (near)
            near->put(ticket, entry.scope, keys[1], hit,
                      NearCache::Clock::now() + std::chrono::seconds(entry.ttl_s));
        return Result{std::move(hit), Status::kHit};
    }
    if (down || !options.enabled) return load_direct(load, Status::kBypass);
    const std::string owner = random_hex(8);
    const std::vector<std::string> args = {random_hex(8), std::to_string(options.lock_ttl_ms),
                                           owner};
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(options.rebuild_wait_ms);
    auto pause = std::chrono::milliseconds(2);
    for (;;) {
        Reply r;
        try {
            r = redis.eval_script("cache_get", keys, args);
        } catch (const Error& e) {
            if (!redis_down(e)) throw;
            return load_direct(load, Status::kBypass);
        } catch (const RedisError& e) {
            log::warn("cache script failed", {{"error", e.what()}, {"scope", entry.scope}});
            return load_direct(load, Status::kBypass);
        }
        std::string_view state = r.at(0).str();
        if (state == "HIT") {
            metrics::inc(metrics::Counter::kCacheHit);
            return Result{std::string(r.at(1).str()), Status::kHit};
        }
        if (state == "LOAD") {
            std::string gen(r.at(1).str());
            metrics::inc(metrics::Counter::kCacheMiss);
            std::string body;
            try {
                body = load();
            } catch (...) {
                // Hand the variant over at once rather than after the lock TTL.
                try {
                    redis.eval_script("cache_put", keys, {"", "", "1", owner});
                } catch (const std::exception&) {
                }
                throw;
            }
            try {
                redis.eval_script("cache_put", keys,
                                  {gen, body, std::to_string(entry.ttl_s), owner});
            } catch (const std::exception& e) {
                // The body is still right to serve; only the next reader pays.
                log::warn("cache store failed", {{"error", e.what()}, {"scope", entry.scope}});
            }
            return Result{std::move(body), Status::kMiss};
        }
        // WAIT: another request rebuilds this variant right now.
        if (std::chrono::steady_clock::now() + pause > deadline)
            return load_direct(load, Status::kMiss);
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(16));
    }
}

namespace {

void bump_generations(Redis& redis, const std::vector<std::string>& scopes) {
    std::vector<RedisArgs> cmds;
    for (const auto& s : scopes)
        cmds.push_back(RedisArgs{"SET", generation_key(s), random_hex(8), "EX",
                                 std::to_string(kGenerationTtlS)});
    for (const Reply& r : redis.pipeline(cmds))
        if (r.is_error()) throw Error::unavailable("the cache");
}

}  // namespace

void invalidate(Redis& redis, const std::vector<std::string>& scopes) {
    if (scopes.empty()) return;
    bump_generations(redis, scopes);
    // The ordering barrier (measured on Redis 7.0.15): the SET's reply can
    // reach us before Redis has written the invalidation to the listeners'
    // sockets (both leave in the same event-loop pass, in either order).
    // Redis flushes every pending write before it reads our next command,
    // so once PING is answered, every listener can read the invalidation.
    // Pipelining it with the SETs would not do: one pass would run both.
    // In Redis Cluster the generations may live on several masters: one
    // PING on each of them.
    std::vector<std::string> keys;
    keys.reserve(scopes.size());
    for (const auto& s : scopes) keys.push_back(generation_key(s));
    redis.ping_nodes_of(keys);
}

void around_write(Redis& redis, const std::vector<std::string>& scopes,
                  const std::function<void()>& write) {
    // No barrier needed before the write: nothing has changed yet.
    if (!scopes.empty()) bump_generations(redis, scopes);
    write();
    invalidate_after_commit(redis, scopes);
}

void invalidate_after_commit(Redis& redis, const std::vector<std::string>& scopes) {
    if (scopes.empty()) return;
    try {
        invalidate(redis, scopes);
        // Read-your-writes across a failover: a lost bump would leave
        // bodies of the old generation fresh until their TTL. (A short WAIT
        // means lagging replicas: the other scopes' would be as short.)
        for (const auto& s : scopes)
            if (!replication::confirm(redis, generation_key(s), "cache invalidation")) break;
    } catch (const std::exception& e) {
        log::error(
            "cache invalidation after commit failed: entries rebuilt during the write "
            "may be stale until their TTL",
            {{"error", e.what()}});
    }
}

}  // namespace bazaar::cache
