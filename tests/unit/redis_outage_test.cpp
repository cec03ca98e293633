// Issue 18: what the Redis client makes of a server that refuses (an outage,
// never the command's fault) and of a connection that breaks under a
// command (sent again only when provably safe). Against FakeRedisNode.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "bazaar/error.hpp"
#include "bazaar/metrics.hpp"
#include "bazaar/queue/outbox_relay.hpp"
#include "bazaar/redis.hpp"
#include "fake_redis_node.hpp"

using namespace bazaar;
using bazaar::testing::FakeRedisNode;
using R = FakeRedisNode;

namespace {

RedisOptions single(const FakeRedisNode& node) {
    RedisOptions o;
    o.host = "127.0.0.1";
    o.port = node.port();
    o.timeout_ms = 1000;
    return o;
}

ErrorCode code_of(const std::function<void()>& fn) {
    try {
        fn();
    } catch (const Error& e) {
        return e.code();
    } catch (const RedisError&) {
        return ErrorCode::kInternal;  // what a handler's RedisError becomes: 500
    }
    return ErrorCode::kValidationFailed;  // (no throw: never expected here)
}

}  // namespace

TEST(RedisOutage, RefusalRepliesAreOutagesAndCommandErrorsAreNot) {
    // What Redis 7 answers (checked against redis-server 7.0 with maxmemory 1
    // and noeviction, a replica, min-replicas-to-write...).
    for (const char* err :
         {"OOM command not allowed when used memory > 'maxmemory'.",
          "OOM command not allowed when used memory > 'maxmemory'. script: "
          "756928dd1246249109cfe8475bfa267e967ea948, on @user_script:1.",
          "ERR user_script:1: OOM command not allowed when used memory > 'maxmemory'. script: "
          "377b5a94aadcc15b7930c31a69fd5954cdffcddf, on @user_script:1.",
          "ERR Error running script (call to f_1b2c): @user_script:1: @user_script: 1: -OOM "
          "command not allowed when used memory > 'maxmemory'.",
          "READONLY You can't write against a read only replica.",
          "ERR user_script:3: READONLY You can't write against a read only replica.",
          "NOREPLICAS Not enough good replicas to write.",
          "LOADING Redis is loading the dataset in memory", "BUSY Redis is busy running a script.",
          "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
          "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist",
          "TRYAGAIN Multiple keys request during rehashing of slot",
          "CLUSTERDOWN The cluster is down", "ERR max number of clients reached"})
        EXPECT_TRUE(is_outage_reply(err)) << err;
    for (const char* err :
         {"WRONGTYPE Operation against a key holding the wrong kind of value",
          "BUSYKEY Target key name already exists.", "BUSYGROUP Consumer Group name already exists",
          "ERR unknown dependency job-7", "NOSCRIPT No matching script.", "NOT_FOUND",
          "ERR wrong number of arguments for 'get' command", "OOMPH a script's own code"})
        EXPECT_FALSE(is_outage_reply(err)) << err;
}

TEST(RedisOutage, EveryPathThrowsUnavailableForAnOomAndKeepsTheConnection) {
    FakeRedisNode node([](const std::vector<std::string>& cmd, FakeRedisNode::Conn&) {
        if (cmd[0] == "SET")
            return R::error("OOM command not allowed when used memory > 'maxmemory'.");
        if (cmd[0] == "EVALSHA")
            return R::error(
                "OOM command not allowed when used memory > 'maxmemory'. script: abc, on "
                "@user_script:1.");
        if (cmd[0] == "LPUSH") return R::error("WRONGTYPE Operation against a key");
        return R::simple("PONG");
    });
    Redis r(single(node));
    EXPECT_EQ(code_of([&] { r.command({"SET", "k", "v"}); }), ErrorCode::kUnavailable);
    EXPECT_EQ(code_of([&] { r.pipeline({{"PING"}, {"SET", "k", "v"}}); }), ErrorCode::kUnavailable);
    EXPECT_EQ(code_of([&] { r.command({"LPUSH", "k", "v"}); }), ErrorCode::kInternal);
    EXPECT_TRUE(r.connected()) << "a refusal is a state of the server, not a broken connection";
    // A 503 that tells the client when to come back.
    try {
        r.command({"SET", "k", "v"});
        FAIL();
    } catch (const Error& e) {
        ASSERT_EQ(e.headers().size(), 1u);
        EXPECT_EQ(e.headers()[0].first, "Retry-After");
    }
}

TEST(RedisOutage, MaxClientsIsAnOutageAndDropsTheConnection) {
    FakeRedisNode node([](const std::vector<std::string>&, FakeRedisNode::Conn&) {
        return R::error("ERR max number of clients reached");
    });
    Redis r(single(node));
    EXPECT_EQ(code_of([&] { r.command({"GET", "k"}); }), ErrorCode::kUnavailable);
    EXPECT_FALSE(r.connected()) << "Redis closes a connection it refused";
}

// The server took the command and closed the connection without a reply (it
// crashed, or was killed, after running it): a write must not run twice.
TEST(RedisOutage, AWriteIsNotSentAgainWhenTheConnectionBreaksUnderIt) {
    FakeRedisNode node([](const std::vector<std::string>& cmd, FakeRedisNode::Conn&) {
        if (cmd[0] == "INCR") return FakeRedisNode::kDrop;
        return R::simple("PONG");
    });
    Redis r(single(node));
    ASSERT_EQ(r.command({"PING"}).str(), "PONG");  // a kept connection
    EXPECT_EQ(code_of([&] { r.command({"INCR", "n"}); }), ErrorCode::kUnavailable);
    EXPECT_EQ(node.count("INCR"), 1u) << "the INCR may have been applied: never resent";
}

TEST(RedisOutage, AReadIsSentAgainOnAFreshConnection) {
    int gets = 0;
    FakeRedisNode node([&](const std::vector<std::string>& cmd, FakeRedisNode::Conn&) {
        if (cmd[0] == "GET" && ++gets == 1) return FakeRedisNode::kDrop;
        return cmd[0] == "GET" ? R::bulk("v") : R::simple("PONG");
    });
    Redis r(single(node));
    ASSERT_EQ(r.command({"PING"}).str(), "PONG");
    EXPECT_EQ(r.command({"GET", "k"}).str(), "v");
    EXPECT_EQ(node.count("GET"), 2u);
}

// A kept connection the server closed while idle (a restart, CLIENT KILL)
// is replaced before the command goes out: sent once, and no failed call.
TEST(RedisOutage, AConnectionClosedWhileIdleIsReplacedBeforeSending) {
    FakeRedisNode node(
        [](const std::vector<std::string>&, FakeRedisNode::Conn&) { return R::integer(1); });
    Redis r(single(node));
    ASSERT_EQ(r.command({"INCR", "n"}).integer(), 1);
    node.close_clients();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the FIN reaches our socket
    node.clear_received();
    EXPECT_EQ(r.command({"INCR", "n"}).integer(), 1);
    EXPECT_EQ(node.count("INCR"), 1u);
}

TEST(OutboxRelayBackoff, DoublesFromTheFirstDelayUpToTheCap) {
    EXPECT_EQ(queue::next_outage_delay_ms(0, 30000), queue::kFirstOutageDelayMs);
    EXPECT_EQ(queue::next_outage_delay_ms(100, 30000), 200);
    EXPECT_EQ(queue::next_outage_delay_ms(12800, 30000), 25600);
    EXPECT_EQ(queue::next_outage_delay_ms(25600, 30000), 30000);
    EXPECT_EQ(queue::next_outage_delay_ms(30000, 30000), 30000);
    EXPECT_EQ(queue::next_outage_delay_ms(0, 100), 100);
    EXPECT_EQ(queue::next_outage_delay_ms(2000000000, 3600000), 3600000) << "no overflow";
}

TEST(OutboxRelayBackoff, OutagesAreToldFromTheRowsOwnFaults) {
    EXPECT_TRUE(queue::is_outage(Error::unavailable("redis")));
    EXPECT_TRUE(queue::is_outage(RedisError("OOM command not allowed")));
    EXPECT_FALSE(queue::is_outage(RedisError("ERR unknown dependency x")));
    EXPECT_FALSE(queue::is_outage(Error::validation("dependsOn", "unknown")));
    EXPECT_FALSE(queue::is_outage(std::runtime_error("bad job")));
}

// The relay and the sweeps count in bazaar-worker, /metrics is rendered by
// bazaar-fcgi: the worker's file beside the fcgi one is added in.
TEST(WorkerMetrics, TheWorkersCountersReachTheFcgiRender) {
    namespace fs = std::filesystem;
    fs::path dir = fs::path(::testing::TempDir()) / ("metrics-worker-" + std::to_string(getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    metrics::open_worker(dir.string());  // as bazaar-worker
    metrics::inc(metrics::Counter::kOutboxOutageRetries, 3);
    metrics::inc(metrics::Counter::kOutboxSetAside, 2);
    metrics::open((dir / "metrics.shm").string(), {"unmatched", "GET /x"});  // as bazaar-fcgi
    metrics::inc(metrics::Counter::kOutboxSetAside, 1);
    std::string text = metrics::render();
    EXPECT_NE(text.find("bazaar_outbox_outage_retries_total 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("bazaar_outbox_set_aside_total 3\n"), std::string::npos) << text;
    EXPECT_NE(text.find("bazaar_sweep_item_failures_total 0\n"), std::string::npos) << text;
    fs::remove_all(dir);
}
