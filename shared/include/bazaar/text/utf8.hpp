// UTF-8 text measured the way users count it: length rules of names, titles
// and passwords are in code points, not bytes. Input is validated UTF-8
// already (nlohmann rejects invalid UTF-8 at parse time), so a continuation
// byte is never the start of a character.
#pragma once

#include <cstddef>
#include <string_view>

namespace bazaar::text {

// Number of code points: bytes that are not continuation bytes (10xxxxxx).
std::size_t utf8_length(std::string_view s);

}  // namespace bazaar::text
