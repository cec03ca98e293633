#include <gtest/gtest.h>

#include "bazaar/error.hpp"
#include "http.hpp"

using namespace bazaar::http;

TEST(PercentDecode, DecodesEscapesAndPlus) {
    EXPECT_EQ(*percent_decode("a%20b%2Fc", false), "a b/c");
    EXPECT_EQ(*percent_decode("a+b", true), "a b");
    EXPECT_EQ(*percent_decode("a+b", false), "a+b");
    EXPECT_EQ(*percent_decode("%e2%82%ac", false), "\xe2\x82\xac");
}

TEST(PercentDecode, RejectsMalformedEscapes) {
    EXPECT_FALSE(percent_decode("%", false));
    EXPECT_FALSE(percent_decode("%4", false));
    EXPECT_FALSE(percent_decode("%zz", false));
    EXPECT_FALSE(percent_decode("abc%", false));
}

TEST(ParseQuery, SplitsPairsAndKeepsOrder) {
    auto q = parse_query("limit=20&q=the+river&tag=sci%2Dfi&&flag");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->size(), 4u);
    EXPECT_EQ((*q)[0], (std::pair<std::string, std::string>{"limit", "20"}));
    EXPECT_EQ((*q)[1].second, "the river");
    EXPECT_EQ((*q)[2].second, "sci-fi");
    EXPECT_EQ((*q)[3], (std::pair<std::string, std::string>{"flag", ""}));
    EXPECT_FALSE(parse_query("a=%G0"));
}

TEST(Cookies, FindsTheNamedValue) {
    EXPECT_EQ(*cookie_value("a=1; accessToken=xyz; b=2", "accessToken"), "xyz");
    EXPECT_EQ(*cookie_value("accessToken=\"q\"", "accessToken"), "q");
    EXPECT_FALSE(cookie_value("xaccessToken=1", "accessToken"));
    EXPECT_FALSE(cookie_value("", "a"));
}

TEST(RequestHeaders, MapsNamesToFastCgiParams) {
    char h1[] = "HTTP_AUTHORIZATION=Bearer t";
    char h2[] = "HTTP_IDEMPOTENCY_KEY=k1";
    char h3[] = "HTTP_COOKIE=accessToken=c";
    char* env[] = {h1, h2, h3, nullptr};
    Request r;
    r.env = env;
    EXPECT_EQ(*r.header("Authorization"), "Bearer t");
    EXPECT_EQ(*r.header("idempotency-key"), "k1");
    EXPECT_EQ(*r.cookie("accessToken"), "c");
    EXPECT_FALSE(r.header("X-Missing"));
}

TEST(RequestJson, EnforcesContentTypeAndShape) {
    Request r;
    r.body = R"({"a":1})";
    r.content_type = "text/plain";
    try {
        r.json();
        FAIL();
    } catch (const bazaar::Error& e) {
        EXPECT_EQ(e.http_status(), 415);
    }
    Request ok;
    ok.body = R"({"a":1})";
    ok.content_type = "application/json; charset=utf-8";
    EXPECT_EQ(ok.json()["a"], 1);

    Request bad;
    bad.content_type = "application/json";
    bad.body = "{nope";
    try {
        bad.json();
        FAIL();
    } catch (const bazaar::Error& e) {
        EXPECT_EQ(e.code(), bazaar::ErrorCode::kMalformedJson);
    }
    Request arr;
    arr.content_type = "application/json";
    arr.body = "[1]";
    EXPECT_THROW(arr.json(), bazaar::Error);
}

TEST(ResponseShapes, OkAndListFollowTheContract) {
    auto ok = Response::ok({{"x", 1}}, 201);
    EXPECT_EQ(ok.status, 201);
    EXPECT_EQ(nlohmann::json::parse(ok.body)["data"]["x"], 1);
    auto list = Response::list(nlohmann::json::array({1, 2}), std::nullopt, 20);
    auto j = nlohmann::json::parse(list.body);
    EXPECT_TRUE(j["success"]);
    EXPECT_TRUE(j["meta"]["nextCursor"].is_null());
    EXPECT_EQ(j["meta"]["limit"], 20);
    auto more = Response::list(nlohmann::json::array(), std::string("abc"), 5);
    EXPECT_EQ(nlohmann::json::parse(more.body)["meta"]["nextCursor"], "abc");
    EXPECT_EQ(Response::no_content().status, 204);
}
