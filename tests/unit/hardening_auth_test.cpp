// Issue 7 ("Hardening"), auth and input: the rules that live in shared/,
// tested without services. Each test failed before its fix.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/auth/refresh_tokens.hpp"
#include "bazaar/auth/session_stamp.hpp"
#include "bazaar/catalog/book.hpp"
#include "bazaar/catalog/currency.hpp"
#include "bazaar/config.hpp"
#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/log.hpp"
#include "bazaar/ratelimit/local_limiter.hpp"
#include "bazaar/users/user_service.hpp"
#include "bazaar/uuid.hpp"
#include "http.hpp"

using namespace bazaar;

namespace {
const std::string kUid = "0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c";
const std::string kSecret = "unit-test-secret-of-at-least-32-bytes!!";

std::string field_of(const Error& e) {
    return e.details().empty() ? "" : e.details()[0].field;
}
}  // namespace

/* ---- email normalisation agrees with Postgres's lower() on C.UTF-8 ---- */

TEST(EmailRule, LowerCasesEveryLetterNotOnlyAscii) {
    EXPECT_EQ(users::normalize_email("\xC3\x96laf1@Example.com"), "\xC3\xB6laf1@example.com");
    EXPECT_EQ(users::normalize_email("\xCE\xA9MEGA@example.com"), "\xCF\x89mega@example.com");
    // U+0130 (İ) lower-cases to plain 'i' in C.UTF-8, as lower() does there.
    EXPECT_EQ(users::normalize_email("\xC4\xB0x@example.com"), "ix@example.com");
    EXPECT_EQ(users::normalize_email("USER1@EXAMPLE.COM"), "user1@example.com");
}

TEST(EmailRule, RefusesNulControlAndFormatCharacters) {
    using namespace std::string_literals;
    for (std::string bad :
         {"user1@example.com\0junk"s, "user1@example.com\x01"s, "us\ter@example.com"s,
          "user\xC2\x85@example.com"s, "admin\xE2\x80\xAE@example.com"s,
          "a\xE2\x80\x8B@example.com"s, "\xFF@example.com"s, "a@b"s, "@example.com"s}) {
        try {
            users::normalize_email(bad);
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
            EXPECT_EQ(field_of(e), "email");
        }
    }
}

TEST(EmailRule, LengthIsCountedInCharactersAsTheDatabaseDoes) {
    std::string local(240, 'a');
    EXPECT_NO_THROW(users::normalize_email(local + "@example.com"));  // 252
    // 125 two-byte letters: 250 bytes but 125 characters + 12 = 137 characters.
    std::string wide;
    for (int i = 0; i < 125; ++i) wide += "\xC3\x96";
    EXPECT_NO_THROW(users::normalize_email(wide + "@example.com"));
    EXPECT_THROW(users::normalize_email(std::string(250, 'a') + "@example.com"), Error);
}

/* ---- usernames ---- */

TEST(UsernameRule, RefusesBlankAndInvisibleFormatting) {
    for (const char* bad :
         {"", "   ", "\xE3\x80\x80", "\xC2\xA0\t", "admin\xE2\x80\xAE", "ad\xE2\x80\x8Bmin",
          "\xEF\xBB\xBF"
          "admin",
          "a\x01"}) {
        EXPECT_THROW(users::validate_username(bad), Error) << bad;
    }
    EXPECT_NO_THROW(users::validate_username("\xC3\x96laf"));
    EXPECT_NO_THROW(users::validate_username("Mary Ann"));
    EXPECT_NO_THROW(users::validate_username(std::string(64, 'x')));
    EXPECT_THROW(users::validate_username(std::string(65, 'x')), Error);
}

TEST(PasswordRule, OneRuleForHandlerAndService) {
    EXPECT_THROW(users::validate_password(std::string(users::kPasswordRule.min - 1, 'p')), Error);
    EXPECT_NO_THROW(users::validate_password(std::string(users::kPasswordRule.min, 'p')));
    EXPECT_NO_THROW(users::validate_password(std::string(users::kPasswordRule.max, 'p')));
    EXPECT_THROW(users::validate_password(std::string(users::kPasswordRule.max + 1, 'p')), Error);
    EXPECT_THROW(users::validate_password(std::string("pass\0word-1", 11)), Error);
}

/* ---- every string field of every body ---- */

TEST(JsonInputText, NulAndControlsAreRefusedInEveryStringField) {
    auto body =
        nlohmann::json::parse(R"({"a":"x\u0000y","b":"ok","c":["fine","b\u001bad"],"d":"\u0085"})");
    JsonInput in(body, {"a", "b", "c", "d"});
    EXPECT_FALSE(in.string("a", {}));
    EXPECT_TRUE(in.string("b", {}));
    EXPECT_FALSE(in.string_array("c", {}, 5, true));
    EXPECT_FALSE(in.string("d", {}));
    ASSERT_EQ(in.issues().size(), 3u);
    EXPECT_EQ(in.issues()[0].field, "a");
    EXPECT_EQ(in.issues()[1].field, "c[1]");
    EXPECT_EQ(in.issues()[2].field, "d");
    EXPECT_THROW(in.finish(), Error);
}

TEST(JsonInputText, OnlyMultilineFieldsTakeNewlines) {
    auto body = nlohmann::json::parse(R"({"t":"a\nb","d":"a\nb\tc"})");
    JsonInput in(body, {"t", "d"});
    EXPECT_FALSE(in.string("t", {}));
    EXPECT_TRUE(in.string("d", {.multiline = true}));
    auto book = nlohmann::json::parse(
        R"({"title":"T","author":"A","priceCents":1,"stock":1,"description":"line\nline"})");
    EXPECT_NO_THROW(catalog::parse_book_input(book, false));
}

TEST(JsonInputText, RoutesWithoutABodyRefuseAnyField) {
    EXPECT_NO_THROW(JsonInput::require_no_fields(nlohmann::json::object()));
    EXPECT_THROW(JsonInput::require_no_fields(nlohmann::json{{"x", 1}}), Error);
}

TEST(UrlText, EscapedNulIsRefusedInPathsAndQueries) {
    EXPECT_FALSE(http::percent_decode("user1%00junk", false));
    EXPECT_FALSE(http::parse_query("q=abc%00def"));
    EXPECT_FALSE(http::parse_query("a%00=1"));
    EXPECT_EQ(*http::percent_decode("a%01b", false),
              "a\x01"
              "b");  // other controls: the field rules
}

/* ---- currency ---- */

TEST(Currency, Iso4217ListNotAnyThreeLetters) {
    for (const char* ok : {"USD", "EUR", "JPY", "GBP", "CHF"})
        EXPECT_TRUE(catalog::is_iso4217_currency(ok));
    for (const char* bad : {"ABC", "XXX", "XTS", "usd", "US", "USDD", ""})
        EXPECT_FALSE(catalog::is_iso4217_currency(bad)) << bad;
    auto book = nlohmann::json::parse(
        R"({"title":"T","author":"A","priceCents":1,"stock":1,"currency":"ABC"})");
    try {
        catalog::parse_book_input(book, false);
        ADD_FAILURE() << "ABC accepted";
    } catch (const Error& e) {
        EXPECT_EQ(field_of(e), "currency");
    }
}

/* ---- one UUID helper ---- */

TEST(Uuid, OneHelperCanonicalisesCase) {
    std::string upper = "0B5C2F1E-7A3D-4E4F-9C1A-2D3E4F5A6B7C";
    EXPECT_TRUE(is_uuid(upper));
    EXPECT_FALSE(is_canonical_uuid(upper));
    EXPECT_EQ(canonical_uuid(upper), kUid);
    EXPECT_TRUE(is_canonical_uuid(kUid));
    EXPECT_FALSE(is_uuid(kUid.substr(1)));
    EXPECT_FALSE(is_uuid("0b5c2f1e_7a3d-4e4f-9c1a-2d3e4f5a6b7c"));
    EXPECT_TRUE(users::looks_like_uuid(upper));  // the old name is the same rule
    // Refresh tokens are keyed by the id string: upper case is another family.
    EXPECT_FALSE(auth::refresh_token_user(upper + "." + std::string(64, 'a')));
}

/* ---- access tokens: subject and "not before" ---- */

TEST(AccessToken, SubjectMustBeACanonicalUuid) {
    for (const char* sub : {"42", "0B5C2F1E-7A3D-4E4F-9C1A-2D3E4F5A6B7C", ""}) {
        auto t = auth::sign_access_token(sub, "user", kSecret, 1800000000, 900);
        EXPECT_THROW(auth::verify_access_token(t, kSecret, 1800000001), Error) << sub;
    }
}

TEST(AccessToken, CarriesItsIssueTimeInMilliseconds) {
    auto t = auth::sign_access_token_ms(kUid, "user", kSecret, 1800000000123, 900);
    auto c = auth::verify_access_token(t, kSecret, 1800000001);
    EXPECT_EQ(c.issued_at, 1800000000);
    EXPECT_EQ(c.issued_at_ms, 1800000000123);
    EXPECT_EQ(c.expires_at, 1800000900);
}

TEST(NotBefore, TokensIssuedUpToTheStampAreRefused) {
    EXPECT_TRUE(auth::issued_after_stamp(1000, std::nullopt));
    EXPECT_TRUE(auth::issued_after_stamp(1001, 1000));
    EXPECT_FALSE(auth::issued_after_stamp(1000, 1000));
    EXPECT_FALSE(auth::issued_after_stamp(999, 1000));
    auth::AccessClaims c;
    c.user_id = kUid;
    c.issued_at_ms = 5000;
    EXPECT_NO_THROW(auth::check_not_before(c, 4999));
    try {
        auth::check_not_before(c, 5000);
        ADD_FAILURE();
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnauthenticated);
    }
    EXPECT_EQ(auth::not_before_key(kUid), "{u:" + kUid + "}:nbf");
}

TEST(NotBefore, StampTextAndTheRevocationControlMessage) {
    EXPECT_EQ(auth::parse_stamp("1764540000123"), 1764540000123);
    EXPECT_FALSE(auth::parse_stamp(""));
    EXPECT_FALSE(auth::parse_stamp("12x"));
    EXPECT_FALSE(auth::parse_stamp(" 12"));
    // What lua/auth_revoke_sessions.lua publishes on the user's live channel.
    EXPECT_EQ(
        auth::revoked_not_before(R"({"control":"session.revoked","notBefore":1764540000123})"),
        1764540000123);
    // Event frames (live::frame) and anything else are not revocations.
    EXPECT_FALSE(auth::revoked_not_before(
        R"({"event":"cart.cleared","id":"1-0","ts":"x","data":{"control":"session.revoked"}})"));
    EXPECT_FALSE(auth::revoked_not_before(R"({"control":"other","notBefore":1})"));
    EXPECT_FALSE(auth::revoked_not_before(R"({"control":"session.revoked","notBefore":"1"})"));
    EXPECT_FALSE(auth::revoked_not_before(R"({"control":"session.revoked"})"));
    EXPECT_FALSE(auth::revoked_not_before("{\"control\""));
}

TEST(RefreshSuccessor, DerivedSoARetryGetsTheSameToken) {
    auto t = auth::make_refresh_token(kUid);
    auto s1 = auth::successor_token(kUid, t, kSecret);
    EXPECT_EQ(s1, auth::successor_token(kUid, t, kSecret));
    EXPECT_NE(s1, auth::successor_token(kUid, t, kSecret + "x"));
    EXPECT_NE(s1, auth::successor_token(kUid, auth::make_refresh_token(kUid), kSecret));
    EXPECT_EQ(auth::refresh_token_user(s1), kUid);  // a well-formed token itself
}

/* ---- the published JWT secret ---- */

// Every JWT_SECRET value .env.example shows (commented or not) is refused by
// every process, whatever APP_ENV says.
TEST(JwtSecret, EveryValuePublishedInEnvExampleIsRefused) {
    std::ifstream f(std::string(BAZAAR_SOURCE_DIR) + "/.env.example");
    ASSERT_TRUE(f);
    std::string line;
    std::regex re(R"(^[#\s]*JWT_SECRET=(.*)$)");
    int found = 0;
    while (std::getline(f, line)) {
        std::smatch m;
        if (!std::regex_match(line, m, re)) continue;
        ++found;
        std::string value = m[1];
        EXPECT_TRUE(is_published_jwt_secret(value)) << value;
        for (const char* env : {"development", "test", "production"}) {
            ::setenv("JWT_SECRET", value.c_str(), 1);
            ::setenv("APP_ENV", env, 1);
            try {
                Config::load("/nonexistent/.env");
                ADD_FAILURE() << "started with the published secret in " << env;
            } catch (const ConfigError& e) {
                std::string msg = e.what();
                EXPECT_EQ(msg.rfind("JWT_SECRET:", 0), 0u) << msg;
                EXPECT_EQ(msg.find('\n'), std::string::npos) << "one line";
            }
        }
    }
    ::unsetenv("JWT_SECRET");
    ::unsetenv("APP_ENV");
    EXPECT_GE(found, 1);
    EXPECT_TRUE(is_published_jwt_secret("dev-only-jwt-secret-never-use-in-production-0123456789"));
    EXPECT_FALSE(is_published_jwt_secret(std::string(64, 'f')));
}

/* ---- no SQL DETAIL in a log line ---- */

TEST(LogRedaction, RowContentsNeverReachALine) {
    std::string pg =
        "ERROR:  new row for relation \"users\" violates check constraint \"users_email_check\"\n"
        "DETAIL:  Failing row contains (1, \xC3\x96laf@x.com, "
        "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA).\n";
    nlohmann::json fields{{"error", pg}, {"nested", {{"e", pg}}}};
    std::string line = log::format_line(log::Level::kError, "unhandled exception", &fields);
    EXPECT_EQ(line.find("argon2id"), std::string::npos) << line;
    EXPECT_EQ(line.find("Failing row"), std::string::npos) << line;
    EXPECT_NE(line.find("users_email_check"), std::string::npos) << line;
    EXPECT_EQ(log::format_line(log::Level::kError, pg, nullptr).find("argon2id"),
              std::string::npos);
}

/* ---- the per-process fallback limiter ---- */

TEST(LocalLimiter, SameGcraAsTheSharedOne) {
    ratelimit::LocalLimiter l;
    ratelimit::Policy p{"auth", 10, 60};
    for (int i = 0; i < 10; ++i) EXPECT_TRUE(l.check(p, "ip:1", 1000).allowed) << i;
    auto refused = l.check(p, "ip:1", 1000);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_s, 6);            // one request per 6 s
    EXPECT_TRUE(l.check(p, "ip:2", 1000).allowed);  // per identity
    EXPECT_TRUE(l.check(p, "ip:1", 1000 + 6000).allowed);
    EXPECT_FALSE(l.check(p, "ip:1", 1000 + 6000).allowed);
}

TEST(LocalLimiter, TableIsBounded) {
    ratelimit::LocalLimiter l(3);
    ratelimit::Policy p{"auth", 10, 60};
    for (int i = 0; i < 3; ++i) l.check(p, "ip:" + std::to_string(i), 0);
    EXPECT_FALSE(l.check(p, "ip:new", 0).allowed);  // full of live keys: refused, not grown
    EXPECT_EQ(l.size(), 3u);
    EXPECT_TRUE(l.check(p, "ip:new", 600000).allowed);  // the old ones expired and were swept
    EXPECT_EQ(l.size(), 1u);
}
