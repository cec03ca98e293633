// The near cache's memory rules: bounds, LRU order, TTL, invalidation by
// key and scope, and the ticket sequence that keeps a body read before an
// invalidation from being inserted after it.
#include "bazaar/cache/near_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/config.hpp"

using bazaar::cache::NearCache;
using bazaar::cache::value_key;

namespace {

const auto kNow = NearCache::Clock::now();
const auto kLater = kNow + std::chrono::seconds(300);

std::string key(const std::string& scope, const std::string& variant = "") {
    return value_key(scope, variant);
}

bool put(NearCache& c, const std::string& scope, const std::string& variant,
         const std::string& body, NearCache::Clock::time_point expires = kLater) {
    return c.put(c.ticket(scope), scope, key(scope, variant), body, expires);
}

std::string get(NearCache& c, const std::string& scope, const std::string& variant = "",
                NearCache::Clock::time_point now = kNow) {
    auto b = c.get(scope, key(scope, variant), now);
    return b ? *b : std::string("<miss>");
}

}  // namespace

TEST(NearCache, UnhealthyCacheNeverStoresOrServes) {
    NearCache c(1000, 1 << 20);
    EXPECT_FALSE(put(c, "book:1", "", "a"));
    c.set_healthy(true);
    EXPECT_TRUE(put(c, "book:1", "", "a"));
    EXPECT_EQ(get(c, "book:1"), "a");
    c.set_healthy(false);
    EXPECT_EQ(get(c, "book:1"), "<miss>");
    EXPECT_EQ(c.entries(), 0u);
    c.set_healthy(true);
    EXPECT_EQ(get(c, "book:1"), "<miss>") << "a gap in tracking empties the cache";
}

TEST(NearCache, GenerationInvalidationDropsEveryVariantOfTheScope) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "books", "limit=20", "L20"));
    ASSERT_TRUE(put(c, "books", "limit=5", "L5"));
    ASSERT_TRUE(put(c, "book:7", "", "B7"));
    c.invalidate_key("c:{books}:gen");
    EXPECT_EQ(get(c, "books", "limit=20"), "<miss>");
    EXPECT_EQ(get(c, "books", "limit=5"), "<miss>");
    EXPECT_EQ(get(c, "book:7"), "B7");
    EXPECT_EQ(c.entries(), 1u);
}

TEST(NearCache, ValueKeyInvalidationDropsOnlyThatVariantAndLocksNothing) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "books", "a", "A"));
    ASSERT_TRUE(put(c, "books", "b", "B"));
    c.invalidate_key("c:{books}:lock:a");
    EXPECT_EQ(get(c, "books", "a"), "A");
    c.invalidate_key(key("books", "a"));
    EXPECT_EQ(get(c, "books", "a"), "<miss>");
    EXPECT_EQ(get(c, "books", "b"), "B");
}

TEST(NearCache, VariantsContainingBracesOrSuffixesDoNotConfuseTheKeyParser) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "books", "q=}:gen", "Q"));
    ASSERT_TRUE(put(c, "book:1", "", "B1"));
    c.invalidate_key(key("books", "q=}:gen"));  // a value key, not book:1's generation
    EXPECT_EQ(get(c, "books", "q=}:gen"), "<miss>");
    EXPECT_EQ(get(c, "book:1"), "B1");
    c.invalidate_key("not-a-cache-key");
    c.invalidate_key("c:{unterminated");
    c.invalidate_key(std::string("c:{book:1}\0:gen", 15));  // NUL inside: unknown → whole scope
    EXPECT_EQ(get(c, "book:1"), "<miss>");
}

TEST(NearCache, LongVariantsAreKeyedByTheirDigestLikeRedis) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    std::string long_variant(500, 'x');
    ASSERT_TRUE(put(c, "books", long_variant, "LONG"));
    c.invalidate_key(key("books", long_variant));
    EXPECT_EQ(get(c, "books", long_variant), "<miss>");
}

TEST(NearCache, TicketTakenBeforeAnInvalidationCannotInsert) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    // Reader: ticket, then its Redis read returns the old body...
    auto t = c.ticket("book:1");
    // ...meanwhile a write's invalidation is applied...
    c.invalidate_key("c:{book:1}:gen");
    // ...so the old body must not be inserted.
    EXPECT_FALSE(c.put(t, "book:1", key("book:1"), "old", kLater));
    EXPECT_EQ(get(c, "book:1"), "<miss>");
    // A ticket taken afterwards works.
    EXPECT_TRUE(put(c, "book:1", "", "new"));
    EXPECT_EQ(get(c, "book:1"), "new");
}

TEST(NearCache, TicketTakenBeforeAFlushOrHealthGapCannotInsert) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    auto t1 = c.ticket("book:1");
    c.flush();  // FLUSHALL
    EXPECT_FALSE(c.put(t1, "book:1", key("book:1"), "x", kLater));
    auto t2 = c.ticket("book:1");
    c.set_healthy(false);
    c.set_healthy(true);  // reconnected: same health, new epoch
    EXPECT_FALSE(c.put(t2, "book:1", key("book:1"), "x", kLater));
    c.set_healthy(false);
    auto t3 = c.ticket("book:1");  // taken while unhealthy
    c.set_healthy(true);
    EXPECT_FALSE(c.put(t3, "book:1", key("book:1"), "x", kLater));
}

TEST(NearCache, AnInvalidationElsewhereInTheShardIsConservativelyRespected) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    auto t = c.ticket("book:1");
    c.invalidate_scope("book:1");
    EXPECT_FALSE(c.put(t, "book:1", key("book:1"), "x", kLater));
}

TEST(NearCache, EntriesExpireWithTheirTtl) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "tags", "", "T", kNow + std::chrono::seconds(10)));
    EXPECT_EQ(get(c, "tags", "", kNow + std::chrono::seconds(9)), "T");
    EXPECT_EQ(get(c, "tags", "", kNow + std::chrono::seconds(10)), "<miss>");
    EXPECT_EQ(c.entries(), 0u);
}

TEST(NearCache, EntryBoundEvictsTheLeastRecentlyUsed) {
    // 16 shards x 2 entries: all keys of one scope share a shard.
    NearCache c(NearCache::kShards * 2, 1 << 24);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "books", "1", "one"));
    ASSERT_TRUE(put(c, "books", "2", "two"));
    EXPECT_EQ(get(c, "books", "1"), "one");  // 1 is now the most recent
    ASSERT_TRUE(put(c, "books", "3", "three"));
    EXPECT_EQ(get(c, "books", "2"), "<miss>");
    EXPECT_EQ(get(c, "books", "1"), "one");
    EXPECT_EQ(get(c, "books", "3"), "three");
    EXPECT_EQ(c.entries(), 2u);
}

TEST(NearCache, ByteBoundEvictsAndRefusesWhatCanNeverFit) {
    const std::size_t per_shard = 4096;
    NearCache c(100000, per_shard * NearCache::kShards);
    c.set_healthy(true);
    EXPECT_FALSE(put(c, "books", "huge", std::string(per_shard, 'h')));
    std::string body(1000, 'b');
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(put(c, "books", std::to_string(i), body));
    EXPECT_LE(c.bytes(), per_shard);
    EXPECT_EQ(get(c, "books", "9"), body);
    EXPECT_EQ(get(c, "books", "0"), "<miss>");
}

TEST(NearCache, ReplacingAKeyKeepsAccountsExact) {
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    ASSERT_TRUE(put(c, "book:1", "", "aaaa"));
    auto one = c.bytes();
    ASSERT_TRUE(put(c, "book:1", "", "bbbb"));
    EXPECT_EQ(c.bytes(), one);
    EXPECT_EQ(c.entries(), 1u);
    c.invalidate_scope("book:1");
    EXPECT_EQ(c.bytes(), 0u);
}

TEST(NearCache, ConcurrentReadersWritersAndInvalidationsNeverServeAnInvalidatedBody) {
    // Each writer round: publish version v in "Redis" (an atomic), invalidate,
    // then check that no reader can get a version older than v afterwards.
    NearCache c(1000, 1 << 20);
    c.set_healthy(true);
    std::atomic<int> redis_version{0};
    std::atomic<int> answered{0};  // the newest write whose response was sent
    std::atomic<bool> stop{false};
    std::atomic<long> stale{0};
    std::vector<std::thread> readers;
    for (int r = 0; r < 4; ++r) {
        readers.emplace_back([&] {
            while (!stop) {
                int floor = answered.load();  // a write answered before this read
                auto b = c.get("book:1", key("book:1"), kNow);
                if (b && std::stoi(*b) < floor) ++stale;
                if (!b) {
                    auto t = c.ticket("book:1");
                    int v = redis_version.load();  // "the Redis read"
                    c.put(t, "book:1", key("book:1"), std::to_string(v), kLater);
                }
            }
        });
    }
    for (int v = 1; v <= 20000; ++v) {
        redis_version.store(v);
        c.invalidate_key("c:{book:1}:gen");  // applied before the write answers
        answered.store(v);
    }
    stop = true;
    for (auto& t : readers) t.join();
    EXPECT_EQ(stale.load(), 0);
}

TEST(NearCacheConfig, DefaultsOnAndBoundedAndBadValuesNameTheVariable) {
    using bazaar::Config;
    Config c = Config::from_map({});
    EXPECT_TRUE(c.near_cache);
    EXPECT_EQ(c.near_cache_entries, 20000);
    EXPECT_EQ(c.near_cache_bytes, 64L * 1024 * 1024);
    EXPECT_FALSE(Config::from_map({{"NEAR_CACHE", "off"}}).near_cache);
    EXPECT_THROW(Config::from_map({{"NEAR_CACHE", "yes"}}), bazaar::ConfigError);
    EXPECT_THROW(Config::from_map({{"NEAR_CACHE_ENTRIES", "0"}}), bazaar::ConfigError);
    EXPECT_THROW(Config::from_map({{"NEAR_CACHE_BYTES", "-1"}}), bazaar::ConfigError);
    EXPECT_THROW(Config::from_map({{"NEAR_CACHE_MAX_LAG_MS", "1e3"}}), bazaar::ConfigError);
}
