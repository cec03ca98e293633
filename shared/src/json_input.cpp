#include "bazaar/json_input.hpp"

#include <algorithm>
#include <set>

namespace bazaar {

namespace {

// Decodes the code point at s[i] (well-formed UTF-8 assumed: JSON bodies are
// validated by the parser) and advances i; -1 for a malformed sequence.
long next_code_point(std::string_view s, std::size_t& i) {
    auto c = static_cast<unsigned char>(s[i]);
    int extra = c < 0x80             ? 0
                : (c & 0xE0) == 0xC0 ? 1
                : (c & 0xF0) == 0xE0 ? 2
                : (c & 0xF8) == 0xF0 ? 3
                                     : -1;
    if (extra < 0 || i + static_cast<std::size_t>(extra) >= s.size()) {
        ++i;
        return -1;
    }
    long cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 1; k <= extra; ++k) {
        auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0) != 0x80) {
            ++i;
            return -1;
        }
        cp = (cp << 6) | (cc & 0x3F);
    }
    i += static_cast<std::size_t>(extra) + 1;
    return cp;
}

bool is_format_control(long cp) {
    return cp == 0x00AD || cp == 0x061C || cp == 0x180E || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x2064) ||
           (cp >= 0x2066 && cp <= 0x206F) || cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB);
}

bool is_space(long cp) {
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

}  // namespace

bool has_format_controls(std::string_view s) {
    for (std::size_t i = 0; i < s.size();)
        if (is_format_control(next_code_point(s, i))) return true;
    return false;
}

bool is_blank(std::string_view s) {
    for (std::size_t i = 0; i < s.size();)
        if (!is_space(next_code_point(s, i))) return false;
    return true;
}

bool is_clean_text(std::string_view s, bool allow_newlines) {
    for (std::size_t i = 0; i < s.size();) {
        auto c = static_cast<unsigned char>(s[i]);
        // C1 controls (U+0080..U+009F) are two bytes: C2 80..C2 9F.
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0)
            return false;
        if (c < 0x80) {
            if (c == 0x7f ||
                (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\t' || c == '\r'))))
                return false;
            ++i;
            continue;
        }
        // RFC 3629: C0, C1 and F5..FF never lead, and the second byte's range
        // rules out overlong forms (E0, F0), surrogates (ED) and code points
        // above U+10FFFF (F4). Postgres refuses all of them as text; query
        // parameters are percent-decoded bytes and can carry any of them.
        int extra = 0;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (i + static_cast<std::size_t>(extra) >= s.size()) return false;
        auto second = static_cast<unsigned char>(s[i + 1]);
        if (second < lo || second > hi) return false;
        for (int k = 2; k <= extra; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += static_cast<std::size_t>(extra) + 1;
    }
    return true;
}

JsonInput::JsonInput(const nlohmann::json& body, std::initializer_list<std::string_view> allowed)
    : body_(body) {
    for (const auto& [key, value] : body_.items()) {
        if (std::find(allowed.begin(), allowed.end(), std::string_view(key)) == allowed.end())
            issues_.push_back({key, "is not a known field"});
    }
}

void JsonInput::require_no_fields(const nlohmann::json& body) {
    JsonInput in(body, {});
    in.finish();
}

bool JsonInput::has(std::string_view field) const {
    return body_.contains(std::string(field));
}

void JsonInput::add_issue(std::string field, std::string reason) {
    issues_.push_back({std::move(field), std::move(reason)});
}

std::optional<std::string> JsonInput::string(std::string_view field, StringRule rule) {
    auto it = body_.find(std::string(field));
    if (it == body_.end()) {
        if (rule.required) add_issue(std::string(field), "is required");
        return std::nullopt;
    }
    if (!it->is_string()) {
        add_issue(std::string(field), "must be a string");
        return std::nullopt;
    }
    const auto& s = it->get_ref<const std::string&>();
    std::size_t n = utf8_length(s);
    if (n < rule.min || n > rule.max) {
        add_issue(std::string(field), "must be " + std::to_string(rule.min) + " to " +
                                          std::to_string(rule.max) + " characters");
        return std::nullopt;
    }
    if (!is_clean_text(s, rule.multiline)) {
        add_issue(std::string(field), "must not contain control characters");
        return std::nullopt;
    }
    return s;
}

std::optional<std::int64_t> JsonInput::integer(std::string_view field, IntRule rule) {
    auto it = body_.find(std::string(field));
    std::string range = "must be an integer between " + std::to_string(rule.min) + " and " +
                        std::to_string(rule.max);
    if (it == body_.end()) {
        if (rule.required) add_issue(std::string(field), "is required");
        return std::nullopt;
    }
    // 12.0 is not an integer in a JSON API: clients must send 12.
    if (!it->is_number_integer()) {
        add_issue(std::string(field), range);
        return std::nullopt;
    }
    std::int64_t v = 0;
    if (it->is_number_unsigned()) {
        auto u = it->get<std::uint64_t>();
        if (u > static_cast<std::uint64_t>(rule.max)) {
            add_issue(std::string(field), range);
            return std::nullopt;
        }
        v = static_cast<std::int64_t>(u);
    } else {
        v = it->get<std::int64_t>();
    }
    if (v < rule.min || v > rule.max) {
        add_issue(std::string(field), range);
        return std::nullopt;
    }
    return v;
}

std::optional<std::vector<std::string>> JsonInput::string_array(std::string_view field,
                                                                StringRule item,
                                                                std::size_t max_items,
                                                                bool required) {
    auto it = body_.find(std::string(field));
    if (it == body_.end()) {
        if (required) add_issue(std::string(field), "is required");
        return std::nullopt;
    }
    if (!it->is_array() || it->size() > max_items) {
        add_issue(std::string(field),
                  "must be an array of at most " + std::to_string(max_items) + " strings");
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (std::size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        std::string name = std::string(field) + "[" + std::to_string(i) + "]";
        if (!e.is_string()) {
            add_issue(name, "must be a string");
            return std::nullopt;
        }
        std::size_t n = utf8_length(e.get_ref<const std::string&>());
        if (n < item.min || n > item.max) {
            add_issue(name, "must be " + std::to_string(item.min) + " to " +
                                std::to_string(item.max) + " characters");
            return std::nullopt;
        }
        if (!is_clean_text(e.get_ref<const std::string&>(), item.multiline)) {
            add_issue(name, "must not contain control characters");
            return std::nullopt;
        }
        out.push_back(e.get<std::string>());
    }
    return out;
}

void JsonInput::finish() const {
    if (issues_.empty()) return;
    std::string msg = issues_.size() == 1
                          ? "invalid value for '" + issues_[0].field + "'"
                          : "the request has " + std::to_string(issues_.size()) + " invalid fields";
    throw Error(ErrorCode::kValidationFailed, msg, issues_);
}

std::optional<nlohmann::json> parse_json_unique_keys(std::string_view text) {
    // The keys seen so far in each object being parsed (innermost last).
    // The callback records the first duplicate and never throws: nothing
    // leaves the parser but its own result.
    std::vector<std::set<std::string, std::less<>>> open;
    std::optional<std::string> duplicate;
    auto cb = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
        using E = nlohmann::json::parse_event_t;
        if (event == E::object_start) {
            open.emplace_back();
        } else if (event == E::object_end) {
            if (!open.empty()) open.pop_back();
        } else if (event == E::key && !open.empty() && parsed.is_string()) {
            const auto& key = parsed.get_ref<const std::string&>();
            if (!open.back().insert(key).second && !duplicate) duplicate = key;
        }
        return true;
    };
    auto j = nlohmann::json::parse(text.begin(), text.end(), cb, false);
    if (j.is_discarded()) return std::nullopt;
    if (duplicate) throw Error::validation(*duplicate, "the key appears more than once");
    return j;
}

}  // namespace bazaar
