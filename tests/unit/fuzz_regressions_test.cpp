// Inputs the fuzz harnesses of tests/fuzz found to break a parser, each kept
// as a test that fails without its fix (some only under the ASan+UBSan build,
// `scripts/stack test --sanitize`, like the fuzzers themselves). The crashing
// inputs also stay in tests/fuzz/corpus/<target>/.
#include <gtest/gtest.h>

#include <string>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/catalog/book_query.hpp"
#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"

using bazaar::Error;
using bazaar::ErrorCode;

namespace {

const std::string kSecret = "unit-test-secret-of-at-least-32-bytes!!";

ErrorCode verify_error(const std::string& token) {
    try {
        bazaar::auth::verify_access_token(token, kSecret, 1'800'000'000);
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "accepted";
    return ErrorCode::kInternal;
}

}  // namespace

// fuzz target auth_input: cpp-jwt 1.4 looks base64 characters up in a
// 256-entry table indexed by a plain (signed) char, so a byte >= 0x80 in a
// Bearer token read up to 128 bytes before the table (UBSan: index
// 18446744073709551615 out of bounds).
TEST(FuzzRegressions, AccessTokenWithNonAsciiBytesIsRefusedBeforeDecoding) {
    EXPECT_EQ(verify_error("eyJhbGciOiJub25lIn5\xff\xff.eyJzdWIiOiJn.x"),
              ErrorCode::kUnauthenticated);
    EXPECT_EQ(verify_error("\x80\x81\x82\x83.\xfe.\xff"), ErrorCode::kUnauthenticated);
    EXPECT_EQ(verify_error(std::string("eyJ\0hbGci.e30.x", 15)), ErrorCode::kUnauthenticated);
}

// fuzz target book_query (property: accepted text is well-formed UTF-8):
// is_clean_text took any lead byte with the right number of continuation
// bytes, so overlong forms, UTF-16 surrogates and code points above
// U+10FFFF passed. JSON bodies cannot carry them, but q= and tag= are
// percent-decoded bytes, and Postgres refuses such text: a 500, not a 400.
TEST(FuzzRegressions, CleanTextIsWellFormedUtf8Only) {
    using bazaar::is_clean_text;
    for (const char* bad :
         {"\xC0\x80"
          "abc",
          "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF", "\xED\xA0\x80", "\xED\xBF\xBF",
          "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF", "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF",
          "\x80", "caf\xC3", "\xE2\x82"}) {
        EXPECT_FALSE(is_clean_text(bad, false)) << bazaar::utf8_length(bad);
        EXPECT_FALSE(is_clean_text(bad, true));
    }
    for (const char* good : {"caf\xC3\xA9", "\xE2\x82\xAC 5", "\xED\x9F\xBF", "\xEE\x80\x80",
                             "\xF0\x9D\x84\x9E", "\xF4\x8F\xBF\xBF", "\xC2\xA0x", "\xE0\xA0\x80"}) {
        EXPECT_TRUE(is_clean_text(good, false)) << good;
    }
}

TEST(FuzzRegressions, ListQueryRefusesMalformedUtf8InQAndTag) {
    using namespace bazaar::catalog;
    const std::string key = "k";
    auto field_of = [&](const QueryParams& p) -> std::string {
        try {
            parse_list_query(p, key);
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
            return e.details().empty() ? "" : e.details()[0].field;
        }
        return "accepted";
    };
    EXPECT_EQ(field_of({{"q",
                         "\xC0\x80"
                         "abc"}}),
              "q");
    EXPECT_EQ(field_of({{"q", "ab\xF4\x90\x80\x80"}}), "q");
    EXPECT_EQ(field_of({{"tag", "\xED\xA0\x80x"}}), "tag");
    EXPECT_EQ(field_of({{"q", "caf\xC3\xA9s"}, {"tag", "\xE2\x82\xAC"}}), "accepted");
}
