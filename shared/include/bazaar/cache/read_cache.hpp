// The read cache: response bodies of public GETs (and the profile) kept in
// Redis, never stale after a write (API.md §3, read-your-writes).
//
// Design (key layout in lua/cache_get.lua):
//   - A cached body belongs to a *scope* ("book:42", "books", "tags",
//     "user:<id>") and a *variant* within it (the normalised query: fields,
//     include, cursor...). Each scope has a generation token.
//   - A write replaces the generation of every scope it touches
//     (`invalidate`), once before its transaction and once after commit.
//     The first makes a Redis outage fail the write (503) before anything
//     changed, rather than leave bodies that can never be invalidated; the
//     second kills any body a reader rebuilt from pre-commit data in between.
//     After the write's response, every body of those scopes is stale: a
//     read either rebuilds from Postgres or waits for the one that does.
//   - Stampede: on a miss exactly one request (per variant, across all
//     processes) takes a short lock and rebuilds; the others poll for its
//     result for up to CACHE_REBUILD_WAIT_MS, then load themselves. They
//     never get the previous body, which a write may have made stale.
//   - Redis down: the body is loaded from Postgres and served with
//     status kBypass; nothing is stored.
// A hit costs one pipelined round trip and no JSON work: the body is returned
// as the bytes that were stored. With the near cache (near_cache.hpp,
// invalidation_listener.hpp) a hit costs no round trip at all: bodies read
// from Redis are also kept in the process, dropped when Redis reports that
// their keys changed. For that to hold across processes, `invalidate` ends
// with one extra round trip (PING) after the generation bump, which makes
// Redis put the invalidation on every listener's socket before the writer
// gets its reply (see invalidation_listener.hpp).
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

#include "bazaar/redis.hpp"

namespace bazaar::cache {

struct TrackedNearCache;

enum class Status { kHit, kMiss, kBypass };
const char* status_name(Status s);  // "HIT" | "MISS" | "BYPASS"

struct Entry {
    std::string scope;    // hash tag of its keys; see above
    std::string variant;  // any string; hashed into the key
    int ttl_s = 300;
};

struct Options {
    bool enabled = true;               // CACHE_ENABLED
    int rebuild_wait_ms = 1000;        // CACHE_REBUILD_WAIT_MS
    int lock_ttl_ms = 5000;            // a crashed rebuilder blocks a variant this long at most
    TrackedNearCache* near = nullptr;  // process_near_cache(); nullptr: NEAR_CACHE=off
};

struct Result {
    std::string body;
    Status status = Status::kMiss;
    bool near = false;  // a hit answered from this process's memory
};

// Commands that ride along with the lookup's first round trip (the
// request's rate-limit check), so that a cache hit costs exactly one round
// trip in all. `on_replies` gets their replies (empty when Redis is down)
// before anything is served or loaded, and may throw to refuse the request.
struct Piggyback {
    std::vector<RedisArgs> commands;
    std::function<void(const std::vector<Reply>&)> on_replies;
};

// Returns the cached body of `entry`, or `load()`'s result (stored for the
// next reader). `load` runs at most once per call and its exceptions
// propagate (nothing is cached for a failed load). A hit is a pipelined
// GET of the generation and HMGET of the body, compared here, without Lua;
// only a miss runs cache_get.lua (generation, lock) and cache_put.lua.
Result get_or_load(Redis& redis, const Entry& entry, const Options& options,
                   const std::function<std::string()>& load, const Piggyback* piggyback = nullptr);

// Replaces the generation of each scope (one pipelined round trip), then
// PINGs on the same connection (a second round trip) so that every near
// cache's invalidation is on its socket before this returns. Throws
// Error(kUnavailable) when Redis is down.
void invalidate(Redis& redis, const std::vector<std::string>& scopes);

// Runs `write` (which commits a Postgres transaction) between two
// invalidations of `scopes`, as the header comment describes. The first
// failing (Redis down) throws Error(kUnavailable) before `write` runs; the
// second failing is logged, since the write has committed by then.
void around_write(Redis& redis, const std::vector<std::string>& scopes,
                  const std::function<void()>& write);

// The second half of around_write alone, for a write whose transaction has
// committed already and must not fail for the cache's sake (an order's
// stock change, orders/stock.hpp): invalidates `scopes`, confirms the
// generations with the replicas, and logs (never throws) on failure.
void invalidate_after_commit(Redis& redis, const std::vector<std::string>& scopes);

// Key names, for tests and tools.
std::string generation_key(const std::string& scope);
std::string value_key(const std::string& scope, const std::string& variant);
std::string lock_key(const std::string& scope, const std::string& variant);

}  // namespace bazaar::cache
