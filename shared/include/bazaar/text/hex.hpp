// Lower-case hexadecimal, the one encoder of the code base: digests
// (sha256_hex, sha1 of Lua scripts, HMACs of cursors and refresh tokens),
// random ids and the queue admin's opaque cursors. Decoding accepts lower
// case only, because every hex string we read is one we wrote: an upper-case
// spelling of the same bytes would be a second name for one value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace bazaar::text {

std::string hex_encode(const unsigned char* data, std::size_t size);
inline std::string hex_encode(std::string_view bytes) {
    return hex_encode(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

// nullopt for an odd length or any character outside [0-9a-f].
std::optional<std::string> hex_decode(std::string_view hex);

// True when `s` is non-empty lower-case hex (any length).
bool is_lower_hex(std::string_view s);

}  // namespace bazaar::text
