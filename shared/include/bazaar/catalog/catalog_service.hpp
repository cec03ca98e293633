// The catalog (API.md §3): books with tags and images, favorites, tag
// counts, recommendations. Reads return domain values; writes run in one
// Postgres transaction each, framed by cache invalidations
// (cache/read_cache.hpp, scopes in cache_scopes.hpp).
//
// Deletion is soft: a deleted book keeps its row (deleted_at set) because
// orders reference it (order_items.book_id) and must keep showing what was
// bought; every read filters deleted_at IS NULL, so for clients it is gone
// (404). Its images, being pure catalog content, are removed for real: rows
// in the transaction, files after commit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bazaar/backends.hpp"
#include "bazaar/catalog/book.hpp"
#include "bazaar/catalog/book_query.hpp"

namespace bazaar::catalog {

struct Page {
    std::vector<Book> books;
    std::optional<std::string> next_cursor;  // null on the last page
    int limit = 0;
};

struct TagCount {
    Tag tag;
    std::int64_t book_count = 0;  // live books only
};

// The HMAC key of cursors, derived from the configuration's secret.
std::string cursor_key(const Config& c);

// Newest first; fetches limit+1 rows to know whether a next page exists.
Page list_books(Pg& pg, const ListQuery& q, const std::string& cursor_key);
std::optional<Book> find_book(Pg& pg, std::int64_t id, const Projection& p);
std::vector<TagCount> list_tags(Pg& pg);
// Throws Error::not_found("book") for a missing or deleted book.
std::vector<Book> recommendations(Pg& pg, std::int64_t book_id);

// Admin writes. Return the book with its tags. Throw Error(kValidationFailed)
// from parse_book_input (done by the caller), Error::not_found("book").
Book create_book(Backends& b, const BookInput& in);
Book update_book(Backends& b, std::int64_t id, const BookInput& in);
void delete_book(Backends& b, std::int64_t id);

// Idempotent: favoriting twice is one favorite; unfavoriting a book that is
// not a favorite is fine. Both throw Error::not_found("book") for a missing
// or deleted book. favorite_count moves only when the set really changed.
void add_favorite(Backends& b, const std::string& user_id, std::int64_t book_id);
void remove_favorite(Backends& b, const std::string& user_id, std::int64_t book_id);
// The user's favorites, newest book first.
Page list_favorites(Pg& pg, const std::string& user_id, const ListQuery& q,
                    const std::string& cursor_key);

}  // namespace bazaar::catalog
