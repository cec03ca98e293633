#include "bazaar/catalog/book_query.hpp"

#include <algorithm>
#include <charconv>

#include "bazaar/catalog/cursor.hpp"
#include "bazaar/error.hpp"
#include "bazaar/json_input.hpp"
#include "bazaar/text/strings.hpp"

namespace bazaar::catalog {

namespace {

std::optional<std::string> first(const QueryParams& params, std::string_view name) {
    for (const auto& [k, v] : params)
        if (k == name) return v;
    return std::nullopt;
}

// Every item, empty ones kept (an empty item is an error the caller reports).
std::vector<std::string> split_list(const std::string& s) {
    std::vector<std::string> out;
    for (std::string_view item : text::split(s, ',')) out.emplace_back(text::trim(item, " "));
    return out;
}

std::string trimmed(std::string s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    return s;
}

// Appends "k=v;" with the value's length, so no value can forge a separator.
void append_part(std::string& out, const char* k, const std::string& v) {
    out += k;
    out += '=';
    out += std::to_string(v.size());
    out += ':';
    out += v;
    out += ';';
}

void parse_page(const QueryParams& params, const std::string& cursor_key, ListQuery& q) {
    if (auto limit = first(params, "limit")) {
        int v = 0;
        auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
        if (limit->empty() || ec != std::errc() || p != limit->data() + limit->size() || v < 1 ||
            v > kMaxLimit) {
            throw Error::validation(
                "limit", "must be an integer between 1 and " + std::to_string(kMaxLimit));
        }
        q.limit = v;
    }
    if (auto cursor = first(params, "cursor"))
        q.before_id = decode_cursor(*cursor, q.filter(), cursor_key);
}

}  // namespace

const std::vector<std::string>& book_fields() {
    static const std::vector<std::string> f = {"id",         "title",    "author", "description",
                                               "priceCents", "currency", "stock",  "favoriteCount",
                                               "createdAt",  "updatedAt"};
    return f;
}

bool Projection::wants(std::string_view field) const {
    if (field == "id" || fields.empty()) return true;
    return std::binary_search(fields.begin(), fields.end(), field);
}

std::string Projection::variant() const {
    std::string out = "f=";
    for (const auto& f : fields) out += f + ",";
    out += ";i=";
    if (tags) out += "tags,";
    if (images) out += "images,";
    return out;
}

std::string ListQuery::filter() const {
    std::string out;
    if (tag) append_part(out, "tag", *tag);
    if (q) append_part(out, "q", *q);
    return out;
}

std::string ListQuery::variant() const {
    std::string out = filter();
    out += "l=" + std::to_string(limit) + ";c=" + (before_id ? std::to_string(*before_id) : "") +
           ";" + projection.variant();
    return out;
}

Projection parse_projection(const QueryParams& params) {
    Projection p;
    if (auto fields = first(params, "fields")) {
        for (auto& f : split_list(*fields)) {
            if (f == "tags" || f == "images")
                throw Error::validation("fields", "'" + f + "' is a relation: use include=" + f);
            const auto& all = book_fields();
            if (std::find(all.begin(), all.end(), f) == all.end())
                throw Error::validation("fields", "unknown field '" + f + "'");
            if (f != "id") p.fields.push_back(f);
        }
        std::sort(p.fields.begin(), p.fields.end());
        p.fields.erase(std::unique(p.fields.begin(), p.fields.end()), p.fields.end());
        // fields=id alone is a valid select of just the id.
        if (p.fields.empty()) p.fields.push_back("id");
    }
    if (auto include = first(params, "include")) {
        for (auto& r : split_list(*include)) {
            if (r == "tags")
                p.tags = true;
            else if (r == "images")
                p.images = true;
            else
                throw Error::validation("include",
                                        "unknown relation '" + r + "' (known: tags, images)");
        }
    }
    return p;
}

ListQuery parse_list_query(const QueryParams& params, const std::string& cursor_key) {
    ListQuery q;
    if (auto tag = first(params, "tag")) {
        std::string t = normalize_tag(*tag);
        if (utf8_length(t) < 1 || utf8_length(t) > 50 || !is_clean_text(t, false))
            throw Error::validation("tag", "must be 1 to 50 characters");
        q.tag = t;
    }
    if (auto text = first(params, "q")) {
        std::string t = trimmed(*text);
        // Below 3 characters a trigram index cannot narrow the search, and
        // the query would read the whole table.
        if (utf8_length(t) < 3 || utf8_length(t) > 100 || !is_clean_text(t, false))
            throw Error::validation("q", "must be 3 to 100 characters");
        q.q = t;
    }
    q.projection = parse_projection(params);
    parse_page(params, cursor_key, q);
    return q;
}

ListQuery parse_page_query(const QueryParams& params, const std::string& cursor_key) {
    ListQuery q;
    parse_page(params, cursor_key, q);
    return q;
}

std::int64_t parse_id(std::string_view text, const char* field) {
    std::int64_t v = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 1)
        throw Error::validation(field, "must be a positive integer");
    return v;
}

std::string like_pattern(std::string_view text) {
    std::string out = "%";
    for (char c : text) {
        if (c == '%' || c == '_' || c == '\\') out += '\\';
        out += c;
    }
    return out + "%";
}

}  // namespace bazaar::catalog
