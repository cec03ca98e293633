// Opaque pagination cursors (API.md §0): the id of the last row of a page,
// bound to the filters of the query that produced it and signed with HMAC,
// so a forged, truncated or re-used-elsewhere cursor is a 400, never a
// silently wrong page.
//
// Wire form: base64url("v1.<lastId>.<filterDigest>.<mac>") where mac is the
// first 128 bits of HMAC-SHA256(key, "v1.<lastId>.<filterDigest>").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace bazaar::catalog {

// `filter` is any string that identifies the result set (e.g. "tag=x&q=y").
std::string encode_cursor(std::int64_t last_id, std::string_view filter, const std::string& key);
// The last id; throws Error::validation("cursor", ...) when malformed, forged
// or made for another filter.
std::int64_t decode_cursor(std::string_view cursor, std::string_view filter,
                           const std::string& key);

}  // namespace bazaar::catalog
