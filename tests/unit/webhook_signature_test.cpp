// The Stripe-Signature scheme (payments/webhook_signature.hpp): parsing,
// HMAC, several v1 and several secrets, tolerance in both directions.
#include "bazaar/payments/webhook_signature.hpp"

#include <gtest/gtest.h>

using namespace bazaar::payments;

namespace {
const std::string kBody = R"({"id":"evt_1"})";
const std::string kSecret = "whsec_test_secret";
// printf '1700000000.{"id":"evt_1"}' | openssl dgst -sha256 -hmac whsec_test_secret
const std::string kSig = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
constexpr std::int64_t kT = 1700000000;
}  // namespace

TEST(WebhookSignature, ComputesTheOpenSslDigest) {
    EXPECT_EQ(compute_v1(kSecret, kT, kBody), kSig);
}

TEST(WebhookSignature, AcceptsAValidHeader) {
    std::string h = "t=1700000000,v1=" + kSig;
    EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT + 10, 300), SignatureResult::kOk);
    EXPECT_EQ(make_signature_header(kSecret, kT, kBody), h);
}

TEST(WebhookSignature, AcceptsAnyOfSeveralV1AndIgnoresOtherSchemes) {
    std::string h = "t=1700000000,v1=" + std::string(64, 'a') + ",v0=zzz,v1=" + kSig;
    EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT, 300), SignatureResult::kOk);
}

TEST(WebhookSignature, AcceptsAnyOfSeveralSecrets) {
    std::string h = "t=1700000000,v1=" + kSig;
    EXPECT_EQ(verify_signature(h, kBody, {"whsec_new", kSecret}, kT, 300), SignatureResult::kOk);
    EXPECT_EQ(verify_signature(h, kBody, {"whsec_new"}, kT, 300), SignatureResult::kNoMatch);
}

TEST(WebhookSignature, RejectsTamperedBodyWrongTimestampAndWrongSecret) {
    std::string h = "t=1700000000,v1=" + kSig;
    EXPECT_EQ(verify_signature(h, R"({"id":"evt_2"})", {kSecret}, kT, 300),
              SignatureResult::kNoMatch);
    EXPECT_EQ(verify_signature("t=1700000001,v1=" + kSig, kBody, {kSecret}, kT, 300),
              SignatureResult::kNoMatch);
    EXPECT_EQ(verify_signature(h, kBody, {"whsec_other"}, kT, 300), SignatureResult::kNoMatch);
    // upper-case hex is not what HMAC hex gives: no match, compared in full
    std::string upper = kSig;
    for (auto& c : upper) c = static_cast<char>(toupper(c));
    EXPECT_EQ(verify_signature("t=1700000000,v1=" + upper, kBody, {kSecret}, kT, 300),
              SignatureResult::kNoMatch);
    EXPECT_EQ(verify_signature("t=1700000000,v1=" + kSig.substr(0, 63), kBody, {kSecret}, kT, 300),
              SignatureResult::kNoMatch);
}

TEST(WebhookSignature, ToleranceBothWays) {
    std::string h = "t=1700000000,v1=" + kSig;
    EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT + 300, 300), SignatureResult::kOk);
    EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT + 301, 300), SignatureResult::kStale);
    EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT - 301, 300), SignatureResult::kStale);
}

TEST(WebhookSignature, MissingAndMalformedHeaders) {
    EXPECT_EQ(verify_signature(std::nullopt, kBody, {kSecret}, kT, 300), SignatureResult::kMissing);
    EXPECT_EQ(verify_signature("  ", kBody, {kSecret}, kT, 300), SignatureResult::kMissing);
    for (const std::string& h : std::vector<std::string>{
             "garbage", "t=1700000000", "v1=" + kSig, "t=abc,v1=" + kSig, "t=-5,v1=" + kSig,
             "t=1,t=2,v1=" + kSig, "t=1700000000,v1=", "t=1700000000,," + kSig,
             "t=1700000000,=x,v1=" + kSig, "t=1234567890123,v1=" + kSig, "t= 17,v1=" + kSig,
             std::string("t=1700000000\0,v1=", 17) + kSig}) {
        EXPECT_EQ(verify_signature(h, kBody, {kSecret}, kT, 300), SignatureResult::kMalformed) << h;
    }
    std::string many = "t=1700000000";
    for (int i = 0; i < 40; ++i) many += ",v1=" + kSig;
    EXPECT_EQ(verify_signature(many, kBody, {kSecret}, kT, 300), SignatureResult::kMalformed);
}

TEST(WebhookSignature, EmptySecretsNeverMatch) {
    std::string h = make_signature_header("", kT, kBody);
    EXPECT_EQ(verify_signature(h, kBody, {""}, kT, 300), SignatureResult::kNoMatch);
    EXPECT_EQ(verify_signature(h, kBody, {}, kT, 300), SignatureResult::kNoMatch);
}

TEST(WebhookSignature, SecretList) {
    EXPECT_EQ(parse_secret_list(" a , b,,c "), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(parse_secret_list("").empty());
}
