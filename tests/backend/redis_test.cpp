#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backend_env.hpp"
#include "bazaar/error.hpp"
#include "bazaar/redis.hpp"

using namespace bazaar;

namespace {
RedisOptions options() {
    return stacktest::redis_options();
}

// A script folder of our own, so the test does not depend on lua/.
std::string script_dir() {
    static std::string dir = [] {
        auto d =
            std::filesystem::temp_directory_path() / ("bazaar-lua-" + std::to_string(getpid()));
        std::filesystem::create_directories(d);
        std::ofstream(d / "test_incr_by.lua")
            << "-- KEYS[1] counter, ARGV[1] step\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])\n";
        std::ofstream(d / "test_fail.lua") << "return redis.error_reply('BAD_THING happened')\n";
        load_scripts(d.string());
        return d.string();
    }();
    return dir;
}
}  // namespace

TEST(Redis, CommandsAndBinarySafeArguments) {
    Redis r(options());
    std::string value("a\0b\r\nc", 6);
    r.command(RedisArgs{"SET", "test:bin"}.add(value));
    Reply got = r.command({"GET", "test:bin"});
    EXPECT_EQ(got.str(), value);
    EXPECT_TRUE(r.command({"GET", "test:missing"}).is_nil());
    EXPECT_EQ(r.command({"INCRBY", "test:n", "5"}).integer() % 5, 0);
    EXPECT_THROW(r.command({"LPUSH", "test:bin", "x"}), RedisError);  // WRONGTYPE
    EXPECT_TRUE(r.connected()) << "an error reply must not drop the connection";
}

TEST(Redis, PipelineIsOneRoundTripWithOrderedReplies) {
    Redis r(options());
    std::vector<RedisArgs> cmds;
    cmds.push_back({"DEL", "test:pipe"});
    for (int i = 0; i < 100; ++i) cmds.push_back(RedisArgs{"RPUSH", "test:pipe"}.add(i));
    cmds.push_back({"LLEN", "test:pipe"});
    auto replies = r.pipeline(cmds);
    ASSERT_EQ(replies.size(), cmds.size());
    EXPECT_EQ(replies[50].integer(), 50);
    EXPECT_EQ(replies.back().integer(), 100);
}

TEST(Redis, ScriptsRunByShaAndReloadAfterFlush) {
    script_dir();
    Redis r(options());
    r.command({"DEL", "test:ctr"});
    EXPECT_EQ(r.eval_script("test_incr_by", {"test:ctr"}, {"3"}).integer(), 3);
    r.on_every_master({"SCRIPT", "FLUSH"});
    // NOSCRIPT → SCRIPT LOAD → retried transparently.
    EXPECT_EQ(r.eval_script("test_incr_by", {"test:ctr"}, {"4"}).integer(), 7);
    EXPECT_FALSE(script_sha("test_incr_by").empty());
    try {
        r.eval_script("test_fail", {}, {});
        FAIL() << "expected RedisError";
    } catch (const RedisError& e) {
        EXPECT_NE(std::string(e.what()).find("BAD_THING"), std::string::npos);
    }
    EXPECT_THROW(r.eval_script("no_such_script", {}, {}), std::logic_error);
}

TEST(Redis, BlockingCommandGetsItsOwnTimeout) {
    Redis r(options());
    r.command({"DEL", "test:empty-list"});
    auto t0 = std::chrono::steady_clock::now();
    // BLPOP for 1 s is longer than REDIS_TIMEOUT_MS: the socket timeout is raised for it.
    Reply rep = r.blocking_command({"BLPOP", "test:empty-list", "1"}, 1000);
    EXPECT_TRUE(rep.is_nil());
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
    EXPECT_TRUE(r.connected());
    EXPECT_EQ(r.command({"PING"}).str(), "PONG");
}

TEST(Redis, UnreachableServerIsUnavailableNotACrash) {
    RedisOptions o;  // (field by field: RedisOptions grows, e.g. `cluster`)
    o.host = "127.0.0.1";
    o.port = 1;
    o.timeout_ms = 200;
    Redis r(o);
    try {
        r.command({"PING"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnavailable);
    }
    // Within the backoff the next call fails fast without connecting again.
    EXPECT_THROW(r.command({"PING"}), Error);
}

// A kept connection that the server closed (restart) is replaced within the
// same call: no request fails because Redis restarted while it was idle.
TEST(Redis, FirstCallAfterServerRestartSucceedsOnAFreshConnection) {
    Redis r(options());
    ASSERT_EQ(r.command({"PING"}).str(), "PONG");
    ASSERT_EQ(stacktest::stack_svc("restart", "redis"), 0);
    EXPECT_EQ(r.command({"PING"}).str(), "PONG");
    ASSERT_EQ(stacktest::stack_svc("restart", "redis"), 0);
    EXPECT_EQ(r.pipeline({{"PING"}, {"PING"}}).size(), 2u);
}
