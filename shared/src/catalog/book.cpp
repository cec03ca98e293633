#include "bazaar/catalog/book.hpp"
#include "bazaar/catalog/currency.hpp"

#include <algorithm>

#include "bazaar/json_input.hpp"

namespace bazaar::catalog {

namespace {
constexpr std::size_t kMaxTags = 20;
constexpr std::int64_t kMaxPriceCents = 100'000'000;  // 1M in major units: a typo guard
constexpr std::int64_t kMaxStock = 1'000'000;
}  // namespace

nlohmann::json to_json(const Tag& t) {
    return {{"id", std::to_string(t.id)}, {"name", t.name}};
}

nlohmann::json to_json(const Book& b, const Projection& p) {
    nlohmann::json j = {{"id", std::to_string(b.id)}};
    if (p.wants("title")) j["title"] = b.title;
    if (p.wants("author")) j["author"] = b.author;
    if (p.wants("description")) j["description"] = b.description;
    if (p.wants("priceCents")) j["priceCents"] = b.price_cents;
    if (p.wants("currency")) j["currency"] = b.currency;
    if (p.wants("stock")) j["stock"] = b.stock;
    if (p.wants("favoriteCount")) j["favoriteCount"] = b.favorite_count;
    if (p.wants("createdAt")) j["createdAt"] = b.created_at;
    if (p.wants("updatedAt")) j["updatedAt"] = b.updated_at;
    if (p.tags) {
        j["tags"] = nlohmann::json::array();
        for (const auto& t : b.tags) j["tags"].push_back(to_json(t));
    }
    if (p.images) {
        j["images"] = nlohmann::json::array();
        for (const auto& i : b.images) {
            nlohmann::json img = {
                {"id", std::to_string(i.id)},
                {"status", i.status},
                {"original", i.original},
                {"variants", i.variants.is_null() ? nlohmann::json::object() : i.variants}};
            if (i.status == "failed") img["error"] = i.error;
            j["images"].push_back(std::move(img));
        }
    }
    return j;
}

std::string normalize_tag(std::string_view name) {
    std::string s(name);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.erase(0, 1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.pop_back();
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

BookInput parse_book_input(const nlohmann::json& body, bool partial) {
    JsonInput in(body,
                 {"title", "author", "description", "priceCents", "currency", "stock", "tags"});
    BookInput b;
    bool req = !partial;
    b.title = in.string("title", {.min = 1, .max = 300, .required = req});
    b.author = in.string("author", {.min = 1, .max = 200, .required = req});
    b.description =
        in.string("description", {.min = 0, .max = 10000, .required = false, .multiline = true});
    b.price_cents = in.integer("priceCents", {.min = 0, .max = kMaxPriceCents, .required = req});
    b.currency = in.string("currency", {.min = 3, .max = 3, .required = false});
    b.stock = in.integer("stock", {.min = 0, .max = kMaxStock, .required = req});
    auto tags = in.string_array("tags", {.min = 1, .max = 50}, kMaxTags, false);
    if (b.title && (!is_clean_text(*b.title, false) || normalize_tag(*b.title).empty()))
        in.add_issue("title", "must be printable text, not blank");
    if (b.author && (!is_clean_text(*b.author, false) || normalize_tag(*b.author).empty()))
        in.add_issue("author", "must be printable text, not blank");
    if (b.description && !is_clean_text(*b.description, true))
        in.add_issue("description", "must be printable text");
    if (b.currency && !is_iso4217_currency(*b.currency))
        in.add_issue("currency", "must be an ISO 4217 currency code such as USD or EUR");
    if (tags) {
        std::vector<std::string> names;
        for (std::size_t i = 0; i < tags->size(); ++i) {
            std::string n = normalize_tag((*tags)[i]);
            if (n.empty() || !is_clean_text(n, false)) {
                in.add_issue("tags[" + std::to_string(i) + "]",
                             "must be 1 to 50 printable characters");
                continue;
            }
            if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(n);
        }
        b.tags = std::move(names);
    }
    if (partial && in.issues().empty() && body.empty())
        in.add_issue("body", "must set at least one field");
    in.finish();
    return b;
}

}  // namespace bazaar::catalog
