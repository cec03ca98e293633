// Shared by the fuzz harnesses: property checks that abort (libFuzzer then
// saves the input as crash-*), and the rule that the only exception a parser
// may throw at outside bytes is bazaar::Error, whose JSON body must render.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "bazaar/error.hpp"

namespace bazaar::fuzz {

[[noreturn]] inline void property_failed(const char* expr, const char* file, int line,
                                         const std::string& detail) {
    std::fprintf(stderr, "\nPROPERTY FAILED at %s:%d: %s\n  %s\n", file, line, expr,
                 detail.c_str());
    std::abort();
}

#define FUZZ_CHECK(cond, detail)                                                         \
    do {                                                                                 \
        if (!(cond)) ::bazaar::fuzz::property_failed(#cond, __FILE__, __LINE__, detail); \
    } while (0)

// A client-facing error: its body is what reaches the client and must be the
// API.md error shape, whatever bytes went into the message.
inline void check_error_body(const Error& e) {
    auto body = nlohmann::json::parse(e.body(), nullptr, false);
    FUZZ_CHECK(body.is_object() && body.value("success", true) == false && body.contains("error") &&
                   body["error"].is_object() && body["error"].value("code", "").size() > 0,
               e.body());
    FUZZ_CHECK(e.http_status() >= 400 && e.http_status() < 500, e.what());
}

// Runs `f`; a bazaar::Error is an expected refusal (checked and returned as
// false), anything else escapes and libFuzzer reports it as a crash.
template <class F>
bool accepts(F&& f) {
    try {
        f();
        return true;
    } catch (const Error& e) {
        check_error_body(e);
        return false;
    }
}

// Well-formed UTF-8 as RFC 3629 defines it (no overlong forms, no
// surrogates, nothing above U+10FFFF): what Postgres accepts as text. An
// independent implementation, to check the parsers' own.
inline bool strict_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
        unsigned c = b(i);
        if (c < 0x80) {
            ++i;
            continue;
        }
        // Continuation bytes after the lead; C0, C1 and F5..FF never lead.
        std::size_t n = c < 0xC2 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : c < 0xF5 ? 3 : 0;
        if (n == 0 || i + n >= s.size()) return false;
        unsigned lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (b(i + 1) < lo || b(i + 1) > hi) return false;
        for (std::size_t k = 2; k <= n; ++k)
            if ((b(i + k) & 0xC0) != 0x80) return false;
        i += n + 1;
    }
    return true;
}

// Lower-case hex of the bytes, for failure messages.
inline std::string hex(std::string_view s) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : s) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

}  // namespace bazaar::fuzz
