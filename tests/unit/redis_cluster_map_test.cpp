#include <gtest/gtest.h>

#include <string>

#include "bazaar/redis_cluster_map.hpp"
#include "resp_support.hpp"

using namespace bazaar;

namespace {

using bazaar::testing::bulk;
using bazaar::testing::resp;

std::string node(const std::string& host, int port, const std::string& id) {
    return "*3\r\n" + bulk(host) + ":" + std::to_string(port) + "\r\n" + bulk(id);
}
std::string range(int lo, int hi, const std::string& master, const std::string& replica = "") {
    return std::string("*") + (replica.empty() ? "3" : "4") + "\r\n:" + std::to_string(lo) +
           "\r\n:" + std::to_string(hi) + "\r\n" + master + replica;
}

}  // namespace

TEST(ClusterSlotMap, RoutesEverySlotToItsMasterAndListsReplicasLast) {
    auto reply =
        resp("*3\r\n" + range(0, 5460, node("10.0.0.1", 7001, "a"), node("10.0.0.4", 7004, "d")) +
             range(5461, 10922, node("10.0.0.2", 7002, "b"), node("10.0.0.5", 7005, "e")) +
             range(10923, 16383, node("10.0.0.3", 7003, "c")));
    auto map = ClusterSlotMap::parse(reply, "seed");
    EXPECT_TRUE(map.covers_every_slot());
    EXPECT_EQ(map.master_of(0)->str(), "10.0.0.1:7001");
    EXPECT_EQ(map.master_of(5460)->str(), "10.0.0.1:7001");
    EXPECT_EQ(map.master_of(5461)->str(), "10.0.0.2:7002");
    EXPECT_EQ(map.master_of(16383)->str(), "10.0.0.3:7003");
    EXPECT_EQ(map.master_of(16384), nullptr);
    EXPECT_EQ(map.master_of(-1), nullptr);
    ASSERT_EQ(map.masters().size(), 3u);
    ASSERT_EQ(map.nodes().size(), 5u);
    EXPECT_EQ(map.nodes()[3].str(), "10.0.0.4:7004");
}

TEST(ClusterSlotMap, AMasterWithSeveralRangesIsListedOnceAndGapsHaveNoOwner) {
    auto map = ClusterSlotMap::parse(
        resp("*2\r\n" + range(0, 99, node("h", 1, "a")) + range(200, 16383, node("h", 1, "a"))),
        "seed");
    EXPECT_EQ(map.masters().size(), 1u);
    EXPECT_FALSE(map.covers_every_slot());
    EXPECT_EQ(map.master_of(150), nullptr);
    EXPECT_NE(map.master_of(99), nullptr);
}

TEST(ClusterSlotMap, ANodeWithoutAnAddressIsTheHostThatAnswered) {
    auto map =
        ClusterSlotMap::parse(resp("*1\r\n" + range(0, 16383, node("", 7000, "a"))), "127.0.0.1");
    EXPECT_EQ(map.master_of(42)->str(), "127.0.0.1:7000");
}

TEST(ClusterSlotMap, MalformedRepliesAreRedisErrorsNotCrashes) {
    EXPECT_THROW(ClusterSlotMap::parse(resp("+OK\r\n"), "h"), RedisError);
    EXPECT_THROW(ClusterSlotMap::parse(resp("*1\r\n*2\r\n:0\r\n:5\r\n"), "h"), RedisError);
    EXPECT_THROW(ClusterSlotMap::parse(resp("*1\r\n" + range(10, 5, node("h", 1, "a"))), "h"),
                 RedisError);
    EXPECT_THROW(ClusterSlotMap::parse(resp("*1\r\n" + range(0, 16384, node("h", 1, "a"))), "h"),
                 RedisError);
    EXPECT_THROW(ClusterSlotMap::parse(resp("*1\r\n" + range(0, 1, node("h", 0, "a"))), "h"),
                 RedisError);
    EXPECT_THROW(ClusterSlotMap::parse(resp("*1\r\n*3\r\n:0\r\n:1\r\n$1\r\nx\r\n"), "h"),
                 RedisError);
}

TEST(ClusterSlotMap, NodeAddressesFromConfiguration) {
    EXPECT_EQ(parse_node_address("127.0.0.1:7001").port, 7001);
    EXPECT_EQ(parse_node_address("redis-a.internal:6379").host, "redis-a.internal");
    EXPECT_EQ(parse_node_address("[::1]:7000").host, "[::1]");
    EXPECT_THROW(parse_node_address("nohost"), std::invalid_argument);
    EXPECT_THROW(parse_node_address(":7000"), std::invalid_argument);
    EXPECT_THROW(parse_node_address("h:0"), std::invalid_argument);
    EXPECT_THROW(parse_node_address("h:70000"), std::invalid_argument);
    EXPECT_THROW(parse_node_address("h:12ab"), std::invalid_argument);
}
