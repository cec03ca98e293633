#include <gtest/gtest.h>

#include "bazaar/error.hpp"
#include "bazaar/idempotency/idempotency.hpp"

using namespace bazaar;
using namespace bazaar::idempotency;

TEST(Idempotency, FingerprintSeparatesParts) {
    EXPECT_EQ(fingerprint("POST", "/a", "{}"), fingerprint("POST", "/a", "{}"));
    EXPECT_NE(fingerprint("POST", "/a", "{}"), fingerprint("POST", "/a", "{ }"));
    EXPECT_NE(fingerprint("POST", "/ab", "c"), fingerprint("POST", "/a", "bc"));
    EXPECT_NE(fingerprint("POST", "/a", ""), fingerprint("PUT", "/a", ""));
    EXPECT_EQ(fingerprint("POST", "/a", "").size(), 64u);
}

TEST(Idempotency, KeyRules) {
    EXPECT_EQ(validate_key(std::string_view("k-1")), "k-1");
    EXPECT_EQ(validate_key(std::string_view(std::string(255, 'a'))).size(), 255u);
    auto bad = [](std::optional<std::string_view> k) {
        try {
            validate_key(k);
            return false;
        } catch (const Error& e) {
            return e.code() == ErrorCode::kValidationFailed &&
                   e.details().at(0).field == "Idempotency-Key";
        }
    };
    EXPECT_TRUE(bad(std::nullopt));
    EXPECT_TRUE(bad(std::string_view("")));
    std::string big(256, 'a');
    EXPECT_TRUE(bad(std::string_view(big)));
    std::string nul("a\0b", 3);
    EXPECT_TRUE(bad(std::string_view(nul)));
    EXPECT_TRUE(bad(std::string_view("caf\xc3\xa9")));
}

TEST(Idempotency, WhatIsStored) {
    EXPECT_TRUE(is_outcome(201, ""));
    EXPECT_TRUE(is_outcome(409, "OUT_OF_STOCK"));
    EXPECT_TRUE(is_outcome(500, "INTERNAL"));
    EXPECT_FALSE(is_outcome(503, "UNAVAILABLE"));
    EXPECT_FALSE(is_outcome(400, "VALIDATION_FAILED"));
    EXPECT_FALSE(is_outcome(409, "IDEMPOTENCY_IN_PROGRESS"));
}
