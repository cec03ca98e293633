// Books as the API shows them (API.md §3) and as admins write them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "bazaar/catalog/book_query.hpp"

namespace bazaar::catalog {

struct Tag {
    std::int64_t id = 0;
    std::string name;
};

struct Image {
    std::int64_t id = 0;
    std::string status;
    std::string original;     // public URL path
    nlohmann::json variants;  // {thumbnail, medium, webp} when ready
    std::string error;        // when failed
};

struct Book {
    std::int64_t id = 0;
    std::string title;
    std::string author;
    std::string description;
    std::int64_t price_cents = 0;
    std::string currency;
    std::int64_t stock = 0;
    std::int64_t favorite_count = 0;
    std::string created_at;
    std::string updated_at;
    std::vector<Tag> tags;      // filled only when included
    std::vector<Image> images;  // filled only when included
};

// The JSON of a book restricted to `p` (ids are strings, API.md §0).
nlohmann::json to_json(const Book& b, const Projection& p);
nlohmann::json to_json(const Tag& t);

// A validated create (all required fields set) or patch (any subset).
struct BookInput {
    std::optional<std::string> title;
    std::optional<std::string> author;
    std::optional<std::string> description;
    std::optional<std::int64_t> price_cents;
    std::optional<std::string> currency;
    std::optional<std::int64_t> stock;
    std::optional<std::vector<std::string>> tags;  // normalised, unique
};

// Validates a request body; unknown fields, wrong types, negative prices...
// throw Error(kValidationFailed) listing every bad field at once.
BookInput parse_book_input(const nlohmann::json& body, bool partial);

}  // namespace bazaar::catalog
