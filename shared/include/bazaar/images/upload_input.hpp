// What an image upload's bytes are, decided from outside input only (no
// libvips here, so the fuzzer and the unit tests build without it):
//
//   - parse_multipart(): a small multipart/form-data reader (RFC 7578) that
//     finds parts as views into the body, never copying the payload. It is
//     strict where strictness is cheap (boundary syntax, part header size and
//     count) and refuses anything ambiguous with 400 VALIDATION_FAILED.
//     A part's filename is returned for logging only: stored names are
//     random (image_store.hpp), so a hostile filename ("../../x") is harmless.
//   - sniff(): the magic bytes decide the format; the declared Content-Type
//     must agree with them (415 otherwise). Only JPEG, PNG and WebP exist.
//   - select_upload(): the whole rule "raw body or multipart field `image`",
//     with the content-type checks, used by the upload handler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bazaar::images {

enum class Format { kJpeg, kPng, kWebp };

// "image/jpeg", "jpg" (file extension without dot).
const char* mime_type(Format f);
const char* extension(Format f);

// The format the first bytes announce, or nullopt (anything else: ZIP, SVG,
// PDF, TIFF, GIF, text...).
std::optional<Format> sniff(std::string_view bytes);

// A declared media type ("image/png; charset=x" → image/png, case-insensitive)
// mapped to a format; nullopt when it is not one of the three.
std::optional<Format> declared_format(std::string_view content_type);

struct Part {
    std::string name;
    std::string filename;  // as sent; never used to build a path
    std::string content_type;
    std::string_view data;  // points into the parsed body
};

// The boundary parameter of a multipart/form-data Content-Type; throws
// Error(kValidationFailed) when it is missing or malformed.
std::string multipart_boundary(std::string_view content_type);
// Parts of a multipart body. Throws Error(kValidationFailed) on any syntax
// error, more than kMaxParts parts or a part header block over kMaxPartHeader.
std::vector<Part> parse_multipart(std::string_view body, std::string_view boundary);
inline constexpr std::size_t kMaxParts = 16;
inline constexpr std::size_t kMaxPartHeader = 8192;

struct Upload {
    Format format;
    std::string_view bytes;  // points into the request body
};

// The image of a request: a raw body whose Content-Type is image/jpeg|png|webp,
// or the field `image` of a multipart/form-data body (its part Content-Type
// may be absent or application/octet-stream; otherwise it must be one of the
// three). 415 when the media type is another one or the magic bytes disagree
// with it; 400 for a malformed multipart body, a missing field or no bytes.
Upload select_upload(std::string_view content_type, std::string_view body);

// ---- dimensions (issue 18, item 7) ----------------------------------------
// A 198-byte PNG of 100000x1 is only 0.1 MP, yet every operation that sizes
// its output from the short side (a 150x150 crop) makes it enormous. So the
// header's dimensions are bounded three ways: pixels, each side, and the
// ratio of the long side to the short one. Checked at upload (400 naming
// `image`) and again by the job before a pixel is decoded.
struct ImageLimits {
    std::int64_t max_pixels = 0;  // IMAGE_MAX_PIXELS
    int max_side = 0;             // IMAGE_MAX_SIDE_PX
    int max_aspect = 0;           // IMAGE_MAX_ASPECT_RATIO (long side / short side)
};
// nullopt when `width` x `height` is within `limits`, else why not (a
// sentence for the API's error details and the failed row's reason).
std::optional<std::string> dimension_problem(std::int64_t width, std::int64_t height,
                                             const ImageLimits& limits);

// ---- metadata (issue 18, low) -----------------------------------------------
// The bytes of an upload without the metadata a camera or an editor leaves
// in it: location, camera, owner, comments, dates, editing history. The
// pixels are not touched (no re-encoding), so this is cheap and lossless.
//   JPEG: drops APP1 (Exif, XMP), APP3..APP13 (IPTC/Photoshop...), APP15,
//         COM, APP2 other than ICC_PROFILE (MPF), and whatever follows EOI
//         (MPF second images). Keeps APP0 (JFIF), ICC profiles, APP14
//         (Adobe colour transform) and, when the Exif said the picture is
//         rotated, a new minimal Exif with only that Orientation, so the
//         original and its variants still display upright.
//   PNG:  drops tEXt, zTXt, iTXt, eXIf and tIME, and bytes after IEND.
//   WebP: drops the EXIF and XMP chunks and clears their VP8X flags.
// A JPEG whose segments before the image data run past the end is refused
// (Error kUnsupportedMediaType); damage inside the image data is copied as
// is, for the job to judge (a truncated file ends `failed` with its reason).
std::string strip_metadata(Format format, std::string_view bytes);

}  // namespace bazaar::images
