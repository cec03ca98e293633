// Issue 18 (items 7, 9, 10 and the low ones): the pure rules at the edges a
// hostile client reaches. Tokens issued in the future, JSON bodies with a
// key twice, addresses the mailer can never deliver to, images whose
// dimensions are a decompression bomb, and the metadata of uploaded
// originals.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>

#include "bazaar/auth/jwt.hpp"
#include "bazaar/error.hpp"
#include "bazaar/images/upload_input.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/mail/mime.hpp"
#include "bazaar/text/base64.hpp"
#include "bazaar/users/user_service.hpp"

using namespace bazaar;

namespace {

const std::string kSecret = "unit-test-secret-of-at-least-32-bytes!!";
constexpr std::int64_t kNow = 1'800'000'000;
const std::string kSub = "0b5c2f1e-7a3d-4e4f-9c1a-2d3e4f5a6b7c";

std::string hand_signed(const std::string& payload) {
    std::string signing = text::base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                          text::base64url_encode(payload);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha256(), kSecret.data(), static_cast<int>(kSecret.size()),
         reinterpret_cast<const unsigned char*>(signing.data()), signing.size(), md, &len);
    return signing + "." + text::base64url_encode(std::string(reinterpret_cast<char*>(md), len));
}

bool accepted(const std::string& token) {
    try {
        auth::verify_access_token(token, kSecret, kNow);
        return true;
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kUnauthenticated);
        return false;
    }
}

std::string claims(std::int64_t iat) {
    return R"({"sub":")" + kSub + R"(","role":"user","iat":)" + std::to_string(iat) + R"(,"exp":)" +
           std::to_string(kNow + 900) + "}";
}

}  // namespace

/* ---- item 10: a token issued in the future is refused everywhere ---- */

TEST(EdgesJwt, IssuedInTheFutureBeyondTheSkewIsRefused) {
    EXPECT_TRUE(accepted(hand_signed(claims(kNow))));
    EXPECT_TRUE(accepted(hand_signed(claims(kNow + auth::kMaxClockSkewS))));
    EXPECT_FALSE(accepted(hand_signed(claims(kNow + auth::kMaxClockSkewS + 1))));
    EXPECT_FALSE(accepted(hand_signed(claims(kNow + 86400 * 365))));
    // iat_ms is what the not-before stamp compares: it may not lie either.
    std::string ms_future = R"({"sub":")" + kSub + R"(","role":"user","iat":)" +
                            std::to_string(kNow) + R"(,"iat_ms":)" +
                            std::to_string((kNow + 3600) * 1000) + R"(,"exp":)" +
                            std::to_string(kNow + 900) + "}";
    EXPECT_FALSE(accepted(hand_signed(ms_future)));
    // What the server signs itself, a second ago or now, passes.
    EXPECT_TRUE(accepted(auth::sign_access_token(kSub, "user", kSecret, kNow - 1, 900)));
}

TEST(EdgesJwt, TokenWithoutIatIsRefused) {
    EXPECT_FALSE(accepted(hand_signed(R"({"sub":")" + kSub + R"(","role":"user","exp":)" +
                                      std::to_string(kNow + 900) + "}")));
    EXPECT_FALSE(accepted(hand_signed(R"({"sub":")" + kSub + R"(","role":"user","iat":"x","exp":)" +
                                      std::to_string(kNow + 900) + "}")));
}

/* ---- low: a JSON key twice is refused, naming it ---- */

TEST(EdgesJson, DuplicateKeysAreRefusedNamingTheKey) {
    for (const char* body :
         {R"({"email":"a@b.c","email":"admin@b.c"})", R"({"a":1,"items":[{"email":1,"email":2}]})",
          R"({"x":{"email":{},"email":null}})"}) {
        try {
            parse_json_unique_keys(body);
            ADD_FAILURE() << "accepted " << body;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kValidationFailed) << body;
            ASSERT_EQ(e.details().size(), 1u) << body;
            EXPECT_EQ(e.details()[0].field, "email") << body;
        }
    }
}

TEST(EdgesJson, SameKeyInSiblingObjectsIsFineAndBadJsonIsNullopt) {
    auto j = parse_json_unique_keys(R"({"a":{"k":1},"b":{"k":2},"c":[{"k":1},{"k":2}]})");
    ASSERT_TRUE(j.has_value());
    EXPECT_EQ((*j)["b"]["k"], 2);
    EXPECT_FALSE(parse_json_unique_keys(R"({"a":)").has_value());
    EXPECT_FALSE(parse_json_unique_keys("").has_value());
    EXPECT_TRUE(parse_json_unique_keys("[1,2]").has_value());
}

/* ---- item 9: one rule for the addresses an account may have ---- */

TEST(EdgesEmail, RegistrationAcceptsOnlyWhatTheMailerCanDeliver) {
    EXPECT_EQ(users::deliverable_email("User1@Example.com"), "user1@example.com");
    for (const char* bad : {"\xC3\x96laf@example.com", "zo\xC3\xAB@example.com",
                            "a@b\xC3\xBC.example", "\xCE\xA9MEGA@example.com"}) {
        EXPECT_FALSE(mail::mime::is_safe_address(users::normalize_email(bad))) << bad;
        try {
            users::deliverable_email(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), ErrorCode::kValidationFailed);
            ASSERT_EQ(e.details().size(), 1u);
            EXPECT_EQ(e.details()[0].field, "email");
        }
    }
}

/* ---- item 7: dimensions are bounded per side and in aspect ratio ---- */

TEST(EdgesImages, DimensionsBoundedBySideAspectAndPixels) {
    images::ImageLimits lim{.max_pixels = 40'000'000, .max_side = 12000, .max_aspect = 20};
    EXPECT_FALSE(images::dimension_problem(1200, 800, lim));
    EXPECT_FALSE(images::dimension_problem(12000, 600, lim));  // exactly 20:1, exactly the side
    EXPECT_FALSE(images::dimension_problem(1, 1, lim));
    EXPECT_TRUE(images::dimension_problem(100000, 1, lim));  // the 198-byte bomb: 0.1 MP
    EXPECT_TRUE(images::dimension_problem(1, 100000, lim));
    EXPECT_TRUE(images::dimension_problem(12001, 1000, lim));
    EXPECT_TRUE(images::dimension_problem(2100, 100, lim));  // 21:1
    EXPECT_TRUE(images::dimension_problem(100, 2001, lim));
    EXPECT_TRUE(images::dimension_problem(0, 10, lim));
    EXPECT_TRUE(images::dimension_problem(
        8000, 6000, {.max_pixels = 40'000'000, .max_side = 12000, .max_aspect = 20}));  // 48 MP
}

/* ---- low: originals are stored without their metadata ---- */

namespace {
std::string be32(std::uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
            static_cast<char>(v)};
}
std::string le32(std::uint32_t v) {
    return {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
            static_cast<char>(v >> 24)};
}
std::string png_chunk(const std::string& type, const std::string& data) {
    // The CRC is not checked by the stripper (the decoder does that).
    return be32(static_cast<std::uint32_t>(data.size())) + type + data + "CRC!";
}
std::string jpeg_segment(unsigned char marker, const std::string& data) {
    auto n = data.size() + 2;
    return std::string("\xFF") + static_cast<char>(marker) + static_cast<char>(n >> 8) +
           static_cast<char>(n & 0xFF) + data;
}
std::string webp_chunk(const std::string& fourcc, const std::string& data) {
    std::string out = fourcc + le32(static_cast<std::uint32_t>(data.size())) + data;
    if (data.size() % 2) out += '\0';
    return out;
}
}  // namespace

TEST(EdgesImages, JpegMetadataSegmentsAreRemovedPixelsAndColourKept) {
    std::string soi("\xFF\xD8", 2), eoi("\xFF\xD9", 2);
    std::string jfif = jpeg_segment(0xE0, std::string("JFIF\0\1\1\0\0\1\0\1\0\0", 14));
    std::string exif = jpeg_segment(0xE1, std::string("Exif\0\0GPS 48.85N 2.35E Canon", 29));
    std::string xmp = jpeg_segment(0xE1, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
    std::string icc = jpeg_segment(0xE2, std::string("ICC_PROFILE\0\1\1profile", 22));
    std::string iptc = jpeg_segment(0xED, "Photoshop 3.0\0IPTC city");
    std::string com = jpeg_segment(0xFE, "taken at home");
    std::string dqt = jpeg_segment(0xDB, std::string(65, '\1'));
    std::string sos = jpeg_segment(0xDA, std::string("\1\1\0\0\x3F\0", 6)) +
                      std::string("\x12\x34\xFF\x00\x56\xFF\xD0\x78", 8);
    std::string trailer = "MPF second image with Exif GPS";
    std::string in = soi + jfif + exif + xmp + icc + iptc + com + dqt + sos + eoi + trailer;
    std::string out = images::strip_metadata(images::Format::kJpeg, in);
    EXPECT_EQ(out, soi + jfif + icc + dqt + sos + eoi);
    EXPECT_EQ(images::sniff(out), images::Format::kJpeg);
}

TEST(EdgesImages, PngTextAndExifChunksAreRemoved) {
    std::string sig("\x89PNG\r\n\x1A\n", 8);
    std::string ihdr = png_chunk("IHDR", std::string(13, '\1'));
    std::string iccp = png_chunk("iCCP", "sRGB\0\0x");
    std::string text = png_chunk("tEXt", std::string("Author\0me", 9));
    std::string itxt = png_chunk("iTXt", "XML:com.adobe.xmp...");
    std::string exif = png_chunk("eXIf", "MM\0*GPS");
    std::string time = png_chunk("tIME", "1234567");
    std::string idat = png_chunk("IDAT", "pixels");
    std::string ztxt = png_chunk("zTXt", "Comment\0\0x");
    std::string iend = png_chunk("IEND", "");
    std::string in = sig + ihdr + iccp + text + itxt + exif + time + idat + ztxt + iend + "junk";
    EXPECT_EQ(images::strip_metadata(images::Format::kPng, in), sig + ihdr + iccp + idat + iend);
}

TEST(EdgesImages, WebpExifAndXmpChunksAreRemovedAndFlagsCleared) {
    std::string vp8x_data = std::string(1, '\x2C') + std::string(9, '\0');  // ICC|EXIF|XMP
    std::string iccp = webp_chunk("ICCP", "profile");
    std::string vp8 = webp_chunk("VP8 ", "frame");
    std::string exif = webp_chunk("EXIF", "MM\0*GPS");
    std::string xmp = webp_chunk("XMP ", "<x:xmpmeta/>");
    auto riff = [](const std::string& body) {
        return "RIFF" + le32(static_cast<std::uint32_t>(body.size() + 4)) + "WEBP" + body;
    };
    std::string in = riff(webp_chunk("VP8X", vp8x_data) + iccp + vp8 + exif + xmp);
    std::string want_vp8x = std::string(1, '\x20') + std::string(9, '\0');  // ICC only
    std::string out = images::strip_metadata(images::Format::kWebp, in);
    EXPECT_EQ(out, riff(webp_chunk("VP8X", want_vp8x) + iccp + vp8));
    EXPECT_EQ(images::sniff(out), images::Format::kWebp);
}

TEST(EdgesImages, MalformedContainersAreRefusedNotPassedThrough) {
    // A segment length running past the end: 415 (the bytes are not an
    // image of the announced type), never the metadata copied as is.
    std::string jpeg = std::string("\xFF\xD8\xFF\xE1\x7F\xFF", 6) + "Exif";
    EXPECT_THROW(images::strip_metadata(images::Format::kJpeg, jpeg), Error);
    // A PNG cut inside a text chunk: the chunk goes; cut inside the image
    // data: kept as sent, the job fails it as truncated.
    std::string sig("\x89PNG\r\n\x1A\n", 8);
    std::string ihdr = png_chunk("IHDR", std::string(13, '\1'));
    EXPECT_EQ(images::strip_metadata(images::Format::kPng, sig + ihdr + be32(1000) + "tEXtshort"),
              sig + ihdr);
    std::string cut = sig + ihdr + be32(1000) + "IDATshort";
    EXPECT_EQ(images::strip_metadata(images::Format::kPng, cut), cut);
    // Bytes that are not the announced format at all.
    EXPECT_THROW(images::strip_metadata(images::Format::kPng, "GIF89a"), Error);
}

TEST(EdgesImages, JpegOrientationSurvivesAsAMinimalExif) {
    // Little-endian Exif: Make = "Canon" (an ASCII entry), Orientation = 6.
    std::string tiff = std::string("II\x2A\0\x08\0\0\0", 8) + std::string("\x02\0", 2) +
                       std::string("\x0F\x01\x02\0\x06\0\0\0\x26\0\0\0", 12) +
                       std::string("\x12\x01\x03\0\x01\0\0\0\x06\0\0\0", 12) +
                       std::string(4, '\0') + std::string("Canon\0", 6);
    std::string soi("\xFF\xD8", 2), eoi("\xFF\xD9", 2);
    std::string sos = jpeg_segment(0xDA, std::string("\1\1\0\0\x3F\0", 6)) + "data";
    std::string in = soi + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + tiff) + sos + eoi;
    std::string out = images::strip_metadata(images::Format::kJpeg, in);
    EXPECT_EQ(out.find("Canon"), std::string::npos);
    std::string minimal =
        std::string("Exif\0\0MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06", 26) +
        std::string(6, '\0');
    EXPECT_EQ(out, soi + jpeg_segment(0xE1, minimal) + sos + eoi);
    // Orientation 1 (upright) needs no Exif at all.
    std::string upright = tiff;
    upright[8 + 2 + 12 + 8] = '\x01';
    EXPECT_EQ(images::strip_metadata(
                  images::Format::kJpeg,
                  soi + jpeg_segment(0xE1, std::string("Exif\0\0", 6) + upright) + sos + eoi),
              soi + sos + eoi);
}
