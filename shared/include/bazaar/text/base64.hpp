// Base64 (RFC 4648): OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock underneath, so
// only the two things OpenSSL does not do live here: the URL-safe alphabet
// without padding (section 5: catalog cursors) and strict decoding (no
// whitespace, no stray padding, zero leftover bits, so one value has exactly
// one encoding).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bazaar::text {

// Standard alphabet with '=' padding (MIME encoded-words).
std::string base64_encode(std::string_view bytes);

// URL-safe alphabet, no padding.
std::string base64url_encode(std::string_view bytes);
// nullopt for anything base64url_encode cannot have produced.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace bazaar::text
