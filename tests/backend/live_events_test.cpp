// The Lua side (lua/lib/live_events.lua) and the C++ side
// (shared/src/events/live_events.cpp) of the live event stream must agree:
// a subscriber sees the same frame that a replay rebuilds from the stream.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "backend_env.hpp"
#include "bazaar/events/live_events.hpp"
#include "bazaar/redis.hpp"
#include "bazaar/time.hpp"

using namespace bazaar;

namespace {
RedisOptions options() {
    return stacktest::redis_options();
}

void load_product_scripts() {
    static bool once = [] {
        load_scripts(stacktest::stack_config().lua_dir);
        return true;
    }();
    (void)once;
}

std::string fresh_room() {
    return live::user_room(uuid_v4());
}
}  // namespace

TEST(LiveEvents, PublishedFrameEqualsTheReplayedFrame) {
    load_product_scripts();
    Redis pub(options()), sub(options());
    std::string room = fresh_room();
    sub.command({"SSUBSCRIBE", live::channel(room)});

    std::string id =
        live::emit(pub, room, "cart.item_updated",
                   nlohmann::json{{"bookId", "7"}, {"quantity", 2}, {"title", "Ölaf \"q\""}});
    Reply msg = sub.blocking_command({"PING"}, 0);  // the published message arrives first
    ASSERT_TRUE(msg.is_array());
    ASSERT_EQ(msg.at(0).str(), "smessage");  // sharded pub/sub
    std::string live_frame(msg.at(2).str());

    Reply entries = pub.command({"XRANGE", live::stream_key(room), "-", "+"});
    ASSERT_EQ(entries.size(), 1u);
    Reply entry = entries.at(0);
    EXPECT_EQ(entry.at(0).str(), id);
    Reply fields = entry.at(1);
    ASSERT_EQ(fields.size(), 4u);
    EXPECT_EQ(fields.at(0).str(), "event");
    EXPECT_EQ(fields.at(2).str(), "data");
    EXPECT_EQ(live::frame(entry.at(0).str(), fields.at(1).str(), fields.at(3).str()), live_frame);

    auto j = nlohmann::json::parse(live_frame);
    EXPECT_EQ(j["event"], "cart.item_updated");
    EXPECT_EQ(j["id"], id);
    EXPECT_EQ(j["data"]["title"], "Ölaf \"q\"");
    EXPECT_EQ(j["ts"].get<std::string>().size(), 24u);
    // An idle stream expires after 2 days (more than the 24 h of API.md §6).
    auto ttl = pub.command({"PTTL", live::stream_key(room)}).integer();
    EXPECT_GT(ttl, 86400000LL);
    EXPECT_LE(ttl, 2 * 86400000LL);
}

TEST(LiveEvents, OldEntriesBeyondTheNewestThousandAreTrimmed) {
    load_product_scripts();
    Redis r(options());
    std::string room = fresh_room();
    std::string key = live::stream_key(room);
    std::vector<RedisArgs> fill;
    for (int i = 0; i < 1100; ++i)  // 1100 events from 1970: older than 24 h
        fill.push_back(
            RedisArgs{"XADD", key, std::to_string(1000 + i) + "-0", "event", "x", "data", "{}"});
    r.pipeline(fill);
    live::emit(r, room, "cart.cleared", nlohmann::json::object());
    // 1101 entries: the oldest 100 (beyond the newest 1000 and old) go.
    EXPECT_EQ(r.command({"XLEN", key}).integer(), 1001);
    Reply first = r.command({"XRANGE", key, "-", "+", "COUNT", "1"});
    EXPECT_EQ(first.at(0).at(0).str(), "1100-0");
}

// Issue 18: recent entries count too, so one user's stream is bounded
// (about 1000 entries of at most 4 KiB), however fast it is written.
TEST(LiveEvents, RecentEntriesBeyondTheNewestThousandAreTrimmedToo) {
    load_product_scripts();
    Redis r(options());
    std::string room = fresh_room();
    std::string key = live::stream_key(room);
    std::vector<RedisArgs> fill;
    for (int i = 0; i < 1100; ++i)
        fill.push_back(RedisArgs{"XADD", key, "*", "event", "x", "data", "{}"});
    r.pipeline(fill);
    live::emit(r, room, "cart.cleared", nlohmann::json::object());
    auto len = r.command({"XLEN", key}).integer();
    EXPECT_GE(len, 1000);  // API.md §6: at least 1000 kept
    EXPECT_LT(len, 1101);
}

// An event's data above 4 KiB is stored, and published, as its top-level
// scalars (ids, status) marked partial: the stream's bytes stay bounded and
// the client reloads the rest over REST.
TEST(LiveEvents, OversizedDataKeepsItsScalarsAndIsMarkedPartial) {
    load_product_scripts();
    Redis pub(options()), sub(options());
    std::string room = fresh_room();
    sub.command({"SSUBSCRIBE", live::channel(room)});
    nlohmann::json big = {{"orderId", "o-1"},
                          {"status", "PAID"},
                          {"count", 3},
                          {"order", {{"items", std::string(5000, 'x')}}}};
    nlohmann::json stored = {
        {"orderId", "o-1"}, {"status", "PAID"}, {"count", 3}, {"partial", true}};
    std::string id = live::emit(pub, room, "order.paid", big);
    Reply entries = pub.command({"XRANGE", live::stream_key(room), "-", "+"});
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries.at(0).at(0).str(), id);
    EXPECT_EQ(nlohmann::json::parse(entries.at(0).at(1).at(3).str()), stored);

    nlohmann::json small = {{"orderId", "o-2"}, {"order", {{"items", std::string(3000, 'y')}}}};
    live::emit(pub, room, "order.paid", small);
    Reply last = pub.command({"XREVRANGE", live::stream_key(room), "+", "-", "COUNT", "1"});
    EXPECT_EQ(nlohmann::json::parse(last.at(0).at(1).at(3).str()), small);

    // The frame published is the stored one.
    Reply msg = sub.blocking_command({"PING"}, 0);
    ASSERT_TRUE(msg.is_array());
    EXPECT_EQ(nlohmann::json::parse(msg.at(2).str())["data"], stored);
}
