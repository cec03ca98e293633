// Favorites: a user's set of books and each book's favorite_count, moved
// only when the set really changed. Contracts in
// bazaar/catalog/catalog_service.hpp.
#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/error.hpp"
#include "book_rows.hpp"

#define BOOK_COLUMNS BAZAAR_BOOK_COLUMNS

namespace bazaar::catalog {

void add_favorite(Backends& b, const std::string& user_id, std::int64_t book_id) {
    cache::around_write(b.redis, {book_scope(book_id), kBooksScope}, [&] {
        try {
            b.pg.transact([&](pqxx::work& w) {
                if (!book_is_live(w, book_id, false)) throw Error::not_found("book");
                auto r = w.exec_params(
                    "INSERT INTO favorites (user_id, book_id) VALUES ($1::uuid, $2) "
                    "ON CONFLICT DO NOTHING RETURNING book_id",
                    user_id, book_id);
                if (!r.empty())
                    w.exec_params(
                        "UPDATE books SET favorite_count = favorite_count + 1 WHERE id = $1",
                        book_id);
            });
        } catch (const pqxx::foreign_key_violation& e) {
            // A validly signed token whose user no longer exists.
            if (std::string_view(e.what()).find("favorites_user_id_fkey") == std::string::npos)
                throw;
            throw Error(ErrorCode::kUnauthenticated, "the token's user does not exist");
        }
    });
}

void remove_favorite(Backends& b, const std::string& user_id, std::int64_t book_id) {
    cache::around_write(b.redis, {book_scope(book_id), kBooksScope}, [&] {
        b.pg.transact([&](pqxx::work& w) {
            if (!book_is_live(w, book_id, false)) throw Error::not_found("book");
            auto r = w.exec_params(
                "DELETE FROM favorites WHERE user_id = $1::uuid AND book_id = $2 RETURNING book_id",
                user_id, book_id);
            if (!r.empty())
                w.exec_params(
                    "UPDATE books SET favorite_count = greatest(favorite_count - 1, 0) WHERE id = "
                    "$1",
                    book_id);
        });
    });
}

Page list_favorites(Pg& pg, const std::string& user_id, const ListQuery& q,
                    const std::string& key) {
    return pg.transact([&](pqxx::work& w) {
        std::string sql = "SELECT " BOOK_COLUMNS
                          " FROM favorites f JOIN books b ON b.id = f.book_id "
                          "WHERE f.user_id = $1::uuid AND b.deleted_at IS NULL";
        if (q.before_id) sql += " AND b.id < $2::bigint";
        sql += " ORDER BY b.id DESC LIMIT " + std::to_string(q.limit + 1);
        pqxx::result r =
            q.before_id ? w.exec_params(sql, user_id, *q.before_id) : w.exec_params(sql, user_id);
        std::vector<Book> rows;
        for (const auto& row : r) rows.push_back(book_from_row(row));
        return to_page(std::move(rows), q, key);
    });
}

}  // namespace bazaar::catalog
