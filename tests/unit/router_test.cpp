#include <gtest/gtest.h>

#include "router.hpp"

using namespace bazaar::http;

namespace {
Handler named(std::string name) {
    return [name](Request&, bazaar::Backends&) { return Response::text(name, "text/plain"); };
}
}  // namespace

class RouterTest : public ::testing::Test {
  protected:
    void SetUp() override {
        router.add("GET", "/api/v1/books", named("list"));
        router.add("POST", "/api/v1/books", named("create"));
        router.add("GET", "/api/v1/books/:id", named("get"));
        router.add("DELETE", "/api/v1/books/:id/images/:imageId", named("del-image"));
        router.add("GET", "/api/v1/books/popular", named("popular"));
        router.add("POST", "/api/v1/auth/login", named("login"));
    }
    Router router;
    std::vector<std::pair<std::string, std::string>> params;
};

TEST_F(RouterTest, MatchesLiteralAndParameterSegments) {
    auto m = router.match("GET", "/api/v1/books/42", params);
    ASSERT_TRUE(m.route);
    EXPECT_EQ(m.route->pattern, "/api/v1/books/:id");
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0], (std::pair<std::string, std::string>{"id", "42"}));
}

TEST_F(RouterTest, LiteralSegmentsWinOverParameters) {
    auto m = router.match("GET", "/api/v1/books/popular", params);
    ASSERT_TRUE(m.route);
    EXPECT_EQ(m.route->pattern, "/api/v1/books/popular");
}

TEST_F(RouterTest, TwoParametersAndTrailingSlash) {
    auto m = router.match("DELETE", "/api/v1/books/7/images/9/", params);
    ASSERT_TRUE(m.route);
    ASSERT_EQ(params.size(), 2u);
    EXPECT_EQ(params[1].second, "9");
}

TEST_F(RouterTest, WrongMethodListsAllowedMethods) {
    auto m = router.match("PUT", "/api/v1/books", params);
    EXPECT_FALSE(m.route);
    EXPECT_EQ(m.allow, "GET, HEAD, POST");
}

TEST_F(RouterTest, HeadIsAnsweredByTheGetRoute) {
    auto m = router.match("HEAD", "/api/v1/books/7", params);
    ASSERT_TRUE(m.route);
    EXPECT_EQ(m.route->method, "GET");
    ASSERT_EQ(params.size(), 1u);
    EXPECT_EQ(params[0].second, "7");
    // No GET route, no HEAD: a POST-only path still answers 405.
    auto post_only = router.match("HEAD", "/api/v1/auth/login", params);
    EXPECT_FALSE(post_only.route);
    EXPECT_EQ(post_only.allow, "POST");
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
    auto m = router.match("GET", "/api/v1/nothing", params);
    EXPECT_FALSE(m.route);
    EXPECT_TRUE(m.allow.empty());
    EXPECT_FALSE(router.match("GET", "/api/v1/books/1/extra", params).route);
}

TEST_F(RouterTest, MetricNamesAreStableAndStartWithUnmatched) {
    auto names = router.metric_names();
    ASSERT_EQ(names.size(), 7u);
    EXPECT_EQ(names[0], "unmatched");
    EXPECT_EQ(names[3], "GET /api/v1/books/:id");
    auto m = router.match("GET", "/api/v1/books/1", params);
    EXPECT_EQ(m.route->index, 3u);
}

TEST_F(RouterTest, DuplicateRouteIsAProgrammingError) {
    EXPECT_THROW(router.add("GET", "/api/v1/books", named("again")), std::logic_error);
}
