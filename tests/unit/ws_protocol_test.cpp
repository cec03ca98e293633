// bazaar-ws client protocol: message parsing, frames, cookie and Origin
// checks (ws/protocol.hpp).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bazaar/config.hpp"
#include "protocol.hpp"

using namespace bazaar;
using namespace bazaar::ws;
using Kind = ClientMessage::Kind;

TEST(WsProtocol, KnownMessages) {
    EXPECT_EQ(parse_client_message(R"({"type":"ping"})").kind, Kind::kPing);
    auto r = parse_client_message(R"({"type":"resume","lastEventId":"1764500000000-7"})");
    ASSERT_EQ(r.kind, Kind::kResume);
    EXPECT_EQ(r.last_event_id.ms, 1764500000000u);
    EXPECT_EQ(r.last_event_id.seq, 7u);
    auto a = parse_client_message(R"({"type":"auth","token":"abc"})");
    ASSERT_EQ(a.kind, Kind::kAuth);
    EXPECT_EQ(a.token, "abc");
}

TEST(WsProtocol, HostileMessagesAreInvalidWithAReason) {
    for (const char* text :
         {"", "{", "[]", "1", "null", R"({"type":1})", R"({"type":null})", R"({"type":"pong"})",
          R"({"type":"ping","x":1})", R"({"type":"resume"})",
          R"({"type":"resume","lastEventId":5})", R"({"type":"resume","lastEventId":"abc"})",
          R"({"type":"resume","lastEventId":"-1-2"})",
          R"({"type":"resume","lastEventId":"99999999999999999999999-0"})",
          R"({"type":"auth","token":""})", R"({"type":"auth","token":["x"]})",
          "{\"type\":\"ping\"\0}"}) {
        auto m = parse_client_message(text);
        EXPECT_EQ(m.kind, Kind::kInvalid) << text;
        EXPECT_FALSE(m.reason.empty()) << text;
    }
}

TEST(WsProtocol, ErrorFramesNeverEchoClientBytes) {
    auto m = parse_client_message("{\"type\":\"\xff\xfe\"}");  // invalid UTF-8 inside JSON
    EXPECT_EQ(m.kind, Kind::kInvalid);
    auto j = nlohmann::json::parse(error_frame(m.reason));  // valid JSON, valid UTF-8
    EXPECT_EQ(j["type"], "error");
    EXPECT_EQ(nlohmann::json::parse(resume_failed_frame("too old"))["type"], "resume_failed");
    EXPECT_EQ(pong_frame(), R"({"type":"pong"})");
}

TEST(WsProtocol, CookieValue) {
    EXPECT_EQ(cookie_value("accessToken=abc", "accessToken"), "abc");
    EXPECT_EQ(cookie_value("a=1; accessToken=x.y.z; b=2", "accessToken"), "x.y.z");
    EXPECT_EQ(cookie_value("a=1;accessToken=\"q\"", "accessToken"), "q");
    EXPECT_EQ(cookie_value("xaccessToken=1; accessTokenx=2", "accessToken"), std::nullopt);
    EXPECT_EQ(cookie_value("", "accessToken"), std::nullopt);
    EXPECT_EQ(cookie_value(";;; =; accessToken=", "accessToken"), "");
}

TEST(WsProtocol, OriginAllowList) {
    std::vector<std::string> allowed = {"http://127.0.0.1:8080", "https://shop.example"};
    EXPECT_TRUE(origin_allowed(allowed, ""));  // no Origin: not a browser
    EXPECT_TRUE(origin_allowed(allowed, "http://127.0.0.1:8080"));
    EXPECT_TRUE(origin_allowed(allowed, "HTTPS://Shop.Example"));
    EXPECT_FALSE(origin_allowed(allowed, "https://shop.example.evil"));
    EXPECT_FALSE(origin_allowed(allowed, "http://127.0.0.1:8081"));
    EXPECT_FALSE(origin_allowed(allowed, "null"));
    EXPECT_TRUE(origin_allowed({"*"}, "https://anything"));
}

TEST(WsProtocol, FrameEventId) {
    std::string f = live::frame("1764500000000-3", "cart.cleared", "{}");
    auto id = frame_event_id(f);
    ASSERT_TRUE(id);
    EXPECT_EQ(id->ms, 1764500000000u);
    EXPECT_EQ(id->seq, 3u);
    EXPECT_FALSE(frame_event_id(R"({"type":"x"})"));
    EXPECT_FALSE(frame_event_id("not json"));
}

TEST(WsConfig, AllowedOriginsDefaultToTheStackItself) {
    auto c =
        Config::from_map({{"HTTP_PORT", "18280"}, {"PUBLIC_BASE_URL", "https://Shop.Example/x"}});
    EXPECT_EQ(c.ws_allowed_origins,
              (std::vector<std::string>{"http://127.0.0.1:18280", "http://localhost:18280",
                                        "https://shop.example"}));
    auto d = Config::from_map({{"WS_ALLOWED_ORIGINS", "https://A.example/, *"}});
    EXPECT_EQ(d.ws_allowed_origins, (std::vector<std::string>{"https://a.example", "*"}));
    EXPECT_THROW(Config::from_map({{"WS_ALLOWED_ORIGINS", "a.example"}}), ConfigError);
    EXPECT_THROW(Config::from_map({{"WS_SEND_QUEUE_MESSAGES", "0"}}), ConfigError);
}
