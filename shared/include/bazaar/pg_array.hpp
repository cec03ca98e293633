// Postgres array literals ("{1,2,3}") for statement parameters ($1::bigint[],
// $1::uuid[]), so that a batch is one statement with one parameter.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bazaar {

// For elements that need no quoting inside an array literal: integers, and
// canonical UUIDs (the user and order ids of this project). Never for free
// text: a comma, brace, quote or backslash would split or break the literal.
inline std::string pg_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (const auto& i : items) {
        if (out.size() > 1) out += ',';
        out += i;
    }
    return out + "}";
}

inline std::string pg_array(const std::vector<std::int64_t>& items) {
    std::string out = "{";
    for (auto i : items) {
        if (out.size() > 1) out += ',';
        out += std::to_string(i);
    }
    return out + "}";
}

}  // namespace bazaar
