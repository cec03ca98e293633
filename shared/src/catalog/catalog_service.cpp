#include "bazaar/catalog/catalog_service.hpp"

#include <unistd.h>

#include <map>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/cursor.hpp"
#include "bazaar/error.hpp"
#include "bazaar/log.hpp"

namespace bazaar::catalog {

namespace {

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define BOOK_COLUMNS                                                               \
    "b.id, b.title, b.author, b.description, b.price_cents, b.currency, b.stock, " \
    "b.favorite_count, " TS("b.created_at") ", " TS("b.updated_at")

// The hot uncached read, prepared once per connection.
const bool kPrepared = [] {
    prepare_statement("catalog_find_book",
                      "SELECT " BOOK_COLUMNS
                      " FROM books b WHERE b.id = $1 AND b.deleted_at IS NULL");
    return true;
}();

Book book_from_row(const pqxx::row& r) {
    Book b;
    b.id = r[0].as<std::int64_t>();
    b.title = r[1].as<std::string>();
    b.author = r[2].as<std::string>();
    b.description = r[3].as<std::string>();
    b.price_cents = r[4].as<std::int64_t>();
    b.currency = r[5].as<std::string>();
    b.stock = r[6].as<std::int64_t>();
    b.favorite_count = r[7].as<std::int64_t>();
    b.created_at = r[8].as<std::string>();
    b.updated_at = r[9].as<std::string>();
    return b;
}

std::string id_array(const std::vector<Book>& books) {
    std::string a = "{";
    for (std::size_t i = 0; i < books.size(); ++i)
        a += (i ? "," : "") + std::to_string(books[i].id);
    return a + "}";
}

std::string public_media_path(const std::string& stored) {
    if (stored.rfind("/media/", 0) == 0) return stored;
    if (!stored.empty() && stored.front() == '/') return stored;
    return "/media/" + stored;
}

// Fills tags/images of `books` as the projection asks: one query per
// relation for the whole page, never one per book.
void load_relations(pqxx::transaction_base& tx, std::vector<Book>& books, const Projection& p) {
    if (books.empty() || (!p.tags && !p.images)) return;
    std::map<std::int64_t, Book*> by_id;
    for (auto& b : books) by_id[b.id] = &b;
    std::string ids = id_array(books);
    if (p.tags) {
        auto rows = tx.exec_params(
            "SELECT bt.book_id, t.id, t.name FROM book_tags bt JOIN tags t ON t.id = bt.tag_id "
            "WHERE bt.book_id = ANY($1::bigint[]) ORDER BY t.name",
            ids);
        for (const auto& r : rows)
            by_id[r[0].as<std::int64_t>()]->tags.push_back(
                {r[1].as<std::int64_t>(), r[2].as<std::string>()});
    }
    if (p.images) {
        auto rows = tx.exec_params(
            "SELECT book_id, id, status, original_path, variants::text, coalesce(error, '') "
            "FROM images WHERE book_id = ANY($1::bigint[]) ORDER BY id",
            ids);
        for (const auto& r : rows) {
            Image img;
            img.id = r[1].as<std::int64_t>();
            img.status = r[2].as<std::string>();
            img.original = public_media_path(r[3].as<std::string>());
            img.variants = nlohmann::json::parse(r[4].as<std::string>(), nullptr, false);
            if (img.variants.is_discarded()) img.variants = nlohmann::json::object();
            img.error = r[5].as<std::string>();
            by_id[r[0].as<std::int64_t>()]->images.push_back(std::move(img));
        }
    }
}

// limit+1 rows in, a page out: the extra row only says a next page exists.
Page to_page(std::vector<Book> rows, const ListQuery& q, const std::string& key) {
    Page page;
    page.limit = q.limit;
    if (rows.size() > static_cast<std::size_t>(q.limit)) {
        rows.resize(static_cast<std::size_t>(q.limit));
        page.next_cursor = encode_cursor(rows.back().id, q.filter(), key);
    }
    page.books = std::move(rows);
    return page;
}

bool book_is_live(pqxx::transaction_base& tx, std::int64_t id, bool lock) {
    std::string sql = "SELECT 1 FROM books WHERE id = $1 AND deleted_at IS NULL";
    if (lock) sql += " FOR UPDATE";
    return !tx.exec_params(sql, id).empty();
}

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

// Image files live under <var>/media; the stored path is its public URL
// ("/media/originals/x.jpg") or relative to the media folder.
void remove_media_file(const std::string& var_dir, const std::string& public_path) {
    std::string rel = public_path;
    if (rel.rfind("/media/", 0) == 0) rel = rel.substr(7);
    if (rel.empty() || rel.front() == '/' || rel.find("..") != std::string::npos) return;
    std::string path = var_dir + "/media/" + rel;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
        log::warn("could not remove image file", {{"file", path}});
}

}  // namespace

std::string cursor_key(const Config& c) {
    return "cursor-v1:" + c.jwt_secret;
}

void invalidate_book(Redis& redis, std::int64_t book_id) {
    cache::invalidate(redis, {book_scope(book_id), kBooksScope});
}

void invalidate_recommendations(Redis& redis) {
    cache::invalidate(redis, {kBooksScope});
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
            if (in.stock) set("stock", std::to_string(*in.stock));
            sql += " WHERE id = $1";
            w.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
            if (in.tags) set_tags(w, id, *in.tags, true);
            return read_back(w, id);
        });
    });
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
