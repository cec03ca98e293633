// images/upload_input: magic bytes, declared types, the multipart reader and
// the upload selection rules (415 / 400 decisions before libvips runs).
#include <gtest/gtest.h>

#include "bazaar/error.hpp"
#include "bazaar/images/upload_input.hpp"

using namespace bazaar;
using namespace bazaar::images;

namespace {

const std::string kJpeg = std::string("\xFF\xD8\xFF\xE0", 4) + "jpegdata";
const std::string kPng = std::string("\x89PNG\r\n\x1A\n", 8) + "pngdata";
const std::string kWebp = std::string("RIFF\x10\0\0\0WEBPVP8 ", 16);

ErrorCode code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    ADD_FAILURE() << "no bazaar::Error thrown";
    return ErrorCode::kInternal;
}

std::string multipart(const std::string& boundary, const std::vector<std::string>& parts) {
    std::string body = "preamble\r\n";
    for (const auto& p : parts) body += "--" + boundary + "\r\n" + p + "\r\n";
    return body + "--" + boundary + "--\r\nepilogue";
}

}  // namespace

TEST(images_upload_input, SniffsTheThreeFormatsAndNothingElse) {
    EXPECT_EQ(sniff(kJpeg), Format::kJpeg);
    EXPECT_EQ(sniff(kPng), Format::kPng);
    EXPECT_EQ(sniff(kWebp), Format::kWebp);
    EXPECT_FALSE(sniff("PK\x03\x04zipfile"));                           // ZIP
    EXPECT_FALSE(sniff("<svg xmlns=\"http://www.w3.org/2000/svg\">"));  // SVG
    EXPECT_FALSE(sniff("%PDF-1.7"));
    EXPECT_FALSE(sniff(std::string("II*\0", 4)));  // TIFF
    EXPECT_FALSE(sniff("GIF89a"));
    EXPECT_FALSE(sniff(std::string("RIFF\0\0\0\0WAVE", 12)));
    EXPECT_FALSE(sniff(std::string("\xFF\xD8", 2)));
    EXPECT_FALSE(sniff(""));
}

TEST(images_upload_input, DeclaredTypes) {
    EXPECT_EQ(declared_format("image/JPEG; q=1"), Format::kJpeg);
    EXPECT_EQ(declared_format(" image/png "), Format::kPng);
    EXPECT_EQ(declared_format("image/webp"), Format::kWebp);
    EXPECT_FALSE(declared_format("image/svg+xml"));
    EXPECT_FALSE(declared_format("application/octet-stream"));
    EXPECT_FALSE(declared_format(""));
}

TEST(images_upload_input, RawBodyMustMatchItsDeclaredType) {
    auto up = select_upload("image/png", kPng);
    EXPECT_EQ(up.format, Format::kPng);
    EXPECT_EQ(up.bytes, kPng);
    EXPECT_EQ(code_of([] { select_upload("image/jpeg", kPng); }), ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of([] { select_upload("image/jpeg", "PK\x03\x04 zip renamed .jpg"); }),
              ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of([] { select_upload("application/json", kPng); }),
              ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of([] { select_upload("image/png", ""); }), ErrorCode::kValidationFailed);
}

TEST(images_upload_input, MultipartFieldImage) {
    std::string body = multipart(
        "XyZ", {"Content-Disposition: form-data; name=\"title\"\r\n\r\nhello",
                "Content-Disposition: form-data; name=\"image\"; filename=\"../../etc/passwd\"\r\n"
                "Content-Type: image/webp\r\n\r\n" +
                    kWebp});
    auto parts = parse_multipart(body, "XyZ");
    ASSERT_EQ(parts.size(), 2u);
    EXPECT_EQ(parts[0].name, "title");
    EXPECT_EQ(parts[0].data, "hello");
    EXPECT_EQ(parts[1].filename, "../../etc/passwd");
    EXPECT_EQ(parts[1].data, kWebp);
    auto up = select_upload("multipart/form-data; boundary=\"XyZ\"", body);
    EXPECT_EQ(up.format, Format::kWebp);
    EXPECT_EQ(up.bytes, kWebp);
}

TEST(images_upload_input, MultipartDataMayContainCrLfAndDashes) {
    std::string data = kJpeg + "\r\n--Xy\r\n--XzZ";
    std::string body =
        multipart("XyZ", {"Content-Disposition: form-data; name=image\r\n\r\n" + data});
    auto up = select_upload("multipart/form-data; boundary=XyZ", body);
    EXPECT_EQ(up.bytes, data);
    EXPECT_EQ(up.format, Format::kJpeg);
}

TEST(images_upload_input, MultipartRefusals) {
    const std::string ct = "multipart/form-data; boundary=b";
    auto part = [](const std::string& headers, const std::string& data) {
        return headers + "\r\n\r\n" + data;
    };
    // No image field, two image fields.
    EXPECT_EQ(code_of([&] {
                  select_upload(
                      ct, multipart("b", {part("Content-Disposition: form-data; name=x", kPng)}));
              }),
              ErrorCode::kValidationFailed);
    EXPECT_EQ(code_of([&] {
                  auto p = part("Content-Disposition: form-data; name=image", kPng);
                  select_upload(ct, multipart("b", {p, p}));
              }),
              ErrorCode::kValidationFailed);
    // Declared part type disagrees with the bytes, or is not an image type.
    EXPECT_EQ(code_of([&] {
                  select_upload(ct, multipart("b", {part("Content-Disposition: form-data; "
                                                         "name=image\r\nContent-Type: image/png",
                                                         kJpeg)}));
              }),
              ErrorCode::kUnsupportedMediaType);
    EXPECT_EQ(code_of([&] {
                  select_upload(ct,
                                multipart("b", {part("Content-Disposition: form-data; "
                                                     "name=image\r\nContent-Type: image/svg+xml",
                                                     "<svg/>")}));
              }),
              ErrorCode::kUnsupportedMediaType);
    // Missing boundary, bad boundary, unterminated body, headers without a colon.
    EXPECT_EQ(code_of([] { select_upload("multipart/form-data", "x"); }),
              ErrorCode::kValidationFailed);
    EXPECT_EQ(code_of([] { select_upload("multipart/form-data; boundary=\"a b\"", "x"); }),
              ErrorCode::kValidationFailed);
    EXPECT_EQ(code_of([&] {
                  select_upload(ct,
                                "--b\r\nContent-Disposition: form-data; name=image\r\n\r\n" + kPng);
              }),
              ErrorCode::kValidationFailed);
    EXPECT_EQ(code_of([&] { select_upload(ct, multipart("b", {part("garbage", kPng)})); }),
              ErrorCode::kValidationFailed);
    // Too many parts.
    std::vector<std::string> many(kMaxParts + 1,
                                  part("Content-Disposition: form-data; name=x", "1"));
    EXPECT_EQ(code_of([&] { parse_multipart(multipart("b", many), "b"); }),
              ErrorCode::kValidationFailed);
}
