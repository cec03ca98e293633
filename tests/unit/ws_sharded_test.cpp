// bazaar-ws sharded pub/sub: telling the replies of the subscriber
// connection apart (sub_replies.hpp) and the cluster link plan
// (node_plan.hpp).
#include <gtest/gtest.h>

#include <string>

#include "bazaar/redis_slot.hpp"
#include "node_plan.hpp"
#include "resp_support.hpp"
#include "sub_replies.hpp"

using namespace bazaar;
using namespace bazaar::ws;
using K = SubEvent::Kind;

namespace {

using bazaar::testing::bulk;
using bazaar::testing::resp;

std::string node(const std::string& host, int port) {
    return "*3\r\n" + bulk(host) + ":" + std::to_string(port) + "\r\n" + bulk(host + "id");
}
std::string range(int lo, int hi, const std::string& master) {
    return "*3\r\n:" + std::to_string(lo) + "\r\n:" + std::to_string(hi) + "\r\n" + master;
}
// Three masters a, b, c on the usual thirds.
ClusterSlotMap three(int port_a = 1, int port_b = 2, int port_c = 3) {
    return ClusterSlotMap::parse(
        resp("*3\r\n" + range(0, 5460, node("h", port_a)) + range(5461, 10922, node("h", port_b)) +
             range(10923, 16383, node("h", port_c))),
        "seed");
}

}  // namespace

TEST(WsSubReplies, AcknowledgementsMatchTheCommandsInOrder) {
    SubReplies r;
    r.sent(true, "{u:1}:live");
    r.sent(true, "{u:2}:live");
    r.sent(false, "{u:1}:live");
    EXPECT_EQ(r.on_array("ssubscribe", "{u:1}:live", "").kind, K::kSubscribed);
    auto msg = r.on_array("smessage", "{u:1}:live", "{\"event\":1}");
    EXPECT_EQ(msg.kind, K::kMessage);
    EXPECT_EQ(msg.payload, "{\"event\":1}");
    EXPECT_EQ(r.on_array("ssubscribe", "{u:2}:live", "").kind, K::kSubscribed);
    EXPECT_EQ(r.on_array("sunsubscribe", "{u:1}:live", "").kind, K::kUnsubscribed);
    EXPECT_EQ(r.pending(), 0u);
}

TEST(WsSubReplies, AnUnsubscribeWeDidNotAskForMeansTheSlotMovedAway) {
    SubReplies r;
    r.sent(true, "{u:1}:live");
    r.sent(false, "{u:3}:live");
    // Pushed by Redis while other commands are in flight: the channel's
    // slot is served elsewhere now.
    auto pushed = r.on_array("sunsubscribe", "{u:2}:live", "");
    EXPECT_EQ(pushed.kind, K::kLost);
    EXPECT_EQ(pushed.channel, "{u:2}:live");
    EXPECT_EQ(r.pending(), 2u);  // nothing consumed
    EXPECT_EQ(r.on_array("ssubscribe", "{u:1}:live", "").kind, K::kSubscribed);
    EXPECT_EQ(r.on_array("sunsubscribe", "{u:3}:live", "").kind, K::kUnsubscribed);
}

TEST(WsSubReplies, AnErrorNamesTheChannelOfTheCommandItAnswers) {
    SubReplies r;
    r.sent(true, "{u:1}:live");
    r.sent(false, "{u:2}:live");
    auto moved = r.on_error("MOVED 1234 10.0.0.2:7002");
    EXPECT_EQ(moved.kind, K::kLost);  // to subscribe again on the new owner
    EXPECT_EQ(moved.channel, "{u:1}:live");
    EXPECT_EQ(moved.payload, "MOVED 1234 10.0.0.2:7002");
    auto unsub = r.on_error("CLUSTERDOWN");
    EXPECT_EQ(unsub.kind, K::kUnsubscribed);  // not subscribed either way
    EXPECT_EQ(unsub.channel, "{u:2}:live");
    EXPECT_EQ(r.on_error("ERR spontaneous").kind, K::kNone);
}

TEST(WsSubReplies, ClassicPubSubAndUnexpectedAcknowledgementsAreIgnored) {
    SubReplies r;
    EXPECT_EQ(r.on_array("message", "{u:1}:live", "x").kind, K::kNone);
    EXPECT_EQ(r.on_array("subscribe", "{u:1}:live", "").kind, K::kNone);
    EXPECT_EQ(r.on_array("ssubscribe", "{u:1}:live", "").kind, K::kNone);  // none pending
    r.sent(true, "{u:1}:live");
    r.clear();  // the connection was reset
    EXPECT_EQ(r.pending(), 0u);
}

TEST(WsNodePlan, EveryMasterGetsAHeartbeatChannelOnOneOfItsOwnSlots) {
    auto map = three();
    for (const auto& m : map.masters()) {
        auto hb = heartbeat_channel(map, m, "ws:heartbeat:1:2");
        ASSERT_TRUE(hb);
        EXPECT_EQ(*map.master_of(redis_slot::key_slot(*hb)), m);
        EXPECT_EQ(hb->rfind("ws:heartbeat:1:2{hb", 0), 0u);
    }
    auto partial = ClusterSlotMap::parse(resp("*1\r\n" + range(0, 5460, node("h", 1))), "s");
    EXPECT_FALSE(heartbeat_channel(partial, RedisNodeAddress{"h", 9}, "p"));
}

TEST(WsNodePlan, AStartLinksEveryMaster) {
    auto plan = plan_links(three(), {});
    EXPECT_TRUE(plan.drop.empty());
    ASSERT_EQ(plan.add.size(), 3u);
    EXPECT_EQ(plan.add[2].str(), "h:3");
}

TEST(WsNodePlan, AnUnchangedMapChangesNothing) {
    auto map = three();
    std::vector<LinkState> links;
    for (const auto& m : map.masters()) links.push_back({m, *heartbeat_channel(map, m, "p")});
    auto plan = plan_links(map, links);
    EXPECT_TRUE(plan.drop.empty());
    EXPECT_TRUE(plan.add.empty());
}

TEST(WsNodePlan, AFailoverDropsTheOldMasterAndLinksItsReplica) {
    auto before = three();
    std::vector<LinkState> links;
    for (const auto& m : before.masters()) links.push_back({m, *heartbeat_channel(before, m, "p")});
    auto after = three(1, 5, 3);  // h:2 failed, its replica h:5 was promoted
    auto plan = plan_links(after, links);
    ASSERT_EQ(plan.drop.size(), 1u);
    EXPECT_EQ(links[plan.drop[0]].node.str(), "h:2");
    ASSERT_EQ(plan.add.size(), 1u);
    EXPECT_EQ(plan.add[0].str(), "h:5");
}

TEST(WsNodePlan, AMasterWhoseHeartbeatSlotMovedIsLinkedAgainWithAnotherChannel) {
    auto before = three();
    RedisNodeAddress a{"h", 1};
    std::string hb = *heartbeat_channel(before, a, "p");
    int slot = redis_slot::key_slot(hb);
    // That slot was resharded to h:2; h:1 keeps the rest of its range.
    std::string body;
    int ranges = 0;
    if (slot > 0) body += range(0, slot - 1, node("h", 1)), ++ranges;
    body += range(slot, slot, node("h", 2)), ++ranges;
    if (slot < 5460) body += range(slot + 1, 5460, node("h", 1)), ++ranges;
    body += range(5461, 10922, node("h", 2)) + range(10923, 16383, node("h", 3));
    ranges += 2;
    auto after = ClusterSlotMap::parse(resp("*" + std::to_string(ranges) + "\r\n" + body), "s");
    auto plan = plan_links(after, {{a, hb}});
    ASSERT_EQ(plan.drop.size(), 1u);
    ASSERT_EQ(plan.add.size(), 3u);  // h:1 again (new heartbeat), h:2, h:3
    auto again = heartbeat_channel(after, a, "p");
    ASSERT_TRUE(again);
    EXPECT_NE(*again, hb);
}
