// The near cache's invalidation listener against a fake Redis node
// (fake_redis_node.hpp), for the replies a real one gives only in bad
// moments. A Redis restarted with a large AOF accepts connections, CLIENT
// TRACKING and SUBSCRIBE while it loads, but answers every PING -LOADING.
// The listener once ignored those errors: the unanswered PINGs stayed in
// its queue, every later pong was matched with an older PING, the lag it
// computed never shrank, and the near cache flapped unhealthy forever after
// Redis had loaded (integration.near_cache failed after integration.faults).
#include "bazaar/cache/invalidation_listener.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <thread>

#include "bazaar/cache/near_cache.hpp"
#include "fake_redis_node.hpp"

using namespace std::chrono_literals;
using bazaar::cache::InvalidationListener;
using bazaar::cache::ListenerOptions;
using bazaar::cache::NearCache;
using bazaar::testing::FakeRedisNode;

namespace {

// A node that tracks nothing but answers like Redis does, with -LOADING to
// PING while `loading` is set.
struct LoadingNode {
    std::atomic<bool> loading{false};
    FakeRedisNode node{[this](const std::vector<std::string>& cmd, FakeRedisNode::Conn&) {
        using F = FakeRedisNode;
        if (cmd[0] == "CLIENT" && cmd.size() > 1 && cmd[1] == "ID") return F::integer(7);
        if (cmd[0] == "CLIENT") return F::simple("OK");
        if (cmd[0] == "SUBSCRIBE")
            return F::array({F::bulk("subscribe"), F::bulk(cmd.at(1)), F::integer(1)});
        if (cmd[0] == "PING") {
            if (loading) return F::error("LOADING Redis is loading the dataset in memory");
            return F::array({F::bulk("pong"), F::bulk("")});
        }
        return F::error("ERR unexpected");
    }};
};

ListenerOptions options(int port) {
    ListenerOptions o;
    o.redis.host = "127.0.0.1";
    o.redis.port = port;
    o.redis.timeout_ms = 1000;
    o.ping_interval_ms = 20;
    o.max_lag_ms = 100;
    return o;
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds limit = 10s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(10ms);
    }
    return false;
}

}  // namespace

TEST(InvalidationListener, AnswersLoadingToPingMeanUnhealthyThenSteadyOnceLoaded) {
    LoadingNode n;
    NearCache cache(100, 1 << 20);
    InvalidationListener listener(options(n.node.port()), cache);
    ASSERT_TRUE(eventually([&] { return listener.sync(); })) << "never healthy at first";

    n.loading = true;
    // Several PINGs answered -LOADING (ping every 20 ms): never served from.
    ASSERT_TRUE(eventually([&] { return !listener.sync(); })) << "healthy while loading";
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(listener.sync());

    n.loading = false;
    ASSERT_TRUE(eventually([&] { return listener.sync(); })) << "never healthy after loading";
    // And it stays so: with ~15 errored PINGs left unmatched it would flip
    // to lagging again within a max lag (100 ms), and keep doing so.
    int unhealthy = 0;
    for (int i = 0; i < 100; ++i) {
        if (!listener.sync()) ++unhealthy;
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(unhealthy, 0);
}

TEST(InvalidationListener, ARedisLoadingAtConnectIsNotTakenAsSubscribed) {
    LoadingNode n;
    n.loading = true;
    NearCache cache(100, 1 << 20);
    InvalidationListener listener(options(n.node.port()), cache);
    std::this_thread::sleep_for(500ms);
    EXPECT_FALSE(listener.sync());
    EXPECT_EQ(listener.subscriptions(), 0u);
    n.loading = false;
    ASSERT_TRUE(eventually([&] { return listener.sync(); }));
    EXPECT_EQ(listener.subscriptions(), 1u);
}
