#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bazaar/error.hpp"

using bazaar::Error;
using bazaar::ErrorCode;

TEST(Error, MapsEveryCodeToApiNameAndStatus) {
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kValidationFailed), 400);
    EXPECT_STREQ(bazaar::error_code_name(ErrorCode::kMalformedJson), "MALFORMED_JSON");
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kIdempotencyKeyReused), 422);
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kPayloadTooLarge), 413);
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kUnsupportedMediaType), 415);
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kRateLimited), 429);
    EXPECT_EQ(bazaar::error_http_status(ErrorCode::kUnavailable), 503);
    EXPECT_STREQ(bazaar::error_code_name(ErrorCode::kOutOfStock), "OUT_OF_STOCK");
}

TEST(Error, BodyHasTheContractShapeWithFieldDetails) {
    auto e = Error::validation("quantity", "must be an integer between 1 and 10");
    auto j = nlohmann::json::parse(e.body());
    EXPECT_EQ(j["success"], false);
    EXPECT_EQ(j["error"]["code"], "VALIDATION_FAILED");
    ASSERT_EQ(j["error"]["details"].size(), 1u);
    EXPECT_EQ(j["error"]["details"][0]["field"], "quantity");
    EXPECT_EQ(j["error"]["details"][0]["reason"], "must be an integer between 1 and 10");
    EXPECT_EQ(e.http_status(), 400);
}

TEST(Error, RawDetailsAndHeadersAreCarried) {
    Error e(ErrorCode::kOutOfStock, "not enough stock");
    e.with_raw_details(R"([{"bookId":"1","requested":3,"available":1}])").with_header("X-A", "b");
    auto j = nlohmann::json::parse(e.body());
    EXPECT_EQ(j["error"]["details"][0]["available"], 1);
    ASSERT_EQ(e.headers().size(), 1u);
    EXPECT_EQ(e.headers()[0].first, "X-A");
}
