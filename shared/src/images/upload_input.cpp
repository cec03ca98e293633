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

}  // namespace bazaar::images
