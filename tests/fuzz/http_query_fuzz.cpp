// Query strings and percent-decoding (fcgi/http.cpp): the bytes after '?' of
// REQUEST_URI and the path itself, as nginx passes them, still encoded.
//
// Properties: a string decodes iff every '%' starts a two-hex-digit escape;
// decoding never grows the text; encoding any bytes and decoding gives them
// back; a parsed query re-encoded and parsed again gives the same pairs.
#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_support.hpp"
#include "http.hpp"

using bazaar::fuzz::hex;
using namespace bazaar::http;

namespace {

std::string encode(std::string_view s) {
    static const char* digits = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '-' || c == '.' || c == '_' || c == '~';
        if (plain) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 15];
        }
    }
    return out;
}

bool is_hex(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool escapes_well_formed(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\0') return false;  // a NUL, raw or escaped, is refused
        if (s[i] != '%') continue;
        if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) return false;
        if (s[i + 1] == '0' && s[i + 2] == '0') return false;  // %00: a NUL is refused
        i += 2;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    const bool valid = escapes_well_formed(s);

    for (bool plus : {false, true}) {
        auto d = percent_decode(s, plus);
        FUZZ_CHECK(d.has_value() == valid, hex(s));
        if (d) {
            FUZZ_CHECK(d->size() <= s.size(), hex(s));
            FUZZ_CHECK(percent_decode(encode(*d), plus) == d, hex(s));
        }
        if (s.find('\0') == std::string_view::npos)  // NUL has no accepted encoding
            FUZZ_CHECK(percent_decode(encode(s), plus) == std::string(s), hex(s));
    }

    auto q = parse_query(s);
    FUZZ_CHECK(q.has_value() == valid, hex(s));
    if (q) {
        std::string again;
        for (const auto& [k, v] : *q) {
            if (!again.empty()) again += '&';
            again += encode(k) + "=" + encode(v);
        }
        auto q2 = parse_query(again);
        FUZZ_CHECK(q2 && *q2 == *q, hex(s) + " re-encoded as " + again);
    }
    return 0;
}
