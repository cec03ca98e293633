// Inputs the fuzz harnesses of tests/fuzz found to break a parser, each kept
// as a test that fails without its fix (some only under the ASan+UBSan build,
// `scripts/stack test --sanitize`, like the fuzzers themselves). The crashing
// inputs also stay in tests/fuzz/corpus/<target>/.
#include <gtest/gtest.h>

#include <string>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/error.hpp"

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
