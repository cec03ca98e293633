#include "bazaar/redis_slot.hpp"

#include <array>

namespace bazaar::redis_slot {

namespace {

// One table of the 256 byte steps, computed at compile time: a key's slot is
// computed on every routed command, so bit-by-bit would cost 8× the work.
constexpr std::array<std::uint16_t, 256> make_table() {
    std::array<std::uint16_t, 256> t{};
    for (int byte = 0; byte < 256; ++byte) {
        auto crc = static_cast<std::uint16_t>(byte << 8);
        for (int bit = 0; bit < 8; ++bit)
            crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
        t[static_cast<std::size_t>(byte)] = crc;
    }
    return t;
}

constexpr auto kTable = make_table();

}  // namespace

std::string_view hashed_part(std::string_view key) {
    auto open = key.find('{');
    if (open == std::string_view::npos) return key;
    auto close = key.find('}', open + 1);
    // `{}` (nothing between) or no `}`: the whole key, as Redis does.
    if (close == std::string_view::npos || close == open + 1) return key;
    return key.substr(open + 1, close - open - 1);
}

std::uint16_t crc16(std::string_view bytes) {
    std::uint16_t crc = 0;
    for (unsigned char c : bytes)
        crc = static_cast<std::uint16_t>((crc << 8) ^ kTable[((crc >> 8) ^ c) & 0xff]);
    return crc;
}

int key_slot(std::string_view key) {
    return crc16(hashed_part(key)) & (kSlots - 1);
}

}  // namespace bazaar::redis_slot
