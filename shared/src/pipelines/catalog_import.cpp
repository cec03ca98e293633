#include "bazaar/pipelines/catalog_import.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <unordered_set>
#include <vector>

#include "bazaar/cache/read_cache.hpp"
#include "bazaar/catalog/cache_scopes.hpp"
#include "bazaar/catalog/stock_figure.hpp"
#include "bazaar/log.hpp"
#include "bazaar/orders/stock.hpp"
#include "bazaar/pipelines/feed_reader.hpp"
#include "bazaar/pipelines/long_transaction.hpp"
#include "bazaar/time.hpp"

namespace bazaar::pipelines {

namespace fs = std::filesystem;

namespace {

// A Postgres array literal; std::nullopt elements are NULL. Values are data:
// every element is quoted and escaped, never spliced into SQL.
std::string array_literal(const std::vector<std::optional<std::string>>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ',';
        if (!items[i]) {
            out += "NULL";
            continue;
        }
        out += '"';
        for (char c : *items[i]) {
            if (c == '"' || c == '\\') out += '\\';
            out += c;
        }
        out += '"';
    }
    return out + "}";
}

std::string array_literal(const std::vector<std::string>& items) {
    std::vector<std::optional<std::string>> o(items.begin(), items.end());
    return array_literal(o);
}

// A batch's bound: far above its normal run time (milliseconds), far below
// the job's, so a frozen Postgres fails the attempt instead of hanging it.
constexpr int kBatchTimeoutMs = 60000;

struct Counts {
    std::size_t imported = 0, updated = 0, unchanged = 0;
};

// One batch in one transaction; returns the ids of the books it changed
// (updated, not inserted) for their cache scopes. Rows whose stock is below
// what open orders hold are refused into `refused` and write nothing.
std::vector<std::int64_t> write_batch(Backends& b, const std::vector<FeedRow>& rows, Counts& counts,
                                      std::vector<BadRow>& refused) {
    std::set<std::int64_t> inserted, changed;
    std::vector<BadRow> refused_here;
    cache::around_write(b.redis, {catalog::kBooksScope, catalog::kTagsScope}, [&] {
        b.pg.transact([&](pqxx::work& w) {
            inserted.clear();
            changed.clear();
            refused_here.clear();
            w.exec(long_statement_sql(kBatchTimeoutMs));
            // The feed's stock is the on-hand count, the same rule as an
            // admin's PATCH (catalog/stock_figure.hpp): the batch's existing
            // books are locked and what their open orders hold subtracted.
            std::vector<std::string> named;
            for (const auto& r : rows) named.push_back(r.isbn);
            std::map<std::string, std::int64_t> id_of;
            std::vector<std::int64_t> ids;
            for (const auto& r :
                 w.exec_params("SELECT isbn, id FROM books WHERE isbn = ANY($1::text[]) "
                               "AND deleted_at IS NULL",
                               array_literal(named))) {
                id_of[r[0].as<std::string>()] = r[1].as<std::int64_t>();
                ids.push_back(r[1].as<std::int64_t>());
            }
            auto held = catalog::lock_and_count_held(w, ids);

            std::vector<std::string> isbn, title, author;
            std::vector<std::optional<std::string>> description, currency;
            std::vector<std::string> price, stock;
            std::vector<std::string> tagged_isbn, pair_isbn, pair_tag;
            for (const auto& r : rows) {
                std::int64_t h = 0;
                if (auto it = id_of.find(r.isbn); it != id_of.end()) h = held[it->second];
                auto free = catalog::free_to_sell(*r.book.stock, h);
                if (!free) {
                    refused_here.push_back({r.line, catalog::below_held_reason(*r.book.stock, h)});
                    continue;
                }
                isbn.push_back(r.isbn);
                title.push_back(*r.book.title);
                author.push_back(*r.book.author);
                description.push_back(r.book.description);
                currency.push_back(r.book.currency);
                price.push_back(std::to_string(*r.book.price_cents));
                stock.push_back(std::to_string(*free));
                if (r.book.tags) {
                    tagged_isbn.push_back(r.isbn);
                    for (const auto& t : *r.book.tags) {
                        pair_isbn.push_back(r.isbn);
                        pair_tag.push_back(t);
                    }
                }
            }
            if (isbn.empty()) return;
            auto r = w.exec_params(
                "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], "
                "$4::text[], $5::int[], $6::text[], $7::int[]) "
                "AS i(isbn, title, author, description, price_cents, currency, stock)), "
                "upd AS (UPDATE books b SET title = i.title, author = i.author, "
                "description = COALESCE(i.description, b.description), "
                "price_cents = i.price_cents, currency = COALESCE(i.currency, b.currency), "
                "stock = i.stock, "
                "stock_seq = b.stock_seq + CASE WHEN b.stock <> i.stock THEN 1 ELSE 0 END, "
                "updated_at = now() FROM input i "
                "WHERE b.isbn = i.isbn AND b.deleted_at IS NULL AND "
                "(b.title, b.author, b.description, b.price_cents, b.currency::text, b.stock) "
                "IS DISTINCT FROM (i.title, i.author, COALESCE(i.description, b.description), "
                "i.price_cents, COALESCE(i.currency, b.currency::text), i.stock) "
                "RETURNING b.id), "
                "ins AS (INSERT INTO books (isbn, title, author, description, price_cents, "
                "currency, stock) SELECT i.isbn, i.title, i.author, COALESCE(i.description, ''), "
                "i.price_cents, COALESCE(i.currency, 'USD'), i.stock FROM input i "
                "WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.isbn = i.isbn "
                "AND b.deleted_at IS NULL) "
                "ON CONFLICT (isbn) WHERE isbn IS NOT NULL AND deleted_at IS NULL DO NOTHING "
                "RETURNING id) "
                "SELECT 'u', id FROM upd UNION ALL SELECT 'i', id FROM ins",
                array_literal(isbn), array_literal(title), array_literal(author),
                array_literal(description), array_literal(price), array_literal(currency),
                array_literal(stock));
            for (const auto& row : r) {
                auto id = row[1].as<std::int64_t>();
                (row[0].as<std::string>() == "i" ? inserted : changed).insert(id);
            }
            if (tagged_isbn.empty()) return;
            // Connect-or-create, as POST /books: the feed's tags become the
            // book's whole set; tags themselves are never deleted.
            std::string pairs_isbn = array_literal(pair_isbn), pairs_tag = array_literal(pair_tag);
            if (!pair_tag.empty())
                w.exec_params(
                    "INSERT INTO tags (name) SELECT DISTINCT unnest($1::text[]) "
                    "ON CONFLICT (name) DO NOTHING",
                    pairs_tag);
            auto del = w.exec_params(
                "DELETE FROM book_tags bt USING books b, tags t "
                "WHERE b.id = bt.book_id AND t.id = bt.tag_id AND b.deleted_at IS NULL "
                "AND b.isbn = ANY($1::text[]) AND NOT EXISTS (SELECT 1 FROM "
                "unnest($2::text[], $3::text[]) p(isbn, tag) WHERE p.isbn = b.isbn "
                "AND p.tag = t.name) RETURNING bt.book_id",
                array_literal(tagged_isbn), pairs_isbn, pairs_tag);
            auto add = w.exec_params(
                "INSERT INTO book_tags (book_id, tag_id) SELECT b.id, t.id "
                "FROM unnest($1::text[], $2::text[]) p(isbn, tag) "
                "JOIN books b ON b.isbn = p.isbn AND b.deleted_at IS NULL "
                "JOIN tags t ON t.name = p.tag ON CONFLICT DO NOTHING RETURNING book_id",
                pairs_isbn, pairs_tag);
            for (const auto* res : {&del, &add})
                for (const auto& row : *res) {
                    auto id = row[0].as<std::int64_t>();
                    if (!inserted.count(id)) changed.insert(id);
                }
        });
    });
    refused.insert(refused.end(), refused_here.begin(), refused_here.end());
    counts.imported += inserted.size();
    counts.updated += changed.size();
    counts.unchanged += rows.size() - inserted.size() - changed.size() - refused_here.size();
    std::vector<std::int64_t> ids(changed.begin(), changed.end());
    if (!ids.empty()) {
        std::vector<std::string> scopes;
        for (auto id : ids) scopes.push_back(catalog::book_scope(id));
        try {
            cache::invalidate(b.redis, scopes);
        } catch (const std::exception& e) {
            // Committed: the batch's own invalidation above already ran once,
            // so only a reader racing this batch could keep a stale body.
            log::error("import: book cache invalidation failed", {{"error", e.what()}});
        }
        orders::stock::unload(b.redis, ids);
    }
    return ids;
}

std::string stamp() {
    std::string s = format_rfc3339(std::chrono::system_clock::now());
    s.erase(std::remove_if(s.begin(), s.end(), [](char c) { return c == ':' || c == '-'; }),
            s.end());
    return s;
}

// Moves `from` into `dir` as <stamp>-<name>; returns the new path relative to var.
std::string move_to(const fs::path& from, const fs::path& dir, const std::string& name) {
    fs::create_directories(dir);
    fs::path to = dir / (stamp() + "-" + name);
    fs::rename(from, to);
    return (dir.filename() / to.filename()).string();
}

// Feed names are plain: letters, digits, '.', '-', '_' (no path, and valid
// UTF-8 in the job's JSON result), not starting with '.' (being written).
bool is_feed_name(const std::string& name) {
    if (name.empty() || name[0] == '.' || name.size() > 200) return false;
    for (unsigned char c : name)
        if (!std::isalnum(c) && c != '.' && c != '-' && c != '_') return false;
    return feed_format(name).has_value();
}

nlohmann::json import_one(Backends& b, const fs::path& path, const std::string& name,
                          const ImportHooks& hooks, std::size_t batch_rows) {
    const fs::path root = import_dir(b.config);
    std::string format = *feed_format(name);
    nlohmann::json out = {{"file", name}, {"format", format}};
    Counts counts;
    std::size_t bad_count = 0;
    auto bad = nlohmann::json::array();
    std::size_t lines = 0;
    try {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw FeedError("the file cannot be opened");
        auto reader = open_feed(in, format);
        std::vector<FeedRow> batch;
        std::unordered_set<std::string> in_batch;
        auto report = [&] {
            if (!hooks.progress) return;
            hooks.progress({{"file", name},
                            {"lines", reader->lines()},
                            {"imported", counts.imported},
                            {"updated", counts.updated},
                            {"unchanged", counts.unchanged},
                            {"bad", bad_count}});
        };
        auto flush = [&] {
            if (batch.empty()) return;
            if (hooks.cancelled && hooks.cancelled()) throw ImportCancelled("import cancelled");
            std::vector<BadRow> refused;
            write_batch(b, batch, counts, refused);
            for (const auto& r : refused) {
                if (bad.size() < kMaxReportedBadRows)
                    bad.push_back({{"line", r.line}, {"reason", r.reason}});
                ++bad_count;
            }
            batch.clear();
            in_batch.clear();
            report();
        };
        std::optional<FeedRow> row;
        std::optional<BadRow> refused;
        while (reader->next(row, refused)) {
            if (refused) {
                if (bad.size() < kMaxReportedBadRows)
                    bad.push_back({{"line", refused->line}, {"reason", refused->reason}});
                ++bad_count;
                continue;
            }
            // One ISBN twice in a batch: the earlier row is written first, so
            // the later one wins as it would across batches.
            if (in_batch.count(row->isbn)) flush();
            in_batch.insert(row->isbn);
            batch.push_back(std::move(*row));
            if (batch.size() >= batch_rows) flush();
        }
        flush();
        lines = reader->lines();
    } catch (const FeedError& e) {
        out["error"] = e.what();
        out["movedTo"] = move_to(path, root / "failed", name);
        log::warn("import: feed refused", {{"file", name}, {"error", e.what()}});
        return out;
    }
    out["lines"] = lines;
    out["imported"] = counts.imported;
    out["updated"] = counts.updated;
    out["unchanged"] = counts.unchanged;
    out["badCount"] = bad_count;
    out["bad"] = std::move(bad);
    out["movedTo"] = move_to(path, root / "done", name);
    log::info("import: feed done", {{"file", name},
                                    {"imported", counts.imported},
                                    {"updated", counts.updated},
                                    {"bad", bad_count}});
    return out;
}

}  // namespace

std::string import_dir(const Config& c) {
    return (fs::path(c.var_dir) / "import").string();
}

nlohmann::json import_feeds(Backends& b, const std::string& job_id, const std::string& file,
                            const ImportHooks& hooks, std::size_t batch_rows) {
    const fs::path root = import_dir(b.config);
    std::string claim_name = job_id;
    for (auto& c : claim_name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
    const fs::path claim = root / "processing" / claim_name;
    if (!file.empty() && !is_feed_name(file))
        throw ImportRefused(
            "file must be a bare name of letters, digits, '.', '-', '_' ending in .csv, .ndjson "
            "or .jsonl");

    // What to import: this job's earlier claims first (a retry after a crash),
    // then the waiting files, each claimed by an atomic rename.
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(claim, ec), end; !ec && it != end; it.increment(ec))
        if (it->is_regular_file() && is_feed_name(it->path().filename().string()))
            names.push_back(it->path().filename().string());
    std::vector<std::string> waiting;
    if (!file.empty()) {
        waiting.push_back(file);
    } else {
        for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
            if (it->is_regular_file() && is_feed_name(it->path().filename().string()))
                waiting.push_back(it->path().filename().string());
    }
    std::sort(waiting.begin(), waiting.end());
    for (const auto& n : waiting) {
        if (std::find(names.begin(), names.end(), n) != names.end()) continue;
        fs::create_directories(claim);
        std::error_code rc;
        fs::rename(root / n, claim / n, rc);
        if (!rc)
            names.push_back(n);
        else if (!file.empty())
            throw ImportRefused("no feed named " + file + " in import/");
        // Otherwise another worker claimed it first.
    }

    LongTransaction long_tx(b.pg, kBatchTimeoutMs);
    nlohmann::json out = {{"files", nlohmann::json::array()}};
    std::size_t imported = 0, updated = 0, unchanged = 0, bad = 0;
    for (const auto& n : names) {
        auto one = import_one(b, claim / n, n, hooks, batch_rows);
        imported += one.value("imported", std::size_t{0});
        updated += one.value("updated", std::size_t{0});
        unchanged += one.value("unchanged", std::size_t{0});
        bad += one.value("badCount", std::size_t{0});
        out["files"].push_back(std::move(one));
    }
    fs::remove(claim, ec);  // empty by now; a leftover means a file failed to move
    out["imported"] = imported;
    out["updated"] = updated;
    out["unchanged"] = unchanged;
    out["badCount"] = bad;
    // The bad rows of a single-file run at the top too ({imported, updated, bad}).
    if (out["files"].size() == 1)
        out["bad"] = out["files"][0].value("bad", nlohmann::json::array());
    return out;
}

}  // namespace bazaar::pipelines
