#include <gtest/gtest.h>

#include "bazaar/catalog/cursor.hpp"
#include "bazaar/error.hpp"
#include "bazaar/text/base64.hpp"

using namespace bazaar::catalog;
using bazaar::Error;
using bazaar::text::base64url_decode;
using bazaar::text::base64url_encode;

namespace {
const std::string kKey = "cursor-key";

std::string field_of(const Error& e) {
    return e.details().empty() ? "" : e.details()[0].field;
}
}  // namespace

TEST(Cursor, RoundTripsTheLastId) {
    auto c = encode_cursor(1234, "tag=3:abc;", kKey);
    EXPECT_EQ(decode_cursor(c, "tag=3:abc;", kKey), 1234);
    EXPECT_EQ(c.find('='), std::string::npos) << "url-safe, no padding";
}

TEST(Cursor, ForgedTamperedOrForeignCursorsAreValidationErrors) {
    auto c = encode_cursor(50, "", kKey);
    auto raw = base64url_decode(c);
    ASSERT_TRUE(raw);
    std::string forged = *raw;
    forged.replace(3, 2, "49");  // another id, same mac
    std::vector<std::string> bad = {
        base64url_encode(forged),        c.substr(0, c.size() - 3), "x", "", "!!",
        base64url_encode("v1.5.abc.def")};
    for (const auto& b : bad) {
        try {
            decode_cursor(b, "", kKey);
            FAIL() << "accepted " << b;
        } catch (const Error& e) {
            EXPECT_EQ(e.http_status(), 400);
            EXPECT_EQ(field_of(e), "cursor");
        }
    }
    EXPECT_THROW(decode_cursor(c, "tag=1:x;", kKey), Error) << "bound to its filter";
    EXPECT_THROW(decode_cursor(c, "", "another-key"), Error) << "bound to the server key";
}
