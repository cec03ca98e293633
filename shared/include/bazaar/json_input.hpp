// Strict reading of JSON request bodies (API.md §0): unknown fields are
// rejected, wrong types and out-of-range values are reported per field, and
// every problem of a body is reported at once rather than one per round trip.
//
// Every string read through JsonInput (fields and array items) must be clean
// text: NUL and the other C0/C1 control characters are refused here, once,
// for every body of every route (libpq cuts a parameter at NUL, so a
// "user1@example.com\u0000junk" would otherwise reach SQL as another value).
// Only fields declared `multiline` may carry \n, \r and \t.
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
#include "bazaar/text/utf8.hpp"

namespace bazaar {

struct StringRule {
    std::size_t min = 0;  // in characters (UTF-8 code points)
    std::size_t max = 1000;
    bool required = true;
    bool multiline = false;  // \n, \r, \t allowed (free text such as a description)
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
    // For routes that take no body (logout, favorite): an absent or empty
    // body passes; anything else is read like every body (415, 400
    // MALFORMED_JSON, unknown fields) and refused unless it is `{}`.
    static void require_no_fields(const nlohmann::json& body);

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
using text::utf8_length;
// True when `s` is well-formed UTF-8 without control characters other than
// \n and \t (free text such as a description).
bool is_clean_text(std::string_view s, bool allow_newlines);
// True when `s` (UTF-8) contains an invisible format character: the bidi
// controls (U+202A..U+202E, U+2066..U+2069, U+200E/F, U+061C), zero-width
// characters (U+200B..U+200D, U+2060..U+2064, U+FEFF), soft hyphen, U+180E.
// Names that look like another name on screen (`admin\u202e`) are refused.
bool has_format_controls(std::string_view s);
// True when `s` is empty or only Unicode white space (ASCII and U+00A0,
// U+1680, U+2000..U+200A, U+2028/9, U+202F, U+205F, U+3000).
bool is_blank(std::string_view s);

// Parses a request body. nullopt when `text` is not JSON; throws
// Error(kValidationFailed) naming the key when an object carries the same
// key twice ({"email":"a@x","email":"admin@x"}): a parser keeps one of them
// silently, and which one differs between parsers (a proxy or a log reader
// may see the other), so such a body is refused rather than guessed at.
// The same key in two different objects is fine.
std::optional<nlohmann::json> parse_json_unique_keys(std::string_view text);

}  // namespace bazaar
