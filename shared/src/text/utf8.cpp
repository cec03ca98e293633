#include "bazaar/text/utf8.hpp"

namespace bazaar::text {

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
}

}  // namespace bazaar::text
