// What a catalog read asks for, parsed and validated from the query string:
// pagination (limit, cursor), filters (tag, q), select (fields=) and include
// (include=). Pure functions, unit-tested; the SQL lives in
// catalog_service.cpp.
//
// The normalised form of a query (`variant()`) is also its cache variant:
// two URLs that mean the same thing share one cache entry, and unknown query
// parameters (cache busters, tracking) never create new entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace bazaar::catalog {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// fields= and include=. An empty `fields` means every field.
struct Projection {
    std::vector<std::string> fields;  // API names, sorted, unique, without "id"
    bool tags = false;
    bool images = false;

    bool wants(std::string_view field) const;
    std::string variant() const;
};

struct ListQuery {
    int limit = 20;
    std::optional<std::int64_t> before_id;  // from the cursor: rows with id < this
    std::optional<std::string> tag;
    std::optional<std::string> q;
    Projection projection;

    // Identifies the result set (what a cursor is bound to).
    std::string filter() const;
    std::string variant() const;
};

inline constexpr int kDefaultLimit = 20;
inline constexpr int kMaxLimit = 100;

// Every field a Book has in JSON; fields= may name any of them.
const std::vector<std::string>& book_fields();

// Throws Error(kValidationFailed) naming the parameter.
Projection parse_projection(const QueryParams& params);
// `cursor_key` verifies the cursor (cursor.hpp). Throws Error(kValidationFailed).
ListQuery parse_list_query(const QueryParams& params, const std::string& cursor_key);
// limit and cursor only (GET /me/favorites).
ListQuery parse_page_query(const QueryParams& params, const std::string& cursor_key);

// A path id ("42"): a positive integer, else Error::validation("id").
std::int64_t parse_id(std::string_view text, const char* field = "id");

// Tag names are compared case-insensitively and without surrounding blanks:
// " Fiction" and "fiction" are one tag. Returns the canonical name.
std::string normalize_tag(std::string_view name);

// Escapes %, _ and \ so that user text is matched literally by ILIKE.
std::string like_pattern(std::string_view text);

}  // namespace bazaar::catalog
