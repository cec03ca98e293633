// UUID strings (user and order ids, API.md §0): one parser for every place
// that takes one (path parameters, JWT `sub`, refresh and reset tokens).
//
// Postgres accepts either case, but Redis keys, cache scopes and rate-limit
// identities are built from the id *string*: "ABC…" and "abc…" would be two
// users there and one in Postgres. So ids are compared and keyed only in the
// canonical form (lower case, 8-4-4-4-12); input from clients is
// canonicalised, and what the server itself issued (token subjects) must
// already be canonical.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bazaar {

// 8-4-4-4-12 hex digits, either case.
bool is_uuid(std::string_view s);
// Same, lower case only (what the server issues).
bool is_canonical_uuid(std::string_view s);
// The lower-case form of a UUID in either case; nullopt for anything else.
std::optional<std::string> canonical_uuid(std::string_view s);

}  // namespace bazaar
