// The row side of the catalog, shared by books.cpp and favorites.cpp (not a
// public header): the columns every book query selects, the row -> Book
// mapping, the page relations (tags, images) loaded in one query each, and
// the page cut. Private to shared/src/catalog so the public API stays
// catalog_service.hpp.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bazaar/catalog/catalog_service.hpp"

#define BAZAAR_BOOK_TS(col) \
    "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
// The columns book_from_row reads, in its order (alias `b` for books).
#define BAZAAR_BOOK_COLUMNS                                                        \
    "b.id, b.title, b.author, b.description, b.price_cents, b.currency, b.stock, " \
    "b.favorite_count, " BAZAAR_BOOK_TS("b.created_at") ", " BAZAAR_BOOK_TS("b.updated_at")

namespace bazaar::catalog {

Book book_from_row(const pqxx::row& r);

// Fills tags/images of `books` as the projection asks: one query per
// relation for the whole page, never one per book.
void load_relations(pqxx::transaction_base& tx, std::vector<Book>& books, const Projection& p);

// limit+1 rows in, a page out: the extra row only says a next page exists.
Page to_page(std::vector<Book> rows, const ListQuery& q, const std::string& key);

// The book exists and is not deleted (`lock`: FOR UPDATE, for writes).
bool book_is_live(pqxx::transaction_base& tx, std::int64_t id, bool lock);

}  // namespace bazaar::catalog
