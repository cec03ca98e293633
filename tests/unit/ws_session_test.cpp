// The per-socket cursor of bazaar-ws (ws/session.hpp): live delivery without
// duplicates, resume with parked live frames, paging, failures, and the
// catch-up after a lost Redis link.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "session.hpp"

using namespace bazaar;
using namespace bazaar::ws;

namespace {
live::EventId id(std::uint64_t ms) {
    return {ms, 0};
}
Frame frame(std::uint64_t ms) {
    return std::make_shared<const std::string>(
        live::frame(std::to_string(ms) + "-0", "cart.item_updated", "{}"));
}
StreamEntry entry(std::uint64_t ms) {
    return {id(ms), frame(ms)};
}

// What the socket would write, as event ms or "type" of other frames.
std::vector<std::string> drain(Session& s) {
    std::vector<std::string> out;
    while (s.has_output()) {
        auto j = nlohmann::json::parse(s.front());
        out.push_back(j.contains("id") ? j["id"].get<std::string>() : j["type"].get<std::string>());
        s.pop_front();
    }
    return out;
}
std::vector<std::string> ids(std::initializer_list<int> ms) {
    std::vector<std::string> out;
    for (int m : ms) out.push_back(std::to_string(m) + "-0");
    return out;
}
Session live_session(QueueLimits limits = {}) {
    Session s(1, "u", false, 0, limits);
    s.on_room_ready(id(100));
    return s;
}
}  // namespace

TEST(WsSession, LiveFramesOnceAndInOrder) {
    Session s = live_session();
    EXPECT_EQ(s.mode(), Session::Mode::kLive);
    EXPECT_TRUE(s.on_live(id(100), frame(100)));  // the baseline itself: already known
    EXPECT_TRUE(s.on_live(id(101), frame(101)));
    EXPECT_TRUE(s.on_live(id(101), frame(101)));
    EXPECT_TRUE(s.on_live(id(102), frame(102)));
    EXPECT_EQ(drain(s), ids({101, 102}));
}

TEST(WsSession, NothingBeforeTheRoomIsSubscribed) {
    Session s(1, "u", false, 0, {});
    EXPECT_TRUE(s.on_live(id(5), frame(5)));
    EXPECT_FALSE(s.has_output());
}

TEST(WsSession, ResumeReplaysThenFlushesParkedLiveFramesWithoutDuplicates) {
    Session s(1, "u", false, 0, {});
    s.on_room_ready(id(40));  // joined when the stream ended at 40
    s.request_resume(id(50));
    auto page = s.next_page();
    ASSERT_TRUE(page);
    EXPECT_TRUE(page->inclusive);
    EXPECT_EQ(page->from, id(50));
    EXPECT_FALSE(s.next_page());  // one page in flight
    // Events 53 and 54 arrive live while the page is read; 53 is also in it.
    s.on_live(id(53), frame(53));
    s.on_live(id(54), frame(54));
    auto r = s.on_page(page->generation, {entry(50), entry(51), entry(52), entry(53)}, id(10));
    EXPECT_EQ(r, Session::PageResult::kDone);
    EXPECT_EQ(s.mode(), Session::Mode::kLive);
    s.on_live(id(54), frame(54));  // the pub/sub copy arriving late
    s.on_live(id(55), frame(55));
    EXPECT_EQ(drain(s), ids({51, 52, 53, 54, 55}));
}

TEST(WsSession, FullPagesContinueFromTheLastEntry) {
    Session s = live_session();
    s.request_resume(id(1));
    auto p1 = s.next_page();
    ASSERT_TRUE(p1);
    std::vector<StreamEntry> first;
    for (std::uint64_t i = 1; i <= p1->count; ++i) first.push_back(entry(i));
    EXPECT_EQ(s.on_page(p1->generation, first, id(1)), Session::PageResult::kContinue);
    drain(s);
    auto p2 = s.next_page();
    ASSERT_TRUE(p2);
    EXPECT_FALSE(p2->inclusive);
    EXPECT_EQ(p2->from, id(p1->count));
    EXPECT_EQ(s.on_page(p2->generation, {entry(p1->count + 1)}, std::nullopt),
              Session::PageResult::kDone);
    EXPECT_EQ(drain(s), ids({static_cast<int>(p1->count) + 1}));
}

TEST(WsSession, PagesWaitForTheQueueToDrain) {
    Session s = live_session({10, 1 << 20});
    s.request_resume(id(1));
    auto p1 = s.next_page();
    std::vector<StreamEntry> page;
    for (std::uint64_t i = 1; i <= p1->count; ++i) page.push_back(entry(i));
    s.on_page(p1->generation, page, id(1));
    EXPECT_FALSE(s.next_page());  // 100 frames queued, bound 10
    while (s.queued() > 5) s.pop_front();
    EXPECT_TRUE(s.next_page());
}

TEST(WsSession, UnknownOrTooOldIdFailsClearly) {
    Session s = live_session();
    s.request_resume(id(50));
    auto p = s.next_page();
    EXPECT_EQ(s.on_page(p->generation, {entry(60)}, id(60)), Session::PageResult::kFailed);
    auto out = s.front();
    EXPECT_NE(out.find("older than the kept history"), std::string::npos) << out;
    s.pop_front();
    EXPECT_EQ(s.mode(), Session::Mode::kLive);

    s.request_resume(id(70));
    p = s.next_page();
    EXPECT_EQ(s.on_page(p->generation, {entry(71)}, id(60)), Session::PageResult::kFailed);
    EXPECT_NE(s.front().find("unknown event id"), std::string::npos);
    s.pop_front();

    s.request_resume(id(70));
    p = s.next_page();
    EXPECT_EQ(s.on_page(p->generation, {}, std::nullopt), Session::PageResult::kFailed);
    EXPECT_NE(s.front().find("no events are kept"), std::string::npos);
}

TEST(WsSession, ParkedOverflowForcesOneMorePage) {
    Session s = live_session({100000, 1 << 30});
    s.request_resume(id(1));
    auto p = s.next_page();
    for (std::uint64_t i = 0; i <= Session::kMaxPending; ++i)
        s.on_live(id(1000 + i), frame(1000 + i));
    EXPECT_EQ(s.on_page(p->generation, {entry(1), entry(2)}, id(1)),
              Session::PageResult::kContinue);
    auto p2 = s.next_page();
    ASSERT_TRUE(p2);
    EXPECT_EQ(p2->from, id(2));
}

TEST(WsSession, StaleRepliesAreIgnored) {
    Session s = live_session();
    s.request_resume(id(1));
    auto old = s.next_page();
    s.request_resume(id(1));  // the client asked again
    EXPECT_EQ(s.on_page(old->generation, {entry(1), entry(2)}, id(1)), Session::PageResult::kStale);
    EXPECT_FALSE(s.has_output());
}

TEST(WsSession, LostLinkCatchesUpFromWhatWasSent) {
    Session s = live_session();
    s.on_live(id(101), frame(101));
    drain(s);
    s.on_room_lost();
    EXPECT_EQ(s.mode(), Session::Mode::kWaiting);
    s.on_live(id(102), frame(102));  // cannot happen while unsubscribed, and is ignored
    s.on_room_ready(id(103));
    auto p = s.next_page();
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->inclusive);
    EXPECT_EQ(p->from, id(101));
    s.on_page(p->generation, {entry(101), entry(102), entry(103)}, id(1));
    EXPECT_EQ(drain(s), ids({102, 103}));
}

TEST(WsSession, LostLinkWithoutAPositionTellsTheClientToReload) {
    Session s(1, "u", false, 0, {});
    s.on_room_ready(std::nullopt);  // baseline not known yet
    s.on_room_lost();
    s.on_room_ready(id(5));
    EXPECT_EQ(drain(s), std::vector<std::string>{"resume_failed"});
    EXPECT_EQ(s.mode(), Session::Mode::kLive);
}

TEST(WsSession, QueueBounds) {
    Session s(1, "u", false, 0, {3, 1 << 20});
    EXPECT_TRUE(s.push(frame(1)));
    EXPECT_TRUE(s.push(frame(2)));
    EXPECT_TRUE(s.push(frame(3)));
    EXPECT_FALSE(s.push(frame(4)));
    EXPECT_EQ(s.drop_all(), 3u);
    EXPECT_EQ(s.queued_bytes(), 0u);
    Session b(2, "u", false, 0, {1000, 100});
    EXPECT_TRUE(b.push(std::make_shared<const std::string>(std::string(150, 'x'))));
    EXPECT_FALSE(b.push(frame(1)));
}

TEST(WsSession, ResumeOnALiveSocketSkipsWhatItAlreadyGot) {
    Session s = live_session();  // baseline 100
    s.on_live(id(104), frame(104));
    s.on_live(id(105), frame(105));
    drain(s);
    s.request_resume(id(101));  // the client had 101 from an earlier socket
    auto p = s.next_page();
    s.on_live(id(106), frame(106));
    EXPECT_EQ(s.on_page(p->generation, {entry(101), entry(102), entry(103), entry(104), entry(105)},
                        id(1)),
              Session::PageResult::kDone);
    s.on_live(id(107), frame(107));
    EXPECT_EQ(drain(s), ids({102, 103, 106, 107}));
}
