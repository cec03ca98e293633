// The near cache: a small in-process copy of read-cache bodies that Redis
// already holds, so a warm read answers without a round trip. This module is
// only the memory (bounded LRU, sharded locks, invalidation sequences); what
// keeps it coherent with Redis is cache/invalidation_listener.hpp.
//
// Coherence rules implemented here (the listener feeds them):
//   - An entry is keyed by its Redis value key and belongs to its scope.
//     `invalidate_key(k)` with a scope's generation key drops every entry of
//     that scope; with a value key only that entry.
//   - The insert race: a reader fetches a body from Redis, a write replaces
//     the generation, its invalidation is applied, and only then does the
//     reader insert the old body. So a reader takes a `ticket()` before its
//     Redis read; `put()` refuses when any invalidation touched the ticket's
//     shard, or the cache was flushed (global epoch), since. An invalidation
//     that arrives after the put finds the entry and drops it.
//   - While the listener is not healthy (disconnected, lagging, not yet
//     subscribed) the cache is empty, `get()` misses and `put()` refuses;
//     every health change flushes and bumps the epoch, so a ticket taken
//     before a gap in tracking can never insert after it.
// Bounds: entries and bytes (key + body + a fixed overhead), split evenly
// over the shards, least recently used evicted first; an entry also expires
// after its scope's TTL like its Redis copy.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace bazaar::cache {

class NearCache {
  public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kShards = 16;
    static constexpr std::size_t kEntryOverhead = 160;  // nodes, index slots, allocator

    struct Ticket {
        std::uint64_t epoch = 0;
        std::uint64_t shard_seq = 0;
        std::size_t shard = 0;
        bool healthy = false;
    };

    NearCache(std::size_t max_entries, std::size_t max_bytes);
    NearCache(const NearCache&) = delete;
    NearCache& operator=(const NearCache&) = delete;

    std::shared_ptr<const std::string> get(std::string_view scope, std::string_view key,
                                           Clock::time_point now);
    Ticket ticket(std::string_view scope) const;
    // True when stored.
    bool put(const Ticket& t, std::string_view scope, std::string_view key, std::string body,
             Clock::time_point expires);

    // A Redis key named in an invalidation message (see the header comment).
    void invalidate_key(std::string_view redis_key);
    void invalidate_scope(std::string_view scope);
    void flush();  // drops everything; tickets taken before are void

    void set_healthy(bool healthy);  // flushes on every change
    bool healthy() const { return healthy_.load(std::memory_order_acquire); }

    std::size_t entries() const;
    std::size_t bytes() const;

  private:
    struct Node {
        std::string scope;
        std::string key;
        std::shared_ptr<const std::string> body;
        Clock::time_point expires;
        std::size_t bytes = 0;
    };
    struct Shard {
        mutable std::mutex mu;
        std::uint64_t seq = 0;
        std::list<Node> lru;  // front: most recently used
        std::unordered_map<std::string, std::list<Node>::iterator> by_key;
        std::unordered_map<std::string, std::unordered_set<Node*>> by_scope;
        std::size_t bytes = 0;
    };

    std::size_t shard_of(std::string_view scope) const;
    static void erase_locked(Shard& s, std::list<Node>::iterator it);
    void clear_all();

    const std::size_t max_entries_per_shard_;
    const std::size_t max_bytes_per_shard_;
    std::array<Shard, kShards> shards_;
    std::atomic<std::uint64_t> epoch_{1};
    std::atomic<bool> healthy_{false};
    std::mutex health_mu_;  // serialises set_healthy / flush
};

}  // namespace bazaar::cache
