#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/error.hpp"
#include "bazaar/text/base64.hpp"

using bazaar::Error;
using bazaar::ErrorCode;
using namespace bazaar::auth;

namespace {
const std::string kSecret = "unit-test-secret-of-at-least-32-bytes!!";
constexpr std::int64_t kNow = 1'800'000'000;

std::string b64(const std::string& s) {
    return bazaar::text::base64url_encode(s);
}

// A token signed by hand, to build what sign_access_token never would.
std::string hand_signed(const std::string& header, const std::string& payload) {
    std::string signing = b64(header) + "." + b64(payload);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), md, &len);
    return signing + "." + b64(std::string(reinterpret_cast<char*>(md), len));
}

void expect_rejected(const std::string& token, std::int64_t now = kNow) {
    try {
        verify_access_token(token, kSecret, now);
        FAIL() << "accepted: " << token;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnauthenticated);
    }
}
}  // namespace

TEST(Jwt, SignedTokenVerifiesWithItsClaims) {
    auto t = sign_access_token("0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c", "admin", kSecret, kNow, 900);
    auto c = verify_access_token(t, kSecret, kNow + 10);
    EXPECT_EQ(c.user_id, "0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c");
    EXPECT_EQ(c.role, "admin");
    EXPECT_EQ(c.issued_at, kNow);
    EXPECT_EQ(c.expires_at, kNow + 900);
}

TEST(Jwt, ExpiredTokenIsRejectedAtExp) {
    auto t = sign_access_token("0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c", "user", kSecret, kNow, 900);
    EXPECT_NO_THROW(verify_access_token(t, kSecret, kNow + 899));
    expect_rejected(t, kNow + 900);
}

TEST(Jwt, WrongSecretAndTamperingAreRejected) {
    auto t = sign_access_token("0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c", "user", kSecret, kNow, 900);
    EXPECT_THROW(verify_access_token(t, "another-secret-of-at-least-32-bytes!!!", kNow), Error);
    auto dot1 = t.find('.'), dot2 = t.rfind('.');
    std::string forged_payload = b64(
        R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"admin","iat":1800000000,"exp":1800000900})");
    expect_rejected(t.substr(0, dot1 + 1) + forged_payload + t.substr(dot2));
    expect_rejected(t.substr(0, dot2 + 1));  // signature stripped
    expect_rejected("garbage");
    expect_rejected("");
}

TEST(Jwt, AlgNoneIsRejected) {
    std::string payload = b64(
        R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"admin","iat":1800000000,"exp":1800000900})");
    expect_rejected(b64(R"({"alg":"none","typ":"JWT"})") + "." + payload + ".");
    expect_rejected(b64(R"({"alg":"NONE","typ":"JWT"})") + "." + payload + ".");
}

TEST(Jwt, HandSignedTokensAreCheckedForEveryClaim) {
    const std::string hs256 = R"({"alg":"HS256","typ":"JWT"})";
    // The helper is right: a complete token passes.
    EXPECT_NO_THROW(verify_access_token(
        hand_signed(
            hs256,
            R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"user","iat":1800000000,"exp":1800000900})"),
        kSecret, kNow));
    expect_rejected(hand_signed(
        hs256, R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"user","iat":1800000000})"));
    expect_rejected(hand_signed(
        hs256, R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"root","exp":1800000900})"));
    expect_rejected(hand_signed(hs256, R"({"role":"user","exp":1800000900})"));
    expect_rejected(hand_signed(
        hs256,
        R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"user","exp":"1800000900"})"));
    expect_rejected(hand_signed(
        R"({"alg":"HS512","typ":"JWT"})",
        R"({"sub":"0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c","role":"user","exp":1800000900})"));
}
