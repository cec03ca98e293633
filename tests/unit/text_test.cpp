// The small text module (shared/include/bazaar/text/): hex, base64, UTF-8
// length and the protocol string helpers every other module now shares.
#include <gtest/gtest.h>

#include "bazaar/text/base64.hpp"
#include "bazaar/text/hex.hpp"
#include "bazaar/text/strings.hpp"
#include "bazaar/text/utf8.hpp"

using namespace bazaar::text;

TEST(Hex, EncodesLowerCaseAndDecodesOnlyWhatItEncodes) {
    EXPECT_EQ(hex_encode(std::string_view("\x00\x01\xab\xff", 4)), "0001abff");
    EXPECT_EQ(hex_encode(""), "");
    const std::string all = [] {
        std::string s;
        for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
        return s;
    }();
    EXPECT_EQ(hex_decode(hex_encode(all)), all);
    EXPECT_EQ(hex_decode(""), std::string());
    EXPECT_FALSE(hex_decode("abc")) << "odd length";
    EXPECT_FALSE(hex_decode("AB")) << "upper case is a second spelling";
    EXPECT_FALSE(hex_decode("0g"));
    EXPECT_FALSE(hex_decode(std::string_view("0\0", 2)));
    EXPECT_TRUE(is_lower_hex("0123456789abcdef"));
    EXPECT_FALSE(is_lower_hex(""));
    EXPECT_FALSE(is_lower_hex("abcDef"));
}

TEST(Base64, StandardAlphabetWithPaddingMatchesRfc4648Vectors) {
    const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                           {"f", "Zg=="},
                                                           {"fo", "Zm8="},
                                                           {"foo", "Zm9v"},
                                                           {"foob", "Zm9vYg=="},
                                                           {"fooba", "Zm9vYmE="},
                                                           {"foobar", "Zm9vYmFy"}};
    for (auto [in, out] : vectors) EXPECT_EQ(base64_encode(in), out) << in;
    EXPECT_EQ(base64_encode("\xc3\xa9t\xc3\xa9"), "w6l0w6k=");
}

TEST(Base64Url, RoundTripsAndRejectsWhatItCannotHaveProduced) {
    for (const std::string& s : std::vector<std::string>{
             "", "a", "ab", "abc", "abcd", std::string("\0\xff\x10", 3), "\xfb\xff\xbf"}) {
        auto enc = base64url_encode(s);
        EXPECT_EQ(enc.find_first_of("+/="), std::string::npos) << enc;
        EXPECT_EQ(base64url_decode(enc), s);
    }
    EXPECT_EQ(base64url_encode("\xfb\xff\xbf"), "-_-_");
    EXPECT_FALSE(base64url_decode("a")) << "a length of 4n+1 is never produced";
    EXPECT_FALSE(base64url_decode("ab+/")) << "standard alphabet";
    EXPECT_FALSE(base64url_decode("ab==")) << "padding";
    EXPECT_FALSE(base64url_decode(" YWJj")) << "whitespace EVP_DecodeBlock would skip";
    EXPECT_FALSE(base64url_decode("YWJj\n"));
    EXPECT_FALSE(base64url_decode(std::string_view("YW\0j", 4)));
    EXPECT_FALSE(base64url_decode("YR")) << "non-zero leftover bits: a second spelling of 'a'";
    EXPECT_EQ(base64url_decode("YQ"), "a");
}

TEST(Utf8, CountsCodePointsNotBytes) {
    EXPECT_EQ(utf8_length(""), 0u);
    EXPECT_EQ(utf8_length("abc"), 3u);
    EXPECT_EQ(utf8_length("\xc3\xa9t\xc3\xa9"), 3u);  // été
    EXPECT_EQ(utf8_length("\xf0\x9f\x93\x9a"), 1u);   // one emoji, 4 bytes
    EXPECT_EQ(utf8_length("\xe4\xb8\xad\xe6\x96\x87"), 2u);
}

TEST(Strings, IequalsIsAsciiOnly) {
    EXPECT_TRUE(iequals("Content-Type", "content-type"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("abc", "abcd"));
    EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9")) << "É and é are not protocol tokens";
    EXPECT_FALSE(iequals("[", "{")) << "only letters fold";
}

TEST(Strings, SplitKeepsEveryPieceSplitListDropsBlanks) {
    using V = std::vector<std::string_view>;
    EXPECT_EQ(split("a,,b", ','), (V{"a", "", "b"}));
    EXPECT_EQ(split("", ','), (V{""}));
    EXPECT_EQ(split("a,", ','), (V{"a", ""}));
    EXPECT_EQ(split_list(" a ,\tb,, ,c,"), (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_TRUE(split_list("").empty());
    EXPECT_EQ(trim("  x y\t "), "x y");
    EXPECT_EQ(trim("\tx ", " "), "\tx");
    EXPECT_EQ(trim("   "), "");
}
