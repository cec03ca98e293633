#include "bazaar/time.hpp"

#include <openssl/rand.h>

#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace bazaar {

std::string format_rfc3339(SysTime t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    int millis = static_cast<int>(ms % 1000);
    if (millis < 0) {
        millis += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    return buf;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

namespace {
void fill_random(unsigned char* buf, std::size_t n) {
    if (RAND_bytes(buf, static_cast<int>(n)) != 1) throw std::runtime_error("RAND_bytes failed");
}
const char kHex[] = "0123456789abcdef";
}  // namespace

std::string uuid_v4() {
    unsigned char b[16];
    fill_random(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    std::string s;
    s.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
        s += kHex[b[i] >> 4];
        s += kHex[b[i] & 0xf];
    }
    return s;
}

std::string random_hex(std::size_t n) {
    std::vector<unsigned char> b(n);
    fill_random(b.data(), n);
    std::string s;
    s.reserve(2 * n);
    for (unsigned char c : b) {
        s += kHex[c >> 4];
        s += kHex[c & 0xf];
    }
    return s;
}

}  // namespace bazaar
