// Strict reading of JSON request bodies (API.md §0): unknown fields are
// rejected, wrong types and out-of-range values are reported per field, and
// every problem of a body is reported at once rather than one per round trip.
//
//   JsonInput in(body, {"email", "password"});
//   auto email = in.string("email", {.min = 3, .max = 254});
//   in.finish();  // throws Error(kValidationFailed) listing every issue
#pragma once

#include <cstdint>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bazaar/error.hpp"

namespace bazaar {

struct StringRule {
    std::size_t min = 0;  // in characters (UTF-8 code points)
    std::size_t max = 1000;
    bool required = true;
};

struct IntRule {
    std::int64_t min = 0;
    std::int64_t max = 2147483647;
    bool required = true;
};

class JsonInput {
  public:
    // `allowed`: the fields this body may carry; any other is an issue.
    JsonInput(const nlohmann::json& body, std::initializer_list<std::string_view> allowed);

    bool has(std::string_view field) const;
    // nullopt when absent (and an issue if required) or invalid.
    std::optional<std::string> string(std::string_view field, StringRule rule);
    std::optional<std::int64_t> integer(std::string_view field, IntRule rule);
    // An array of strings, each checked with `item`; `max_items` bounds the array.
    std::optional<std::vector<std::string>> string_array(std::string_view field, StringRule item,
                                                         std::size_t max_items, bool required);

    void add_issue(std::string field, std::string reason);
    const std::vector<FieldIssue>& issues() const { return issues_; }
    // Throws Error(kValidationFailed) with every issue collected, if any.
    void finish() const;

  private:
    const nlohmann::json& body_;
    std::vector<FieldIssue> issues_;
};

// Number of UTF-8 code points (continuation bytes are not counted).
std::size_t utf8_length(std::string_view s);
// True when `s` is well-formed UTF-8 without control characters other than
// \n and \t (free text such as a description).
bool is_clean_text(std::string_view s, bool allow_newlines);

}  // namespace bazaar
