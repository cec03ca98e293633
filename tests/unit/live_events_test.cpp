#include "bazaar/events/live_events.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace bazaar;

TEST(LiveEvents, RoomKeysShareTheRoomsHashTag) {
    std::string room = live::user_room("0b6f3f0e-8f6a-4c43-9b3f-2a4f3c1d2e5f");
    EXPECT_EQ(room, "u:0b6f3f0e-8f6a-4c43-9b3f-2a4f3c1d2e5f");
    EXPECT_EQ(live::stream_key(room), "{u:0b6f3f0e-8f6a-4c43-9b3f-2a4f3c1d2e5f}:events");
    EXPECT_EQ(live::channel(room), "{u:0b6f3f0e-8f6a-4c43-9b3f-2a4f3c1d2e5f}:live");
    EXPECT_EQ(live::stream_key(live::kAdminRoom), "{role:admin}:events");
}

TEST(LiveEvents, FrameIsTheEnvelopeWithTsFromTheId) {
    std::string f = live::frame("1764504000123-7", "cart.cleared", R"({"version":3})");
    EXPECT_EQ(
        f,
        R"({"event":"cart.cleared","id":"1764504000123-7","ts":"2025-11-30T12:00:00.123Z","data":{"version":3}})");
    auto j = nlohmann::json::parse(f);
    EXPECT_EQ(j["data"]["version"], 3);
}

TEST(LiveEvents, FrameEscapesTheEventName) {
    auto j = nlohmann::json::parse(live::frame("1-0", "a\"b", "null"));
    EXPECT_EQ(j["event"], "a\"b");
}

TEST(LiveEvents, ParsesStreamIds) {
    auto id = live::parse_event_id("1764504000123-7");
    ASSERT_TRUE(id);
    EXPECT_EQ(id->ms, 1764504000123u);
    EXPECT_EQ(id->seq, 7u);
    EXPECT_LT(*live::parse_event_id("5-9"), *live::parse_event_id("6-0"));
    EXPECT_LT(*live::parse_event_id("6-1"), *live::parse_event_id("6-2"));
}

TEST(LiveEvents, RejectsWhatIsNotAStreamId) {
    for (const char* bad : {"", "-", "1-", "-1", "1", "a-1", "1-b", "+1-0", "1--1", "1-0-0", " 1-0",
                            "1-0 ", "99999999999999999999999-0", "1.5-0", "0x10-0"}) {
        EXPECT_FALSE(live::parse_event_id(bad)) << bad;
    }
    EXPECT_FALSE(live::parse_event_id(std::string_view("1-0\0", 4)));
}
