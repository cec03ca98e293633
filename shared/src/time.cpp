#include "bazaar/time.hpp"

#include <date/date.h>
#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "bazaar/text/hex.hpp"

namespace bazaar {

std::string format_rfc3339(SysTime t) {
    // floor, not truncation: a time before 1970 still prints its own second.
    return date::format("%FT%TZ", date::floor<std::chrono::milliseconds>(t));
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
}  // namespace

std::string uuid_v4() {
    unsigned char b[16];
    fill_random(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    std::string h = text::hex_encode(b, sizeof b);
    return h.substr(0, 8) + '-' + h.substr(8, 4) + '-' + h.substr(12, 4) + '-' + h.substr(16, 4) +
           '-' + h.substr(20);
}

std::string random_hex(std::size_t n) {
    std::vector<unsigned char> b(n);
    fill_random(b.data(), n);
    return text::hex_encode(b.data(), n);
}

}  // namespace bazaar
