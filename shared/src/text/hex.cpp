#include "bazaar/text/hex.hpp"

namespace bazaar::text {

namespace {
constexpr char kDigits[] = "0123456789abcdef";

int digit_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
}  // namespace

std::string hex_encode(const unsigned char* data, std::size_t size) {
    std::string out(2 * size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        out[2 * i] = kDigits[data[i] >> 4];
        out[2 * i + 1] = kDigits[data[i] & 0xf];
    }
    return out;
}

std::optional<std::string> hex_decode(std::string_view hex) {
    if (hex.size() % 2) return std::nullopt;
    std::string out(hex.size() / 2, '\0');
    for (std::size_t i = 0; i < out.size(); ++i) {
        int hi = digit_value(hex[2 * i]), lo = digit_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out[i] = static_cast<char>(hi * 16 + lo);
    }
    return out;
}

bool is_lower_hex(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (digit_value(c) < 0) return false;
    return true;
}

}  // namespace bazaar::text
