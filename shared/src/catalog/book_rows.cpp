#include "book_rows.hpp"

#include <map>

#include "bazaar/catalog/cursor.hpp"
#include "media_files.hpp"

namespace bazaar::catalog {

namespace {

std::string id_array(const std::vector<Book>& books) {
    std::string a = "{";
    for (std::size_t i = 0; i < books.size(); ++i)
        a += (i ? "," : "") + std::to_string(books[i].id);
    return a + "}";
}

}  // namespace

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

}  // namespace bazaar::catalog
