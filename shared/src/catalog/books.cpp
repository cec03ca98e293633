// Books: the catalog's reads (lists, one book, tags, recommendations) and the
// admin writes, each write one transaction framed by cache invalidations.
// Contracts in bazaar/catalog/catalog_service.hpp.
#include <set>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/catalog_service.hpp"
#include "bazaar/catalog/stock_figure.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"
#include "bazaar/orders/stock.hpp"
#include "book_rows.hpp"
#include "media_files.hpp"

#define BOOK_COLUMNS BAZAAR_BOOK_COLUMNS

namespace bazaar::catalog {

namespace {

// The hot uncached read, prepared once per connection.
const bool kPrepared = [] {
    prepare_statement("catalog_find_book",
                      "SELECT " BOOK_COLUMNS
                      " FROM books b WHERE b.id = $1 AND b.deleted_at IS NULL");
    return true;
}();

// Connect-or-create: missing tags are inserted, existing ones reused; the
// book's links become exactly `names`. Tags themselves are never deleted.
void set_tags(pqxx::transaction_base& tx, std::int64_t book_id,
              const std::vector<std::string>& names, bool replace) {
    std::string arr = "{";
    for (std::size_t i = 0; i < names.size(); ++i) {
        arr += i ? "," : "";
        arr += '"';
        for (char c : names[i]) {
            if (c == '"' || c == '\\') arr += '\\';
            arr += c;
        }
        arr += '"';
    }
    arr += "}";
    if (replace) {
        tx.exec_params(
            "DELETE FROM book_tags bt USING tags t WHERE bt.book_id = $1 AND t.id = bt.tag_id "
            "AND NOT (t.name = ANY($2::text[]))",
            book_id, arr);
    }
    if (names.empty()) return;
    tx.exec_params(
        "INSERT INTO tags (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING", arr);
    tx.exec_params(
        "INSERT INTO book_tags (book_id, tag_id) SELECT $1, id FROM tags WHERE name = "
        "ANY($2::text[]) "
        "ON CONFLICT DO NOTHING",
        book_id, arr);
}

Book read_back(pqxx::transaction_base& tx, std::int64_t id) {
    auto r = tx.exec_params("SELECT " BOOK_COLUMNS " FROM books b WHERE b.id = $1", id);
    std::vector<Book> books{book_from_row(r[0])};
    Projection with_tags;
    with_tags.tags = true;
    load_relations(tx, books, with_tags);
    return books[0];
}

}  // namespace

/* ---- reads ---------------------------------------------------------------- */

std::string cursor_key(const Config& c) {
    return "cursor-v1:" + c.jwt_secret;
}

void invalidate_book(Redis& redis, std::int64_t book_id) {
    cache::invalidate(redis, {book_scope(book_id), kBooksScope});
}

void invalidate_recommendations(Redis& redis) {
    cache::invalidate(redis, {kBooksScope});
}

void stock_changed(Redis& redis, const std::vector<std::int64_t>& book_ids) {
    if (book_ids.empty()) return;
    std::set<std::int64_t> unique(book_ids.begin(), book_ids.end());
    std::vector<std::string> scopes;
    for (auto id : unique) scopes.push_back(book_scope(id));
    // Lists show stock too (API.md §3): a list page cached before the
    // change would still show the old figure.
    scopes.push_back(kBooksScope);
    cache::invalidate_after_commit(redis, scopes);
}

Page list_books(Pg& pg, const ListQuery& q, const std::string& key) {
    (void)kPrepared;
    return pg.transact([&](pqxx::work& w) {
        std::string sql = "SELECT " BOOK_COLUMNS " FROM books b WHERE b.deleted_at IS NULL";
        // Parameters are always bound, never spliced: tag and q are data.
        std::vector<std::string> params;
        auto param = [&](std::string v) {
            params.push_back(std::move(v));
            return "$" + std::to_string(params.size());
        };
        if (q.before_id) sql += " AND b.id < " + param(std::to_string(*q.before_id)) + "::bigint";
        if (q.tag) {
            sql +=
                " AND b.id IN (SELECT bt.book_id FROM book_tags bt JOIN tags t ON t.id = "
                "bt.tag_id WHERE t.name = " +
                param(normalize_tag(*q.tag)) + ")";
        }
        std::string limit = std::to_string(q.limit + 1);
        if (q.q) {
            // Written as a materialised set of matches: given ORDER BY id
            // LIMIT n on the whole query, the planner walks the primary key
            // backwards and filters, reading the whole table for a rare
            // term. The CTE (no order, no limit) uses the trigram indexes
            // (bitmap OR); only the matches are sorted.
            std::string p = param(like_pattern(*q.q));
            sql = "WITH m AS MATERIALIZED (SELECT b.id " + sql.substr(sql.find("FROM books b")) +
                  " AND (b.title ILIKE " + p + " OR b.author ILIKE " + p +
                  ")) SELECT " BOOK_COLUMNS
                  " FROM books b WHERE b.id IN "
                  "(SELECT id FROM m ORDER BY id DESC LIMIT " +
                  limit + ") ORDER BY b.id DESC";
        } else {
            sql += " ORDER BY b.id DESC LIMIT " + limit;
        }
        pqxx::result r;
        switch (params.size()) {
            case 0:
                r = w.exec(sql);
                break;
            case 1:
                r = w.exec_params(sql, params[0]);
                break;
            case 2:
                r = w.exec_params(sql, params[0], params[1]);
                break;
            default:
                r = w.exec_params(sql, params[0], params[1], params[2]);
                break;
        }
        std::vector<Book> rows;
        for (const auto& row : r) rows.push_back(book_from_row(row));
        Page page = to_page(std::move(rows), q, key);
        load_relations(w, page.books, q.projection);
        return page;
    });
}

std::optional<Book> find_book(Pg& pg, std::int64_t id, const Projection& p) {
    return pg.transact([&](pqxx::work& w) -> std::optional<Book> {
        auto r = w.exec_prepared("catalog_find_book", id);
        if (r.empty()) return std::nullopt;
        std::vector<Book> one{book_from_row(r[0])};
        load_relations(w, one, p);
        return one[0];
    });
}

std::vector<TagCount> list_tags(Pg& pg) {
    return pg.transact([&](pqxx::work& w) {
        auto r = w.exec(
            "SELECT t.id, t.name, count(b.id) FROM tags t "
            "LEFT JOIN book_tags bt ON bt.tag_id = t.id "
            "LEFT JOIN books b ON b.id = bt.book_id AND b.deleted_at IS NULL "
            "GROUP BY t.id, t.name ORDER BY t.name");
        std::vector<TagCount> out;
        for (const auto& row : r)
            out.push_back(
                {{row[0].as<std::int64_t>(), row[1].as<std::string>()}, row[2].as<std::int64_t>()});
        return out;
    });
}

std::vector<Book> recommendations(Pg& pg, std::int64_t book_id) {
    return pg.transact([&](pqxx::work& w) {
        if (!book_is_live(w, book_id, false)) throw Error::not_found("book");
        auto r =
            w.exec_params("SELECT " BOOK_COLUMNS
                          " FROM recommendations r JOIN books b ON b.id = r.recommended_book_id "
                          "WHERE r.book_id = $1 AND b.deleted_at IS NULL "
                          "ORDER BY r.score DESC, b.id DESC LIMIT 10",
                          book_id);
        std::vector<Book> out;
        for (const auto& row : r) out.push_back(book_from_row(row));
        return out;
    });
}

/* ---- admin writes --------------------------------------------------------- */

Book create_book(Backends& b, const BookInput& in) {
    Book created;
    cache::around_write(b.redis, {kBooksScope, kTagsScope}, [&] {
        created = b.pg.transact([&](pqxx::work& w) {
            auto id = w.exec_params1(
                           "INSERT INTO books (title, author, description, price_cents, currency, "
                           "stock) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                           *in.title, *in.author, in.description.value_or(""), *in.price_cents,
                           in.currency.value_or("USD"), *in.stock)[0]
                          .as<std::int64_t>();
            if (in.tags) set_tags(w, id, *in.tags, false);
            return read_back(w, id);
        });
    });
    return created;
}

Book update_book(Backends& b, std::int64_t id, const BookInput& in) {
    std::vector<std::string> scopes = {book_scope(id), kBooksScope};
    if (in.tags) scopes.push_back(kTagsScope);
    Book updated;
    cache::around_write(b.redis, scopes, [&] {
        updated = b.pg.transact([&](pqxx::work& w) {
            if (!book_is_live(w, id, true)) throw Error::not_found("book");
            std::string sql = "UPDATE books SET updated_at = now()";
            std::vector<std::string> params = {std::to_string(id)};
            auto set = [&](const char* column, std::string value) {
                params.push_back(std::move(value));
                sql += std::string(", ") + column + " = $" + std::to_string(params.size());
            };
            if (in.title) set("title", *in.title);
            if (in.author) set("author", *in.author);
            if (in.description) set("description", *in.description);
            if (in.price_cents) set("price_cents", std::to_string(*in.price_cents));
            if (in.currency) set("currency", *in.currency);
            // The figure is the on-hand count (catalog/stock_figure.hpp): the
            // copies open orders hold are subtracted, and a figure below them
            // is refused. A new stock is a change of books.stock like any
            // other: it bumps stock_seq, so a counter loaded before it is
            // told apart.
            if (in.stock) {
                auto held = lock_and_count_held(w, {id})[id];
                auto free = free_to_sell(*in.stock, held);
                if (!free)
                    throw Error(ErrorCode::kConflict,
                                "the stock is below the copies held by open orders",
                                {{"stock", below_held_reason(*in.stock, held)}});
                set("stock", std::to_string(*free));
                sql += ", stock_seq = stock_seq + 1";
            }
            sql += " WHERE id = $1";
            w.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
            if (in.tags) set_tags(w, id, *in.tags, true);
            return read_back(w, id);
        });
    });
    // The Redis stock counter still holds the old figure: drop it, the next
    // checkout loads the new one (always safe: orders/stock.hpp).
    if (in.stock) {
        try {
            orders::stock::unload(b.redis, {id});
        } catch (const std::exception& e) {
            log::warn("stock counter not dropped after a stock change; the sweep's reload will",
                      {{"bookId", id}, {"error", e.what()}});
        }
    }
    return updated;
}

void delete_book(Backends& b, std::int64_t id) {
    std::vector<std::string> files;
    cache::around_write(b.redis, {book_scope(id), kBooksScope, kTagsScope}, [&] {
        b.pg.transact([&](pqxx::work& w) {
            files.clear();
            auto r = w.exec_params(
                "UPDATE books SET deleted_at = now(), updated_at = now() "
                "WHERE id = $1 AND deleted_at IS NULL RETURNING id",
                id);
            if (r.empty()) throw Error::not_found("book");
            auto imgs = w.exec_params(
                "DELETE FROM images WHERE book_id = $1 RETURNING original_path, variants::text",
                id);
            for (const auto& row : imgs) {
                files.push_back(row[0].as<std::string>());
                auto v = nlohmann::json::parse(row[1].as<std::string>(), nullptr, false);
                if (v.is_object())
                    for (const auto& [k, path] : v.items())
                        if (path.is_string()) files.push_back(path.get<std::string>());
            }
        });
    });
    // After commit: a crash here leaves orphan files, never rows without files.
    for (const auto& f : files) remove_media_file(b.config.var_dir, f);
}

}  // namespace bazaar::catalog
