// ISBNs, the natural key of catalog imports (pipelines/catalog_import.hpp).
//
// Both forms are accepted with their check digit verified: ISBN-10 (mod 11,
// last digit may be X) and ISBN-13 (mod 10, weights 1/3, prefix 978 or 979).
// Hyphens and spaces between digits are ignored. The canonical form is the
// 13 digits: an ISBN-10 becomes 978 + its first nine digits + a new check
// digit, so one book quoted either way is one key.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bazaar::catalog {

// The canonical ISBN-13, or nullopt when `text` is not a valid ISBN.
std::optional<std::string> normalize_isbn(std::string_view text);

}  // namespace bazaar::catalog
