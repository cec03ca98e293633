// See bazaar/images/upload_input.hpp.
#include "bazaar/images/upload_input.hpp"

#include <algorithm>
#include <cctype>

#include "bazaar/error.hpp"

namespace bazaar::images {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "image/PNG ; x=y" → "image/png"
std::string media_type(std::string_view content_type) {
    return lower(trim(content_type.substr(0, content_type.find(';'))));
}

Error bad_body(std::string reason) {
    return Error::validation("body", std::move(reason));
}

Error unsupported(std::string message) {
    return Error(ErrorCode::kUnsupportedMediaType, std::move(message));
}

// The value of parameter `name` in "form-data; name=\"image\"; filename=..."
// (quoted or token), or nullopt. Quoted values may escape with a backslash.
std::optional<std::string> header_param(std::string_view header, std::string_view name) {
    std::size_t i = header.find(';');
    while (i != std::string_view::npos && i < header.size()) {
        ++i;
        while (i < header.size() && (header[i] == ' ' || header[i] == '\t')) ++i;
        std::size_t eq = header.find('=', i);
        if (eq == std::string_view::npos) return std::nullopt;
        std::string key = lower(trim(header.substr(i, eq - i)));
        std::size_t v = eq + 1;
        std::string value;
        if (v < header.size() && header[v] == '"') {
            ++v;
            bool closed = false;
            while (v < header.size()) {
                char c = header[v++];
                if (c == '\\' && v < header.size()) {
                    value += header[v++];
                } else if (c == '"') {
                    closed = true;
                    break;
                } else {
                    value += c;
                }
            }
            if (!closed) return std::nullopt;
            i = header.find(';', v);
        } else {
            std::size_t end = header.find(';', v);
            value = std::string(trim(header.substr(
                v, end == std::string_view::npos ? std::string_view::npos : end - v)));
            i = end;
        }
        if (key == name) return value;
    }
    return std::nullopt;
}

bool boundary_char(char c) {
    // RFC 2046 bchars, without the space (it may not end a boundary, and no
    // client sends one).
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("'()+_,-./:=?").find(c) != std::string_view::npos;
}

}  // namespace

const char* mime_type(Format f) {
    switch (f) {
        case Format::kJpeg:
            return "image/jpeg";
        case Format::kPng:
            return "image/png";
        case Format::kWebp:
            return "image/webp";
    }
    return "application/octet-stream";
}

const char* extension(Format f) {
    switch (f) {
        case Format::kJpeg:
            return "jpg";
        case Format::kPng:
            return "png";
        case Format::kWebp:
            return "webp";
    }
    return "bin";
}

std::optional<Format> sniff(std::string_view b) {
    if (b.size() >= 3 && b.substr(0, 3) == std::string_view("\xFF\xD8\xFF", 3))
        return Format::kJpeg;
    if (b.size() >= 8 && b.substr(0, 8) == std::string_view("\x89PNG\r\n\x1A\n", 8))
        return Format::kPng;
    if (b.size() >= 12 && b.substr(0, 4) == "RIFF" && b.substr(8, 4) == "WEBP")
        return Format::kWebp;
    return std::nullopt;
}

std::optional<Format> declared_format(std::string_view content_type) {
    std::string t = media_type(content_type);
    if (t == "image/jpeg" || t == "image/jpg" || t == "image/pjpeg") return Format::kJpeg;
    if (t == "image/png") return Format::kPng;
    if (t == "image/webp") return Format::kWebp;
    return std::nullopt;
}

std::string multipart_boundary(std::string_view content_type) {
    auto b = header_param(content_type, "boundary");
    if (!b || b->empty() || b->size() > 70 || !std::all_of(b->begin(), b->end(), boundary_char))
        throw bad_body("multipart/form-data needs a boundary of 1 to 70 characters");
    return *b;
}

std::vector<Part> parse_multipart(std::string_view body, std::string_view boundary) {
    if (boundary.empty()) throw bad_body("empty multipart boundary");
    const std::string dash = "--" + std::string(boundary);
    const std::string delim = "\r\n" + dash;
    // The first delimiter may start the body or follow a preamble.
    std::size_t pos;
    if (body.substr(0, dash.size()) == dash) {
        pos = dash.size();
    } else {
        pos = body.find(delim);
        if (pos == std::string_view::npos) throw bad_body("multipart boundary not found");
        pos += delim.size();
    }
    std::vector<Part> parts;
    for (;;) {
        // After a delimiter: "--" closes the body, else optional whitespace
        // (transport padding) then CRLF starts a part.
        if (body.substr(pos, 2) == "--") return parts;
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
        if (body.substr(pos, 2) != "\r\n") throw bad_body("malformed multipart delimiter line");
        pos += 2;
        if (parts.size() == kMaxParts)
            throw bad_body("more than " + std::to_string(kMaxParts) + " multipart parts");

        std::size_t header_end = body.find("\r\n\r\n", pos);
        // A part without headers starts straight with the blank line.
        bool no_headers = body.substr(pos, 2) == "\r\n";
        if (no_headers) header_end = pos - 2;
        if (header_end == std::string_view::npos)
            throw bad_body("multipart part headers are not terminated");
        if (!no_headers && header_end - pos > kMaxPartHeader)
            throw bad_body("multipart part headers too large");

        Part part;
        bool has_disposition = false;
        std::string_view headers =
            no_headers ? std::string_view() : body.substr(pos, header_end - pos);
        while (!headers.empty()) {
            std::size_t eol = headers.find("\r\n");
            std::string_view line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view() : headers.substr(eol + 2);
            std::size_t colon = line.find(':');
            if (colon == std::string_view::npos || colon == 0)
                throw bad_body("malformed multipart part header");
            std::string name = lower(trim(line.substr(0, colon)));
            std::string_view value = trim(line.substr(colon + 1));
            if (value.find('\0') != std::string_view::npos)
                throw bad_body("NUL byte in a multipart part header");
            if (name == "content-disposition") {
                if (has_disposition) throw bad_body("duplicate Content-Disposition");
                has_disposition = true;
                if (media_type(value) != "form-data")
                    throw bad_body("multipart part is not form-data");
                auto n = header_param(value, "name");
                if (!n) throw bad_body("multipart part without a name");
                part.name = *n;
                part.filename = header_param(value, "filename").value_or("");
            } else if (name == "content-type") {
                part.content_type = std::string(value);
            }
        }
        if (!has_disposition) throw bad_body("multipart part without Content-Disposition");

        std::size_t data_start = header_end + 4;
        std::size_t data_end = body.find(delim, data_start);
        if (data_end == std::string_view::npos) throw bad_body("multipart body is not closed");
        part.data = body.substr(data_start, data_end - data_start);
        parts.push_back(std::move(part));
        pos = data_end + delim.size();
    }
}

Upload select_upload(std::string_view content_type, std::string_view body) {
    std::string type = media_type(content_type);
    std::optional<Format> declared;
    std::string_view bytes;
    if (type == "multipart/form-data") {
        auto parts = parse_multipart(body, multipart_boundary(content_type));
        const Part* image = nullptr;
        for (const auto& p : parts) {
            if (p.name != "image") continue;
            if (image) throw Error::validation("image", "more than one 'image' field");
            image = &p;
        }
        if (!image) throw Error::validation("image", "multipart field 'image' is missing");
        std::string part_type = media_type(image->content_type);
        if (!part_type.empty() && part_type != "application/octet-stream") {
            declared = declared_format(part_type);
            if (!declared) throw unsupported("images must be image/jpeg, image/png or image/webp");
        }
        bytes = image->data;
    } else {
        declared = declared_format(type);
        if (!declared)
            throw unsupported(
                "upload the image as image/jpeg, image/png, image/webp or multipart/form-data");
        bytes = body;
    }
    if (bytes.empty()) throw Error::validation("image", "the image is empty");
    auto actual = sniff(bytes);
    if (!actual) throw unsupported("the bytes are not a JPEG, PNG or WebP image");
    if (declared && *declared != *actual)
        throw unsupported(std::string("the bytes are ") + mime_type(*actual) + ", not " +
                          mime_type(*declared));
    return {*actual, bytes};
}

std::optional<std::string> dimension_problem(std::int64_t width, std::int64_t height,
                                             const ImageLimits& limits) {
    std::string dims = std::to_string(width) + "x" + std::to_string(height);
    if (width <= 0 || height <= 0) return "the image is " + dims + ", which has no pixels";
    if (width * height > limits.max_pixels)
        return "the image is " + dims + ", more than " + std::to_string(limits.max_pixels) +
               " pixels";
    if (std::max(width, height) > limits.max_side)
        return "the image is " + dims + ", a side is longer than " +
               std::to_string(limits.max_side) + " pixels";
    // long / short > max_aspect, in integers.
    if (std::max(width, height) > std::min(width, height) * limits.max_aspect)
        return "the image is " + dims + ", longer than " + std::to_string(limits.max_aspect) +
               " times its width";
    return std::nullopt;
}

namespace {

Error not_an_image(Format f) {
    return unsupported(std::string("the bytes are not a well-formed ") + mime_type(f));
}

std::uint32_t get_be16(std::string_view b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 8) |
           static_cast<unsigned char>(b[at + 1]);
}
std::uint32_t get_be32(std::string_view b, std::size_t at) {
    return (get_be16(b, at) << 16) | get_be16(b, at + 2);
}
std::uint32_t get_le32(std::string_view b, std::size_t at) {
    std::uint32_t v = 0;
    for (int k = 3; k >= 0; --k)
        v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)]);
    return v;
}
void put_le32(char* at, std::uint32_t v) {
    for (int k = 0; k < 4; ++k) at[k] = static_cast<char>((v >> (8 * k)) & 0xFF);
}

// The Orientation (tag 0x0112 of IFD0) of a TIFF structure, the body of an
// Exif block; 0 when absent or unreadable. Every read is bounds-checked.
int exif_orientation(std::string_view tiff) {
    if (tiff.size() < 8) return 0;
    bool little = tiff.substr(0, 2) == "II";
    if (!little && tiff.substr(0, 2) != "MM") return 0;
    auto u16 = [&](std::size_t at) -> std::uint32_t {
        auto a = static_cast<unsigned char>(tiff[at]), b = static_cast<unsigned char>(tiff[at + 1]);
        return little ? (b << 8) | a : (a << 8) | b;
    };
    auto u32 = [&](std::size_t at) -> std::uint32_t {
        return little ? (u16(at + 2) << 16) | u16(at) : (u16(at) << 16) | u16(at + 2);
    };
    if (u16(2) != 42) return 0;
    std::size_t ifd = u32(4);
    if (ifd > tiff.size() || tiff.size() - ifd < 2) return 0;
    std::size_t n = u16(ifd);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t e = ifd + 2 + 12 * i;
        if (e + 12 > tiff.size()) return 0;
        if (u16(e) == 0x0112 && u16(e + 2) == 3) {
            int o = static_cast<int>(u16(e + 8));
            return o >= 1 && o <= 8 ? o : 0;
        }
    }
    return 0;
}

// A big-endian TIFF structure with one entry: Orientation = `o`.
std::string minimal_exif_tiff(int o) {
    return std::string("MM\0\x2A\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01", 18) +
           static_cast<char>(0) + static_cast<char>(o) + std::string(6, '\0');
}

std::string strip_jpeg(std::string_view b) {
    std::string out(b.substr(0, 2));  // SOI (sniffed by the caller)
    std::size_t pos = 2;
    bool in_scan = false;  // after the first SOS: entropy-coded data and tables
    while (pos < b.size()) {
        if (in_scan) {
            // Entropy-coded data: FF 00 is a data byte, FF D0..D7 a restart,
            // FF FF fill; any other FF xx is the next marker.
            std::size_t start = pos;
            while (pos + 1 < b.size()) {
                if (static_cast<unsigned char>(b[pos]) == 0xFF) {
                    auto m = static_cast<unsigned char>(b[pos + 1]);
                    if (m != 0x00 && !(m >= 0xD0 && m <= 0xD7) && m != 0xFF) break;
                }
                ++pos;
            }
            if (pos + 1 >= b.size()) {  // no marker before the end: truncated, kept
                out.append(b.substr(start));
                return out;
            }
            out.append(b.substr(start, pos - start));
        }
        if (static_cast<unsigned char>(b[pos]) != 0xFF) {
            if (in_scan) {  // cannot happen (the loop above stops on FF)
                out.append(b.substr(pos));
                return out;
            }
            throw not_an_image(Format::kJpeg);
        }
        while (pos < b.size() && static_cast<unsigned char>(b[pos]) == 0xFF) ++pos;  // fill
        if (pos >= b.size()) break;
        auto m = static_cast<unsigned char>(b[pos]);
        ++pos;
        if (m == 0xD9) {  // EOI: what follows (MPF images, appended data) is dropped
            out.append("\xFF\xD9", 2);
            return out;
        }
        if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) {  // no length
            out += '\xFF';
            out += static_cast<char>(m);
            continue;
        }
        if (pos + 2 > b.size() || get_be16(b, pos) < 2 || pos + get_be16(b, pos) > b.size()) {
            if (in_scan) {  // a damaged table between scans: the decoder's call
                out += '\xFF';
                out += static_cast<char>(m);
                out.append(b.substr(pos));
                return out;
            }
            throw not_an_image(Format::kJpeg);
        }
        std::size_t len = get_be16(b, pos);
        std::string_view data = b.substr(pos + 2, len - 2);
        std::string_view segment = b.substr(pos - 2, len + 2);  // FF m len data
        pos += len;
        bool drop = m == 0xE1 || (m >= 0xE3 && m <= 0xED) || m == 0xEF || m == 0xFE ||
                    (m == 0xE2 && data.substr(0, 12) != std::string_view("ICC_PROFILE\0", 12));
        if (m == 0xE1 && data.substr(0, 6) == std::string_view("Exif\0\0", 6)) {
            int o = exif_orientation(data.substr(6));
            if (o > 1) {  // keep only how the picture must be turned
                std::string payload = std::string("Exif\0\0", 6) + minimal_exif_tiff(o);
                out += "\xFF\xE1";
                out += static_cast<char>((payload.size() + 2) >> 8);
                out += static_cast<char>((payload.size() + 2) & 0xFF);
                out += payload;
            }
        }
        if (!drop) out.append(segment);
        if (m == 0xDA) in_scan = true;
    }
    return out;
}

constexpr std::string_view kPngSignature("\x89PNG\r\n\x1A\n", 8);

std::string strip_png(std::string_view b) {
    std::string out(kPngSignature);
    std::size_t pos = kPngSignature.size();
    while (pos + 8 <= b.size()) {
        std::uint32_t len = get_be32(b, pos);
        std::string_view type = b.substr(pos + 4, 4);
        bool meta =
            type == "tEXt" || type == "zTXt" || type == "iTXt" || type == "eXIf" || type == "tIME";
        if (len > b.size() || pos + 12 + len > b.size()) {
            // Cut short: a metadata chunk is dropped with the rest, anything
            // else is kept as sent for the decoder to judge.
            if (!meta) out.append(b.substr(pos));
            return out;
        }
        if (!meta) out.append(b.substr(pos, 12 + len));
        pos += 12 + len;
        if (type == "IEND") return out;  // anything after it is dropped
    }
    out.append(b.substr(pos));
    return out;
}

std::string strip_webp(std::string_view b) {
    if (b.size() < 12) throw not_an_image(Format::kWebp);
    std::string out(b.substr(0, 12));  // RIFF size WEBP (size fixed below)
    std::size_t pos = 12;
    std::size_t vp8x_flags = std::string::npos;  // where the VP8X flags byte is in `out`
    while (pos + 8 <= b.size()) {
        std::string_view fourcc = b.substr(pos, 4);
        std::uint32_t size = get_le32(b, pos + 4);
        std::size_t padded = static_cast<std::size_t>(size) + (size & 1);
        if (size > b.size() || pos + 8 + padded > b.size()) {
            out.append(b.substr(pos));
            break;
        }
        if (fourcc != "EXIF" && fourcc != "XMP ") {
            if (fourcc == "VP8X" && size >= 1) vp8x_flags = out.size() + 8;
            out.append(b.substr(pos, 8 + padded));
        }
        pos += 8 + padded;
    }
    if (pos < b.size() && pos + 8 > b.size()) out.append(b.substr(pos));
    if (vp8x_flags != std::string::npos)
        out[vp8x_flags] = static_cast<char>(static_cast<unsigned char>(out[vp8x_flags]) & ~0x0C);
    put_le32(out.data() + 4, static_cast<std::uint32_t>(out.size() - 8));
    return out;
}

}  // namespace

std::string strip_metadata(Format format, std::string_view bytes) {
    if (sniff(bytes) != format) throw not_an_image(format);
    switch (format) {
        case Format::kJpeg:
            return strip_jpeg(bytes);
        case Format::kPng:
            return strip_png(bytes);
        case Format::kWebp:
            return strip_webp(bytes);
    }
    throw not_an_image(format);
}

}  // namespace bazaar::images
